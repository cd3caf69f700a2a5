//go:build !cgo || nopkcs11

package hsm

import (
	"context"
	"crypto"

	"github.com/certwright/certwright/csr"
)

// Resolver would open PKCS#11 tokens, but this build cannot load a PKCS#11
// module (no cgo, or the nopkcs11 tag): every method fails with ErrNoCgo.
// The cgo build documents the real behaviour.
type Resolver struct {
	// PIN is kept so that code compiles in both builds; it is never called.
	PIN func(module, token string) (string, error)
}

var _ csr.KeyResolver = (*Resolver)(nil)

// Signer fails with ErrNoCgo.
func (r *Resolver) Signer(ctx context.Context, uri string) (crypto.Signer, error) {
	if _, err := ParseURI(uri); err != nil {
		return nil, err
	}
	return nil, ErrNoCgo
}

// GenerateKey fails with ErrNoCgo.
func (r *Resolver) GenerateKey(ctx context.Context, req KeyRequest) (crypto.Signer, *URI, error) {
	if _, err := checkRequest(&req); err != nil {
		return nil, nil, err
	}
	return nil, nil, ErrNoCgo
}

// Inspect fails with ErrNoCgo.
func (r *Resolver) Inspect(ctx context.Context, uri string) (*KeyInfo, error) {
	if _, err := ParseURI(uri); err != nil {
		return nil, err
	}
	return nil, ErrNoCgo
}

// DeleteKey fails with ErrNoCgo.
func (r *Resolver) DeleteKey(ctx context.Context, uri string) error {
	if _, err := ParseURI(uri); err != nil {
		return err
	}
	return ErrNoCgo
}

// Close does nothing.
func (r *Resolver) Close() error { return nil }
