package e2e

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	submit "github.com/certwright/certwright/csr/stepca"
	"github.com/certwright/certwright/examples/internal/stepca"
)

// TestSubmitCommand runs the whole life with the command-line tools against
// step-ca on loopback: newcsr keeps the key pending, submit gets the
// certificate (token minted from step's encrypted provisioner key, root
// pinned from its file), complete pairs it with the key and writes nginx's files, submit
// -renew renews those over mutual TLS with the root bootstrapped from its
// fingerprint; a reused token and an existing output fail with exit 1; the
// ACME mode orders from step-ca's ACME provisioner, answering HTTP-01
// itself.
func TestSubmitCommand(t *testing.T) {
	newcsr := buildCommand(t, "newcsr")
	submitBin := buildCommand(t, "submit")
	complete := buildCommand(t, "complete")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	http01 := ln.Addr().String()
	ln.Close()
	port, _ := strconv.Atoi(http01[strings.LastIndex(http01, ":")+1:])
	srv, err := stepca.Serve(t.TempDir(), &stepca.ServeOptions{ACME: true, HTTP01Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	prov := srv.Provisioners[0]

	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	path := func(name string) string { return filepath.Join(dir, name) }
	mustRun := func(bin string, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCommand(bin, args...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", filepath.Base(bin), args, code, stderr)
		}
		return stdout
	}

	mustRun(newcsr, "-cn", "app.example.com", "-o", "Example Ltd", "-l", "Leeds", "-st", "West Yorkshire", "-c", "GB",
		"-san", "api.example.com", "-key", "p256", "-store", store, "-out", path("app.csr"))
	// The provisioner key as step keeps it (an encrypted JWK); without its
	// password that is bad usage.
	code, _, stderr := runCommand(submitBin, "-ca", srv.URL, "-root", srv.RootFile, "-csr", path("app.csr"),
		"-provisioner", prov.Name, "-provisioner-key", prov.EncryptedKeyFile, "-out", path("app.pem"))
	if code != 2 || !strings.Contains(stderr, "-password-file") {
		t.Fatalf("encrypted key without password: exit %d\n%s", code, stderr)
	}
	if err := os.WriteFile(path("prov.pw"), []byte(stepca.ProvisionerPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(submitBin, "-ca", srv.URL, "-root", srv.RootFile, "-csr", path("app.csr"),
		"-provisioner", prov.Name, "-provisioner-key", prov.EncryptedKeyFile, "-password-file", path("prov.pw"),
		"-out", path("app.pem"), "-chain-out", path("chain.pem"))
	if out != path("app.pem")+"\n"+path("chain.pem")+"\n" {
		t.Fatalf("submit stdout %q", out)
	}
	certs := readCerts(t, path("app.pem"))
	if len(certs) != 2 || certs[0].Subject.String() != "CN=app.example.com,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB" || !certs[1].Equal(srv.Intermediate) {
		t.Fatalf("app.pem: %d certificates, first %q", len(certs), certs[0].Subject)
	}
	if chain := readCerts(t, path("chain.pem")); len(chain) != 1 || !chain[0].Equal(srv.Intermediate) {
		t.Fatal("chain.pem is not the intermediate")
	}

	// The answer completes the pending request.
	nginx := path("nginx")
	mustRun(complete, "-store", store, "-in", path("app.pem"), "-server", "nginx", "-out", nginx, "-roots", srv.RootFile)

	// Renew what complete wrote, trusting the root by its fingerprint.
	code, stdout, stderr := runCommand(submitBin, "-ca", srv.URL, "-fingerprint", srv.Fingerprint, "-renew",
		"-cert", filepath.Join(nginx, "fullchain.pem"), "-key", filepath.Join(nginx, "privkey.pem"), "-out", path("renewed.pem"))
	if code != 0 || stdout != path("renewed.pem")+"\n" || !strings.Contains(stderr, "pinned the root") {
		t.Fatalf("renew: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	renewed := readCerts(t, path("renewed.pem"))
	if !renewed[0].PublicKey.(*ecdsa.PublicKey).Equal(certs[0].PublicKey) || renewed[0].SerialNumber.Cmp(certs[0].SerialNumber) == 0 {
		t.Error("the renewed certificate has another key or the same serial")
	}

	// A token from a file works once; the second use gets the CA's refusal.
	mustRun(newcsr, "-cn", "db.example.com", "-key", "p256", "-store", store, "-out", path("db.csr"))
	req, err := csr.Parse(mustRead(t, path("db.csr")))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := submit.NewToken(&submit.Token{Provisioner: prov.Name, Key: prov.Key, CA: srv.URL, CSR: req.Raw})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("db.token"), []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(submitBin, "-ca", srv.URL, "-root", srv.RootFile, "-csr", path("db.csr"), "-token-file", path("db.token"), "-out", path("db.pem"))
	code, stdout, stderr = runCommand(submitBin, "-ca", srv.URL, "-root", srv.RootFile, "-csr", path("db.csr"), "-token-file", path("db.token"), "-out", path("db2.pem"))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "401 Unauthorized") || !strings.Contains(stderr, "used before") || strings.Contains(stderr, tok) {
		t.Fatalf("reused token: exit %d, stdout %q\n%s", code, stdout, stderr)
	}

	// An existing output is not replaced; the issued certificate is shown.
	code, _, stderr = runCommand(submitBin, "-ca", srv.URL, "-root", srv.RootFile, "-csr", path("db.csr"),
		"-provisioner", prov.Name, "-provisioner-key", prov.KeyFile, "-out", path("db.pem"))
	if code != 1 || !strings.Contains(stderr, "db.pem exists") || !strings.Contains(stderr, "BEGIN CERTIFICATE") {
		t.Fatalf("existing output: exit %d\n%s", code, stderr)
	}

	// ACME: an account needs the terms accepted, then the order succeeds.
	mustRun(newcsr, "-cn", "127.0.0.1", "-san", "localhost", "-key", "p256", "-store", store, "-out", path("acme.csr"))
	acmeArgs := []string{"-acme", srv.ACMEDirectory, "-root", srv.RootFile, "-http01", http01, "-csr", path("acme.csr"), "-out", path("acme.pem")}
	code, _, stderr = runCommand(submitBin, acmeArgs...)
	if code != 2 || !strings.Contains(stderr, "-accept-tos") {
		t.Fatalf("ACME without -accept-tos: exit %d\n%s", code, stderr)
	}
	mustRun(submitBin, append(acmeArgs, "-accept-tos", "-contact", "ops@example.com")...)
	acmeCerts := readCerts(t, path("acme.pem"))
	if len(acmeCerts) != 2 || len(acmeCerts[0].DNSNames) != 1 || acmeCerts[0].DNSNames[0] != "localhost" || len(acmeCerts[0].IPAddresses) != 1 || !acmeCerts[1].Equal(srv.Intermediate) {
		t.Fatalf("acme.pem: %d certificates", len(acmeCerts))
	}
	mustRun(complete, "-store", store, "-in", path("acme.pem"), "-server", "pem", "-out", path("acme-out"), "-roots", srv.RootFile)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCerts(t *testing.T, name string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	rest := mustRead(t, name)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("%s: no certificate", name)
	}
	return certs
}
