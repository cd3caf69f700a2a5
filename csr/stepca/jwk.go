package stepca

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// MaxPBKDF2Iterations bounds the p2c member of an encrypted key's header:
// step uses 600,000 (100,000 in older versions); a file asking for more
// than this is refused rather than allowed to burn CPU.
const MaxPBKDF2Iterations = 2_000_000

// maxJWKSize bounds the encrypted key accepted by DecryptJWK.
const maxJWKSize = 64 << 10

// ErrIncorrectPassword is returned by DecryptJWK when the password does not
// open the key.
var ErrIncorrectPassword = errors.New("stepca: incorrect password for the encrypted provisioner key")

// IsEncryptedJWK reports whether data looks like step's encrypted private
// key: a JWE in compact form (five base64url parts, the form of a
// provisioner's "encryptedKey" in ca.json) or in flattened JSON form (the
// file `step crypto jwk create` writes).
func IsEncryptedJWK(data []byte) bool {
	_, err := splitJWE(data)
	return err == nil
}

// DecryptJWK opens step's encrypted provisioner key (a JWE with
// PBES2-HS256+A128KW key wrapping and A256GCM content encryption, holding
// a private JWK) with its password, and returns the key and its key ID
// (the JWK's kid, empty when it has none). Only EC (P-256, P-384, P-521),
// RSA and Ed25519 keys are read. A wrong password gives
// ErrIncorrectPassword. It does not read other JWE algorithms, nor
// unencrypted JWK files.
func DecryptJWK(data, password []byte) (key crypto.Signer, kid string, err error) {
	plain, err := decryptJWE(data, password)
	if err != nil {
		return nil, "", err
	}
	return parsePrivateJWK(plain)
}

