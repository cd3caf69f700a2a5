package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testtool"
)

func runNewcsr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var subjectFlags = []string{"-cn", "www.example.com", "-o", "Example Ltd", "-ou", "Web", "-l", "Leeds", "-st", "West Yorkshire", "-c", "GB",
	"-san", "example.com, 192.0.2.10,2001:db8::1,admin@example.com,spiffe://example.com/web"}

// TestEveryKeyTypeOpenSSL runs newcsr for each key type and has OpenSSL
// verify the CSR and show the six subject fields and the SANs; the key must
// be in the store and match the CSR.
func TestEveryKeyTypeOpenSSL(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	for _, kt := range []string{"rsa2048", "rsa3072", "rsa4096", "p256", "p384", "ed25519"} {
		t.Run(kt, func(t *testing.T) {
			dir := t.TempDir()
			store, out := filepath.Join(dir, "pending"), filepath.Join(dir, "out.csr")
			code, stdout, stderr := runNewcsr(t, append(subjectFlags, "-key", kt, "-store", store, "-out", out)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout with -out FILE: %q", stdout)
			}
			if !strings.Contains(stderr, "key kept in the pending store "+store+" as sha256:") || !strings.Contains(stderr, "CSR written to "+out) {
				t.Errorf("stderr does not say where the key and the CSR are:\n%s", stderr)
			}
			cmd := exec.Command(openssl, "req", "-in", out, "-verify", "-noout", "-text")
			var so, se bytes.Buffer
			cmd.Stdout, cmd.Stderr = &so, &se
			if err := cmd.Run(); err != nil {
				t.Fatalf("openssl: %v\n%s", err, se.String())
			}
			if !strings.Contains(se.String()+so.String(), "verify OK") {
				t.Errorf("openssl did not verify the signature: %s", se.String())
			}
			for _, s := range []string{"C = GB", "ST = West Yorkshire", "L = Leeds", "O = Example Ltd", "OU = Web", "CN = www.example.com",
				"DNS:example.com", "DNS:www.example.com", "IP Address:192.0.2.10", "IP Address:2001:DB8:0:0:0:0:0:1",
				"email:admin@example.com", "URI:spiffe://example.com/web"} {
				if !strings.Contains(so.String(), s) {
					t.Errorf("openssl output lacks %q:\n%s", s, so.String())
				}
			}
			pemBytes, _ := os.ReadFile(out)
			r, err := csr.Parse(pemBytes)
			if err != nil {
				t.Fatal(err)
			}
			if got := csr.Describe(r).KeyType; string(got) != kt {
				t.Errorf("key type %q", got)
			}
			assertKept(t, store, nil, r)
		})
	}
}

