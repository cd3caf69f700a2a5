package csr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// KeyType names a kind of private key GenerateKey makes. The names are the
// ones the example programs accept on their command line.
type KeyType string

// The key types GenerateKey makes. The empty KeyType means DefaultKeyType.
const (
	RSA2048 KeyType = "rsa2048"
	RSA3072 KeyType = "rsa3072"
	RSA4096 KeyType = "rsa4096"
	RSA8192 KeyType = "rsa8192"
	P256    KeyType = "p256"
	P384    KeyType = "p384"
	Ed25519 KeyType = "ed25519"

	// DefaultKeyType is RSA 2048: what IIS proposes and what every CA
	// accepts.
	DefaultKeyType = RSA2048
)

// MinRSABits is the smallest RSA modulus this package generates or lets
// sign a request.
const MinRSABits = 2048

// KeyTypes returns the key types GenerateKey makes, in the order a person
// would list them.
func KeyTypes() []KeyType {
	return []KeyType{RSA2048, RSA3072, RSA4096, RSA8192, P256, P384, Ed25519}
}

// ErrWeakKey is wrapped by every error that refuses a key as too weak: an
// RSA key below MinRSABits bits, asked for by name or passed to Create.
var ErrWeakKey = errors.New("csr: key too weak")

// ErrUnknownKeyType is wrapped by ParseKeyType and GenerateKey for a name
// that is not one of KeyTypes.
var ErrUnknownKeyType = errors.New("csr: unknown key type")

// ErrUnsupportedKey is wrapped when a public key is of a kind this package
// cannot describe or sign with (DSA, an unusual curve, a foreign type).
var ErrUnsupportedKey = errors.New("csr: unsupported key")

// ParseKeyType reads a key type name. Case, dashes and underscores are
// ignored, and the usual aliases are accepted: "rsa-3072", "P-256",
// "ecdsa-p384", "prime256v1", "secp384r1", "Ed25519". The empty string gives
// DefaultKeyType. An RSA size below MinRSABits gives an error wrapping
// ErrWeakKey that says why; anything else unknown wraps ErrUnknownKeyType and
// lists the valid names.
func ParseKeyType(s string) (KeyType, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer("-", "", "_", "", " ", "").Replace(n)
	switch n {
	case "":
		return DefaultKeyType, nil
	case "rsa":
		return RSA2048, nil
	case "p256", "ecdsap256", "ecp256", "ec256", "ecdsa256", "prime256v1", "secp256r1":
		return P256, nil
	case "p384", "ecdsap384", "ecp384", "ec384", "ecdsa384", "secp384r1":
		return P384, nil
	case "ed25519":
		return Ed25519, nil
	}
	if bits, ok := strings.CutPrefix(n, "rsa"); ok {
		if b, err := strconv.Atoi(bits); err == nil && b > 0 {
			if b < MinRSABits {
				return "", weakRSAError(b)
			}
			switch b {
			case 2048, 3072, 4096, 8192:
				return KeyType("rsa" + bits), nil
			}
			return "", fmt.Errorf("%w %q: RSA keys are made in sizes 2048, 3072, 4096 and 8192 bits", ErrUnknownKeyType, s)
		}
	}
	return "", fmt.Errorf("%w %q: use one of %s", ErrUnknownKeyType, s, keyTypeList())
}

func keyTypeList() string {
	var names []string
	for _, kt := range KeyTypes() {
		names = append(names, string(kt))
	}
	return strings.Join(names, ", ")
}

func weakRSAError(bits int) error {
	return fmt.Errorf("%w: RSA %d is refused: RSA keys below %d bits can be factored with affordable computing, "+
		"and CAs have rejected them since 2013; use rsa2048 (the default) or larger, or p256",
		ErrWeakKey, bits, MinRSABits)
}

// GenerateKey makes a new private key of type kt ("" means DefaultKeyType)
// with randomness from rand (nil means crypto/rand.Reader). Note that since
// Go 1.26 the standard library ignores rand for RSA and ECDSA key
// generation and always uses a secure source.
//
// The key is *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey; all
// are crypto.Signer. GenerateKey does not store the key anywhere: keep it in
// a Store before sending the request to a CA.
func GenerateKey(rand io.Reader, kt KeyType) (crypto.Signer, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	kt, err := ParseKeyType(string(kt))
	if err != nil {
		return nil, err
	}
	var key crypto.Signer
	switch kt {
	case RSA2048, RSA3072, RSA4096, RSA8192:
		bits, _ := strconv.Atoi(strings.TrimPrefix(string(kt), "rsa"))
		key, err = rsa.GenerateKey(rand, bits)
	case P256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand)
	case P384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand)
	}
	if err != nil {
		return nil, fmt.Errorf("csr: generating a %s key: %w", kt, err)
	}
	return key, nil
}

// KeyTypeOf names the kind of a public key: "rsa2048" for a 2048-bit RSA
// key (any size gives "rsa" + its bit count, so a weak key reads
// "rsa1024"), "p256", "p384", "p521" or "ed25519". It also accepts a
// private key or crypto.Signer and looks at its public half. Other keys
// give an error wrapping ErrUnsupportedKey.
func KeyTypeOf(key crypto.PublicKey) (KeyType, error) {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("%w: empty RSA key", ErrUnsupportedKey)
		}
		return KeyType("rsa" + strconv.Itoa(k.N.BitLen())), nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "", fmt.Errorf("%w: empty ECDSA key", ErrUnsupportedKey)
		}
		switch k.Curve {
		case elliptic.P256():
			return P256, nil
		case elliptic.P384():
			return P384, nil
		case elliptic.P521():
			return "p521", nil
		}
		return "", fmt.Errorf("%w: ECDSA key on curve %s (CAs accept P-256, P-384 and P-521)", ErrUnsupportedKey, k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 key of %d bytes", ErrUnsupportedKey, len(k))
		}
		return Ed25519, nil
	}
	return "", fmt.Errorf("%w: %T (use RSA, ECDSA or Ed25519)", ErrUnsupportedKey, key)
}

// keySize returns the algorithm family and size in bits of a public key for
// reports: ("RSA", 2048), ("ECDSA", 256), ("Ed25519", 256).
func keySize(pub crypto.PublicKey) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k != nil && k.N != nil {
			return "RSA", k.N.BitLen()
		}
	case *ecdsa.PublicKey:
		if k != nil && k.Curve != nil {
			return "ECDSA", k.Curve.Params().BitSize
		}
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	t := fmt.Sprintf("%T", pub)
	if t == "*dsa.PublicKey" {
		t = "DSA"
	}
	return t, 0
}
