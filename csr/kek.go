package csr

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Encryption at rest of an SQLStore: each private key (PKCS#8 DER) is
// sealed with AES-256-GCM under a key-encryption key (KEK) the caller
// keeps outside the database. The sealed value is
//
//	nonce (12 random bytes) || ciphertext || tag (16 bytes)
//
// with the additional authenticated data "certwright-sqlstore-key/1 " +
// the entry's KeyID, so a sealed key moved to another row (or another
// table of the same KEK) does not open. Each row records the ID of the KEK
// that sealed it: the first 16 hex digits of HMAC-SHA256(KEK,
// "certwright key-encryption key id"). The ID tells a wrong KEK apart from
// a damaged row without trying to decrypt, and lets a store read rows
// sealed under older KEKs during a rotation; it reveals nothing usable
// about the KEK.

// KEKSize is the size in bytes of a key-encryption key (AES-256).
const KEKSize = 32

// ErrWrongKEK means the key-encryption key given does not open the keys
// of an SQLStore, or is not one the store knows. It wraps
// ErrIncorrectPassphrase, so errors.Is(err, ErrIncorrectPassphrase) also
// holds.
var ErrWrongKEK error = &childError{msg: "csr: wrong key-encryption key", parent: ErrIncorrectPassphrase}

// childError is a sentinel error that is also its parent sentinel.
type childError struct {
	msg    string
	parent error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.parent }

const (
	kekIDLabel = "certwright key-encryption key id"
	kekAADTag  = "certwright-sqlstore-key/1 "
	gcmNonce   = 12
)

// kek is one key-encryption key ready to seal and open.
type kek struct {
	id   string
	aead cipher.AEAD
}

// kekID returns the public ID of a KEK.
func kekID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kekIDLabel))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// newKEK checks the size of key and prepares it. what names the option
// for the error ("SQLOptions.KEK").
func newKEK(key []byte, what string) (*kek, error) {
	if len(key) != KEKSize {
		return nil, fmt.Errorf("csr: %s is %d bytes; a key-encryption key is exactly %d random bytes (AES-256), e.g. from `openssl rand 32`, kept outside the database", what, len(key), KEKSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("csr: %s: %w", what, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("csr: %s: %w", what, err)
	}
	return &kek{id: kekID(key), aead: aead}, nil
}

func kekAAD(keyID string) []byte { return []byte(kekAADTag + keyID) }

// seal encrypts the PKCS#8 DER of the key of keyID with a random nonce
// read from rand.
func (k *kek) seal(rand io.Reader, keyID string, der []byte) ([]byte, error) {
	out := make([]byte, gcmNonce, gcmNonce+len(der)+k.aead.Overhead())
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, fmt.Errorf("csr: reading a nonce for the key of sha256:%s: %w", keyID, err)
	}
	return k.aead.Seal(out, out[:gcmNonce], der, kekAAD(keyID)), nil
}

// errSealedDamaged means a sealed key did not authenticate under the KEK
// whose ID its row records.
var errSealedDamaged = errors.New("the sealed key does not authenticate")

// open decrypts a sealed key of keyID.
func (k *kek) open(keyID string, sealed []byte) ([]byte, error) {
	if len(sealed) < gcmNonce+k.aead.Overhead() {
		return nil, fmt.Errorf("%w (it is %d bytes, shorter than a nonce and a tag)", errSealedDamaged, len(sealed))
	}
	der, err := k.aead.Open(nil, sealed[:gcmNonce], sealed[gcmNonce:], kekAAD(keyID))
	if err != nil {
		return nil, errSealedDamaged
	}
	return der, nil
}
