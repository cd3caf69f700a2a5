package formats

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certwright/certwright/internal/pkcs8"
)

// readKeyDER parses an unencrypted private key. label is the PEM label
// ("" for DER); the label only orders the attempts, the content decides.
// encrypted describes the protection the key had, for KeyInfo.
func (r *reader) readKeyDER(der []byte, label, format, source, encrypted string) error {
	if bits := rsaModulusBits(der); bits > r.o.MaxRSABits {
		return fmt.Errorf("%w: %s is a %d-bit RSA key, more than the %d allowed (ReadOptions.MaxRSABits)", ErrLimit, source, bits, r.o.MaxRSABits)
	}
	key, encoding, err := parsePrivateKey(der, label)
	if err != nil {
		if encrypted != "" {
			// Legacy PEM decryption has no integrity check: a wrong
			// password yields garbage that fails to parse.
			return fmt.Errorf("%w: the decrypted key does not parse (%v)", ErrIncorrectPassword, err)
		}
		return err
	}
	return r.addKey(key, KeyInfo{Source: source, Format: format, Encoding: encoding, Encrypted: encrypted})
}

// parsePrivateKey tries PKCS#8, PKCS#1 and SEC 1, starting with the one
// the label names, and reports every failure when none fits.
func parsePrivateKey(der []byte, label string) (crypto.PrivateKey, string, error) {
	type attempt struct {
		name  string
		parse func([]byte) (crypto.PrivateKey, error)
	}
	pkcs8 := attempt{"pkcs8", func(b []byte) (crypto.PrivateKey, error) { return x509.ParsePKCS8PrivateKey(b) }}
	pkcs1 := attempt{"pkcs1", func(b []byte) (crypto.PrivateKey, error) { return x509.ParsePKCS1PrivateKey(b) }}
	sec1 := attempt{"sec1", func(b []byte) (crypto.PrivateKey, error) { return x509.ParseECPrivateKey(b) }}
	order := []attempt{pkcs8, pkcs1, sec1}
	switch {
	case label == "RSA PRIVATE KEY":
		order = []attempt{pkcs1, pkcs8, sec1}
	case label == "EC PRIVATE KEY":
		order = []attempt{sec1, pkcs8, pkcs1}
	case label == "":
		switch classify(der) {
		case kindPKCS1:
			order = []attempt{pkcs1, pkcs8, sec1}
		case kindSEC1:
			order = []attempt{sec1, pkcs8, pkcs1}
		}
	}
	var errs []string
	for _, a := range order {
		key, err := a.parse(der)
		if err == nil {
			return key, a.name, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", a.name, err))
	}
	if key, encoding, err := parseUnreducedRSA(der); err == nil {
		return key, encoding, nil
	}
	return nil, "", fmt.Errorf("not a private key this package reads (%s)", strings.Join(errs, "; "))
}

// pkcs1Key is RSAPrivateKey (RFC 8017 A.1.2); other primes are not read.
type pkcs1Key struct {
	Version          int
	N, E, D, P, Q    *big.Int
	Dp, Dq, Qinv     *big.Int
	AdditionalPrimes []asn1.RawValue `asn1:"optional,omitempty"`
}

// parseUnreducedRSA reads a two-prime RSA key whose private exponent is
// not reduced below the modulus (some old tools wrote d >= n; OpenSSL
// accepts it, crypto/x509 rejects it with "input overflows the modulus").
// The key is rebuilt from n, e, p and q, with d reduced modulo
// (p-1)(q-1), and validated. It accepts PKCS#1 or PKCS#8 around it.
func parseUnreducedRSA(der []byte) (crypto.PrivateKey, string, error) {
	encoding := "pkcs1"
	if classify(der) == kindPKCS8 {
		var p8 struct {
			Version    int
			Algo       pkix.AlgorithmIdentifier
			PrivateKey []byte
		}
		if _, err := asn1.Unmarshal(der, &p8); err != nil || !p8.Algo.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}) {
			return nil, "", errors.New("not an RSA PKCS#8 key")
		}
		der, encoding = p8.PrivateKey, "pkcs8"
	}
	var k pkcs1Key
	if rest, err := asn1.Unmarshal(der, &k); err != nil || len(rest) > 0 || len(k.AdditionalPrimes) > 0 {
		return nil, "", errors.New("not a two-prime PKCS#1 key")
	}
	if k.N == nil || k.D == nil || k.P == nil || k.Q == nil || k.E == nil || k.N.Sign() <= 0 || k.P.Sign() <= 0 || k.Q.Sign() <= 0 ||
		!k.E.IsInt64() || k.E.Int64() < 3 || k.E.Int64() > 1<<31-1 || k.D.Cmp(k.N) < 0 {
		return nil, "", errors.New("not an unreduced RSA key")
	}
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(k.P, one), new(big.Int).Sub(k.Q, one))
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: k.N, E: int(k.E.Int64())},
		D:         new(big.Int).Mod(k.D, phi),
		Primes:    []*big.Int{k.P, k.Q},
	}
	if err := key.Validate(); err != nil {
		return nil, "", err
	}
	key.Precompute()
	return key, encoding, nil
}

