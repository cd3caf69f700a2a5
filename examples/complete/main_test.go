package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testpki"
)

type fixture struct {
	store, dir        string
	leafFile, p7b     string
	rootFile, strange string
	keyID             string
}

func pemFile(t *testing.T, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// newFixture makes a pending store holding one key, the leaf the "CA"
// issued for it as a DER .cer, the chain as a PEM, and the root.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{store: filepath.Join(dir, "store"), dir: dir}
	st, err := csr.OpenDir(f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := testpki.KeyP256(t)
	if err := st.Put(context.Background(), &csr.Pending{Key: key}); err != nil {
		t.Fatal(err)
	}
	f.keyID, _ = csr.KeyID(key.Public())
	root := testpki.Root(t, "CLI Root")
	inter := root.Intermediate(t, "CLI Intermediate")
	leaf, _ := inter.Leaf(t, key.Public(), "www.example.com")
	f.leafFile = filepath.Join(dir, "certnew.cer")
	os.WriteFile(f.leafFile, leaf.Raw, 0o644)
	f.p7b = pemFile(t, filepath.Join(dir, "chain.pem"), root.Cert, inter.Cert)
	f.rootFile = pemFile(t, filepath.Join(dir, "root.pem"), root.Cert)
	other, _ := inter.Leaf(t, nil, "www.example.com")
	f.strange = pemFile(t, filepath.Join(dir, "other.crt"), other)
	return f
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCompleteNginx(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "out")
	code, stdout, stderr := runCLI("-store", f.store, "-in", f.leafFile, f.p7b, "-server", "nginx", "-out", out, "-roots", f.rootFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := filepath.Join(out, "fullchain.pem") + "\n" + filepath.Join(out, "privkey.pem") + "\n"
	if stdout != want {
		t.Fatalf("stdout %q, want %q", stdout, want)
	}
	st, _ := csr.OpenDir(f.store, nil)
	if list, _ := st.List(context.Background()); len(list) != 0 {
		t.Fatalf("still %d pending after completion", len(list))
	}
	// Completing again: the key is archived, no longer pending.
	code, _, stderr = runCLI("-store", f.store, "-in", f.leafFile, "-in", f.p7b, "-server", "nginx", "-out", filepath.Join(f.dir, "again"), "-roots", f.rootFile)
	if code != 1 || !strings.Contains(stderr, "no private key matches") {
		t.Fatalf("second completion: exit %d: %s", code, stderr)
	}
}

func TestCompleteServersAndDefaults(t *testing.T) {
	for _, tt := range []struct {
		server string
		files  []string
		warn   bool
	}{
		{"apache", []string{"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}, false},
		{"haproxy", []string{"www.example.com.pem"}, false},
		{"iis", []string{"www.example.com.pfx"}, true},
		{"java", []string{"www.example.com.p12"}, true},
		{"k8s", []string{"www.example.com.yaml"}, false},
		{"pem", []string{"www.example.com.crt", "www.example.com.key"}, false},
	} {
		t.Run(tt.server, func(t *testing.T) {
			f := newFixture(t)
			out := filepath.Join(f.dir, "out")
			code, stdout, stderr := runCLI("-store", f.store, "-in", f.leafFile, f.p7b, "-server", tt.server, "-out", out, "-roots", f.rootFile, "-include-root")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
				got = append(got, filepath.Base(l))
			}
			if !reflect.DeepEqual(got, tt.files) {
				t.Errorf("wrote %v, want %v", got, tt.files)
			}
			if strings.Contains(stderr, "default password") != tt.warn {
				t.Errorf("default-password warning: %q", stderr)
			}
		})
	}
}

func TestCompleteErrorsKeepPending(t *testing.T) {
	f := newFixture(t)
	// The certificate of another key.
	code, stdout, stderr := runCLI("-store", f.store, "-in", f.strange, f.p7b, "-server", "nginx", "-out", filepath.Join(f.dir, "o1"), "-roots", f.rootFile)
	if code != 1 || stdout != "" || !strings.Contains(stderr, f.keyID) || !strings.Contains(stderr, "another machine") {
		t.Fatalf("wrong key: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	// No chain: the intermediate is missing.
	code, _, stderr = runCLI("-store", f.store, "-in", f.leafFile, "-server", "nginx", "-out", filepath.Join(f.dir, "o2"), "-roots", f.rootFile)
	if code != 1 || !strings.Contains(stderr, "chain") {
		t.Fatalf("no chain: exit %d: %s", code, stderr)
	}
	// A failed write: the output folder path runs through a file.
	blocker := filepath.Join(f.dir, "blocker")
	os.WriteFile(blocker, nil, 0o644)
	code, _, stderr = runCLI("-store", f.store, "-in", f.leafFile, f.p7b, "-server", "nginx", "-out", filepath.Join(blocker, "out"), "-roots", f.rootFile)
	if code != 1 || !strings.Contains(stderr, "stays pending") {
		t.Fatalf("failed write: exit %d: %s", code, stderr)
	}
	st, _ := csr.OpenDir(f.store, nil)
	if list, _ := st.List(context.Background()); len(list) != 1 {
		t.Fatalf("%d pending after failures, want 1", len(list))
	}
}

func TestCompleteUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-store", "x", "-server", "nginx", "-out", "o"},
		{"-store", "x", "-in", "a", "-server", "lighttpd", "-out", "o"},
		{"-in"},
		{"-bogus"},
	} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestCompleteEncryptedDefaultStore(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	storeDir := filepath.Join(cfg, "certwright", "pending")
	pass := []byte("correct horse")
	st, err := csr.OpenDir(storeDir, &csr.DirOptions{Passphrase: pass, Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	key := testpki.KeyP256(t)
	if err := st.Put(context.Background(), &csr.Pending{Key: key}); err != nil {
		t.Fatal(err)
	}
	root := testpki.Root(t, "Enc Root")
	leaf, _ := root.Leaf(t, key.Public(), "enc.example.com")
	dir := t.TempDir()
	leafFile := pemFile(t, filepath.Join(dir, "leaf.pem"), leaf)
	rootFile := pemFile(t, filepath.Join(dir, "root.pem"), root.Cert)
	passFile := filepath.Join(dir, "pass.txt")
	os.WriteFile(passFile, []byte("wrong\n"), 0o600)

	code, _, stderr := runCLI("-passphrase-file", passFile, "-in", leafFile, "-server", "pem", "-out", filepath.Join(dir, "out"), "-roots", rootFile)
	if code != 1 || !strings.Contains(stderr, "passphrase") {
		t.Fatalf("wrong passphrase: exit %d: %s", code, stderr)
	}
	os.WriteFile(passFile, []byte("correct horse\r\n"), 0o600)
	code, stdout, stderr := runCLI("-passphrase-file", passFile, "-in", leafFile, "-server", "pem", "-out", filepath.Join(dir, "out"), "-roots", rootFile)
	if code != 0 || !strings.Contains(stdout, "enc.example.com.key") {
		t.Fatalf("default encrypted store: exit %d, stdout %q: %s", code, stdout, stderr)
	}
	// No store anywhere: a clear error, not a new empty store.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, _, stderr = runCLI("-in", leafFile, "-server", "pem", "-out", filepath.Join(dir, "out2"), "-roots", rootFile)
	if code != 1 || !strings.Contains(stderr, "-store") {
		t.Fatalf("missing store: exit %d: %s", code, stderr)
	}
}
