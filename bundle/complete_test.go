package bundle

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
)

// memStore is an in-memory csr.Store that counts Complete calls.
type memStore struct {
	mu       sync.Mutex
	pending  map[string]*csr.Pending
	archived map[string]*csr.Pending
}

var _ csr.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{pending: map[string]*csr.Pending{}, archived: map[string]*csr.Pending{}}
}

func (s *memStore) Put(_ context.Context, p *csr.Pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := csr.KeyID(p.Key.Public())
	if err != nil {
		return err
	}
	if _, ok := s.pending[id]; ok {
		return csr.ErrExists
	}
	p.ID = id
	s.pending[id] = p
	return nil
}

func (s *memStore) Find(_ context.Context, pub crypto.PublicKey) (*csr.Pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := csr.KeyID(pub)
	if err != nil {
		return nil, err
	}
	if p, ok := s.pending[id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("memstore: %s: %w", id, csr.ErrNotFound)
}

func (s *memStore) List(context.Context) ([]*csr.Pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*csr.Pending
	for _, p := range s.pending {
		out = append(out, p)
	}
	return out, nil
}

func (s *memStore) Complete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	if !ok {
		if _, done := s.archived[id]; done {
			return nil
		}
		return csr.ErrNotFound
	}
	delete(s.pending, id)
	p.Completed = testpki.Now
	s.archived[id] = p
	return nil
}

// hierarchy is a root, an intermediate and a pending key with its issued leaf.
type hierarchy struct {
	root, inter *testpki.Issuer
	key         crypto.Signer
	leaf        *x509.Certificate
	store       *memStore
}

