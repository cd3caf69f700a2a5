//go:build cgo && !nopkcs11

package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/hsm/hsmtest"
)

// BenchmarkSign compares one signature (what a TLS handshake costs the
// server's key) made inside SoftHSM2 through PKCS#11 with the same
// signature by an in-memory key of the standard library: the price of a
// key that never leaves the token. A hardware HSM is slower still per
// operation, and bounded by its own throughput.
func BenchmarkSign(b *testing.B) {
	tok := hsmtest.SoftHSM(b)
	ctx := context.Background()
	r := &Resolver{PIN: tok.PINFunc()}
	defer r.Close()
	digest := sha256.Sum256([]byte("handshake transcript"))
	for _, kt := range []csr.KeyType{csr.P256, csr.RSA2048} {
		token, u, err := r.GenerateKey(ctx, KeyRequest{Module: tok.Module, Token: tok.Label, Label: "bench-" + string(kt), Type: kt})
		if err != nil {
			b.Fatal(err)
		}
		var mem crypto.Signer
		if kt == csr.P256 {
			mem, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			mem, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []struct {
			name string
			key  crypto.Signer
		}{{"softhsm2", token}, {"stdlib", mem}} {
			b.Run(string(kt)+"/"+s.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		if err := r.DeleteKey(ctx, u.String()); err != nil {
			b.Fatal(err)
		}
	}
}
