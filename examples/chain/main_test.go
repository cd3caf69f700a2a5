package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

type fixture struct {
	dir                string
	root, i1, i2, leaf *x509.Certificate
	rootF, i1F, i2F    string
	leafF, pileF       string
}

func pemOf(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

func setup(t *testing.T) *fixture {
	t.Helper()
	root := testpki.Root(t, "CLI Root")
	i1 := root.Intermediate(t, "CLI I1")
	i2 := i1.Intermediate(t, "CLI I2")
	leaf, _ := i2.Leaf(t, nil, "www.example.com")
	f := &fixture{dir: t.TempDir(), root: root.Cert, i1: i1.Cert, i2: i2.Cert, leaf: leaf}
	w := func(name string, data []byte) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.rootF = w("root.pem", pemOf(root.Cert))
	f.i1F = w("i1.der", i1.Cert.Raw)
	f.i2F = w("i2.pem", pemOf(i2.Cert))
	f.leafF = w("leaf.pem", pemOf(leaf))
	// Root first, a duplicate, noise: what users hand over.
	f.pileF = w("pile.pem", append([]byte("junk before\n"), pemOf(root.Cert, i1.Cert, i2.Cert, i1.Cert, leaf)...))
	return f
}

func parsePEM(t *testing.T, data []byte) []string {
	t.Helper()
	var cns []string
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return cns
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		cns = append(cns, c.Subject.CommonName)
	}
}

func TestChainFromPile(t *testing.T) {
	f := setup(t)
	var out, errb bytes.Buffer
	code := run([]string{"-in", f.pileF, "-roots", f.rootF, "-host", "www.example.com", "-explain"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := strings.Join(parsePEM(t, out.Bytes()), ","); got != "www.example.com,CLI I2,CLI I1" {
		t.Fatalf("chain %s", got)
	}
	for _, want := range []string{"reordered", `dropped "CLI Root": root`, "duplicate of PEM block 2"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("explanation lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestChainCompletion(t *testing.T) {
	f := setup(t)
	var out, errb bytes.Buffer
	// Leaf alone: no chain, with the reason and a hint.
	if code := run([]string{"-in", f.leafF, "-roots", f.rootF}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "no valid chain") || !strings.Contains(errb.String(), "-pool") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Completed from a pool; repeated -in plus a positional file; -out file
	// with the root included.
	outF := filepath.Join(f.dir, "out.pem")
	errb.Reset()
	code := run([]string{"-in", f.leafF, "-roots", f.rootF, "-pool", f.i1F, "-out", outF, "-include-root", f.i2F}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	data, err := os.ReadFile(outF)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(parsePEM(t, data), ","); got != "www.example.com,CLI I2,CLI I1,CLI Root" {
		t.Fatalf("chain %s", got)
	}
	if st, _ := os.Stat(outF); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
	// A validation time outside the validity period.
	errb.Reset()
	if code := run([]string{"-in", f.pileF, "-roots", f.rootF, "-at", "2040-01-01T00:00:00Z"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "expired") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Host mismatch.
	errb.Reset()
	if code := run([]string{"-in", f.pileF, "-roots", f.rootF, "-host", "other.example"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "other.example") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func TestChainUsage(t *testing.T) {
	f := setup(t)
	var out, errb bytes.Buffer
	for _, args := range [][]string{{}, {"-nosuch"}, {"-in", f.leafF, "-at", "yesterday"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := run([]string{"-in", filepath.Join(f.dir, "missing.pem")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "missing.pem") {
		t.Errorf("missing file: exit %d: %s", code, errb.String())
	}
}

// TestChainOpenSSLInterop: a root-first DER PKCS#7 written by openssl is
// read, and openssl verifies the chain we write.
func TestChainOpenSSLInterop(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	f := setup(t)
	p7 := filepath.Join(f.dir, "pile.p7b")
	cmd := exec.Command(openssl, "crl2pkcs7", "-nocrl", "-certfile", f.rootF, "-certfile", f.i2F, "-certfile", f.leafF, "-outform", "DER", "-out", p7)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl crl2pkcs7: %v\n%s", err, b)
	}
	outF := filepath.Join(f.dir, "chain.pem")
	var out, errb bytes.Buffer
	if code := run([]string{"-in", p7, "-pool", f.i1F, "-roots", f.rootF, "-out", outF}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	cmd = exec.Command(openssl, "verify", "-attime", "1780000000", "-CAfile", f.rootF, "-untrusted", outF, f.leafF)
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "OK") {
		t.Fatalf("openssl verify: %v\n%s", err, b)
	}
	// Without the intermediates, openssl cannot verify the leaf.
	cmd = exec.Command(openssl, "verify", "-attime", "1780000000", "-CAfile", f.rootF, f.leafF)
	if err := cmd.Run(); err == nil {
		t.Fatal("openssl verified the leaf without intermediates")
	}
}
