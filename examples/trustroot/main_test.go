package main

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

func runTrustroot(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestUsage(t *testing.T) {
	root := testpki.Root(t, "Usage Root")
	in := writeFile(t, filepath.Join(t.TempDir(), "root.pem"), formats.EncodeCertificatesPEM(root.Cert))
	for _, args := range [][]string{
		{},
		{"-in", in},
		{"-export", t.TempDir()},
		{"-in", in, "-install", "system", "-remove", "nss"},
		{"-in", in, "-install", "windows"},
		{"-in", in, "-install", "nss", "-name", "-rf"},
		{"-in", in, "-install", "nss", "extra"},
		{"-remove", "nss"},
		{"-bogus"},
	} {
		if code, _, stderr := runTrustroot(args...); code != 2 || !strings.Contains(stderr, "usage:") {
			t.Errorf("%q: exit %d, want 2 with usage; stderr:\n%s", args, code, stderr)
		}
	}
}

func TestRootSelection(t *testing.T) {
	dir := t.TempDir()
	root := testpki.Root(t, "Select Root")
	inter := root.Intermediate(t, "Select Intermediate")
	leaf, key := inter.Leaf(t, nil, "www.example.com")
	keyPEM, err := formats.EncodeKeyPEM(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := testpki.Root(t, "Second Root")

	for _, tc := range []struct {
		name, file string
		data       []byte
		code       int
		want       string
	}{
		{"chain with key", "full.pem", append(formats.EncodeCertificatesPEM(leaf, inter.Cert, root.Cert), keyPEM...), 0, "Select-Root-"},
		{"root DER", "root.cer", root.Cert.Raw, 0, "Select-Root-"},
		{"only an intermediate", "inter.pem", formats.EncodeCertificatesPEM(inter.Cert), 0, "Select-Intermediate-"},
		{"leaf", "leaf.pem", formats.EncodeCertificatesPEM(leaf), 1, "not a CA certificate"},
		{"leaf and intermediate", "partial.pem", formats.EncodeCertificatesPEM(leaf, inter.Cert), 1, "no self-signed CA among them"},
		{"two roots", "two.pem", formats.EncodeCertificatesPEM(root.Cert, second.Cert), 1, "2 self-signed root CAs"},
		{"key only", "key.pem", keyPEM, 1, "holds no certificate"},
	} {
		in := writeFile(t, filepath.Join(dir, tc.file), tc.data)
		out := t.TempDir()
		code, stdout, stderr := runTrustroot("-in", in, "-export", out)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", tc.name, code, tc.code, stderr)
			continue
		}
		if tc.code == 0 && !strings.Contains(stdout, string(os.PathSeparator)+tc.want) || tc.code != 0 && !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: want %q in\nstdout: %s\nstderr: %s", tc.name, tc.want, stdout, stderr)
		}
		if tc.code != 0 && !strings.Contains(stderr, in) {
			t.Errorf("%s: the error does not name the file: %s", tc.name, stderr)
		}
	}
}

// A root made by OpenSSL is exported; keytool reads the trust store and
// openssl the DER .cer.
func TestExportOpenSSLRoot(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	keytool := testtool.Require(t, "keytool")
	dir := t.TempDir()
	rootPEM := filepath.Join(dir, "ca.pem")
	cmd := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", filepath.Join(dir, "ca.key"),
		"-out", rootPEM, "-subj", "/O=Corp/CN=Corp OpenSSL Root", "-days", "3650",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out := filepath.Join(t.TempDir(), "new", "folder")
	code, stdout, stderr := runTrustroot("-in", rootPEM, "-export", out, "-name", "corp-root", "-password", "exportpw")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := strings.Join([]string{filepath.Join(out, "corp-root.pem"), filepath.Join(out, "corp-root.cer"), filepath.Join(out, "corp-root-truststore.p12")}, "\n") + "\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	list, err := exec.Command(keytool, "-J-Duser.language=en", "-list", "-keystore", filepath.Join(out, "corp-root-truststore.p12"), "-storepass", "exportpw").CombinedOutput()
	if err != nil || !strings.Contains(string(list), "corp-root, ") || !strings.Contains(string(list), "trustedCertEntry") {
		t.Errorf("keytool -list: %v\n%s", err, list)
	}
	subj, err := exec.Command(openssl, "x509", "-inform", "DER", "-in", filepath.Join(out, "corp-root.cer"), "-noout", "-subject").CombinedOutput()
	if err != nil || !strings.Contains(string(subj), "Corp OpenSSL Root") {
		t.Errorf("openssl reading the .cer: %v %s", err, subj)
	}
	// A second export does not replace the files.
	if code, _, stderr := runTrustroot("-in", rootPEM, "-export", out, "-name", "corp-root"); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("second export: exit %d: %s", code, stderr)
	}
}

