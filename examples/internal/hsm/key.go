package hsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/certwright/certwright/csr"
)

// ErrNoCgo is returned by every Resolver method of a program built without
// cgo (CGO_ENABLED=0) or with the nopkcs11 build tag: PKCS#11 modules are
// C libraries, and such a build cannot load one.
var ErrNoCgo = errors.New("hsm: this program was built without cgo (CGO_ENABLED=0) or with the nopkcs11 tag, so it cannot load a PKCS#11 module; rebuild it with CGO_ENABLED=1 and a C compiler")

// ErrExtractable is returned by GenerateKey when the token made a key it
// would let out (CKA_EXTRACTABLE true, CKA_SENSITIVE false, or its private
// value readable); the key is deleted.
var ErrExtractable = errors.New("hsm: the token made an extractable key")

// KeyRequest says which key GenerateKey makes, and where.
type KeyRequest struct {
	// Module is the path of the PKCS#11 module (on Debian, SoftHSM2's is
	// /usr/lib/softhsm/libsofthsm2.so). Required.
	Module string
	// Token is the label of the token (softhsm2-util --init-token --label).
	// Required.
	Token string
	// Label is the key's CKA_LABEL, the "object" of its URI. Required.
	Label string
	// ID is the key's CKA_ID; nil means 16 random bytes.
	ID []byte
	// Type is the kind of key: csr.P256 (the default for ""), csr.P384,
	// csr.RSA2048, csr.RSA3072 or csr.RSA4096. Ed25519 is not offered:
	// few tokens implement it and few CAs accept it.
	Type csr.KeyType
}

// KeyInfo is what a token says about a private key, read with
// C_GetAttributeValue.
type KeyInfo struct {
	// KeyType is "EC" or "RSA" (CKA_KEY_TYPE).
	KeyType string
	// The key's protection attributes.
	Sensitive        bool // CKA_SENSITIVE: the private value is never revealed
	Extractable      bool // CKA_EXTRACTABLE: the key can be wrapped (exported, encrypted)
	AlwaysSensitive  bool // CKA_ALWAYS_SENSITIVE: it was sensitive since it was made
	NeverExtractable bool // CKA_NEVER_EXTRACTABLE: it was never extractable
	Local            bool // CKA_LOCAL: generated inside the token, not imported
	// SecretReadErr is the token's answer when asked for the private value
	// itself (CKA_VALUE for EC, CKA_PRIVATE_EXPONENT for RSA): a key that
	// stays in the token gives CKR_ATTRIBUTE_SENSITIVE; nil means the value
	// was handed out.
	SecretReadErr error
}

// StaysInToken reports whether the token promises that the key cannot
// leave it: sensitive, not extractable, and its private value refused.
func (k *KeyInfo) StaysInToken() bool {
	return k.Sensitive && !k.Extractable && k.SecretReadErr != nil
}

// String lists the attributes as PKCS#11 names them.
func (k *KeyInfo) String() string {
	var parts []string
	parts = append(parts, "CKA_KEY_TYPE="+k.KeyType)
	for _, a := range []struct {
		name string
		v    bool
	}{
		{"CKA_SENSITIVE", k.Sensitive}, {"CKA_EXTRACTABLE", k.Extractable},
		{"CKA_ALWAYS_SENSITIVE", k.AlwaysSensitive}, {"CKA_NEVER_EXTRACTABLE", k.NeverExtractable},
		{"CKA_LOCAL", k.Local},
	} {
		parts = append(parts, fmt.Sprintf("%s=%t", a.name, a.v))
	}
	if k.SecretReadErr != nil {
		parts = append(parts, "private value refused ("+k.SecretReadErr.Error()+")")
	} else {
		parts = append(parts, "private value READABLE")
	}
	return strings.Join(parts, " ")
}

// checkRequest validates req and returns the key type with its default.
func checkRequest(req *KeyRequest) (csr.KeyType, error) {
	var missing []string
	if req.Module == "" {
		missing = append(missing, "the module path")
	}
	if req.Token == "" {
		missing = append(missing, "the token label")
	}
	if req.Label == "" {
		missing = append(missing, "the key label")
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("hsm: GenerateKey needs %s", strings.Join(missing, ", "))
	}
	return CheckKeyType(req.Type)
}

// CheckKeyType returns kt if GenerateKey can make it ("" gives csr.P256),
// or an error naming the types it can.
func CheckKeyType(kt csr.KeyType) (csr.KeyType, error) {
	if kt == "" {
		kt = csr.P256
	}
	switch kt {
	case csr.P256, csr.P384, csr.RSA2048, csr.RSA3072, csr.RSA4096:
		return kt, nil
	}
	return "", fmt.Errorf("hsm: key type %q cannot be generated in a token here; choose p256, p384, rsa2048, rsa3072 or rsa4096", kt)
}
