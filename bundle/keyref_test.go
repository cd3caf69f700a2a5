package bundle_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testpki"
)

// hwKey stands in for a key inside a hardware token: it signs (and counts
// its signatures), but is none of the standard library's key types, so no
// writer can export it, exactly as with a PKCS#11 signer.
type hwKey struct {
	s     crypto.Signer
	mu    sync.Mutex
	signs int
}

func (k *hwKey) Public() crypto.PublicKey { return k.s.Public() }
func (k *hwKey) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	k.mu.Lock()
	k.signs++
	k.mu.Unlock()
	return k.s.Sign(r, d, o)
}
func (k *hwKey) count() int { k.mu.Lock(); defer k.mu.Unlock(); return k.signs }

// fakeToken is an in-memory csr.KeyResolver: URIs to keys, with a count of
// lookups.
type fakeToken struct {
	mu    sync.Mutex
	keys  map[string]crypto.Signer
	calls int
}

func (f *fakeToken) Signer(_ context.Context, uri string) (crypto.Signer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	k, ok := f.keys[uri]
	if !ok {
		return nil, fmt.Errorf("fake token: no private key object at %s", uri)
	}
	return k, nil
}

var _ csr.KeyResolver = (*fakeToken)(nil)

// hwFixture is a pending store holding one request whose key is only
// referenced by URI, and the certificate a CA issued for it.
type hwFixture struct {
	store *csr.DirStore
	key   *hwKey
	uri   string
	root  *testpki.Issuer
	inter *testpki.Issuer
	leaf  *x509.Certificate
	id    string
}

const hwURI = "pkcs11:token=web;id=%0a%0b;object=www;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so"

