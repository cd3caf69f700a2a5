package csr

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/certwright/certwright/internal/pkcs8"
)

// Encryption at rest of a DirStore: each key.pem is an encrypted PKCS#8
// file written by internal/pkcs8 (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC),
// the format `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, so a key can be
// taken out of the store with `openssl pkey -in key.pem` and the
// passphrase, without this library.

const encryptedKeyPEMType = pkcs8.PEMType

func (s *DirStore) checkIterations() error {
	if s.iter < 0 || s.iter > pkcs8.DefaultMaxIterations {
		return fmt.Errorf("csr: DirOptions.Iterations %d is outside 1..%d (0 means %d)", s.iter, pkcs8.DefaultMaxIterations, pkcs8.DefaultIterations)
	}
	return nil
}

// encryptKey encrypts the PKCS#8 DER of a key with the store's passphrase.
func (s *DirStore) encryptKey(der []byte) ([]byte, error) {
	enc, err := pkcs8.Encrypt(der, s.pass, &pkcs8.Options{Rand: s.rand, Iterations: s.iter})
	if err != nil {
		return nil, fmt.Errorf("csr: encrypting the key: %w", err)
	}
	return enc, nil
}

// decryptKey decrypts an EncryptedPrivateKeyInfo read from the file name.
// A wrong passphrase gives an error wrapping ErrIncorrectPassphrase (and
// pkcs8.ErrIncorrectPassphrase).
func (s *DirStore) decryptKey(der []byte, name string) ([]byte, error) {
	plain, err := pkcs8.Decrypt(der, s.pass)
	if errors.Is(err, pkcs8.ErrIncorrectPassphrase) {
		return nil, fmt.Errorf("%w for %s: it does not decrypt %s (the passphrase given when the store was created is needed): %w", ErrIncorrectPassphrase, s.dir, name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("csr: decrypting %s: %w", name, err)
	}
	return plain, nil
}

// passphraseCheck returns the PEM of a throwaway Ed25519 key encrypted
// with the store's passphrase, kept in store.json so that OpenDir can
// verify a passphrase before any key is written with it: a mistyped
// passphrase must not encrypt a new key that the right one cannot read.
func (s *DirStore) passphraseCheck() (string, error) {
	_, k, err := ed25519.GenerateKey(s.rand)
	if err != nil {
		return "", fmt.Errorf("csr: making the passphrase check: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	enc, err := s.encryptKey(der)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: encryptedKeyPEMType, Bytes: enc})), nil
}
