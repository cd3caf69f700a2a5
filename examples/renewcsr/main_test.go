package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

func runRenew(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// issued makes a key, keeps it pending in store, and issues a certificate
// for it from a test CA, as a CA would answer the request.
func issued(t *testing.T, store string, kt csr.KeyType) (*x509.Certificate, *testpki.Issuer, crypto.Signer) {
	t.Helper()
	key, err := csr.GenerateKey(nil, kt)
	if err != nil {
		t.Fatal(err)
	}
	req := &csr.Request{CN: "www.example.com", O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB"}
	if err := req.AddSANs("example.com", "192.0.2.10"); err != nil {
		t.Fatal(err)
	}
	der, _, err := csr.Create(nil, req, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := csr.OpenDir(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), &csr.Pending{Key: key, CSR: der}); err != nil {
		t.Fatal(err)
	}
	r, _ := x509.ParseCertificateRequest(der)
	ca := testpki.Root(t, "Test Root")
	cert := testpki.Sign(t, &x509.Certificate{Subject: r.Subject, DNSNames: r.DNSNames, IPAddresses: r.IPAddresses}, key.Public(), ca, nil)
	return cert, ca, key
}

func writePEM(t *testing.T, name string, certs ...*x509.Certificate) string {
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

func readCSR(t *testing.T, name string) *x509.CertificateRequest {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := csr.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func sameRequest(t *testing.T, r *x509.CertificateRequest, cert *x509.Certificate) {
	t.Helper()
	if r.Subject.String() != cert.Subject.String() {
		t.Errorf("subject %s, want %s", r.Subject, cert.Subject)
	}
	if !slices.Equal(r.DNSNames, cert.DNSNames) || len(r.IPAddresses) != 1 || !r.IPAddresses[0].Equal(net.ParseIP("192.0.2.10")) {
		t.Errorf("SANs %v %v, want %v %v", r.DNSNames, r.IPAddresses, cert.DNSNames, cert.IPAddresses)
	}
}

func equalKeys(a, b crypto.PublicKey) bool {
	return a.(interface{ Equal(crypto.PublicKey) bool }).Equal(b)
}

func TestRenewNewKey(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "pending")
	cert, ca, _ := issued(t, store, csr.P384)
	// The certificate as a DER .cer, and as a chain with its issuer.
	der := filepath.Join(dir, "www.cer")
	if err := os.WriteFile(der, cert.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	chain := writePEM(t, filepath.Join(dir, "chain.pem"), ca.Cert, cert)
	for _, in := range []string{der, chain} {
		out := filepath.Join(dir, filepath.Base(in)+".csr")
		code, stdout, stderr := runRenew(t, "-cert", in, "-store", store, "-out", out)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", in, code, stderr)
		}
		if stdout != "" || !strings.Contains(stderr, "new p384 key") || !strings.Contains(stderr, "key kept in the pending store") {
			t.Errorf("%s: stdout %q\n%s", in, stdout, stderr)
		}
		r := readCSR(t, out)
		sameRequest(t, r, cert)
		if equalKeys(r.PublicKey, cert.PublicKey) {
			t.Error("the renewal reuses the old key without -reuse-key")
		}
		if kt, _ := csr.KeyTypeOf(r.PublicKey); kt != csr.P384 {
			t.Errorf("new key type %q, want the certificate's p384", kt)
		}
		s, _ := csr.OpenDir(store, nil)
		p, err := s.Find(context.Background(), r.PublicKey)
		if err != nil || !bytes.Equal(p.CSR, r.Raw) {
			t.Errorf("the new key is not pending with its CSR: %v", err)
		}
	}
}

func TestRenewReuseKey(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "pending")
	cert, _, key := issued(t, store, csr.P256)
	certFile := writePEM(t, filepath.Join(dir, "www.pem"), cert)

	// Still pending: the key is found and already kept.
	code, stdout, stderr := runRenew(t, "-cert", certFile, "-store", store, "-reuse-key")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	r, err := csr.Parse([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	sameRequest(t, r, cert)
	if !equalKeys(r.PublicKey, key.Public()) {
		t.Error("-reuse-key made a request for another key")
	}
	if !strings.Contains(stderr, "already pending") {
		t.Errorf("stderr: %s", stderr)
	}

	// After Complete the key is in the archive and still found.
	s, err := csr.OpenDir(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := csr.KeyID(key.Public())
	if err := s.Complete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "renew.csr")
	code, _, stderr = runRenew(t, "-cert", certFile, "-store", store, "-reuse-key", "-out", out)
	if code != 0 {
		t.Fatalf("after Complete: exit %d\n%s", code, stderr)
	}
	r = readCSR(t, out)
	if !equalKeys(r.PublicKey, key.Public()) {
		t.Error("-reuse-key after Complete made a request for another key")
	}
	if p, err := s.Find(context.Background(), key.Public()); err != nil || !bytes.Equal(p.CSR, r.Raw) {
		t.Errorf("the renewal is not pending: %v", err)
	}

	// A certificate whose key was never in this store.
	other := filepath.Join(dir, "other")
	code, _, stderr = runRenew(t, "-cert", certFile, "-store", other, "-reuse-key", "-out", filepath.Join(dir, "x.csr"))
	if code != 1 || !strings.Contains(stderr, "not in the store") || !strings.Contains(stderr, "renew without -reuse-key") {
		t.Errorf("missing key: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csr")); !os.IsNotExist(err) {
		t.Error("a CSR was written without a key")
	}
}

func TestRenewOpenSSL(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	store := filepath.Join(dir, "pending")
	cert, _, _ := issued(t, store, csr.RSA2048)
	out := filepath.Join(dir, "renew.csr")
	if code, _, stderr := runRenew(t, "-cert", writePEM(t, filepath.Join(dir, "c.pem"), cert), "-store", store, "-out", out); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, err := exec.Command(openssl, "req", "-in", out, "-verify", "-noout", "-text").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "verify OK") {
		t.Fatalf("openssl: %v\n%s", err, b)
	}
	for _, s := range []string{"C = GB", "ST = West Yorkshire", "L = Leeds", "O = Example Ltd", "OU = Web", "CN = www.example.com",
		"DNS:example.com", "DNS:www.example.com", "IP Address:192.0.2.10"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("openssl output lacks %q", s)
		}
	}
}

func TestRenewBadInput(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "pending")
	ca := testpki.Root(t, "Root A")
	leafA, _ := ca.Leaf(t, nil, "a.example.com")
	leafB, _ := ca.Leaf(t, nil, "b.example.com")
	twoLeaves := writePEM(t, filepath.Join(dir, "two.pem"), leafA, leafB)
	key, _ := csr.GenerateKey(nil, csr.P256)
	der, _, _ := csr.Create(nil, &csr.Request{CN: "www.example.com"}, key, nil)
	csrFile := filepath.Join(dir, "req.csr")
	os.WriteFile(csrFile, csr.EncodePEM(der), 0o644)
	badNames := testpki.Sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "old.example.com", Country: []string{"USA"}}, DNSNames: []string{"old.example.com"}}, key.Public(), ca, nil)
	badFile := writePEM(t, filepath.Join(dir, "bad.pem"), badNames)

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no cert flag", []string{"-store", store}, 2, "-cert FILE is required"},
		{"bad flag", []string{"-cert", twoLeaves, "-bogus"}, 2, "usage: renewcsr"},
		{"extra argument", []string{"-cert", twoLeaves, "more"}, 2, "unexpected argument"},
		{"missing file", []string{"-cert", filepath.Join(dir, "nope.pem"), "-store", store}, 1, "nope.pem"},
		{"two leaves", []string{"-cert", twoLeaves, "-store", store}, 1, "cannot tell which one to renew"},
		{"a CSR", []string{"-cert", csrFile, "-store", store}, 1, "holds a certificate request, not a certificate"},
		{"names fail", []string{"-cert", badFile, "-store", store}, 1, `"USA" is not a 2-letter ISO 3166 country code`},
	}
	for _, tc := range tests {
		code, stdout, stderr := runRenew(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || stdout != "" {
			t.Errorf("%s: exit %d stdout %q\n%s", tc.name, code, stdout, stderr)
		}
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("a failed renewal created the store: %v", err)
	}
}