// decryptJWE returns the plaintext of a PBES2-HS256+A128KW/A256GCM JWE.
func decryptJWE(data, password []byte) ([]byte, error) {
	if len(data) > maxJWKSize {
		return nil, fmt.Errorf("stepca: the encrypted key is larger than %d bytes", maxJWKSize)
	}
	p, err := splitJWE(data)
	if err != nil {
		return nil, err
	}
	hdr, err := base64.RawURLEncoding.DecodeString(p.protected)
	if err != nil {
		return nil, fmt.Errorf("stepca: the encrypted key's header is not base64url: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
		P2C int    `json:"p2c"`
		P2S string `json:"p2s"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil {
		return nil, fmt.Errorf("stepca: the encrypted key's header: %w", err)
	}
	if h.Alg != "PBES2-HS256+A128KW" || h.Enc != "A256GCM" {
		return nil, fmt.Errorf("stepca: the key is encrypted with %s/%s; only PBES2-HS256+A128KW/A256GCM (step's) is read", h.Alg, h.Enc)
	}
	if h.P2C < 1000 || h.P2C > MaxPBKDF2Iterations {
		return nil, fmt.Errorf("stepca: the encrypted key asks for %d PBKDF2 iterations (accepted: 1000 to %d)", h.P2C, MaxPBKDF2Iterations)
	}
	parts := map[string][]byte{}
	for name, s := range map[string]string{"p2s": h.P2S, "encrypted_key": p.encryptedKey, "iv": p.iv, "ciphertext": p.ciphertext, "tag": p.tag} {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("stepca: the encrypted key's %s is not base64url: %w", name, err)
		}
		parts[name] = b
	}
	if len(parts["p2s"]) < 8 || len(parts["encrypted_key"]) != 40 || len(parts["iv"]) != 12 || len(parts["tag"]) != 16 {
		return nil, errors.New("stepca: the encrypted key has a salt, wrapped key, IV or tag of the wrong size")
	}
	// RFC 7518 section 4.8.1.1: the salt is the algorithm name, a zero
	// byte, then p2s.
	salt := append(append([]byte(h.Alg), 0), parts["p2s"]...)
	kek, err := pbkdf2.Key(sha256.New, string(password), salt, h.P2C, 16)
	if err != nil {
		return nil, fmt.Errorf("stepca: deriving the key-encryption key: %w", err)
	}
	cek, err := unwrapKey(kek, parts["encrypted_key"])
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, parts["iv"], append(parts["ciphertext"], parts["tag"]...), []byte(p.protected))
	if err != nil {
		return nil, errors.New("stepca: the encrypted key does not decrypt (damaged file)")
	}
	return plain, nil
}

type jweParts struct{ protected, encryptedKey, iv, ciphertext, tag string }

func splitJWE(data []byte) (jweParts, error) {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "{") {
		var j struct {
			Protected    string `json:"protected"`
			EncryptedKey string `json:"encrypted_key"`
			IV           string `json:"iv"`
			Ciphertext   string `json:"ciphertext"`
			Tag          string `json:"tag"`
		}
		if err := json.Unmarshal([]byte(s), &j); err != nil || j.Protected == "" || j.Ciphertext == "" {
			return jweParts{}, errors.New("stepca: not an encrypted key (JSON without the JWE members protected, ciphertext)")
		}
		return jweParts{j.Protected, j.EncryptedKey, j.IV, j.Ciphertext, j.Tag}, nil
	}
	f := strings.Split(s, ".")
	if len(f) != 5 {
		return jweParts{}, errors.New("stepca: not an encrypted key (a JWE has five dot-separated parts)")
	}
	return jweParts{f[0], f[1], f[2], f[3], f[4]}, nil
}

// unwrapKey is the AES key unwrap of RFC 3394 section 2.2.2.
func unwrapKey(kek, wrapped []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(wrapped)/8 - 1
	a := binary.BigEndian.Uint64(wrapped[:8])
	r := make([]byte, n*8)
	copy(r, wrapped[8:])
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			binary.BigEndian.PutUint64(b[:8], a^uint64(n*j+i))
			copy(b[8:], r[(i-1)*8:i*8])
			block.Decrypt(b[:], b[:])
			a = binary.BigEndian.Uint64(b[:8])
			copy(r[(i-1)*8:i*8], b[8:])
		}
	}
	var iv [8]byte
	binary.BigEndian.PutUint64(iv[:], a)
	if subtle.ConstantTimeCompare(iv[:], []byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}) != 1 {
		return nil, ErrIncorrectPassword
	}
	return r, nil
}

// parsePrivateJWK reads a private JWK (RFC 7518 section 6).
func parsePrivateJWK(data []byte) (crypto.Signer, string, error) {
	var j struct {
		Kty, Kid, Crv, X, Y, D, N, E, P, Q string
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, "", fmt.Errorf("stepca: the decrypted key is not a JWK: %w", err)
	}
	b := func(name, s string) ([]byte, error) {
		v, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(v) == 0 {
			return nil, fmt.Errorf("stepca: the JWK's %q member is missing or not base64url", name)
		}
		return v, nil
	}
	switch j.Kty {
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[j.Crv]
		if curve == nil {
			return nil, "", fmt.Errorf("%w: EC curve %q", ErrUnsupportedKey, j.Crv)
		}
		d, err := b("d", j.D)
		if err != nil {
			return nil, "", err
		}
		x, err := b("x", j.X)
		if err != nil {
			return nil, "", err
		}
		y, err := b("y", j.Y)
		if err != nil {
			return nil, "", err
		}
		key, err := ecdsa.ParseRawPrivateKey(curve, d)
		if err != nil {
			return nil, "", fmt.Errorf("stepca: the JWK's EC private key: %w", err)
		}
		if key.X.Cmp(new(big.Int).SetBytes(x)) != 0 || key.Y.Cmp(new(big.Int).SetBytes(y)) != 0 {
			return nil, "", errors.New("stepca: the JWK's public point does not match its private key")
		}
		return key, j.Kid, nil
	case "RSA":
		var v [5][]byte
		for i, m := range []struct{ name, s string }{{"n", j.N}, {"e", j.E}, {"d", j.D}, {"p", j.P}, {"q", j.Q}} {
			var err error
			if v[i], err = b(m.name, m.s); err != nil {
				return nil, "", err
			}
		}
		if len(v[1]) > 4 {
			return nil, "", errors.New("stepca: the JWK's RSA exponent is too large")
		}
		key := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(v[0]), E: int(new(big.Int).SetBytes(v[1]).Int64())},
			D:         new(big.Int).SetBytes(v[2]),
			Primes:    []*big.Int{new(big.Int).SetBytes(v[3]), new(big.Int).SetBytes(v[4])},
		}
		if err := key.Validate(); err != nil {
			return nil, "", fmt.Errorf("stepca: the JWK's RSA key: %w", err)
		}
		key.Precompute()
		return key, j.Kid, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, "", fmt.Errorf("%w: OKP curve %q", ErrUnsupportedKey, j.Crv)
		}
		d, err := b("d", j.D)
		if err != nil {
			return nil, "", err
		}
		x, err := b("x", j.X)
		if err != nil {
			return nil, "", err
		}
		if len(d) != ed25519.SeedSize {
			return nil, "", errors.New("stepca: the JWK's Ed25519 seed is not 32 bytes")
		}
		key := ed25519.NewKeyFromSeed(d)
		if !bytes.Equal(key.Public().(ed25519.PublicKey), x) {
			return nil, "", errors.New("stepca: the JWK's public key does not match its private key")
		}
		return key, j.Kid, nil
	}
	return nil, "", fmt.Errorf("%w: JWK key type %q", ErrUnsupportedKey, j.Kty)
}
