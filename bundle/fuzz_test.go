package bundle

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testpki"
)

// FuzzComplete feeds arbitrary bytes as a CA's answer. Complete must not
// panic, and whatever it returns must be a consistent bundle for the
// pending key. Seeds: the leaf as DER, the chain as PEM, a root-first
// PKCS#7, a .pfx, and junk.
func FuzzComplete(f *testing.F) {
	root := testpki.Root(f, "Fuzz Root")
	inter := root.Intermediate(f, "Fuzz Intermediate")
	key := testpki.KeyP256(f)
	leaf, _ := inter.Leaf(f, key.Public(), "www.example.com")
	f.Add(leaf.Raw)
	f.Add(encodeCertsPEM([]*x509.Certificate{leaf, inter.Cert, root.Cert}))
	f.Add(p7b(f, root.Cert, inter.Cert, leaf))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x80, 0x30, 0x80, 0x00, 0x00})

	store := newMemStore()
	if err := store.Put(context.Background(), &pendingFor(key).Pending); err != nil {
		f.Fatal(err)
	}
	opts := &CompleteOptions{Roots: []*x509.Certificate{root.Cert}, Chain: &chain.Options{CurrentTime: testpki.Now}}
	f.Fuzz(func(t *testing.T, data []byte) {
		done, err := Complete(context.Background(), store, []Input{{Name: "fuzz", Data: data}}, opts)
		if err != nil {
			return
		}
		for _, c := range done {
			if err := c.Bundle.Check(); err != nil {
				t.Fatalf("inconsistent bundle: %v", err)
			}
			if !publicKeyEqual(c.Bundle.Key.Public(), key.Public()) {
				t.Fatal("paired with a key that is not the pending one")
			}
		}
	})
}