// assertKept checks that the store holds the key of r, with r itself.
func assertKept(t *testing.T, store string, pass []byte, r *x509.CertificateRequest) {
	t.Helper()
	s, err := csr.OpenDir(store, &csr.DirOptions{Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Find(context.Background(), r.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.CSR, r.Raw) {
		t.Error("the store holds another CSR")
	}
	if !p.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(r.PublicKey) {
		t.Error("the stored key is not the CSR's key")
	}
	if fi, err := os.Stat(store); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store folder mode %v, %v", fi.Mode(), err)
	}
}

func TestStdoutAndPassphrase(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("correct horse\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "pending")
	code, stdout, stderr := runNewcsr(t, "-cn", "www.example.com", "-key", "p256", "-store", store, "-out", "-", "-passphrase-file", passFile)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "-----BEGIN CERTIFICATE REQUEST-----\n") {
		t.Fatalf("stdout is not the CSR: %q", stdout)
	}
	r, err := csr.Parse([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	assertKept(t, store, []byte("correct horse"), r)
	keys, _ := filepath.Glob(filepath.Join(store, "pending", "*", "key.pem"))
	if len(keys) != 1 {
		t.Fatalf("key files %v", keys)
	}
	data, _ := os.ReadFile(keys[0])
	if !strings.Contains(string(data), "ENCRYPTED PRIVATE KEY") {
		t.Errorf("the key is not encrypted at rest:\n%.40s", data)
	}
	// A wrong passphrase is refused before any key is made.
	if err := os.WriteFile(passFile, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runNewcsr(t, "-cn", "www.example.com", "-key", "p256", "-store", store, "-passphrase-file", passFile)
	if code != 1 || !strings.Contains(stderr, "passphrase") {
		t.Errorf("wrong passphrase: exit %d\n%s", code, stderr)
	}
}

// TestChecksFail: a failing check exits 1 with the checks' messages and
// neither makes a store nor writes a CSR.
func TestChecksFail(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msgs []string
	}{
		{"country", []string{"-cn", "www.example.com", "-c", "USA"}, []string{`error: C: "USA" is not a 2-letter ISO 3166 country code; did you mean "US"? [country-invalid]`}},
		{"weak key", []string{"-cn", "www.example.com", "-key", "rsa1024"}, []string{"error: -key rsa1024:", "RSA 1024 is refused", "below 2048 bits"}},
		{"unknown key", []string{"-cn", "www.example.com", "-key", "dsa"}, []string{"unknown key type", "p256"}},
		{"strict", []string{"-cn", "www.example.com", "-st", "WA", "-c", "US", "-strict"}, []string{`error: ST: "WA" looks like an abbreviation`, `"Washington"`}},
		{"no names", []string{"-o", "Example Ltd"}, []string{"[no-sans]"}},
		{"all at once", []string{"-cn", "www.example.com", "-c", "USA", "-key", "rsa1024", "-san", "*.com"}, []string{"RSA 1024", "[country-invalid]", "[wildcard-too-broad]"}},
		{"bad URI", []string{"-cn", "www.example.com", "-san", "https://exa mple.com/"}, []string{"error: -san:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store, out := filepath.Join(dir, "pending"), filepath.Join(dir, "out.csr")
			code, stdout, stderr := runNewcsr(t, append(tc.args, "-store", store, "-out", out)...)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, stderr)
			}
			for _, m := range tc.msgs {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr lacks %q:\n%s", m, stderr)
				}
			}
			if !strings.Contains(stderr, "no key was generated or stored") {
				t.Errorf("stderr does not say that nothing was stored:\n%s", stderr)
			}
			if _, err := os.Stat(store); !os.IsNotExist(err) {
				t.Errorf("a store was created: %v", err)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) || stdout != "" {
				t.Errorf("a CSR was written: %v %q", err, stdout)
			}
		})
	}
	// A warning alone does not stop the request.
	dir := t.TempDir()
	code, stdout, stderr := runNewcsr(t, "-cn", "www.example.com", "-st", "WA", "-c", "US", "-key", "p256", "-store", dir)
	if code != 0 || !strings.Contains(stderr, "warning: ST:") || !strings.Contains(stdout, "CERTIFICATE REQUEST") {
		t.Errorf("warning: exit %d\n%s", code, stderr)
	}
}

// TestStoreFailureWritesNoCSR: when the key cannot be kept, no CSR is
// written.
func TestStoreFailureWritesNoCSR(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csr")
	code, stdout, stderr := runNewcsr(t, "-cn", "www.example.com", "-key", "p256", "-store", notDir, "-out", out)
	if code != 1 || stdout != "" {
		t.Errorf("exit %d stdout %q\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a CSR was written although the key could not be kept")
	}
}

func TestDefaultStore(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	code, _, stderr := runNewcsr(t, "-cn", "www.example.com", "-key", "ed25519")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want, _ := os.UserConfigDir()
	want = filepath.Join(want, "certwright", "pending")
	if !strings.Contains(stderr, "pending store "+want+" as") {
		t.Errorf("stderr does not name %s:\n%s", want, stderr)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"-cn", "www.example.com", "extra"}, {"-strict=maybe"}} {
		if code, _, stderr := runNewcsr(t, args...); code != 2 || !strings.Contains(stderr, "usage: newcsr") {
			t.Errorf("%q: exit %d\n%s", args, code, stderr)
		}
	}
	if code, _, stderr := runNewcsr(t, "-h"); code != 0 || !strings.Contains(stderr, "-passphrase-file") {
		t.Errorf("-h: exit %d\n%s", code, stderr)
	}
}
