package pkcs12

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidDSA       = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidECPublic  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519   = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidX25519    = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidEd448     = asn1.ObjectIdentifier{1, 3, 101, 113}
	oidX448      = asn1.ObjectIdentifier{1, 3, 101, 111}
	oidCurveP224 = asn1.ObjectIdentifier{1, 3, 132, 0, 33}
	oidCurveP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// privateKeyInfo is the outer layer of a PKCS#8 PrivateKeyInfo (RFC 5208).
type privateKeyInfo struct {
	alg       asn1.ObjectIdentifier
	params    cryptobyte.String // the algorithm parameters, possibly empty
	keyOctets cryptobyte.String
}

func readPrivateKeyInfo(der []byte, what string) (*privateKeyInfo, error) {
	// PrivateKeyInfo ::= SEQUENCE { version INTEGER, privateKeyAlgorithm AlgorithmIdentifier,
	//   privateKey OCTET STRING, attributes [0] IMPLICIT Attributes OPTIONAL, ... }
	s := cryptobyte.String(der)
	var pki, alg cryptobyte.String
	var version int
	var p privateKeyInfo
	if !s.ReadASN1(&pki, cbasn1.SEQUENCE) || !s.Empty() ||
		!pki.ReadASN1Integer(&version) || (version != 0 && version != 1) ||
		!pki.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&p.alg) ||
		!pki.ReadASN1(&p.keyOctets, cbasn1.OCTET_STRING) {
		return nil, malformed("%s is not a PKCS#8 PrivateKeyInfo", what)
	}
	p.params = alg
	return &p, nil
}

// checkPrivateKeyInfo validates the PKCS#8 framing of a decrypted key: the
// test that a password was right when there is no MAC.
func checkPrivateKeyInfo(der []byte, what string) error {
	_, err := readPrivateKeyInfo(der, what)
	return err
}

// parsePrivateKey reads a DER PKCS#8 PrivateKeyInfo. It enforces the RSA
// size bound before the standard library does any arithmetic, and names the
// key types it refuses.
func parsePrivateKey(der []byte, what string) (crypto.PrivateKey, error) {
	p, err := readPrivateKeyInfo(der, what)
	if err != nil {
		return nil, err
	}
	switch {
	case p.alg.Equal(oidRSA):
		// RSAPrivateKey ::= SEQUENCE { version INTEGER, modulus INTEGER, ... }
		k := p.keyOctets
		var seq cryptobyte.String
		var v int
		n := new(big.Int)
		if !k.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&v) || !seq.ReadASN1Integer(n) {
			return nil, malformed("%s: RSA private key is not an RSAPrivateKey", what)
		}
		if n.BitLen() > MaxRSABits {
			return nil, fmt.Errorf("%w: %s: RSA key of %d bits, more than the %d this library reads", ErrKeyTooLarge, what, n.BitLen(), MaxRSABits)
		}
	case p.alg.Equal(oidRSAPSS):
		return nil, fmt.Errorf("%w: %s: RSASSA-PSS keys (1.2.840.113549.1.1.10) are not read; export the key as plain rsaEncryption", ErrUnsupported, what)
	case p.alg.Equal(oidDSA):
		return nil, fmt.Errorf("%w: %s: DSA keys are not read (the Go standard library has no DSA support for PKCS#8); re-issue with an RSA, ECDSA or Ed25519 key", ErrUnsupported, what)
	case p.alg.Equal(oidECPublic):
		if err := checkCurve(p, what); err != nil {
			return nil, err
		}
	case p.alg.Equal(oidEd25519), p.alg.Equal(oidX25519):
	case p.alg.Equal(oidEd448), p.alg.Equal(oidX448):
		return nil, fmt.Errorf("%w: %s: Ed448/X448 keys are not read", ErrUnsupported, what)
	default:
		return nil, fmt.Errorf("%w: %s: private key algorithm %v", ErrUnsupported, what, p.alg)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, malformed("%s: %v", what, err)
	}
	return key, nil
}

// checkCurve accepts the NIST curves the standard library implements, named
// either in the PKCS#8 parameters or in the inner SEC1 ECPrivateKey.
func checkCurve(p *privateKeyInfo, what string) error {
	var curve asn1.ObjectIdentifier
	params := p.params
	switch {
	case params.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER):
		params.ReadASN1ObjectIdentifier(&curve)
	case params.Empty() || isNULL(params):
		// ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING,
		//   parameters [0] ECParameters OPTIONAL, publicKey [1] BIT STRING OPTIONAL }
		k := p.keyOctets
		var seq, priv, explicit cryptobyte.String
		var v int
		var has bool
		if !k.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&v) ||
			!seq.ReadASN1(&priv, cbasn1.OCTET_STRING) ||
			!seq.ReadOptionalASN1(&explicit, &has, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return malformed("%s: EC private key is not an ECPrivateKey", what)
		}
		if !has || !explicit.ReadASN1ObjectIdentifier(&curve) {
			return fmt.Errorf("%w: %s: EC key without a named curve (explicit curve parameters are not read)", ErrUnsupported, what)
		}
	default:
		return fmt.Errorf("%w: %s: EC key with explicit curve parameters (only named curves are read)", ErrUnsupported, what)
	}
	switch {
	case curve.Equal(oidCurveP224), curve.Equal(oidCurveP256), curve.Equal(oidCurveP384), curve.Equal(oidCurveP521):
		return nil
	}
	return fmt.Errorf("%w: %s: EC key on curve %v (P-224, P-256, P-384 and P-521 are read)", ErrUnsupported, what, curve)
}