// rsaModulusBits returns the size of the RSA modulus in a PKCS#1 or PKCS#8
// RSA private key without parsing the rest, or 0.
func rsaModulusBits(der []byte) int {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.INTEGER) {
		return 0
	}
	if seq.PeekASN1Tag(cbasn1.SEQUENCE) {
		// PKCS#8: the RSA key is the OCTET STRING after the algorithm.
		var inner cryptobyte.String
		if !seq.SkipASN1(cbasn1.SEQUENCE) || !seq.ReadASN1(&inner, cbasn1.OCTET_STRING) {
			return 0
		}
		if !inner.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.INTEGER) {
			return 0
		}
	}
	var n cryptobyte.String
	if !seq.ReadASN1(&n, cbasn1.INTEGER) {
		return 0
	}
	for len(n) > 0 && n[0] == 0 {
		n = n[1:]
	}
	if len(n) == 0 {
		return 0
	}
	bits := (len(n) - 1) * 8
	for c := n[0]; c != 0; c >>= 1 {
		bits++
	}
	return bits
}

// decryptLegacyPEM opens a key block with Proc-Type: 4,ENCRYPTED (the
// OpenSSL "traditional" format). It returns the DER and a description of
// the cipher, or the block's bytes unchanged when it is not encrypted.
func (r *reader) decryptLegacyPEM(block *pem.Block) ([]byte, string, error) {
	//lint:ignore SA1019 legacy encrypted PEM is read for compatibility; the weakness is noted.
	if !x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck
		return block.Bytes, "", nil
	}
	cipherName, _, _ := strings.Cut(block.Headers["DEK-Info"], ",")
	desc := "legacy PEM " + cipherName
	if r.o.Password == "" {
		return nil, desc, fmt.Errorf("%w: the key is encrypted (%s) and no password was given", ErrIncorrectPassword, desc)
	}
	der, err := x509.DecryptPEMBlock(block, []byte(r.o.Password)) //nolint:staticcheck
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, desc, fmt.Errorf("%w (%s)", ErrIncorrectPassword, desc)
		}
		return nil, desc, fmt.Errorf("cannot decrypt %s: %w", desc, err)
	}
	r.c.Notes = append(r.c.Notes, fmt.Sprintf("a key uses %s encryption, which derives its key with one MD5 round: re-encrypt it as PKCS#8 (EncodeKeyPEM with a password)", desc))
	return der, desc, nil
}

// readEncryptedPKCS8 decrypts an EncryptedPrivateKeyInfo with Password
// through internal/pkcs8, which checks the derivation cost first.
func (r *reader) readEncryptedPKCS8(der []byte, format, source string) error {
	desc := "encrypted PKCS#8"
	cost := 1
	if p, err := pkcs8.Describe(der); err == nil {
		desc = p.String()
		cost = max(p.Iterations, p.ScryptN*p.ScryptR*p.ScryptP, 1)
	}
	if r.o.Password == "" {
		return fmt.Errorf("%w: the key is encrypted (%s) and no password was given", ErrIncorrectPassword, desc)
	}
	if cost <= r.o.MaxIterations {
		// Over MaxIterations, internal/pkcs8 refuses with a clearer error.
		if err := r.spend(cost, source); err != nil {
			return err
		}
	}
	plain, err := pkcs8.DecryptWithLimits(der, []byte(r.o.Password), &pkcs8.Limits{MaxIterations: r.o.MaxIterations})
	if err != nil {
		switch {
		case errors.Is(err, pkcs8.ErrIncorrectPassphrase):
			return fmt.Errorf("%w: %s: %w", ErrIncorrectPassword, desc, err)
		case errors.Is(err, pkcs8.ErrTooExpensive):
			return fmt.Errorf("%w: %w (ReadOptions.MaxIterations)", ErrLimit, err)
		case errors.Is(err, pkcs8.ErrUnsupported):
			return fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return err
	}
	if bits := rsaModulusBits(plain); bits > r.o.MaxRSABits {
		return fmt.Errorf("%w: %s is a %d-bit RSA key, more than the %d allowed (ReadOptions.MaxRSABits)", ErrLimit, source, bits, r.o.MaxRSABits)
	}
	key, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return fmt.Errorf("%w: %s decrypted to something that is not a key: %v", ErrIncorrectPassword, desc, err)
	}
	return r.addKey(key, KeyInfo{Source: source, Format: format, Encoding: "pkcs8", Encrypted: desc})
}
