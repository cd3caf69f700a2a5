package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// renewPKI is a root with two intermediates, as a CA that moves its
// issuance from intermediate A to intermediate B.
type renewPKI struct {
	root, a, b *testpki.Issuer
	store      *csr.DirStore
}

func newRenewPKI(t *testing.T) *renewPKI {
	t.Helper()
	root := testpki.Root(t, "Renew Root")
	st, err := csr.OpenDir(filepath.Join(t.TempDir(), "pending"), &csr.DirOptions{Now: func() time.Time { return testpki.Now }})
	if err != nil {
		t.Fatal(err)
	}
	return &renewPKI{root: root, a: root.Intermediate(t, "Issuing CA A"), b: root.Intermediate(t, "Issuing CA B"), store: st}
}

func (p *renewPKI) completeOpts() *CompleteOptions {
	return &CompleteOptions{Roots: []*x509.Certificate{p.root.Cert}, Chain: &chain.Options{CurrentTime: testpki.Now}}
}

// oldCert is the certificate being renewed: a full subject and SANs of
// every kind, issued by iss for key.
func oldCert(t *testing.T, iss *testpki.Issuer, key crypto.Signer) *x509.Certificate {
	t.Helper()
	u, _ := url.Parse("spiffe://example.com/web")
	return testpki.Sign(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "www.example.com", Organization: []string{"Example Ltd"}, OrganizationalUnit: []string{"Web"},
			Locality: []string{"Leeds"}, Province: []string{"West Yorkshire"}, Country: []string{"GB"}},
		DNSNames:       []string{"www.example.com", "example.com"},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.1").To4()},
		EmailAddresses: []string{"ops@example.com"},
		URIs:           []*url.URL{u},
		NotBefore:      testpki.NotBefore,
		NotAfter:       testpki.NotBefore.Add(90 * 24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, key.Public(), iss, nil)
}