func newHierarchy(t *testing.T) *hierarchy {
	t.Helper()
	h := &hierarchy{root: testpki.Root(t, "Complete Root"), store: newMemStore()}
	h.inter = h.root.Intermediate(t, "Complete Intermediate")
	h.key = testpki.KeyP256(t)
	h.leaf, _ = h.inter.Leaf(t, h.key.Public(), "www.example.com")
	if err := h.store.Put(context.Background(), &csr.Pending{Key: h.key, Subject: "CN=www.example.com", SANs: []string{"DNS:www.example.com"}, Created: testpki.NotBefore}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hierarchy) opts() *CompleteOptions {
	return &CompleteOptions{Roots: []*x509.Certificate{h.root.Cert}, Chain: &chain.Options{CurrentTime: testpki.Now}}
}

func pemOf(certs ...*x509.Certificate) []byte { return encodeCertsPEM(certs) }

// pendingFor wraps a key as a pending entry.
type pendingEntry struct{ Pending csr.Pending }

func pendingFor(k crypto.Signer) *pendingEntry { return &pendingEntry{csr.Pending{Key: k}} }

func p7b(t testing.TB, certs ...*x509.Certificate) []byte {
	t.Helper()
	der, err := formats.EncodePKCS7(certs)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCompleteLeafAndRootFirstP7B(t *testing.T) {
	h := newHierarchy(t)
	ctx := context.Background()
	inputs := []Input{
		{Name: "certnew.cer", Data: h.leaf.Raw},
		{Name: "certnew.p7b", Data: p7b(t, h.root.Cert, h.inter.Cert)}, // root first, as AD CS sends it
	}
	done, err := Complete(ctx, h.store, inputs, h.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 {
		t.Fatalf("%d completed, want 1", len(done))
	}
	c := done[0]
	b := c.Bundle
	if b.Leaf.Subject.CommonName != "www.example.com" || len(b.Intermediates) != 1 || b.Intermediates[0].Subject.CommonName != "Complete Intermediate" || b.Root.Subject.CommonName != "Complete Root" {
		t.Fatalf("bundle: leaf %s, %d intermediates, root %v", b.Leaf.Subject, len(b.Intermediates), b.Root)
	}
	if c.Source != "certnew.cer" || c.Pending.ID != Fingerprint(h.key.Public()) {
		t.Errorf("source %q, pending %s", c.Source, c.Pending.ID)
	}
	// Nothing is archived until the files are written.
	if len(h.store.pending) != 1 {
		t.Fatal("Complete archived the pending request before anything was written")
	}
	if err := c.Finish(ctx); !errors.Is(err, ErrNotWritten) {
		t.Fatalf("Finish before Write: %v", err)
	}
	dir := t.TempDir()
	w, err := c.WriteAndFinish(ctx, dir, Nginx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 || len(h.store.pending) != 0 || len(h.store.archived) != 1 {
		t.Fatalf("wrote %v; pending %d, archived %d", w, len(h.store.pending), len(h.store.archived))
	}
}

func TestCompleteFailedWriteKeepsPending(t *testing.T) {
	h := newHierarchy(t)
	ctx := context.Background()
	done, err := Complete(ctx, h.store, []Input{{Name: "chain.pem", Data: pemOf(h.leaf, h.inter.Cert)}}, h.opts())
	if err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(t.TempDir(), "not-a-folder")
	os.WriteFile(blocker, []byte("x"), 0o644)
	if _, err := done[0].WriteAndFinish(ctx, filepath.Join(blocker, "out"), Nginx, nil); err == nil {
		t.Fatal("write under a regular file succeeded")
	}
	if _, err := h.store.Find(ctx, h.key.Public()); err != nil {
		t.Fatalf("pending key gone after a failed write: %v", err)
	}
	// An existing key in the folder is a failed write too.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "privkey.pem"), []byte("old key"), 0o600)
	if _, err := done[0].WriteAndFinish(ctx, dir, Nginx, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("write over a key: %v", err)
	}
	if len(h.store.pending) != 1 {
		t.Fatal("pending key archived after a refused write")
	}
}

func TestCompleteWrongKey(t *testing.T) {
	h := newHierarchy(t)
	other, _ := h.inter.Leaf(t, nil, "www.example.com") // issued for another key
	_, err := Complete(context.Background(), h.store, []Input{{Name: "issued.cer", Data: other.Raw}}, h.opts())
	if !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("err = %v, want ErrKeyNotFound", err)
	}
	var kerr *KeyNotFoundError
	if !errors.As(err, &kerr) || len(kerr.Certificates) != 1 || len(kerr.Searched) != 1 {
		t.Fatalf("error detail: %#v", kerr)
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{
		`"CN=www.example.com"`,
		fmt.Sprintf("serial %X", other.SerialNumber),
		"sha256:" + Fingerprint(other.PublicKey),
		"sha256:" + Fingerprint(h.key.Public()),
		"issued.cer",
		"another machine",
		"different CSR",
		"same subject",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// The store is untouched.
	if len(h.store.pending) != 1 {
		t.Fatal("store changed")
	}
}

func TestCompleteSeveralLeaves(t *testing.T) {
	h := newHierarchy(t)
	stranger, _ := h.inter.Leaf(t, nil, "other.example.com")
	key2 := testpki.KeyP256(t)
	leaf2, _ := h.inter.Leaf(t, key2.Public(), "api.example.com")
	h.store.Put(context.Background(), &csr.Pending{Key: key2, Subject: "CN=api.example.com"})
	// All in one PEM, in an unhelpful order.
	data := pemOf(h.inter.Cert, stranger, leaf2, h.root.Cert, h.leaf)
	done, err := Complete(context.Background(), h.store, []Input{{Name: "all.pem", Data: data}}, h.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 {
		t.Fatalf("%d completed, want 2", len(done))
	}
	got := map[string]bool{}
	for _, c := range done {
		got[c.Bundle.Leaf.DNSNames[0]] = true
		if len(c.Bundle.Intermediates) != 1 || !publicKeyEqual(c.Bundle.Key.Public(), c.Bundle.Leaf.PublicKey) {
			t.Errorf("%s: bad bundle", c.Bundle.Leaf.DNSNames[0])
		}
		if len(c.Notes) == 0 || !strings.Contains(strings.Join(c.Notes, "\n"), "other.example.com") {
			t.Errorf("notes do not mention the leaf left aside: %v", c.Notes)
		}
	}
	if !got["www.example.com"] || !got["api.example.com"] {
		t.Errorf("completed %v", got)
	}
}

func TestCompleteErrors(t *testing.T) {
	h := newHierarchy(t)
	ctx := context.Background()
	_, err := Complete(ctx, h.store, []Input{{Name: "chain.p7b", Data: p7b(t, h.inter.Cert, h.root.Cert)}}, h.opts())
	if !errors.Is(err, ErrNoCertificate) || !strings.Contains(err.Error(), "chain.p7b") {
		t.Errorf("CA certificates only: %v", err)
	}
	// Missing intermediate, trusted root known: no chain.
	_, err = Complete(ctx, h.store, []Input{{Name: "leaf.cer", Data: h.leaf.Raw}}, h.opts())
	if !errors.Is(err, chain.ErrNoChain) || !strings.Contains(err.Error(), "leaf.cer") {
		t.Errorf("missing intermediate: %v", err)
	}
	// The root in the response is not trusted by itself.
	other := testpki.Root(t, "Unrelated Root")
	opts := h.opts()
	opts.Roots = []*x509.Certificate{other.Cert}
	_, err = Complete(ctx, h.store, []Input{{Name: "full.pem", Data: pemOf(h.leaf, h.inter.Cert, h.root.Cert)}}, opts)
	if !errors.Is(err, chain.ErrNoChain) {
		t.Errorf("untrusted root in response: %v", err)
	}
	_, err = Complete(ctx, h.store, []Input{{Name: "junk.cer", Data: []byte("not a certificate")}}, h.opts())
	if err == nil || !strings.Contains(err.Error(), "junk.cer") {
		t.Errorf("junk: %v", err)
	}
	if len(h.store.pending) != 1 {
		t.Fatal("store changed by failed completions")
	}
}

func TestCompleteFromPFXAndBase64(t *testing.T) {
	h := newHierarchy(t)
	pfx, err := formats.EncodePKCS12(h.key, h.leaf, []*x509.Certificate{h.inter.Cert}, "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := h.opts()
	opts.Password = "pw"
	done, err := Complete(context.Background(), h.store, []Input{{Name: "issued.pfx", Data: pfx}}, opts)
	if err != nil || len(done) != 1 {
		t.Fatalf("pfx: %v", err)
	}
	b64 := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: h.leaf.Raw})), "\n", "\r\n")
	b64 = strings.Join(strings.Split(b64, "\r\n")[1:len(strings.Split(b64, "\r\n"))-2], "\r\n")
	done, err = Complete(context.Background(), h.store, []Input{{Name: "issued.cer", Data: []byte(b64)}, {Name: "chain.pem", Data: pemOf(h.inter.Cert)}}, h.opts())
	if err != nil || len(done) != 1 {
		t.Fatalf("base64 .cer: %v", err)
	}
}

func TestPair(t *testing.T) {
	h := newHierarchy(t)
	ctx := context.Background()
	keyDER, _ := x509.MarshalPKCS8PrivateKey(h.key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	// An older certificate for another key sits among the files.
	old, _ := h.inter.Leaf(t, nil, "www.example.com")
	bs, err := Pair(ctx, []Input{
		{Name: "server.key", Data: keyPEM},
		{Name: "old.crt", Data: pemOf(old)},
		{Name: "server.crt", Data: pemOf(h.leaf)},
		{Name: "chain.crt", Data: pemOf(h.inter.Cert)},
	}, h.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Leaf != h.leaf && !h.leaf.Equal(bs[0].Leaf) || len(bs[0].Intermediates) != 1 {
		t.Fatalf("pair: %+v", bs)
	}
	_, err = Pair(ctx, []Input{{Name: "server.key", Data: keyPEM}, {Name: "old.crt", Data: pemOf(old, h.inter.Cert)}}, h.opts())
	var kerr *KeyNotFoundError
	if !errors.As(err, &kerr) || kerr.Store || !strings.Contains(err.Error(), "server.key") || !strings.Contains(err.Error(), Fingerprint(h.key.Public())) {
		t.Fatalf("wrong key file: %v", err)
	}
	if _, err := Pair(ctx, []Input{{Name: "server.crt", Data: pemOf(h.leaf)}}, h.opts()); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
}
