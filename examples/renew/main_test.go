package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writePEM(t *testing.T, p string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cert issues a certificate for host valid from notBefore for days days.
func cert(t *testing.T, iss *testpki.Issuer, key crypto.Signer, host string, notBefore time.Time, days int) *x509.Certificate {
	t.Helper()
	return testpki.Sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: host, Organization: []string{"Example Ltd"}, Locality: []string{"Leeds"}, Province: []string{"West Yorkshire"}, Country: []string{"GB"}},
		DNSNames:    []string{host, "www." + host},
		NotBefore:   notBefore,
		NotAfter:    notBefore.Add(time.Duration(days) * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, key.Public(), iss, nil)
}

const at = "2026-06-01T00:00:00Z"

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-check"},
		{"-check", "x", "-cert", "y"},
		{"-cert", "c.pem"},
		{"-cert", "c.pem", "-store", "s"},
		{"-cert", "c.pem", "-store", "s", "-out", "-", "stray"},
		{"-cert", "c.pem", "-store", "s", "-out", "-", "-key", "dsa1024"},
		{"-check", "x", "-at", "yesterday"},
		{"-check", "x", "-days", "-3"},
		{"-check", "x", "-fraction", "2"},
		{"-complete", "a.cer", "-store", "s"},
		{"-complete", "a.cer", "-store", "s", "-serve", "d", "-server", "lighttpd"},
		{"-complete", "a.cer", "-store", "s", "-serve", "d", "-server", "iis"},
		{"-nonsense"},
	} {
		if code, _, stderr := runCLI(t, args...); code != 2 || !strings.Contains(stderr, "usage") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, _, _ := runCLI(t, "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

func TestCheck(t *testing.T) {
	root := testpki.Root(t, "Check Root")
	inter := root.Intermediate(t, "Check Intermediate")
	now, _ := time.Parse(time.RFC3339, at)
	dir := t.TempDir()
	soon := cert(t, inter, testpki.KeyP256(t), "soon.example", now.Add(-80*24*time.Hour), 90)   // 10 days left
	later := cert(t, inter, testpki.KeyP256(t), "later.example", now.Add(-40*24*time.Hour), 90) // 50 days left, 55% of the lifetime
	gone := cert(t, inter, testpki.KeyP256(t), "gone.example", now.Add(-95*24*time.Hour), 90)   // expired 5 days ago
	writePEM(t, filepath.Join(dir, "sites", "soon", "fullchain.pem"), soon, inter.Cert)
	writePEM(t, filepath.Join(dir, "sites", "later", "fullchain.pem"), later, inter.Cert)
	key, _ := formats.EncodeKeyPEM(testpki.KeyP256(t), nil)
	os.WriteFile(filepath.Join(dir, "sites", "soon", "privkey.pem"), key, 0o600)
	goneFile := writePEM(t, filepath.Join(dir, "gone.pem"), gone)
	sites := filepath.Join(dir, "sites")

	// 30 days: soon is due; exit 1 and named.
	code, stdout, stderr := runCLI(t, "-check", sites, "-at", at)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "RENEW      10 days  2026-06-11T00:00:00Z  soon.example  subject=\"CN=soon.example,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB\"  sans=DNS:soon.example,DNS:www.soon.example  file=") ||
		!strings.HasPrefix(lines[1], "ok         50 days  2026-07-21T00:00:00Z  later.example") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, "renew: soon.example ("+filepath.Join(sites, "soon", "fullchain.pem")+") needs renewal") ||
		strings.Contains(stderr, "later.example (") || !strings.Contains(stderr, "privkey.pem: skipped") {
		t.Errorf("stderr:\n%s", stderr)
	}

	// 5 days: none due; exit 0.
	if code, stdout, stderr := runCLI(t, "-check", sites, "-days", "5", "-at", at); code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stderr, "none of 2") {
		t.Errorf("-days 5: exit %d\n%s%s", code, stdout, stderr)
	}
	// Flags after and between operands; an expired file given by name.
	code, stdout, stderr = runCLI(t, "-check", goneFile, "-days", "5", sites, "-at", at)
	if code != 1 || !strings.HasPrefix(stdout, "EXPIRED") || !strings.Contains(stderr, "gone.example") || strings.Contains(stderr, "soon.example (") {
		t.Errorf("interleaved: exit %d\n%s%s", code, stdout, stderr)
	}
	// -days 0 flags only the expired.
	if code, _, stderr := runCLI(t, "-days", "0", "-at", at, "-check", sites, goneFile); code != 1 || !strings.Contains(stderr, "1 of 3") {
		t.Errorf("-days 0: exit %d\n%s", code, stderr)
	}
	// The ACME rule: later has 55% of its lifetime left, soon 11%.
	if code, _, stderr := runCLI(t, "-check", sites, "-fraction", "0.6", "-at", at); code != 1 || !strings.Contains(stderr, "2 of 2") {
		t.Errorf("-fraction 0.6: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "-check", sites, "-fraction", "0.3333", "-at", at); code != 1 || !strings.Contains(stderr, "1 of 2") || !strings.Contains(stderr, "soon.example (") {
		t.Errorf("-fraction 1/3: exit %d\n%s", code, stderr)
	}
	// A missing file is a failure, a folder without certificates too.
	if code, _, stderr := runCLI(t, "-check", filepath.Join(dir, "nope.pem")); code != 1 || !strings.Contains(stderr, "nope.pem") {
		t.Errorf("missing: exit %d %s", code, stderr)
	}
	empty := t.TempDir()
	if code, _, stderr := runCLI(t, "-check", empty); code != 1 || !strings.Contains(stderr, "no certificate found") {
		t.Errorf("empty: exit %d %s", code, stderr)
	}
}

func TestRequest(t *testing.T) {
	root := testpki.Root(t, "Req Root")
	inter := root.Intermediate(t, "Req Intermediate")
	dir := t.TempDir()
	storeDir := filepath.Join(dir, "pending")
	oldKey := testpki.KeyRSA(t, 2048)
	old := cert(t, inter, oldKey, "example.com", testpki.NotBefore, 90)
	certFile := writePEM(t, filepath.Join(dir, "fullchain.pem"), old, inter.Cert)
	out := filepath.Join(dir, "renew.csr")

	code, stdout, stderr := runCLI(t, "-cert", certFile, "-store", storeDir, "-out", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(out)
	req, err := csr.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if req.Subject.String() != old.Subject.String() || !slices.Equal(req.DNSNames, old.DNSNames) {
		t.Errorf("request %q %q, want %q %q", req.Subject, req.DNSNames, old.Subject, old.DNSNames)
	}
	if kt, _ := csr.KeyTypeOf(req.PublicKey); kt != csr.RSA2048 || bundle.Fingerprint(req.PublicKey) == bundle.Fingerprint(old.PublicKey) {
		t.Errorf("key %s (must be a new rsa2048 key)", kt)
	}
	store, err := csr.OpenDir(storeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := store.Find(context.Background(), req.PublicKey); err != nil || !strings.Contains(stderr, p.ID) {
		t.Errorf("the key is not pending (%v) or not named:\n%s", err, stderr)
	}

	// -key p384 to standard output.
	code, stdout, stderr = runCLI(t, "-cert", certFile, "-store", storeDir, "-out", "-", "-key", "p384")
	if code != 0 {
		t.Fatalf("-key p384: exit %d %s", code, stderr)
	}
	if req, err = csr.Parse([]byte(stdout)); err != nil {
		t.Fatal(err)
	}
	if kt, _ := csr.KeyTypeOf(req.PublicKey); kt != csr.P384 {
		t.Errorf("-key p384 made %s", kt)
	}

	// -reuse-key: not in the store (exit 1, nothing written), then from the
	// key file.
	os.Remove(out)
	if code, _, stderr := runCLI(t, "-cert", certFile, "-store", storeDir, "-out", out, "-reuse-key"); code != 1 || !strings.Contains(stderr, "not in the store's archive") {
		t.Errorf("-reuse-key without key: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a CSR was written although the renewal failed")
	}
	keyPEM, _ := formats.EncodeKeyPEM(oldKey, nil)
	keyFile := filepath.Join(dir, "privkey.pem")
	os.WriteFile(keyFile, keyPEM, 0o600)
	if code, _, stderr := runCLI(t, "-cert", certFile, "-store", storeDir, "-out", out, "-reuse-key", "-key-file", keyFile); code != 0 {
		t.Fatalf("-key-file: exit %d %s", code, stderr)
	}
	data, _ = os.ReadFile(out)
	if req, err = csr.Parse(data); err != nil || bundle.Fingerprint(req.PublicKey) != bundle.Fingerprint(old.PublicKey) {
		t.Errorf("-reuse-key -key-file did not reuse the key (%v)", err)
	}
	// The same key again: already pending.
	if code, _, stderr := runCLI(t, "-cert", certFile, "-store", storeDir, "-out", out, "-reuse-key", "-key-file", keyFile); code != 1 || !strings.Contains(stderr, "already pending") {
		t.Errorf("second reuse: exit %d %s", code, stderr)
	}
	// A file that is not a certificate.
	if code, _, stderr := runCLI(t, "-cert", keyFile, "-store", storeDir, "-out", "-"); code != 1 || !strings.Contains(stderr, "holds no certificate") {
		t.Errorf("key as certificate: exit %d %s", code, stderr)
	}
}

// TestRenewCycle: check, request, CA answer from another intermediate,
// complete into the served folder.
func TestRenewCycle(t *testing.T) {
	root := testpki.Root(t, "Cycle Root")
	a, b := root.Intermediate(t, "Issuing CA A"), root.Intermediate(t, "Issuing CA B")
	dir := t.TempDir()
	storeDir, serve := filepath.Join(dir, "pending"), filepath.Join(dir, "www")
	oldKey := testpki.KeyP256(t)
	old := &bundle.Bundle{Key: oldKey, Leaf: cert(t, a, oldKey, "example.com", testpki.NotBefore, 90), Intermediates: []*x509.Certificate{a.Cert}}
	if _, err := old.Write(serve, bundle.Nginx, nil); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "-check", serve, "-at", "2026-03-15T00:00:00Z"); code != 1 || !strings.Contains(stderr, "example.com") {
		t.Fatalf("check: exit %d %s", code, stderr)
	}
	csrFile := filepath.Join(dir, "renew.csr")
	if code, _, stderr := runCLI(t, "-cert", filepath.Join(serve, "fullchain.pem"), "-store", storeDir, "-out", csrFile); code != 0 {
		t.Fatalf("request: exit %d %s", code, stderr)
	}
	data, _ := os.ReadFile(csrFile)
	req, err := csr.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	leaf := testpki.Sign(t, &x509.Certificate{Subject: req.Subject, DNSNames: req.DNSNames, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, req.PublicKey, b, nil)
	answer := writePEM(t, filepath.Join(dir, "answer.pem"), leaf, b.Cert)
	rootFile := writePEM(t, filepath.Join(dir, "root.pem"), root.Cert)

	code, stdout, stderr := runCLI(t, "-complete", answer, "-store", storeDir, "-serve", serve, "-roots", rootFile)
	if code != 0 {
		t.Fatalf("complete: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout != filepath.Join(serve, "fullchain.pem")+"\n"+filepath.Join(serve, "privkey.pem")+"\n" {
		t.Errorf("stdout %q", stdout)
	}
	if !strings.Contains(stderr, `the issuer changed from "CN=Issuing CA A,O=certwright test" to "CN=Issuing CA B,O=certwright test"`) {
		t.Errorf("stderr lacks the issuer change:\n%s", stderr)
	}
	pairs, err := bundle.PairFiles(context.Background(), []string{filepath.Join(serve, "fullchain.pem"), filepath.Join(serve, "privkey.pem")},
		&bundle.CompleteOptions{Roots: []*x509.Certificate{root.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	if !pairs[0].Leaf.Equal(leaf) || len(pairs[0].Intermediates) != 1 || !pairs[0].Intermediates[0].Equal(b.Cert) {
		t.Error("the served files are not the new leaf with intermediate B")
	}
	// The same answer again: the request is no longer pending.
	if code, _, stderr := runCLI(t, "-complete", answer, "-store", storeDir, "-serve", serve, "-roots", rootFile); code != 1 || !strings.Contains(stderr, "no private key matches") {
		t.Errorf("second complete: exit %d %s", code, stderr)
	}
}

// TestOpenSSLReadsRequest: the CSR renew writes verifies in OpenSSL and
// shows the certificate's subject and SANs.
func TestOpenSSLReadsRequest(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	root := testpki.Root(t, "OpenSSL Root")
	dir := t.TempDir()
	old := cert(t, root, testpki.KeyP256(t), "example.org", testpki.NotBefore, 365)
	certFile := writePEM(t, filepath.Join(dir, "cert.pem"), old)
	out := filepath.Join(dir, "renew.csr")
	if code, _, stderr := runCLI(t, "-cert", certFile, "-store", filepath.Join(dir, "pending"), "-out", out); code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	text, err := exec.Command(openssl, "req", "-in", out, "-verify", "-noout", "-text", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, text)
	}
	orig, err := exec.Command(openssl, "x509", "-in", certFile, "-noout", "-subject", "-ext", "subjectAltName", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, orig)
	}
	lines := strings.Split(strings.TrimSpace(string(orig)), "\n")
	subject := strings.TrimPrefix(lines[0], "subject=")
	sans := strings.TrimSpace(lines[len(lines)-1])
	for _, want := range []string{"verify OK", "Subject: " + subject + "\n", sans + "\n", "ASN1 OID: prime256v1"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("openssl req output lacks %q:\n%s", want, text)
		}
	}
	if sans != "DNS:example.org, DNS:www.example.org" {
		t.Errorf("original SANs as OpenSSL prints them: %q", sans)
	}
}

// TestOpenSSLMadeFiles: a certificate, key and .pfx made by OpenSSL are
// checked and renewed.
func TestOpenSSLMadeFiles(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	os.MkdirAll(site, 0o700)
	certFile, keyFile, pfx := filepath.Join(site, "cert.pem"), filepath.Join(site, "privkey.pem"), filepath.Join(site, "shop.pfx")
	if out, err := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
		"-keyout", keyFile, "-out", certFile, "-days", "10",
		"-subj", "/C=GB/ST=West Yorkshire/L=Leeds/O=Example Ltd/CN=shop.example.com",
		"-addext", "subjectAltName=DNS:shop.example.com,DNS:www.shop.example.com,IP:192.0.2.7").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	if out, err := exec.Command(openssl, "pkcs12", "-export", "-in", certFile, "-inkey", keyFile, "-out", pfx, "-passout", "pass:pw").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	code, stdout, stderr := runCLI(t, "-check", dir, "-password", "pw")
	if code != 1 || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, "RENEW") ||
		!strings.Contains(stdout, "sans=DNS:shop.example.com,DNS:www.shop.example.com,IP Address:192.0.2.7") ||
		!strings.Contains(stderr, "privkey.pem: skipped") {
		t.Errorf("check: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "-check", dir, "-days", "5", "-password", "pw"); code != 0 {
		t.Errorf("-days 5: exit %d", code)
	}
	// Renew from the .pfx, reusing OpenSSL's key from its key file.
	out := filepath.Join(dir, "renew.csr")
	if code, _, stderr := runCLI(t, "-cert", pfx, "-password", "pw", "-store", filepath.Join(dir, "pending"), "-out", out, "-reuse-key", "-key-file", keyFile); code != 0 {
		t.Fatalf("renew: exit %d %s", code, stderr)
	}
	text, err := exec.Command(openssl, "req", "-in", out, "-verify", "-noout", "-text", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req -verify: %v\n%s", err, text)
	}
	pub, err := exec.Command(openssl, "req", "-in", out, "-noout", "-pubkey").Output()
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := exec.Command(openssl, "pkey", "-in", keyFile, "-pubout").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verify OK", "Subject: CN=shop.example.com,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB\n",
		"DNS:shop.example.com, DNS:www.shop.example.com, IP Address:192.0.2.7\n"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("openssl req output lacks %q:\n%s", want, text)
		}
	}
	if !bytes.Equal(pub, pub2) {
		t.Error("-reuse-key -key-file: the request's key is not OpenSSL's key")
	}
}