// issueFromCSR plays the CA: a certificate with the request's subject and
// SANs, issued by iss.
func issueFromCSR(t *testing.T, der []byte, iss *testpki.Issuer) *x509.Certificate {
	t.Helper()
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return testpki.Sign(t, &x509.Certificate{
		Subject: req.Subject, DNSNames: req.DNSNames, IPAddresses: req.IPAddresses, EmailAddresses: req.EmailAddresses, URIs: req.URIs,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, req.PublicKey, iss, nil)
}

// served reads an nginx folder and checks that the key matches the leaf;
// it returns the certificates of fullchain.pem.
func served(t *testing.T, dir string) []*x509.Certificate {
	t.Helper()
	certs, err := formats.ReadFile(filepath.Join(dir, "fullchain.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := formats.ReadFile(filepath.Join(dir, "privkey.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Keys) != 1 || len(certs.Certificates) == 0 || !publicKeyEqual(keys.Keys[0].Public(), certs.Certificates[0].PublicKey) {
		t.Fatalf("the served key and certificate do not match in %s", dir)
	}
	return certs.Certificates
}

func cns(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestRenewNewKey(t *testing.T) {
	ctx := context.Background()
	p := newRenewPKI(t)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		opts *RenewOptions
		want csr.KeyType
	}{
		{"p256 stays p256", testpki.KeyP256(t), nil, csr.P256},
		{"rsa2048 stays rsa2048", testpki.KeyRSA(t, 2048), nil, csr.RSA2048},
		{"type asked for", testpki.KeyRSA(t, 2048), &RenewOptions{KeyType: csr.P384}, csr.P384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := oldCert(t, p.a, tc.key)
			r, err := Renew(ctx, p.store, cert, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.KeyType != tc.want || r.ReusedKey {
				t.Errorf("KeyType %s ReusedKey %v, want %s false", r.KeyType, r.ReusedKey, tc.want)
			}
			if kt, _ := csr.KeyTypeOf(r.Request.PublicKey); kt != tc.want {
				t.Errorf("request key %s", kt)
			}
			if publicKeyEqual(r.Request.PublicKey, cert.PublicKey) {
				t.Error("a new key was asked for, the request has the old one")
			}
			if r.Request.Subject.String() != cert.Subject.String() {
				t.Errorf("subject %q, want %q", r.Request.Subject, cert.Subject)
			}
			if !slices.Equal(csr.FromCertificateRequest(r.Request).SANs(), csr.FromCertificate(cert).SANs()) {
				t.Errorf("SANs %q, want %q", csr.FromCertificateRequest(r.Request).SANs(), csr.FromCertificate(cert).SANs())
			}
			// The key is pending in the store before Renew returns.
			got, err := p.store.Find(ctx, r.Request.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.CSR, r.Pending.CSR) || got.Subject != cert.Subject.String() {
				t.Errorf("stored entry %q does not hold the request", got.Subject)
			}
			if !bytes.HasPrefix(r.PEM(), []byte("-----BEGIN CERTIFICATE REQUEST-----\n")) {
				t.Errorf("PEM: %.40q", r.PEM())
			}
		})
	}
}

func TestRenewReuseKey(t *testing.T) {
	ctx := context.Background()
	p := newRenewPKI(t)
	key := testpki.KeyP256(t)
	cert := oldCert(t, p.a, key)

	// Not in the archive yet, and not given.
	if _, err := Renew(ctx, p.store, cert, &RenewOptions{ReuseKey: true}); !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), Fingerprint(key.Public())) {
		t.Fatalf("key nowhere: %v", err)
	}
	// A key that is not the certificate's.
	if _, err := Renew(ctx, p.store, cert, &RenewOptions{Key: testpki.KeyP256(t)}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("wrong key: %v", err)
	}
	// A key type that contradicts the key.
	if _, err := Renew(ctx, p.store, cert, &RenewOptions{Key: key, KeyType: csr.RSA2048}); err == nil || !strings.Contains(err.Error(), "conflicts with ReuseKey") {
		t.Fatalf("key type conflict: %v", err)
	}
	if l, _ := p.store.List(ctx); len(l) != 0 {
		t.Fatalf("failed renewals stored %d entries", len(l))
	}

	// The first request for this key, completed: the key is in the archive.
	der, _, err := csr.Create(nil, csr.FromCertificate(cert), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := &csr.Pending{Key: key, CSR: der}
	if err := p.store.Put(ctx, first); err != nil {
		t.Fatal(err)
	}
	// While it is pending, a reuse would make a second request for it.
	if _, err := Renew(ctx, p.store, cert, &RenewOptions{ReuseKey: true}); !errors.Is(err, csr.ErrExists) {
		t.Fatalf("key pending: %v", err)
	}
	if err := p.store.Complete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	r, err := Renew(ctx, p.store, cert, &RenewOptions{ReuseKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.ReusedKey || !publicKeyEqual(r.Request.PublicKey, key.Public()) || r.Pending.ID != first.ID {
		t.Errorf("reuse: ReusedKey %v, same key %v", r.ReusedKey, publicKeyEqual(r.Request.PublicKey, key.Public()))
	}
	if _, err := p.store.Find(ctx, key.Public()); err != nil {
		t.Errorf("the reused key is not pending again: %v", err)
	}

	// A key given directly, for a store without archive.
	key2 := testpki.KeyRSA(t, 2048)
	cert2 := oldCert(t, p.a, key2)
	r, err = Renew(ctx, newMemStore(), cert2, &RenewOptions{Key: key2})
	if err != nil || !r.ReusedKey || r.KeyType != csr.RSA2048 {
		t.Fatalf("given key: %v", err)
	}
	if _, err := Renew(ctx, newMemStore(), cert2, &RenewOptions{ReuseKey: true}); !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "keeps no archive") {
		t.Fatalf("store without archive: %v", err)
	}
}

func TestRenewWeakOldKey(t *testing.T) {
	p := newRenewPKI(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cert := oldCert(t, p.a, weak)
	r, err := Renew(context.Background(), p.store, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyType != csr.RSA2048 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "rsa1024") {
		t.Errorf("KeyType %s notes %q", r.KeyType, r.Notes)
	}
	// Reusing it is refused by the csr package's key checks.
	if _, err := Renew(context.Background(), p.store, cert, &RenewOptions{Key: weak}); !errors.Is(err, csr.ErrWeakKey) {
		t.Errorf("reusing a 1024-bit key: %v", err)
	}
}

// TestRenewalCASwitchedIntermediate is the whole renewal: the served
// certificate was issued by intermediate A, the CA now issues from B. The
// new leaf must be served with B, never with the A on disk.
func TestRenewalCASwitchedIntermediate(t *testing.T) {
	ctx := context.Background()
	p := newRenewPKI(t)
	dir := filepath.Join(t.TempDir(), "www")
	oldKey := testpki.KeyP256(t)
	old := &Bundle{Key: oldKey, Leaf: oldCert(t, p.a, oldKey), Intermediates: []*x509.Certificate{p.a.Cert}, Root: p.root.Cert}
	if _, err := old.Write(dir, Nginx, nil); err != nil {
		t.Fatal(err)
	}

	r, err := Renew(ctx, p.store, old.Leaf, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf2 := issueFromCSR(t, r.Pending.CSR, p.b)

	// The CA answers with the leaf only, and the only intermediate at hand
	// is the old A: no chain, nothing written.
	pool := chain.NewPool(nil)
	pool.Add(p.a.Cert)
	o := p.completeOpts()
	o.Chain.Pool = pool
	if _, err := Complete(ctx, p.store, []Input{{Name: "leaf.cer", Data: leaf2.Raw}}, o); !errors.Is(err, chain.ErrNoChain) {
		t.Fatalf("leaf with the old intermediate: %v", err)
	}
	// A bundle made by hand with the old chain is refused, the served
	// files untouched.
	stale := &Bundle{Key: r.Pending.Key, Leaf: leaf2, Intermediates: []*x509.Certificate{p.a.Cert}}
	if _, err := stale.Replace(dir, Nginx, nil); !errors.Is(err, ErrChainOrder) {
		t.Fatalf("new leaf with old chain: %v", err)
	}
	bare := &Bundle{Key: r.Pending.Key, Leaf: leaf2}
	if _, err := bare.Replace(dir, Nginx, nil); !errors.Is(err, ErrIncompleteChain) || !strings.Contains(err.Error(), "Issuing CA B") {
		t.Fatalf("new leaf without chain: %v", err)
	}
	if got := cns(served(t, dir)); !slices.Equal(got, []string{"www.example.com", "Issuing CA A"}) || !served(t, dir)[0].Equal(old.Leaf) {
		t.Fatalf("served after refusals: %q", got)
	}

	// The CA's answer with B (a .p7b, root first): the chain is rebuilt.
	resp, err := formats.EncodePKCS7([]*x509.Certificate{p.root.Cert, p.b.Cert, leaf2})
	if err != nil {
		t.Fatal(err)
	}
	done, err := Complete(ctx, p.store, []Input{{Name: "answer.p7b", Data: resp}}, p.completeOpts())
	if err != nil {
		t.Fatal(err)
	}
	res, err := done[0].ReplaceAndFinish(ctx, dir, Nginx, &ReplaceOptions{Now: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res.IssuerChange == nil || res.IssuerChange.Old != p.a.Cert.Subject.String() || res.IssuerChange.New != p.b.Cert.Subject.String() ||
		!res.IssuerChange.OldIntermediate.Equal(p.a.Cert) || !res.IssuerChange.NewIntermediate.Equal(p.b.Cert) {
		t.Fatalf("IssuerChange = %+v", res.IssuerChange)
	}
	if !res.Previous.Equal(old.Leaf) {
		t.Error("Previous is not the old leaf")
	}
	now := served(t, dir)
	if !now[0].Equal(leaf2) || !slices.Equal(cns(now), []string{"www.example.com", "Issuing CA B"}) {
		t.Fatalf("served now: %q", cns(now))
	}
	// The old pair is archived, consistent, with its modes.
	wantArchive := filepath.Join(dir, "archive", "20260601T120000Z")
	if res.ArchiveDir != wantArchive || len(res.Archived) != 2 {
		t.Fatalf("archive %s %q", res.ArchiveDir, res.Archived)
	}
	arch := served(t, wantArchive)
	if !arch[0].Equal(old.Leaf) || !arch[1].Equal(p.a.Cert) {
		t.Error("the archive does not hold the old pair")
	}
	for name, mode := range map[string]fs.FileMode{"fullchain.pem": 0o644, "privkey.pem": 0o600} {
		for _, d := range []string{dir, wantArchive} {
			if fi, err := os.Stat(filepath.Join(d, name)); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s/%s: mode %v, want %v", d, name, fi.Mode().Perm(), mode)
			}
		}
	}
	if fi, err := os.Stat(wantArchive); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("archive folder mode %v", fi.Mode().Perm())
	}
	assertClean(t, dir)
	// The pending request was archived only now.
	if _, err := p.store.Find(ctx, leaf2.PublicKey); !errors.Is(err, csr.ErrNotFound) {
		t.Errorf("the request is still pending: %v", err)
	}
	if _, err := p.store.FindArchived(ctx, leaf2.PublicKey); err != nil {
		t.Errorf("the request is not archived: %v", err)
	}

	// The next renewal from the same intermediate reports no change, and
	// gets its own archive folder.
	r2, err := Renew(ctx, p.store, leaf2, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf3 := issueFromCSR(t, r2.Pending.CSR, p.b)
	done, err = Complete(ctx, p.store, []Input{{Name: "leaf.pem", Data: encodeCertsPEM([]*x509.Certificate{leaf3, p.b.Cert})}}, p.completeOpts())
	if err != nil {
		t.Fatal(err)
	}
	res, err = done[0].ReplaceAndFinish(ctx, dir, Nginx, &ReplaceOptions{Now: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res.IssuerChange != nil || res.ArchiveDir != wantArchive+"-2" || !served(t, dir)[0].Equal(leaf3) {
		t.Errorf("second renewal: change %+v archive %s", res.IssuerChange, res.ArchiveDir)
	}
}

// assertClean checks that no journal or staged file is left in dir.
func assertClean(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left in %s: %s", dir, e.Name())
		}
	}
}

// TestReplaceFailures injects a failure before each step of Replace and
// checks that the served key and certificate still belong together: all
// old when the failure is reported, and after a crash once RecoverReplace
// ran, all old before the renames began and all new after.
func TestReplaceFailures(t *testing.T) {
	p := newRenewPKI(t)
	oldKey, newKey := testpki.KeyP256(t), testpki.KeyP256(t)
	old := &Bundle{Key: oldKey, Leaf: oldCert(t, p.a, oldKey), Intermediates: []*x509.Certificate{p.a.Cert}}
	renewed := &Bundle{Key: newKey, Leaf: oldCert(t, p.b, newKey), Intermediates: []*x509.Certificate{p.b.Cert}}

	steps := []struct {
		step, name string
		crashNew   bool // after a crash here, recovery serves the new files
	}{
		{"journal", "", false},
		{"stage", "fullchain.pem", false},
		{"stage", "privkey.pem", false},
		{"archive", "fullchain.pem", false},
		{"archive", "privkey.pem", false},
		{"journal-swap", "", false},
		{"swap", "fullchain.pem", true},
		{"swap", "privkey.pem", true}, // fullchain.pem is new, privkey.pem old: the crash window
		{"verify", "fullchain.pem", true},
		{"finish", "", true},
	}
	for _, s := range steps {
		for _, crash := range []bool{false, true} {
			if s.step == "finish" && !crash {
				continue // nothing can fail there but the clean-up
			}
			t.Run(fmt.Sprintf("%s %s crash=%v", s.step, s.name, crash), func(t *testing.T) {
				dir := t.TempDir()
				if _, err := old.Write(dir, Nginx, nil); err != nil {
					t.Fatal(err)
				}
				injected := errors.New("injected failure")
				if crash {
					injected = errSimulatedCrash
				}
				opts := &ReplaceOptions{Now: testpki.Now, hook: func(step, name string) error {
					if step == s.step && name == s.name {
						return injected
					}
					return nil
				}}
				_, err := renewed.Replace(dir, Nginx, opts)
				if !errors.Is(err, injected) {
					t.Fatalf("err = %v", err)
				}
				if !crash {
					if !served(t, dir)[0].Equal(old.Leaf) {
						t.Fatal("a failed Replace left the new certificate served")
					}
					if strings.HasPrefix(s.step, "swap") || s.step == "verify" {
						if !strings.Contains(err.Error(), "previous files were restored") {
							t.Errorf("err does not say the files were restored: %v", err)
						}
					}
					assertClean(t, dir)
					if ents, _ := os.ReadDir(filepath.Join(dir, "archive")); (s.step == "journal" || s.step == "stage" || s.step == "archive" || s.step == "journal-swap") && len(ents) != 0 {
						t.Errorf("a failure before the journal left %d archive folder(s)", len(ents))
					}
					return
				}
				did, err := RecoverReplace(dir)
				if err != nil {
					t.Fatal(err)
				}
				want := old.Leaf
				if s.crashNew {
					want = renewed.Leaf
				}
				if got := served(t, dir); !got[0].Equal(want) {
					t.Fatalf("after recovery (%q) the served leaf is from %s", did, got[0].Issuer.CommonName)
				}
				if s.step != "journal" && len(did) != 1 {
					t.Errorf("recovery reported %q", did)
				}
				assertClean(t, dir)
				// A later Replace works normally.
				if _, err := renewed.Replace(dir, Nginx, &ReplaceOptions{Now: testpki.Now}); err != nil || !served(t, dir)[0].Equal(renewed.Leaf) {
					t.Fatalf("Replace after recovery: %v", err)
				}
			})
		}
	}
}

// TestReplaceRecoversOnNextRun: Replace itself finishes a crashed one.
func TestReplaceRecoversOnNextRun(t *testing.T) {
	p := newRenewPKI(t)
	k1, k2, k3 := testpki.KeyP256(t), testpki.KeyP256(t), testpki.KeyP256(t)
	b1 := &Bundle{Key: k1, Leaf: oldCert(t, p.a, k1), Intermediates: []*x509.Certificate{p.a.Cert}}
	b2 := &Bundle{Key: k2, Leaf: oldCert(t, p.a, k2), Intermediates: []*x509.Certificate{p.a.Cert}}
	b3 := &Bundle{Key: k3, Leaf: oldCert(t, p.b, k3), Intermediates: []*x509.Certificate{p.b.Cert}}
	dir := t.TempDir()
	if _, err := b1.Write(dir, Apache, nil); err != nil {
		t.Fatal(err)
	}
	_, err := b2.Replace(dir, Apache, &ReplaceOptions{Now: testpki.Now, hook: func(step, name string) error {
		if step == "swap" && name == "fullchain.pem" {
			return errSimulatedCrash
		}
		return nil
	}})
	if !errors.Is(err, errSimulatedCrash) {
		t.Fatal(err)
	}
	// cert.pem and chain.pem are new, fullchain.pem and privkey.pem old.
	if _, err := os.Stat(filepath.Join(dir, journalName)); err != nil {
		t.Fatal("no journal after the crash")
	}
	res, err := b3.Replace(dir, Apache, &ReplaceOptions{Now: testpki.Now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recovered) != 1 || !strings.Contains(res.Recovered[0], "finished an interrupted replacement") {
		t.Errorf("Recovered = %q", res.Recovered)
	}
	// The archive of the second run holds b2, whole.
	if !served(t, res.ArchiveDir)[0].Equal(b2.Leaf) || res.Previous == nil || !res.Previous.Equal(b2.Leaf) {
		t.Error("the recovered replacement was not archived whole")
	}
	if res.IssuerChange == nil {
		t.Error("A to B not reported")
	}
	if len(res.Stale) != 0 {
		t.Errorf("Stale = %q in a folder Replace fully owns", res.Stale)
	}
	cert, _ := formats.ReadFile(filepath.Join(dir, "cert.pem"), nil)
	ch, _ := formats.ReadFile(filepath.Join(dir, "chain.pem"), nil)
	if !served(t, dir)[0].Equal(b3.Leaf) || !cert.Certificates[0].Equal(b3.Leaf) || !ch.Certificates[0].Equal(p.b.Cert) {
		t.Error("the Apache files are not all b3's")
	}
	// Serving the Apache folder with the nginx layout leaves cert.pem and
	// chain.pem behind: Replace names them.
	k4 := testpki.KeyP256(t)
	b4 := &Bundle{Key: k4, Leaf: oldCert(t, p.a, k4), Intermediates: []*x509.Certificate{p.a.Cert}}
	res, err = b4.Replace(dir, Nginx, &ReplaceOptions{Now: testpki.Now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "cert.pem"), filepath.Join(dir, "chain.pem")}; !slices.Equal(res.Stale, want) {
		t.Errorf("Stale = %q, want %q", res.Stale, want)
	}
	assertClean(t, dir)
}

func TestReplaceFreshFolderAndErrors(t *testing.T) {
	p := newRenewPKI(t)
	k := testpki.KeyP256(t)
	b := &Bundle{Key: k, Leaf: oldCert(t, p.a, k), Intermediates: []*x509.Certificate{p.a.Cert}, Root: p.root.Cert}
	dir := filepath.Join(t.TempDir(), "new")
	res, err := b.Replace(dir, Nginx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ArchiveDir != "" || res.Previous != nil || len(res.Written) != 2 {
		t.Errorf("fresh folder: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "archive")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an archive folder was made with nothing to archive")
	}
	// A PFX needs its password.
	if _, err := b.Replace(dir, IIS, nil); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("IIS without password: %v", err)
	}
	// A symbolic link is refused before anything is touched.
	ldir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "fullchain.pem"), filepath.Join(ldir, "fullchain.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Replace(ldir, Nginx, nil); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlink: %v", err)
	}
	// A replacement running in the folder (its lock is fresh) stops
	// another; a lock left by a crash long ago is broken.
	lock := filepath.Join(dir, lockName)
	if err := os.WriteFile(lock, []byte("pid 1 on elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Replace(dir, Nginx, nil); err == nil || !strings.Contains(err.Error(), "another replacement is running") || !strings.Contains(err.Error(), "pid 1 on elsewhere") {
		t.Errorf("locked: %v", err)
	}
	if _, err := RecoverReplace(dir); err != nil {
		t.Errorf("RecoverReplace without journal waits for no lock: %v", err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Replace(dir, Nginx, nil); err != nil {
		t.Errorf("stale lock: %v", err)
	}
	assertClean(t, dir)
	// A damaged journal stops Replace with advice.
	if err := os.WriteFile(filepath.Join(dir, journalName), []byte(`{"version":1,"phase":"swap","archive":"../x","files":[{"name":"a","staged":".certwright-renew-a"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Replace(dir, Nginx, nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged journal: %v", err)
	}
}

// TestRenewCSROpenSSL: the request is what OpenSSL reads, with the
// certificate's subject and SANs.
func TestRenewCSROpenSSL(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	p := newRenewPKI(t)
	cert := oldCert(t, p.a, testpki.KeyRSA(t, 2048))
	r, err := Renew(context.Background(), p.store, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	in, crt := filepath.Join(tmp, "renew.csr"), filepath.Join(tmp, "old.pem")
	if err := os.WriteFile(in, r.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crt, encodeCertsPEM([]*x509.Certificate{cert}), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "req", "-in", in, "-verify", "-noout", "-text", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	orig, err := exec.Command(openssl, "x509", "-in", crt, "-noout", "-subject", "-ext", "subjectAltName", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, orig)
	}
	// openssl x509 prints "subject=..." then the SAN extension's heading
	// and its value on the last line.
	lines := strings.Split(strings.TrimSpace(string(orig)), "\n")
	subject := strings.TrimPrefix(lines[0], "subject=")
	sans := strings.TrimSpace(lines[len(lines)-1])
	if subject != cert.Subject.String() || !strings.HasPrefix(sans, "DNS:www.example.com") {
		t.Fatalf("unexpected openssl x509 output:\n%s", orig)
	}
	text := string(out)
	for _, want := range []string{"verify OK", "Subject: " + subject + "\n", sans + "\n", "Public-Key: (2048 bit)"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl req output lacks %q:\n%s", want, text)
		}
	}
}

// FuzzRecoverReplace feeds RecoverReplace arbitrary journals: it must not
// panic, and must not touch anything outside the folder, whatever names
// the journal holds.
func FuzzRecoverReplace(f *testing.F) {
	f.Add([]byte(`{"version":1,"phase":"swap","archive":"archive/x","files":[{"name":"fullchain.pem","staged":".certwright-renew-x-fullchain.pem","existed":true,"mode":420}]}`))
	f.Add([]byte(`{"version":1,"phase":"rollback","archive":"archive/x","files":[{"name":"privkey.pem","staged":".certwright-renew-x-privkey.pem","existed":true,"mode":384}]}`))
	f.Add([]byte(`{"version":1,"phase":"prepare","archive":"","files":[{"name":"a","staged":".certwright-renew-a"}]}`))
	f.Add([]byte(`{"version":1,"phase":"swap","archive":"../outside","files":[{"name":"../outside.pem","staged":".certwright-renew-a","existed":true}]}`))
	f.Add([]byte(`{"version":1,"phase":"rollback","archive":"archive/..","files":[{"name":"x","staged":".certwright-renew-../../outside.pem","existed":true}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		top := t.TempDir()
		dir := filepath.Join(top, "served")
		outside := filepath.Join(top, "outside.pem")
		for _, p := range []string{filepath.Join(dir, "archive", "x"), filepath.Join(top, "archive")} {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		files := map[string]string{
			outside:                             "outside",
			filepath.Join(dir, "fullchain.pem"): "served",
			filepath.Join(dir, "archive", "x", "fullchain.pem"):     "archived",
			filepath.Join(dir, ".certwright-renew-x-fullchain.pem"): "staged",
			filepath.Join(dir, journalName):                         string(data),
		}
		for p, c := range files {
			if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		RecoverReplace(dir)
		if b, err := os.ReadFile(outside); err != nil || string(b) != "outside" {
			t.Fatalf("a file outside the folder was changed: %q %v", b, err)
		}
		ents, _ := os.ReadDir(top)
		if len(ents) != 3 {
			t.Fatalf("files appeared outside the folder: %d entries", len(ents))
		}
	})
}

// TestReplaceConcurrent: Replace calls racing on one folder either finish
// or fail on the lock; the served pair always matches at the end.
func TestReplaceConcurrent(t *testing.T) {
	p := newRenewPKI(t)
	dir := t.TempDir()
	var bundles []*Bundle
	for i := range 4 {
		k := testpki.KeyP256(t)
		iss := p.a
		if i%2 == 1 {
			iss = p.b
		}
		bundles = append(bundles, &Bundle{Key: k, Leaf: oldCert(t, iss, k), Intermediates: []*x509.Certificate{iss.Cert}})
	}
	if _, err := bundles[0].Write(dir, Nginx, nil); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			_, err := bundles[i%4].Replace(dir, Nginx, &ReplaceOptions{Now: testpki.Now.Add(time.Duration(i) * time.Second)})
			errs <- err
		}()
	}
	ok := 0
	for range 40 {
		if err := <-errs; err == nil {
			ok++
		} else if !strings.Contains(err.Error(), "another replacement is running") {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok == 0 {
		t.Error("no Replace succeeded")
	}
	got := served(t, dir)
	if len(got) != 2 || !bytes.Equal(got[0].RawIssuer, got[1].RawSubject) {
		t.Errorf("served chain does not belong together: %q", cns(got))
	}
	assertClean(t, dir)
	ents, _ := os.ReadDir(filepath.Join(dir, "archive"))
	if len(ents) != ok {
		t.Errorf("%d archive folders for %d replacements", len(ents), ok)
	}
}