func newHWFixture(t *testing.T) *hwFixture {
	t.Helper()
	ctx := context.Background()
	store, err := csr.OpenDir(filepath.Join(t.TempDir(), "pending"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := &hwKey{s: testpki.KeyP256(t)}
	der, _, err := csr.Create(nil, &csr.Request{CN: "hsm.example.com"}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &csr.Pending{KeyURI: hwURI, CSR: der}
	if err := store.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	root := testpki.Root(t, "HW Test Root")
	inter := root.Intermediate(t, "HW Test Intermediate")
	leaf, _ := inter.Leaf(t, key.Public(), "hsm.example.com")
	return &hwFixture{store: store, key: key, uri: hwURI, root: root, inter: inter, leaf: leaf, id: p.ID}
}

func (h *hwFixture) response() []bundle.Input {
	var data []byte
	for _, c := range []*x509.Certificate{h.leaf, h.inter.Cert} {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return []bundle.Input{{Name: "response.pem", Data: data}}
}

func (h *hwFixture) opts(r csr.KeyResolver) *bundle.CompleteOptions {
	return &bundle.CompleteOptions{
		Roots:       []*x509.Certificate{h.root.Cert},
		Chain:       &chain.Options{CurrentTime: testpki.Now},
		KeyResolver: r,
	}
}

// TestCompleteKeyURI completes a request whose key stays in a (fake)
// token: the resolver supplies the signer, every layout that needs a key
// file fails before writing anything and leaves the request pending, the
// certificate files are written, Finish archives, and the bundle serves
// TLS with the token's key.
func TestCompleteKeyURI(t *testing.T) {
	ctx := context.Background()
	h := newHWFixture(t)
	tok := &fakeToken{keys: map[string]crypto.Signer{h.uri: h.key}}
	done, err := bundle.Complete(ctx, h.store, h.response(), h.opts(tok))
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || tok.calls != 1 {
		t.Fatalf("Complete gave %d results after %d resolver calls, want 1 and 1", len(done), tok.calls)
	}
	c := done[0]
	if c.Bundle.Key != crypto.Signer(h.key) || c.Pending.KeyURI != h.uri || c.Pending.Key != nil {
		t.Fatalf("Bundle.Key = %T, Pending = %+v; want the token's signer and the entry as stored", c.Bundle.Key, c.Pending)
	}
	if len(c.Bundle.Intermediates) != 1 || !c.Bundle.Intermediates[0].Equal(h.inter.Cert) || !c.Bundle.Root.Equal(h.root.Cert) {
		t.Fatal("the chain was not built to the intermediate and the root")
	}

	// Every server layout holds the key: each fails, writes nothing, and
	// the request stays pending.
	out := filepath.Join(t.TempDir(), "out")
	for _, srv := range bundle.Servers() {
		w, err := c.Write(out, srv, &bundle.WriteOptions{Password: "changeit"})
		if !errors.Is(err, bundle.ErrKeyNotExportable) {
			t.Errorf("Write(%s) = %v, %v; want ErrKeyNotExportable", srv, w, err)
			continue
		}
		for _, want := range []string{"hsm.example.com", "pkcs11:token=web", string(srv), "WriteCertificates"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Write(%s) error %q does not mention %q", srv, err, want)
			}
		}
		if len(w) != 0 {
			t.Errorf("Write(%s) wrote %v", srv, w)
		}
	}
	if err := c.Bundle.Export(filepath.Join(out, "x.pfx"), &bundle.ExportOptions{Password: "changeit"}); !errors.Is(err, bundle.ErrKeyNotExportable) {
		t.Errorf("Export = %v, want ErrKeyNotExportable", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("refused writes left files: %v", entries)
	}
	if err := c.Finish(ctx); !errors.Is(err, bundle.ErrNotWritten) {
		t.Fatalf("Finish before any write = %v, want ErrNotWritten", err)
	}
	if _, err := h.store.Find(ctx, h.key.Public()); err != nil {
		t.Fatalf("the request is no longer pending after refused writes: %v", err)
	}

	// The certificate files alone.
	written, err := c.WriteCertificates(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "cert.pem"), filepath.Join(out, "chain.pem"), filepath.Join(out, "fullchain.pem")}
	if !slices.Equal(written, want) {
		t.Fatalf("WriteCertificates wrote %v, want %v", written, want)
	}
	for name, certs := range map[string][]*x509.Certificate{
		"cert.pem":      {h.leaf},
		"chain.pem":     {h.inter.Cert},
		"fullchain.pem": {h.leaf, h.inter.Cert},
	} {
		p := filepath.Join(out, name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", name, st.Mode().Perm())
		}
		data, _ := os.ReadFile(p)
		if got := hwPEMCerts(t, data); !slices.EqualFunc(got, certs, (*x509.Certificate).Equal) {
			t.Errorf("%s holds %d certificate(s), not the expected %d in order", name, len(got), len(certs))
		}
		if strings.Contains(string(data), "PRIVATE KEY") {
			t.Errorf("%s holds a private key", name)
		}
	}
	if err := c.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Find(ctx, h.key.Public()); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("after Finish, Find = %v; want the request archived", err)
	}
	arch, err := h.store.FindArchived(ctx, h.key.Public())
	if err != nil || arch.KeyURI != h.uri || arch.Key != nil {
		t.Fatalf("archived entry = %+v, %v; want the key URI kept and no key", arch, err)
	}

	// Serving: a TLS handshake signed by the token's key.
	before := h.key.count()
	handshake(t, c.Bundle, h.root.Cert, "hsm.example.com")
	if h.key.count() != before+1 {
		t.Fatalf("the handshake made %d signatures with the token key, want 1", h.key.count()-before)
	}
}

// TestCompleteKeyURIErrors covers the failures: no resolver, a resolver
// that finds nothing or another key. The request stays pending each time.
func TestCompleteKeyURIErrors(t *testing.T) {
	ctx := context.Background()
	h := newHWFixture(t)
	other := &hwKey{s: testpki.KeyP256(t)}
	tests := []struct {
		name    string
		r       csr.KeyResolver
		is      error
		contain []string
	}{
		{"no resolver", nil, csr.ErrNoKeyResolver, []string{"hsm.example.com", "sha256:" + h.id, "pkcs11:token=web", "CompleteOptions.KeyResolver"}},
		{"nothing at the URI", &fakeToken{keys: map[string]crypto.Signer{}}, nil, []string{"response.pem", "no private key object"}},
		{"another key at the URI", &fakeToken{keys: map[string]crypto.Signer{h.uri: other}}, csr.ErrKeyURIMismatch, []string{"sha256:" + h.id, "sha256:" + bundle.Fingerprint(other.Public())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := bundle.Complete(ctx, h.store, h.response(), h.opts(tt.r))
			if err == nil {
				t.Fatalf("Complete = %v, want an error", done)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, c := range tt.contain {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not contain %q", err, c)
				}
			}
			if _, err := h.store.Find(ctx, h.key.Public()); err != nil {
				t.Fatalf("the request is no longer pending: %v", err)
			}
		})
	}
}

// TestCompleteKeyInStoreIgnoresResolver: an entry with its key never asks
// the resolver, so passing one changes nothing for ordinary requests.
func TestCompleteKeyInStoreIgnoresResolver(t *testing.T) {
	ctx := context.Background()
	store, err := csr.OpenDir(filepath.Join(t.TempDir(), "pending"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := testpki.KeyP256(t)
	der, _, err := csr.Create(nil, &csr.Request{CN: "soft.example.com"}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, &csr.Pending{Key: key, CSR: der}); err != nil {
		t.Fatal(err)
	}
	root := testpki.Root(t, "Soft Root")
	leaf, _ := root.Leaf(t, key.Public(), "soft.example.com")
	tok := &fakeToken{}
	done, err := bundle.Complete(ctx, store, []bundle.Input{{Name: "leaf.cer", Data: leaf.Raw}}, &bundle.CompleteOptions{
		Roots: []*x509.Certificate{root.Cert}, Chain: &chain.Options{CurrentTime: testpki.Now}, KeyResolver: tok,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok.calls != 0 {
		t.Fatalf("the resolver was called %d times for a key kept in the store", tok.calls)
	}
	if _, err := done[0].WriteAndFinish(ctx, t.TempDir(), bundle.Nginx, nil); err != nil {
		t.Fatalf("an exportable key no longer writes: %v", err)
	}
}

// TestWriteCertificatesRules: root only when asked and known, no overwrite
// unless asked, and a key that does not match the leaf writes nothing.
func TestWriteCertificatesRules(t *testing.T) {
	h := newHWFixture(t)
	b := &bundle.Bundle{Key: h.key, Leaf: h.leaf, Intermediates: []*x509.Certificate{h.inter.Cert}, Root: h.root.Cert}
	dir := t.TempDir()
	if _, err := b.WriteCertificates(dir, &bundle.WriteOptions{IncludeRoot: true}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "fullchain.pem"))
	if got := hwPEMCerts(t, data); len(got) != 3 || !got[2].Equal(h.root.Cert) {
		t.Fatalf("fullchain.pem with IncludeRoot holds %d certificates, want leaf, intermediate, root", len(got))
	}
	if _, err := b.WriteCertificates(dir, nil); !errors.Is(err, bundle.ErrExists) {
		t.Fatalf("second WriteCertificates = %v, want ErrExists", err)
	}
	if _, err := b.WriteCertificates(dir, &bundle.WriteOptions{Overwrite: true}); err != nil {
		t.Fatalf("WriteCertificates with Overwrite = %v", err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "fullchain.pem"))
	if got := hwPEMCerts(t, data); len(got) != 2 {
		t.Fatalf("fullchain.pem rewritten without the root holds %d certificates, want 2", len(got))
	}

	noRoot := &bundle.Bundle{Key: h.key, Leaf: h.leaf, Intermediates: []*x509.Certificate{h.inter.Cert}}
	if _, err := noRoot.WriteCertificates(t.TempDir(), &bundle.WriteOptions{IncludeRoot: true}); err == nil || !strings.Contains(err.Error(), "no root") {
		t.Fatalf("IncludeRoot without a root = %v", err)
	}
	wrong := &bundle.Bundle{Key: testpki.KeyP256(t), Leaf: h.leaf, Intermediates: []*x509.Certificate{h.inter.Cert}}
	empty := filepath.Join(t.TempDir(), "x")
	if _, err := wrong.WriteCertificates(empty, nil); !errors.Is(err, bundle.ErrKeyMismatch) {
		t.Fatalf("mismatched key = %v, want ErrKeyMismatch", err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a refused WriteCertificates created the folder")
	}
}

func hwPEMCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// handshake serves b on 127.0.0.1 and connects to it as a client trusting
// root, at the pinned test time.
func handshake(t *testing.T, b *bundle.Bundle, root *x509.Certificate, host string) {
	t.Helper()
	cert, err := b.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	now := func() time.Time { return testpki.Now }
	srvErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer conn.Close()
		s := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}, Time: now})
		srvErr <- s.Handshake()
	}()
	pool := x509.NewCertPool()
	pool.AddCert(root)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host, Time: now})
	if err != nil {
		t.Fatalf("TLS handshake with the token key: %v", err)
	}
	conn.Close()
	if err := <-srvErr; err != nil {
		t.Fatalf("server side of the handshake: %v", err)
	}
}

