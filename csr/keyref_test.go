package csr_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
)

// tokenKey stands in for a key held by a hardware token: it signs, but is
// none of the standard library's key types, so it cannot be exported.
type tokenKey struct{ s crypto.Signer }

func (k tokenKey) Public() crypto.PublicKey { return k.s.Public() }
func (k tokenKey) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return k.s.Sign(r, d, o)
}

// memTokens is a KeyResolver over an in-memory map of URIs, counting calls.
type memTokens struct {
	keys  map[string]crypto.Signer
	calls int
	err   error
}

func (m *memTokens) Signer(_ context.Context, uri string) (crypto.Signer, error) {
	m.calls++
	if m.err != nil {
		return nil, m.err
	}
	k, ok := m.keys[uri]
	if !ok {
		return nil, fmt.Errorf("no object at %s", csr.RedactKeyURI(uri))
	}
	return k, nil
}

var _ csr.KeyResolver = (*memTokens)(nil)

// tokenRequest makes a P-256 key wrapped as a token key and a CSR signed
// with it.
func tokenRequest(t testing.TB, cn string) (crypto.Signer, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := tokenKey{k}
	der, _, err := csr.Create(nil, &csr.Request{CN: cn}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func TestRedactKeyURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"pkcs11:token=web;object=www", "pkcs11:token=web;object=www"},
		{"pkcs11:token=web;object=www?pin-value=1234", "pkcs11:token=web;object=www"},
		{"pkcs11:token=web;object=www?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234", "pkcs11:token=web;object=www?module-path=/usr/lib/softhsm/libsofthsm2.so"},
		{"pkcs11:token=web?pin-value=1234&module-path=/m.so", "pkcs11:token=web?module-path=/m.so"},
		{"pkcs11:token=web;pin-value=1234;object=www", "pkcs11:token=web;object=www"},
		{"pkcs11:pin-value=1234;token=web", "pkcs11:token=web"},
		{"pkcs11:token=web?PIN-VALUE=1234", "pkcs11:token=web"},
		{"pkcs11:token=web?pin%2Dvalue=1234", "pkcs11:token=web"},
		{"pkcs11:token=web?pin-value=12&34&module-path=/m.so", "pkcs11:token=web?module-path=/m.so"},
		{"pkcs11:token=web?pin-source=/etc/pin.txt", "pkcs11:token=web?pin-source=/etc/pin.txt"},
		{"pkcs11:token=web?pin-value=1&pin-value=2", "pkcs11:token=web"},
		{"awskms:key-id=abc", "awskms:key-id=abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := csr.RedactKeyURI(tt.in); got != tt.want {
			t.Errorf("RedactKeyURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResolveKey(t *testing.T) {
	ctx := context.Background()
	key, der := tokenRequest(t, "hsm.example")
	other, _ := tokenRequest(t, "other.example")
	id, err := csr.KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	const uri = "pkcs11:token=web;object=www"
	const pinURI = uri + "?pin-value=s3cret"

	t.Run("key in the entry", func(t *testing.T) {
		r := &memTokens{}
		got, err := csr.ResolveKey(ctx, &csr.Pending{ID: id, Key: key, KeyURI: uri}, r)
		if err != nil || got != key || r.calls != 0 {
			t.Fatalf("ResolveKey = %v, %v after %d resolver calls; want the entry's key without a call", got, err, r.calls)
		}
		if got, err := csr.ResolveKey(ctx, &csr.Pending{ID: id, Key: key}, nil); err != nil || got != key {
			t.Fatalf("ResolveKey without resolver = %v, %v", got, err)
		}
	})
	t.Run("resolved by ID", func(t *testing.T) {
		r := &memTokens{keys: map[string]crypto.Signer{uri: key}}
		got, err := csr.ResolveKey(ctx, &csr.Pending{ID: id, KeyURI: uri, CSR: der}, r)
		if err != nil || got != key || r.calls != 1 {
			t.Fatalf("ResolveKey = %v, %v after %d calls", got, err, r.calls)
		}
	})
	t.Run("resolved by the CSR when there is no ID", func(t *testing.T) {
		r := &memTokens{keys: map[string]crypto.Signer{uri: key}}
		got, err := csr.ResolveKey(ctx, &csr.Pending{KeyURI: uri, CSR: der}, r)
		if err != nil || got != key {
			t.Fatalf("ResolveKey = %v, %v", got, err)
		}
	})
	t.Run("sha256 prefix in the ID", func(t *testing.T) {
		r := &memTokens{keys: map[string]crypto.Signer{uri: key}}
		if _, err := csr.ResolveKey(ctx, &csr.Pending{ID: "sha256:" + strings.ToUpper(id), KeyURI: uri}, r); err != nil {
			t.Fatal(err)
		}
	})

	tests := []struct {
		name    string
		p       *csr.Pending
		r       csr.KeyResolver
		is      error
		contain []string
	}{
		{"no resolver", &csr.Pending{ID: id, KeyURI: pinURI}, nil, csr.ErrNoKeyResolver, []string{"sha256:" + id, uri, "pass a KeyResolver"}},
		{"another key at the URI", &csr.Pending{ID: id, KeyURI: pinURI}, &memTokens{keys: map[string]crypto.Signer{pinURI: other}}, csr.ErrKeyURIMismatch, []string{"sha256:" + id, uri, "a different key"}},
		{"resolver error", &csr.Pending{ID: id, KeyURI: pinURI}, &memTokens{err: errTokenRemoved}, errTokenRemoved, []string{"loading the key", uri, "token removed"}},
		{"nothing at the URI", &csr.Pending{ID: id, KeyURI: pinURI}, &memTokens{}, nil, []string{"no object at " + uri}},
		{"resolver returns nil, nil", &csr.Pending{ID: id, KeyURI: uri}, csr.KeyResolverFunc(func(context.Context, string) (crypto.Signer, error) { return nil, nil }), nil, []string{"no key and no error"}},
		{"neither key nor URI", &csr.Pending{ID: id}, &memTokens{}, nil, []string{"neither a key nor a key URI"}},
		{"no ID and no CSR", &csr.Pending{KeyURI: uri}, &memTokens{}, nil, []string{"no ID and no CSR"}},
		{"bad ID", &csr.Pending{ID: "../x", KeyURI: uri}, &memTokens{}, nil, []string{"is not a key ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := csr.ResolveKey(ctx, tt.p, tt.r)
			if err == nil {
				t.Fatalf("ResolveKey = %v, want an error", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, c := range tt.contain {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not contain %q", err, c)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the PIN", err)
			}
		})
	}
}

var errTokenRemoved = errors.New("token removed")

// TestResolveKeyFromDirStore puts an entry with only a key URI in a
// DirStore, finds it by the public key as a certificate would, and
// resolves its key.
func TestResolveKeyFromDirStore(t *testing.T) {
	ctx := context.Background()
	s, err := csr.OpenDir(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	key, der := tokenRequest(t, "hsm.example")
	const uri = "pkcs11:token=web;id=%01%02;object=www;type=private"
	if err := s.Put(ctx, &csr.Pending{KeyURI: uri, CSR: der}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Find(ctx, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != nil {
		t.Fatal("Find returned a key for an entry with only a key URI")
	}
	got, err := csr.ResolveKey(ctx, p, &memTokens{keys: map[string]crypto.Signer{uri: key}})
	if err != nil || got != key {
		t.Fatalf("ResolveKey = %v, %v", got, err)
	}
}

// A request for a key kept in a token holds only the key's URI; the key is
// loaded through a KeyResolver when the certificate comes back, and checked
// to be the key the request was made for.
func ExampleResolveKey() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pending")
	defer os.RemoveAll(dir)
	store, err := csr.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Stands in for a key generated inside a PKCS#11 token.
	hwKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const uri = "pkcs11:token=web;object=www;type=private"
	der, _, err := csr.Create(nil, &csr.Request{CN: "www.example.com"}, hwKey, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Put(ctx, &csr.Pending{KeyURI: uri, CSR: der}); err != nil {
		log.Fatal(err)
	}

	// Later: the certificate's public key finds the entry, the resolver
	// (in real use, one that opens the PKCS#11 module) loads the key.
	p, err := store.Find(ctx, hwKey.Public())
	if err != nil {
		log.Fatal(err)
	}
	resolver := csr.KeyResolverFunc(func(_ context.Context, u string) (crypto.Signer, error) {
		if u != uri {
			return nil, fmt.Errorf("no key at %s", u)
		}
		return hwKey, nil
	})
	key, err := csr.ResolveKey(ctx, p, resolver)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Key == nil, key.Public().(*ecdsa.PublicKey).Equal(hwKey.Public()))

	_, err = csr.ResolveKey(ctx, p, nil)
	fmt.Println(errors.Is(err, csr.ErrNoKeyResolver))
	// Output:
	// true true
	// true
}

// FuzzRedactKeyURI: no panic; the result keeps no pin-value attribute and
// redacting it again changes nothing.
func FuzzRedactKeyURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=web;object=www?module-path=/m.so&pin-value=SECRET",
		"pkcs11:token=web;pin-value=SECRET;object=www",
		"pkcs11:pin-value=1234;token=web",
		"pkcs11:token=web?pin%2Dvalue=1234&pin-value=12&34",
		"pkcs11:token=web?pin-source=/etc/pin.txt",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := csr.RedactKeyURI(s)
		if again := csr.RedactKeyURI(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		if strings.Contains(s, "pin-value=SECRET") && strings.Contains(out, "SECRET") && !strings.Contains(strings.ReplaceAll(s, "pin-value=SECRET", ""), "SECRET") {
			t.Fatalf("%q kept the PIN: %q", s, out)
		}
	})
}
