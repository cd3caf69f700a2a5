package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

// TestUsage checks the flag combinations refused before any file or
// network is touched (exit 2). The runs against a real step-ca are in
// examples/e2e (TestSubmitCommand), which links step-ca once for all.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-ca", "https://ca", "-root", "r", "-csr", "c", "-token", "t"}, "-out is required"},
		{[]string{"-out", "o", "-csr", "c"}, "-ca (step-ca) or -acme (ACME) is required"},
		{[]string{"-out", "o", "-ca", "https://ca", "-csr", "c", "-token", "t"}, "exactly one of -root FILE and -fingerprint"},
		{[]string{"-out", "o", "-ca", "https://ca", "-root", "r", "-fingerprint", "ab", "-csr", "c", "-token", "t"}, "exactly one of -root FILE and -fingerprint"},
		{[]string{"-out", "o", "-ca", "https://ca", "-root", "r", "-csr", "c"}, "exactly one of -token, -token-file and -provisioner"},
		{[]string{"-out", "o", "-ca", "https://ca", "-root", "r", "-csr", "c", "-token", "t", "-token-file", "f"}, "exactly one of -token"},
		{[]string{"-out", "o", "-ca", "https://ca", "-root", "r", "-csr", "c", "-provisioner", "p"}, "-provisioner and -provisioner-key go together"},
		{[]string{"-out", "o", "-ca", "https://ca", "-root", "r", "-renew", "-cert", "c"}, "-renew needs -cert and -key"},
		{[]string{"-out", "o", "-ca", "https://ca", "-root", "r", "-renew", "-cert", "c", "-key", "k", "-token", "t"}, "takes no -csr or token"},
		{[]string{"-out", "o", "-acme", "https://ca/dir", "-ca", "https://ca", "-csr", "c", "-http01", ":80"}, "-acme does not combine"},
		{[]string{"-out", "o", "-acme", "https://ca/dir", "-csr", "c"}, "-acme needs -csr and -http01"},
		{[]string{"-out", "o", "extra"}, "unexpected argument"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), "usage: submit") {
			t.Errorf("%v: exit %d, stderr %s\nwant exit 2 with %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &stdout, &stderr); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

// TestBadFiles checks that unreadable inputs fail with exit 1 naming the
// file, before the CA is contacted (the CA URL does not resolve).
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	root := testpki.Root(t, "Test Root")
	inter := root.Intermediate(t, "Test Intermediate")
	interFile := filepath.Join(dir, "intermediate.pem")
	if err := os.WriteFile(interFile, pemOf(inter.Cert.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.csr")
	if err := os.WriteFile(junk, []byte("not a request"), 0o644); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootFile, pemOf(root.Cert.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-root", interFile, "-csr", junk, "-token", "t"}, "no self-signed root certificate"},
		{[]string{"-root", filepath.Join(dir, "missing.pem"), "-csr", junk, "-token", "t"}, "missing.pem"},
		{[]string{"-root", rootFile, "-csr", junk, "-token", "t"}, "junk.csr"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-ca", "https://ca.invalid", "-out", filepath.Join(dir, "out.pem")}, tc.args...)
		code := run(context.Background(), args, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %s\nwant exit 1 with %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
