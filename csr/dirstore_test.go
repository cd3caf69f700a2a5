package csr_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/atomicfile"
	"github.com/certwright/certwright/internal/pkcs8"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// storeNow is the pinned clock of the store tests.
func storeNow() time.Time { return testpki.Now }

// storePending makes a P-256 key and a CSR for host.
func storePending(t testing.TB, host string) *csr.Pending {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: host, Organization: []string{"Example Ltd"}},
		DNSNames: []string{host},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &csr.Pending{Key: key, CSR: der}
}

func openStore(t testing.TB, dir string, opts *csr.DirOptions) *csr.DirStore {
	t.Helper()
	if opts == nil {
		opts = &csr.DirOptions{}
	}
	if opts.Now == nil {
		opts.Now = storeNow
	}
	s, err := csr.OpenDir(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot returns every file under dir with its content, to prove an
// operation changed nothing.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "lock" {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameKeys(a, b crypto.Signer) bool {
	return a.(interface{ Equal(crypto.PrivateKey) bool }).Equal(b)
}

func TestKeyIDMatchesOpenSSL(t *testing.T) {
	p := storePending(t, "a.example")
	id, err := csr.KeyID(p.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(p.Key.Public())
	sum := sha256.Sum256(spki)
	if id != hex.EncodeToString(sum[:]) || len(id) != 64 {
		t.Fatalf("KeyID = %s", id)
	}
	req, _ := x509.ParseCertificateRequest(p.CSR)
	if id2, _ := csr.KeyID(req.PublicKey); id2 != id {
		t.Fatal("the CSR's public key gives another ID")
	}
	if _, err := csr.KeyID(nil); err == nil {
		t.Fatal("KeyID(nil) succeeded")
	}

	openssl := testtool.Require(t, "openssl")
	der, _ := x509.MarshalPKCS8PrivateKey(p.Key)
	f := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	out, err := exec.Command(openssl, "pkey", "-in", f, "-pubout", "-outform", "DER").Output()
	if err != nil {
		t.Fatal(err)
	}
	sum = sha256.Sum256(out)
	if hex.EncodeToString(sum[:]) != id {
		t.Fatal("KeyID differs from sha256 of `openssl pkey -pubout -outform DER`")
	}
}

func TestDirStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	s := openStore(t, dir, nil)
	if s.Path() != dir {
		t.Fatalf("Path = %s, want %s", s.Path(), dir)
	}
	var ps []*csr.Pending
	for i, host := range []string{"a.example", "b.example", "c.example"} {
		p := storePending(t, host)
		p.Created = testpki.Now.Add(time.Duration(i) * time.Hour)
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		want, _ := csr.KeyID(p.Key.Public())
		if p.ID != want {
			t.Fatalf("Put set ID %q, want %q", p.ID, want)
		}
		if p.Subject != "CN="+host+",O=Example Ltd" || len(p.SANs) != 1 || p.SANs[0] != "DNS:"+host {
			t.Fatalf("Put filled Subject %q SANs %q", p.Subject, p.SANs)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		got, err := s.Find(ctx, p.Key.Public())
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || !sameKeys(got.Key, p.Key) || !bytes.Equal(got.CSR, p.CSR) ||
			got.Subject != p.Subject || !got.Created.Equal(p.Created) || !got.Completed.IsZero() {
			t.Fatalf("Find returned %+v, want %+v", got, p)
		}
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %d entries, %v", len(list), err)
	}
	for i := range list {
		if list[i].ID != ps[i].ID {
			t.Fatalf("List order: entry %d is %s, want %s (oldest first)", i, list[i].ID, ps[i].ID)
		}
	}

	// Complete archives, it does not delete.
	if err := s.Complete(ctx, ps[1].ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Find(ctx, ps[1].Key.Public())
	if !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find after Complete: %v, want ErrNotFound", err)
	}
	for _, want := range []string{"sha256:" + ps[1].ID, dir, "searched 2 pending requests", "archived", "FindArchived"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ErrNotFound message %q lacks %q", err, want)
		}
	}
	arch, err := s.FindArchived(ctx, ps[1].Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !arch.Completed.Equal(testpki.Now) || !sameKeys(arch.Key, ps[1].Key) {
		t.Fatalf("archived entry: completed %v, same key %v", arch.Completed, sameKeys(arch.Key, ps[1].Key))
	}
	if all, err := s.Archived(ctx); err != nil || len(all) != 1 || all[0].ID != ps[1].ID {
		t.Fatalf("Archived = %v, %v", all, err)
	}
	// Idempotent: completing again (a retry) succeeds and changes nothing.
	before := snapshot(t, dir)
	if err := s.Complete(ctx, "sha256:"+strings.ToUpper(ps[1].ID)); err != nil {
		t.Fatalf("second Complete: %v", err)
	}
	if after := snapshot(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a repeated Complete changed the store")
	}
	if list, _ := s.List(ctx); len(list) != 2 {
		t.Fatalf("List after Complete: %d entries, want 2", len(list))
	}

	// Unknown keys.
	other := storePending(t, "d.example")
	otherID, _ := csr.KeyID(other.Key.Public())
	if err := s.Complete(ctx, otherID); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Complete(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.Find(ctx, other.Key.Public()); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find(unknown) = %v", err)
	} else if !strings.Contains(err.Error(), "another store folder") {
		t.Errorf("message lacks the way out: %v", err)
	}
	if _, err := s.FindArchived(ctx, other.Key.Public()); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("FindArchived(unknown) = %v", err)
	}
	for _, bad := range []string{"", "../../etc", ps[0].ID[:63], ps[0].ID + "0", strings.Repeat("g", 64), "../" + ps[0].ID[3:]} {
		if err := s.Complete(ctx, bad); err == nil || errors.Is(err, csr.ErrNotFound) {
			t.Errorf("Complete(%q) = %v, want a key ID syntax error", bad, err)
		}
	}

	// A second DirStore on the same folder sees the same entries.
	s2 := openStore(t, dir, nil)
	if list, err := s2.List(ctx); err != nil || len(list) != 2 {
		t.Fatalf("reopened List = %d, %v", len(list), err)
	}
}

func TestDirStorePutNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	p := storePending(t, "a.example")
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	// Same key, a different request and subject.
	again := storePending(t, "b.example")
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "b.example"}}, p.Key)
	again.Key, again.CSR = p.Key, der
	err := s.Put(ctx, again)
	if !errors.Is(err, csr.ErrExists) {
		t.Fatalf("Put of a pending key = %v, want ErrExists", err)
	}
	for _, want := range []string{"sha256:" + p.ID, filepath.Join(dir, "pending", p.ID), "a.example", "untouched", "new key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ErrExists message %q lacks %q", err, want)
		}
	}
	if after := snapshot(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a refused Put changed the store")
	}
	got, err := s.Find(ctx, p.Key.Public())
	if err != nil || !bytes.Equal(got.CSR, p.CSR) {
		t.Fatalf("the original entry changed: %v", err)
	}

	// After Complete, the same key may be put again (a renewal reusing the
	// key), and completing it again keeps both archived copies.
	if err := s.Complete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, again); err != nil {
		t.Fatalf("Put after Complete: %v", err)
	}
	if err := s.Complete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	arch, err := s.Archived(ctx)
	if err != nil || len(arch) != 2 {
		t.Fatalf("Archived = %d entries, %v; want both copies", len(arch), err)
	}
	names, _ := os.ReadDir(filepath.Join(dir, "archive"))
	var got2 []string
	for _, n := range names {
		got2 = append(got2, n.Name())
	}
	want := []string{p.ID + ".20260601T120000.000000000Z", p.ID + ".20260601T120000.000000000Z-2"}
	if fmt.Sprint(got2) != fmt.Sprint(want) {
		t.Fatalf("archive folders = %v, want %v", got2, want)
	}
	last, err := s.FindArchived(ctx, p.Key.Public())
	if err != nil || !bytes.Equal(last.CSR, der) {
		t.Fatalf("FindArchived did not return the latest copy: %v", err)
	}

	// RemoveArchived deletes archived copies only.
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveArchived(ctx, p.ID)
	if err != nil || n != 2 {
		t.Fatalf("RemoveArchived = %d, %v", n, err)
	}
	if _, err := s.Find(ctx, p.Key.Public()); err != nil {
		t.Fatalf("RemoveArchived touched the pending entry: %v", err)
	}
	if _, err := s.RemoveArchived(ctx, p.ID); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("second RemoveArchived = %v, want ErrNotFound", err)
	}
}

func TestDirStorePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "store")
	s := openStore(t, dir, nil)
	p := storePending(t, "a.example")
	if err := s.Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{
		dir:                                 0o700 | fs.ModeDir,
		filepath.Join(dir, "pending"):       0o700 | fs.ModeDir,
		filepath.Join(dir, "archive"):       0o700 | fs.ModeDir,
		filepath.Join(dir, "pending", p.ID): 0o700 | fs.ModeDir,
		filepath.Join(dir, "pending", p.ID, "key.pem"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	// The files are what the layout documents.
	b, _ := os.ReadFile(filepath.Join(dir, "pending", p.ID, "key.pem"))
	if blk, _ := pem.Decode(b); blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatal("key.pem is not a PEM PRIVATE KEY")
	}
	b, _ = os.ReadFile(filepath.Join(dir, "pending", p.ID, "request.csr"))
	if blk, _ := pem.Decode(b); blk == nil || blk.Type != "CERTIFICATE REQUEST" || !bytes.Equal(blk.Bytes, p.CSR) {
		t.Fatal("request.csr is not the CSR as PEM")
	}
	b, _ = os.ReadFile(filepath.Join(dir, "pending", p.ID, "meta.json"))
	for _, want := range []string{`"id": "` + p.ID + `"`, `"subject": "CN=a.example,O=Example Ltd"`, `"DNS:a.example"`, `"created": "2026-06-01T12:00:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("meta.json lacks %s:\n%s", want, b)
		}
	}
}

// opaqueSigner is a signer whose private key cannot be exported, like a
// hardware key.
type opaqueSigner struct{ crypto.Signer }

func TestDirStorePutRefusesInconsistentEntries(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), nil)
	a, b := storePending(t, "a.example"), storePending(t, "b.example")
	badSig := bytes.Clone(a.CSR)
	badSig[len(badSig)-3] ^= 0xff
	tests := []struct {
		name string
		p    *csr.Pending
		want string
	}{
		{"CSR of another key", &csr.Pending{Key: a.Key, CSR: b.CSR}, "is not the public key of Pending.Key"},
		{"wrong ID", &csr.Pending{Key: a.Key, CSR: a.CSR, ID: "xyz" + mustID(t, b.Key)}, "not a key ID"},
		{"ID of another key", &csr.Pending{Key: a.Key, CSR: a.CSR, ID: mustID(t, b.Key)}, "is not the KeyID"},
		{"no key at all", &csr.Pending{CSR: a.CSR}, "needs its Key, or a KeyURI"},
		{"key URI without CSR", &csr.Pending{KeyURI: "pkcs11:object=k"}, "needs its CSR"},
		{"not exportable", &csr.Pending{Key: opaqueSigner{a.Key}, CSR: a.CSR}, "set KeyURI with Key nil"},
		{"CSR not DER", &csr.Pending{Key: a.Key, CSR: []byte("-----BEGIN")}, "not a DER certificate request"},
		{"CSR bad signature", &csr.Pending{Key: a.Key, CSR: badSig}, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Put(ctx, tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Fatalf("refused Puts left %d entries", len(list))
	}
	if err := s.Put(ctx, nil); err == nil {
		t.Fatal("Put(nil) succeeded")
	}
}

func mustID(t testing.TB, k crypto.Signer) string {
	id, err := csr.KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestDirStoreKeyURI covers entries whose key lives elsewhere (issue 6's
// hardware keys): no key file, Key nil, found by the CSR's public key.
func TestDirStoreKeyURI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	hw := storePending(t, "hsm.example")
	const uri = "pkcs11:token=prod;object=web%20key;type=private"
	p := &csr.Pending{KeyURI: uri, CSR: hw.CSR}
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.ID != mustID(t, hw.Key) {
		t.Fatal("the ID was not taken from the CSR")
	}
	if _, err := os.Stat(filepath.Join(dir, "pending", p.ID, "key.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("an entry with only a key URI has a key file")
	}
	got, err := s.Find(ctx, hw.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != nil || got.KeyURI != uri || !bytes.Equal(got.CSR, hw.CSR) {
		t.Fatalf("Find = %+v", got)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].KeyURI != uri {
		t.Fatalf("List = %v, %v", list, err)
	}
	if err := s.Complete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if a, err := s.FindArchived(ctx, hw.Key.Public()); err != nil || a.KeyURI != uri {
		t.Fatalf("FindArchived = %v, %v", a, err)
	}
}

func TestDirStoreEncrypted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pass := []byte("correct horse battery staple")
	s := openStore(t, dir, &csr.DirOptions{Passphrase: pass, Iterations: 1000})
	p := storePending(t, "secret.example")
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "pending", p.ID, "key.pem")
	b, _ := os.ReadFile(keyFile)
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatalf("key.pem is not encrypted:\n%s", b)
	}
	if params, err := pkcs8.Describe(blk.Bytes); err != nil || params.String() != "PBES2 pbkdf2/hmacWithSHA256 1000 iterations aes-256-cbc" {
		t.Fatalf("key.pem encryption = %v, %v", params, err)
	}

	// Without the passphrase: refused at open, saying why.
	_, err := csr.OpenDir(dir, nil)
	if !errors.Is(err, csr.ErrPassphraseRequired) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("OpenDir without passphrase = %v, want ErrPassphraseRequired naming the folder", err)
	}
	// A wrong passphrase is refused before it can encrypt a new key.
	_, err = csr.OpenDir(dir, &csr.DirOptions{Passphrase: []byte("correct horse battery stapler")})
	if !errors.Is(err, csr.ErrIncorrectPassphrase) || !errors.Is(err, pkcs8.ErrIncorrectPassphrase) {
		t.Fatalf("OpenDir with a wrong passphrase = %v, want ErrIncorrectPassphrase", err)
	}
	if strings.Contains(err.Error(), "stapler") {
		t.Fatal("the error shows the passphrase")
	}
	// The right one reads the key back.
	s2 := openStore(t, dir, &csr.DirOptions{Passphrase: pass, Iterations: 1000})
	got, err := s2.Find(ctx, p.Key.Public())
	if err != nil || !sameKeys(got.Key, p.Key) {
		t.Fatalf("Find = %v", err)
	}
	// Repeated reads use the cache; the result is the same key.
	for range 3 {
		if l, err := s2.List(ctx); err != nil || len(l) != 1 || !sameKeys(l[0].Key, p.Key) {
			t.Fatalf("List = %v, %v", l, err)
		}
	}
	// A key file encrypted under another passphrase (copied in by hand) is
	// reported with its file name.
	other := storePending(t, "other.example")
	if err := s2.Put(ctx, other); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(other.Key)
	enc, _ := pkcs8.Encrypt(der, []byte("another"), &pkcs8.Options{Iterations: 1000})
	otherFile := filepath.Join(dir, "pending", other.ID, "key.pem")
	os.WriteFile(otherFile, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}), 0o600)
	if _, err := s2.Find(ctx, other.Key.Public()); !errors.Is(err, csr.ErrIncorrectPassphrase) || !strings.Contains(err.Error(), otherFile) {
		t.Fatalf("Find of a key under another passphrase = %v", err)
	}

	// A plain store refuses a passphrase rather than mixing.
	plain := t.TempDir()
	openStore(t, plain, nil)
	if _, err := csr.OpenDir(plain, &csr.DirOptions{Passphrase: pass}); err == nil || !strings.Contains(err.Error(), "without a passphrase") {
		t.Fatalf("OpenDir(plain store, passphrase) = %v", err)
	}
	// A folder holding other things is not made into a store.
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "notes.txt"), nil, 0o644)
	if _, err := csr.OpenDir(foreign, nil); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("OpenDir(non-empty folder) = %v", err)
	}
	if _, err := csr.OpenDir(t.TempDir(), &csr.DirOptions{Iterations: -1}); err == nil {
		t.Fatal("negative Iterations accepted")
	}
}

// TestDirStoreOpenSSLReadsKeys proves a key can be taken out of the store
// without this library: `openssl pkey` reads the plain and the encrypted
// key.pem. (internal/pkcs8's TestEncryptDefaults has openssl read the
// default 600,000 iterations; here fewer keep the test fast.)
func TestDirStoreOpenSSLReadsKeys(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	ctx := context.Background()
	for _, pass := range []string{"", "pass phrase ü"} {
		dir := t.TempDir()
		s := openStore(t, dir, &csr.DirOptions{Passphrase: []byte(pass), Iterations: 20_000})
		p := storePending(t, "a.example")
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "pkey", "-in", filepath.Join(dir, "pending", p.ID, "key.pem"), "-passin", "pass:"+pass).Output()
		if err != nil {
			t.Fatalf("openssl pkey (passphrase %q): %v", pass, err)
		}
		blk, _ := pem.Decode(out)
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil || !sameKeys(k.(crypto.Signer), p.Key) {
			t.Fatalf("openssl read another key: %v", err)
		}
		out, err = exec.Command(openssl, "req", "-in", filepath.Join(dir, "pending", p.ID, "request.csr"), "-verify", "-noout").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl req -verify: %v\n%s", err, out)
		}
	}
}

// TestDirStoreSweep plants what crashed writers leave and checks OpenDir:
// incomplete temporaries are removed, a complete temporary entry is moved
// into place, confirmed entries are untouched.
func TestDirStoreSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	kept := storePending(t, "kept.example")
	if err := s.Put(ctx, kept); err != nil {
		t.Fatal(err)
	}
	done := storePending(t, "done.example")
	if err := s.Put(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	// A complete entry whose Put crashed before the final rename.
	almost := storePending(t, "almost.example")
	if err := s.Put(ctx, almost); err != nil {
		t.Fatal(err)
	}
	tp := atomicfile.TempPrefix
	pending := filepath.Join(dir, "pending")
	if err := os.Rename(filepath.Join(pending, almost.ID), filepath.Join(pending, tp+almost.ID+"-123")); err != nil {
		t.Fatal(err)
	}
	// A half-written entry: only part of the key.
	half := storePending(t, "half.example")
	halfDir := filepath.Join(pending, tp+mustID(t, half.Key)+"-456")
	os.Mkdir(halfDir, 0o700)
	os.WriteFile(filepath.Join(halfDir, "key.pem"), []byte("-----BEGIN PRIVATE KEY-----\nMIGH"), 0o600)
	// A complete-looking temporary whose key is already pending: a duplicate.
	dup := filepath.Join(pending, tp+kept.ID+"-789")
	os.Mkdir(dup, 0o700)
	for _, f := range []string{"key.pem", "request.csr", "meta.json"} {
		b, _ := os.ReadFile(filepath.Join(pending, kept.ID, f))
		os.WriteFile(filepath.Join(dup, f), b, 0o600)
	}
	// Leftover temporary files at every level.
	archived, _ := os.ReadDir(filepath.Join(dir, "archive"))
	strays := []string{
		filepath.Join(dir, tp+"store.json-1"),
		filepath.Join(pending, tp+"x"),
		filepath.Join(dir, "archive", tp+"removed-x"),
		filepath.Join(dir, "archive", archived[0].Name(), tp+"meta.json-2"),
	}
	for _, f := range strays {
		os.WriteFile(f, []byte("partial"), 0o600)
	}

	s2 := openStore(t, dir, nil)
	if got := s2.Recovered(); len(got) != 1 || got[0] != almost.ID {
		t.Fatalf("Recovered = %v, want [%s]", got, almost.ID)
	}
	swept := s2.Swept()
	wantSwept := append([]string{halfDir, dup}, strays...)
	if len(swept) != len(wantSwept) {
		t.Fatalf("Swept = %v, want %v", swept, wantSwept)
	}
	for _, w := range wantSwept {
		if _, err := os.Lstat(w); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was not swept", w)
		}
	}
	list, err := s2.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %d, %v", len(list), err)
	}
	for _, p := range []*csr.Pending{kept, almost} {
		if got, err := s2.Find(ctx, p.Key.Public()); err != nil || !sameKeys(got.Key, p.Key) {
			t.Fatalf("Find %s: %v", p.Subject, err)
		}
	}
	if _, err := s2.FindArchived(ctx, done.Key.Public()); err != nil {
		t.Fatal(err)
	}
}

// TestDirStoreDamagedEntry: a damaged entry is reported with its folder
// and does not hide the others.
func TestDirStoreDamagedEntry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	good, bad, swapped := storePending(t, "good.example"), storePending(t, "bad.example"), storePending(t, "swapped.example")
	for _, p := range []*csr.Pending{good, bad, swapped} {
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "pending", bad.ID, "key.pem"), []byte("garbage"), 0o600)
	// The key of another entry put in place of this one's.
	k, _ := os.ReadFile(filepath.Join(dir, "pending", good.ID, "key.pem"))
	os.WriteFile(filepath.Join(dir, "pending", swapped.ID, "key.pem"), k, 0o600)

	list, err := s.List(ctx)
	if len(list) != 1 || list[0].ID != good.ID {
		t.Fatalf("List returned %d entries, want the good one", len(list))
	}
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "pending", bad.ID)) ||
		!strings.Contains(err.Error(), "holds the key of sha256:"+good.ID) {
		t.Fatalf("List error = %v", err)
	}
	if _, err := s.Find(ctx, bad.Key.Public()); err == nil || errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("Find of a damaged entry = %v, want a damage error, not ErrNotFound", err)
	}
	// A missing file is damage too, not "no pending key".
	os.Remove(filepath.Join(dir, "pending", good.ID, "request.csr"))
	_, err = s.Find(ctx, good.Key.Public())
	if err == nil || errors.Is(err, csr.ErrNotFound) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Find of an entry missing a file = %v, want a damage error", err)
	}
	if _, err := s.List(ctx); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("List with an entry missing a file = %v", err)
	}
}

// TestDirStoreConcurrentGoroutines: two DirStore values on one folder and
// many goroutines each; every Put is kept, and of several Puts of the same
// key exactly one wins.
func TestDirStoreConcurrentGoroutines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []*csr.DirStore{openStore(t, dir, nil), openStore(t, dir, nil)}
	const workers, each = 8, 6
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := storePending(t, fmt.Sprintf("w%d-%d.example", w, i))
				if err := stores[w%2].Put(ctx, p); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 1 {
					if err := stores[(w+1)%2].Complete(ctx, p.ID); err != nil {
						t.Error(err)
						return
					}
				}
				mu.Lock()
				ids = append(ids, p.ID)
				mu.Unlock()
			}
		}()
	}
	same := storePending(t, "same.example")
	var wins, exists int
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &csr.Pending{Key: same.Key, CSR: same.CSR}
			err := stores[w%2].Put(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, csr.ErrExists):
				exists++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || exists != workers-1 {
		t.Fatalf("same key from %d goroutines: %d succeeded, %d ErrExists; want 1 and %d", workers, wins, exists, workers-1)
	}
	pending, err := stores[0].List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	archived, err := stores[1].Archived(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != workers*each/2+1 || len(archived) != workers*each/2 {
		t.Fatalf("%d pending and %d archived, want %d and %d", len(pending), len(archived), workers*each/2+1, workers*each/2)
	}
	have := map[string]bool{}
	for _, p := range append(pending, archived...) {
		have[p.ID] = true
	}
	for _, id := range ids {
		if !have[id] {
			t.Errorf("key %s was lost", id)
		}
	}
}

// TestDirStoreConcurrentProcesses: several processes and goroutines put
// into one store at once; nothing is lost.
func TestDirStoreConcurrentProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	const procs, perProc = 3, 12
	type result struct {
		ids []string
		err error
	}
	results := make(chan result, procs)
	for range procs {
		go func() {
			cmd := helperCommand(dir, "put", perProc)
			out, err := cmd.Output()
			var r result
			r.err = err
			for _, line := range strings.Split(string(out), "\n") {
				if id, ok := strings.CutPrefix(line, "put "); ok {
					r.ids = append(r.ids, id)
				}
			}
			results <- r
		}()
	}
	var local []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				p := storePending(t, fmt.Sprintf("p%d-%d.example", w, i))
				if err := s.Put(ctx, p); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				local = append(local, p.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	all := local
	for range procs {
		r := <-results
		if r.err != nil {
			t.Fatalf("helper process: %v", r.err)
		}
		if len(r.ids) != perProc {
			t.Fatalf("helper confirmed %d keys, want %d", len(r.ids), perProc)
		}
		all = append(all, r.ids...)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(all) {
		t.Fatalf("%d entries, want %d", len(list), len(all))
	}
	have := map[string]bool{}
	for _, p := range list {
		have[p.ID] = true
	}
	for _, id := range all {
		if !have[id] {
			t.Errorf("key %s was lost", id)
		}
	}
}

// helperCommand runs TestStoreHelperProcess (crash_test.go) in mode.
func helperCommand(dir, mode string, n int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"CERTWRIGHT_STORE_HELPER="+mode,
		"CERTWRIGHT_STORE_DIR="+dir,
		fmt.Sprintf("CERTWRIGHT_STORE_N=%d", n))
	cmd.Stderr = io.Discard
	return cmd
}

// BenchmarkDirStorePut compares a durable Put (temporary folder, three
// fsynced files, rename, folder fsyncs, lock) with what a program would do
// without the store: os.WriteFile of the key and the CSR, no fsync. Both
// include making a P-256 key and CSR per iteration.
func BenchmarkDirStorePut(b *testing.B) {
	ctx := context.Background()
	b.Run("DirStore.Put", func(b *testing.B) {
		s := openStore(b, b.TempDir(), nil)
		for b.Loop() {
			if err := s.Put(ctx, storePending(b, "bench.example")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DirStore.Put-encrypted-600k", func(b *testing.B) {
		s := openStore(b, b.TempDir(), &csr.DirOptions{Passphrase: []byte("bench")})
		for b.Loop() {
			if err := s.Put(ctx, storePending(b, "bench.example")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os.WriteFile", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			p := storePending(b, "bench.example")
			der, _ := x509.MarshalPKCS8PrivateKey(p.Key)
			id := mustID(b, p.Key)
			if err := os.WriteFile(filepath.Join(dir, id+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, id+".csr"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: p.CSR}), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDirStoreEntry puts arbitrary bytes in the files of a pending entry:
// reading it must not panic, and whatever Find returns must be the key
// the entry is filed under.
func FuzzDirStoreEntry(f *testing.F) {
	seedDir := f.TempDir()
	s := openStore(f, seedDir, nil)
	p := storePending(f, "fuzz.example")
	if err := s.Put(context.Background(), p); err != nil {
		f.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(seedDir, "pending", p.ID, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	meta, key, req := read("meta.json"), read("key.pem"), read("request.csr")
	f.Add(meta, key, req)
	f.Add(meta, []byte{}, req)
	f.Add([]byte(`{"format":"certwright-pending/1","id":"`+p.ID+`","key_uri":"pkcs11:x","csr_file":"request.csr"}`), key, req)
	// One store per fuzzing process; each input replaces the entry's files.
	fuzzDir := f.TempDir()
	fuzzStore := openStore(f, fuzzDir, nil)
	entry := filepath.Join(fuzzDir, "pending", p.ID)
	f.Fuzz(func(t *testing.T, meta, key, req []byte) {
		s := fuzzStore
		if err := os.RemoveAll(entry); err != nil {
			t.Fatal(err)
		}
		os.Mkdir(entry, 0o700)
		os.WriteFile(filepath.Join(entry, "meta.json"), meta, 0o644)
		os.WriteFile(filepath.Join(entry, "key.pem"), key, 0o600)
		os.WriteFile(filepath.Join(entry, "request.csr"), req, 0o644)
		got, err := s.Find(context.Background(), p.Key.Public())
		if err != nil {
			return
		}
		if got.ID != p.ID || (got.Key != nil && mustID(t, got.Key) != p.ID) {
			t.Fatalf("Find returned a key that is not the one asked for")
		}
		s.List(context.Background())
	})
}