// sandbox prepares a Debian system store under a temporary root (found by
// the command through CERTWRIGHT_SYSTEM_ROOT), a fresh NSS database and a
// Java key store path.
type sandbox struct {
	root, bundle, nssdb, keystore string
	certutil, keytool             string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	testtool.Require(t, "update-ca-certificates")
	testtool.Require(t, "openssl")
	s := &sandbox{certutil: testtool.Require(t, "certutil"), keytool: testtool.Require(t, "keytool")}
	s.root = t.TempDir()
	for _, d := range []string{"usr/share/ca-certificates", "usr/local/share/ca-certificates", "etc/ssl/certs", "etc/ca-certificates/update.d"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	distro := testpki.Root(t, "Distribution Root")
	writeFile(t, filepath.Join(s.root, "usr/share/ca-certificates/distro.crt"), formats.EncodeCertificatesPEM(distro.Cert))
	writeFile(t, filepath.Join(s.root, "etc/ca-certificates.conf"), []byte("distro.crt\n"))
	t.Setenv("CERTWRIGHT_SYSTEM_ROOT", s.root)
	s.bundle = filepath.Join(s.root, "etc/ssl/certs/ca-certificates.crt")
	s.nssdb = t.TempDir()
	if out, err := exec.Command(s.certutil, "-N", "-d", "sql:"+s.nssdb, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s.keystore = filepath.Join(t.TempDir(), "cacerts.p12")
	return s
}

func (s *sandbox) state(t *testing.T, root *x509.Certificate, name string) (system, nss, java bool) {
	t.Helper()
	if data, err := os.ReadFile(s.bundle); err == nil {
		c, err := formats.Read(data, nil)
		if err == nil {
			for _, x := range c.Certificates {
				system = system || bytes.Equal(x.Raw, root.Raw)
			}
		}
	}
	list, _ := exec.Command(s.certutil, "-L", "-d", "sql:"+s.nssdb).CombinedOutput()
	for _, l := range strings.Split(string(list), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name && f[1] == "C,," {
			nss = true
		}
	}
	if _, err := os.Stat(s.keystore); err == nil {
		out, _ := exec.Command(s.keytool, "-J-Duser.language=en", "-list", "-keystore", s.keystore, "-storepass", "ks-pass1").CombinedOutput()
		java = strings.Contains(string(out), strings.ToLower(name)+", ") && strings.Contains(string(out), "trustedCertEntry")
	}
	return
}

func TestInstallRemove(t *testing.T) {
	s := newSandbox(t)
	root := testpki.Root(t, "Trustroot Private Root")
	in := writeFile(t, filepath.Join(t.TempDir(), "root.cer"), root.Cert.Raw)
	name := chain.DefaultName(root.Cert)
	common := []string{"-in", in, "-nssdb", s.nssdb, "-keystore", s.keystore, "-storepass", "ks-pass1"}

	// A dry run prints the commands and changes nothing.
	code, stdout, stderr := runTrustroot(append(common, "-install", "system,nss,java", "-dry-run")...)
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"write " + filepath.Join(s.root, "usr/local/share/ca-certificates", name+".crt"),
		"--localcertsdir " + filepath.Join(s.root, "usr/local/share/ca-certificates"),
		"-d sql:" + s.nssdb + " -A -t C,, -n " + name + " -a < " + name + ".pem",
		"-importcert -noprompt -trustcacerts -alias " + name + " -keystore " + s.keystore,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "ks-pass1") {
		t.Error("the dry run shows the store password")
	}
	if sys, nss, java := s.state(t, root.Cert, name); sys || nss || java {
		t.Fatalf("the dry run changed something: system %v, nss %v, java %v", sys, nss, java)
	}

	code, _, stderr = runTrustroot(append(common, "-install", "system,nss,java")...)
	if code != 0 {
		t.Fatalf("install: exit %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, "installed"); n != 3 {
		t.Errorf("want 3 per-store lines, got:\n%s", stderr)
	}
	if sys, nss, java := s.state(t, root.Cert, name); !sys || !nss || !java {
		t.Fatalf("after install: system %v, nss %v, java %v", sys, nss, java)
	}

	code, _, stderr = runTrustroot(append(common, "-remove", "system,nss,java")...)
	if code != 0 {
		t.Fatalf("remove: exit %d: %s", code, stderr)
	}
	if sys, nss, java := s.state(t, root.Cert, name); sys || nss || java {
		t.Fatalf("after remove: system %v, nss %v, java %v", sys, nss, java)
	}
	// Removing again: nothing there, which is what was asked.
	code, _, stderr = runTrustroot(append(common, "-remove", "nss,java")...)
	if code != 0 || strings.Count(stderr, "was not there") != 2 {
		t.Errorf("second remove: exit %d: %s", code, stderr)
	}

	// Removal by name alone.
	if code, _, stderr := runTrustroot(append(common, "-install", "nss", "-name", "by-name")...); code != 0 {
		t.Fatalf("install by name: %s", stderr)
	}
	if code, _, stderr := runTrustroot("-remove", "nss", "-nssdb", s.nssdb, "-name", "by-name"); code != 0 {
		t.Fatalf("remove by name: %s", stderr)
	}
	if _, nss, _ := s.state(t, root.Cert, "by-name"); nss {
		t.Error("removal by name left the entry")
	}
}

// One store failing (no NSS database) does not stop the others; the exit
// status is 1 and each store has its line.
func TestOneStoreFails(t *testing.T) {
	s := newSandbox(t)
	root := testpki.Root(t, "Partial Root")
	in := writeFile(t, filepath.Join(t.TempDir(), "root.pem"), formats.EncodeCertificatesPEM(root.Cert))
	missing := filepath.Join(t.TempDir(), "no-db")
	code, _, stderr := runTrustroot("-in", in, "-install", "nss,java,system", "-nssdb", missing, "-keystore", s.keystore, "-storepass", "ks-pass1", "-name", "partial")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "nss sql:"+missing+": install failed") || !strings.Contains(lines[0], "certutil -N") ||
		!strings.Contains(lines[1], "installed") || !strings.Contains(lines[2], "installed") {
		t.Errorf("per-store lines:\n%s", stderr)
	}
	if sys, _, java := s.state(t, root.Cert, "partial"); !sys || !java {
		t.Errorf("the other stores: system %v, java %v", sys, java)
	}
}
