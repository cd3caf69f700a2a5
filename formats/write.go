package formats

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/certwright/certwright/internal/pkcs8"
)

// EncodeCertificatesPEM returns the certificates as consecutive PEM blocks
// labelled CERTIFICATE, in the order given (for a chain: leaf first, then
// each issuer), the form nginx, Apache and HAProxy read.
func EncodeCertificatesPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// EncodeCSRPEM returns a certificate request as a PEM block labelled
// CERTIFICATE REQUEST.
func EncodeCSRPEM(req *x509.CertificateRequest) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: req.Raw})
}

// KeyEncoding selects how a private key is serialised.
type KeyEncoding int

const (
	// PKCS8 is PrivateKeyInfo (PEM "PRIVATE KEY"), readable by every
	// current tool, for every key type. It is the default.
	PKCS8 KeyEncoding = iota
	// Traditional is PKCS#1 for RSA (PEM "RSA PRIVATE KEY") and SEC 1 for
	// ECDSA (PEM "EC PRIVATE KEY"), for software that predates PKCS#8.
	// Ed25519 has no traditional form.
	Traditional
)

// KeyOptions controls EncodeKeyPEM and EncodeKeyDER. The zero value writes
// an unencrypted PKCS#8 key.
type KeyOptions struct {
	// Encoding selects PKCS#8 (zero) or the traditional encoding.
	Encoding KeyEncoding
	// Password, when not empty, encrypts the key as PKCS#8 PBES2
	// (PBKDF2-HMAC-SHA-256, AES-256-CBC; PEM "ENCRYPTED PRIVATE KEY").
	// It cannot be combined with Traditional: legacy encrypted PEM is
	// never written.
	Password string
	// Iterations is the PBKDF2 iteration count for an encrypted key; 0
	// means internal/pkcs8's default (600,000).
	Iterations int
	// Rand supplies salt and IV for an encrypted key; nil means
	// crypto/rand.
	Rand io.Reader
}

// EncodeKeyDER returns the DER of key in the encoding opts asks for (nil
// means PKCS#8, unencrypted), and the matching PEM label.
func EncodeKeyDER(key crypto.Signer, opts *KeyOptions) (der []byte, label string, err error) {
	var o KeyOptions
	if opts != nil {
		o = *opts
	}
	switch o.Encoding {
	case PKCS8:
		der, err = x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, "", fmt.Errorf("formats: %w", err)
		}
		label = "PRIVATE KEY"
	case Traditional:
		if o.Password != "" {
			return nil, "", errors.New("formats: an encrypted key is written as PKCS#8 only; legacy encrypted PEM is weak (one MD5 round)")
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			der, label = x509.MarshalPKCS1PrivateKey(k), "RSA PRIVATE KEY"
		case *ecdsa.PrivateKey:
			der, err = x509.MarshalECPrivateKey(k)
			if err != nil {
				return nil, "", fmt.Errorf("formats: %w", err)
			}
			label = "EC PRIVATE KEY"
		default:
			return nil, "", fmt.Errorf("formats: a %T key has no traditional encoding; use PKCS8", key)
		}
		return der, label, nil
	default:
		return nil, "", fmt.Errorf("formats: unknown key encoding %d", o.Encoding)
	}
	if o.Password == "" {
		return der, label, nil
	}
	enc, err := pkcs8.Encrypt(der, []byte(o.Password), &pkcs8.Options{Iterations: o.Iterations, Rand: o.Rand})
	if err != nil {
		return nil, "", fmt.Errorf("formats: encrypting the key: %w", err)
	}
	return enc, pkcs8.PEMType, nil
}

// EncodeKeyPEM returns key as one PEM block: "PRIVATE KEY" by default,
// "ENCRYPTED PRIVATE KEY" with a password, "RSA PRIVATE KEY" or
// "EC PRIVATE KEY" with Traditional. Write the result with mode 0600.
func EncodeKeyPEM(key crypto.Signer, opts *KeyOptions) ([]byte, error) {
	der, label, err := EncodeKeyDER(key, opts)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}), nil
}
