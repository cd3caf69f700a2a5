package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
)

func writePEM(t *testing.T, name, typ string, ders ...[]byte) string {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	root := testpki.Root(t, "Export Root")
	inter := root.Intermediate(t, "Export Intermediate")
	key := testpki.KeyP256(t)
	leaf, _ := inter.Leaf(t, key.Public(), "farm.example.com")
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := writePEM(t, filepath.Join(dir, "server.key"), "PRIVATE KEY", keyDER)
	crtFile := writePEM(t, filepath.Join(dir, "server.crt"), "CERTIFICATE", leaf.Raw, inter.Cert.Raw)
	rootFile := writePEM(t, filepath.Join(dir, "root.pem"), "CERTIFICATE", root.Cert.Raw)

	// Loose key + certificates -> .pfx with the whole chain.
	out := filepath.Join(dir, "farm.pfx")
	code, stdout, stderr := runCLI("-in", crtFile, keyFile, "-out", out, "-out-password", "s3cret", "-roots", rootFile)
	if code != 0 || stdout != out+"\n" {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	c, err := formats.ReadFile(out, &formats.ReadOptions{Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 1 || len(c.Certificates) != 3 || c.KeyInfo[0].FriendlyName != "farm.example.com" {
		t.Fatalf("pfx holds %d keys, %d certificates, name %q", len(c.Keys), len(c.Certificates), c.KeyInfo[0].FriendlyName)
	}
	// The .pfx itself is an input: re-export in the legacy profile without the root.
	legacy := filepath.Join(dir, "farm-2016.pfx")
	code, _, stderr = runCLI("-in", out, "-password", "s3cret", "-out", legacy, "-legacy", "-no-root", "-roots", rootFile)
	if code != 0 {
		t.Fatalf("re-export: exit %d: %s", code, stderr)
	}
	c, err = formats.ReadFile(legacy, &formats.ReadOptions{Password: "s3cret"})
	if err != nil || len(c.Certificates) != 2 {
		t.Fatalf("legacy pfx: %v", err)
	}
	// Never over an existing file without -overwrite.
	code, _, stderr = runCLI("-in", out, "-password", "s3cret", "-out", legacy, "-roots", rootFile)
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("overwrite: exit %d: %s", code, stderr)
	}
	if code, _, _ = runCLI("-in", out, "-password", "s3cret", "-out", legacy, "-roots", rootFile, "-overwrite"); code != 0 {
		t.Fatal("-overwrite refused")
	}

	// The key from the store's archive (a request completed earlier).
	store := filepath.Join(dir, "store")
	st, err := csr.OpenDir(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Put(ctx, &csr.Pending{Key: key}); err != nil {
		t.Fatal(err)
	}
	id, _ := csr.KeyID(key.Public())
	if err := st.Complete(ctx, id); err != nil {
		t.Fatal(err)
	}
	fromStore := filepath.Join(dir, "from-store.pfx")
	code, _, stderr = runCLI("-store", store, "-in", crtFile, "-out", fromStore, "-roots", rootFile)
	if code != 0 || !strings.Contains(stderr, "default password") {
		t.Fatalf("from store: exit %d: %s", code, stderr)
	}

	// A key that belongs to another certificate.
	other := testpki.KeyP256(t)
	otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
	otherFile := writePEM(t, filepath.Join(dir, "other.key"), "PRIVATE KEY", otherDER)
	code, _, stderr = runCLI("-in", crtFile, otherFile, "-out", filepath.Join(dir, "x.pfx"), "-roots", rootFile)
	if code != 1 || !strings.Contains(stderr, "no private key matches") {
		t.Fatalf("wrong key: exit %d: %s", code, stderr)
	}
}

func TestExportUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-out", "x.pfx"}, {"-in", "a"}, {"-in"}, {"-nope"}} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
