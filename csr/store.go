package csr

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeyID returns the identifier the pending store files a key under: the
// lowercase hex SHA-256 of the DER SubjectPublicKeyInfo of pub (64
// characters). pub is a public key as crypto/x509 knows it (*rsa.PublicKey,
// *ecdsa.PublicKey, ed25519.PublicKey); the same key always gives the same
// ID, whether it comes from the private key, the CSR or the certificate the
// CA returns, which is how Find pairs a certificate with its key.
//
// The value equals `openssl pkey -pubin -outform DER | sha256sum` of the
// public key.
func KeyID(pub crypto.PublicKey) (string, error) {
	if pub == nil {
		return "", errors.New("csr: KeyID of a nil public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("csr: cannot compute a key ID for a %T public key: %w", pub, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// normalizeKeyID accepts an ID as KeyID returns it, with or without the
// "sha256:" prefix that error messages show, in either case, and returns it
// in KeyID's form. Anything else (in particular path separators) is refused,
// so an ID can never name a file outside the store.
func normalizeKeyID(id string) (string, error) {
	s := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(id, "sha256:"), "SHA256:"))
	if len(s) != sha256.Size*2 {
		return "", fmt.Errorf("csr: %q is not a key ID (want the 64 hex digits of the SHA-256 of the public key, as KeyID returns)", id)
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("csr: %q is not a key ID (want the 64 hex digits of the SHA-256 of the public key, as KeyID returns)", id)
		}
	}
	return s, nil
}

// Pending is one request waiting for its certificate: the private key (or a
// reference to a key kept elsewhere), the CSR sent to the CA, and what was
// asked for.
type Pending struct {
	// ID is the KeyID of the public key. Put fills it in when empty and
	// refuses a value that does not match the key or the CSR.
	ID string
	// Key is the private key. It is nil when the key lives elsewhere (a
	// hardware token or KMS) and KeyURI says where. A Key must be one that
	// x509.MarshalPKCS8PrivateKey encodes (RSA, ECDSA, Ed25519).
	Key crypto.Signer
	// KeyURI references a key kept outside the store, e.g. a PKCS#11 URI
	// (RFC 7512). Optional; when Key is nil it is required.
	KeyURI string
	// CSR is the DER of the certificate request. Optional, but when set its
	// public key must be the key's; for an entry without Key it is how Put
	// learns the public key.
	CSR []byte
	// Subject is the requested subject in RFC 2253 form ("CN=www.example.com,O=Example Ltd").
	// Put fills it in from CSR when empty.
	Subject string
	// SANs are the requested subject alternative names as text
	// ("DNS:www.example.com", "IP Address:192.0.2.1", "email:a@example.com",
	// "URI:https://example.com"). Put fills them in from CSR when empty.
	SANs []string
	// Created is when the entry was made; Put sets it to the store's clock
	// when zero.
	Created time.Time
	// Completed is zero while the request is pending; for entries read
	// from the archive it is when Complete archived them.
	Completed time.Time
}

// Store keeps pending requests until their certificates arrive. DirStore,
// a folder on disk, is the implementation this package provides; others
// (a database, a secrets manager) implement the same four methods with the
// same guarantees: an acknowledged Put survives a crash, nothing is
// overwritten, and Complete archives rather than deletes.
type Store interface {
	// Put records a new pending request. It never replaces an entry: if a
	// request for the same key is already pending it fails with an error
	// wrapping ErrExists and leaves the existing entry as it was. Once Put
	// returns nil the entry is durable.
	Put(ctx context.Context, p *Pending) error
	// Find returns the pending request whose key has the public key pub
	// (the certificate's public key), or an error wrapping ErrNotFound.
	// Archived (completed) entries are not searched.
	Find(ctx context.Context, pub crypto.PublicKey) (*Pending, error)
	// List returns every pending request, metadata and key.
	List(ctx context.Context) ([]*Pending, error)
	// Complete archives the pending request with the given ID once the
	// certificate issued for it has been safely written. The key is kept in
	// the archive, not deleted. Completing an ID that is no longer pending
	// but was archived before succeeds (a retry after a crash is safe); an
	// ID never seen gives ErrNotFound.
	Complete(ctx context.Context, id string) error
}

// Errors the pending store returns, wrapped with the folder, the key ID and
// the way out. Test for them with errors.Is.
var (
	// ErrNotFound means no pending request has the key asked for.
	ErrNotFound = errors.New("csr: no pending request for this key")
	// ErrExists means a request for the same key is already pending; Put
	// left it untouched.
	ErrExists = errors.New("csr: a request for this key is already pending")
	// ErrIncorrectPassphrase means the passphrase given does not decrypt the
	// store's keys.
	ErrIncorrectPassphrase = errors.New("csr: incorrect passphrase")
	// ErrPassphraseRequired means the store's keys are encrypted and no
	// passphrase was given.
	ErrPassphraseRequired = errors.New("csr: the pending store is encrypted and needs a passphrase")
)