// A request made for a key that stays in a hardware token is completed
// with a KeyResolver (in real use, one that opens the PKCS#11 module); the
// certificate files are written without the key, which cannot leave the
// token.
func ExampleCompleted_WriteCertificates() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "hsm")
	defer os.RemoveAll(tmp)
	store, err := csr.OpenDir(filepath.Join(tmp, "pending"), nil)
	if err != nil {
		log.Fatal(err)
	}

	// Stands in for a key generated inside a token, and a CA.
	token := &exampleToken{}
	const uri = "pkcs11:token=web;object=www;type=private"
	req, _, err := csr.Create(nil, &csr.Request{CN: "www.example.com"}, token.key(uri), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Put(ctx, &csr.Pending{KeyURI: uri, CSR: req}); err != nil {
		log.Fatal(err)
	}
	response, roots := exampleIssue(req)

	done, err := bundle.Complete(ctx, store, []bundle.Input{{Name: "www.cer", Data: response}}, &bundle.CompleteOptions{
		Roots: roots, Chain: &chain.Options{CurrentTime: testpki.Now}, KeyResolver: token,
	})
	if err != nil {
		log.Fatal(err)
	}
	c := done[0]
	_, err = c.Write(filepath.Join(tmp, "nginx"), bundle.Nginx, nil)
	fmt.Println("nginx layout:", errors.Is(err, bundle.ErrKeyNotExportable))
	written, err := c.WriteCertificates(filepath.Join(tmp, "certs"), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range written {
		fmt.Println(filepath.Base(p))
	}
	if err := c.Finish(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = c.Bundle.TLSCertificate()
	fmt.Println("serves TLS:", err == nil)
	// Output:
	// nginx layout: true
	// cert.pem
	// chain.pem
	// fullchain.pem
	// serves TLS: true
}

// exampleToken is a minimal in-memory stand-in for a token: keys made on
// demand, kept under their URI, never exported.
type exampleToken struct{ keys map[string]*hwKey }

func (tk *exampleToken) key(uri string) crypto.Signer {
	if tk.keys == nil {
		tk.keys = map[string]*hwKey{}
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tk.keys[uri] = &hwKey{s: k}
	return tk.keys[uri]
}

func (tk *exampleToken) Signer(_ context.Context, uri string) (crypto.Signer, error) {
	if k, ok := tk.keys[uri]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key at %s", uri)
}

// exampleIssue plays the CA: a root signs a certificate for the request.
func exampleIssue(der []byte) (leafDER []byte, roots []*x509.Certificate) {
	req, err := csr.Parse(der)
	if err != nil {
		log.Fatal(err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root"},
		NotBefore: testpki.NotBefore, NotAfter: testpki.NotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		log.Fatal(err)
	}
	root, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: req.Subject, DNSNames: req.DNSNames,
		NotBefore: testpki.NotBefore, NotAfter: testpki.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err = x509.CreateCertificate(rand.Reader, leaf, root, req.PublicKey, caKey)
	if err != nil {
		log.Fatal(err)
	}
	return leafDER, []*x509.Certificate{root}
}
