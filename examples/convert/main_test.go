package main

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

type setupFiles struct {
	dir               string
	bundle, certsOnly string
	leaf, inter, root *x509.Certificate
}

// setup writes a PEM with the chain in scrambled order followed by the key.
func setup(t *testing.T) *setupFiles {
	t.Helper()
	root := testpki.Root(t, "Convert Root")
	inter := root.Intermediate(t, "Convert Intermediate")
	leaf, key := inter.Leaf(t, nil, "www.example.com")
	dir := t.TempDir()
	keyPEM, err := formats.EncodeKeyPEM(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	bundle := append(formats.EncodeCertificatesPEM(root.Cert, leaf, inter.Cert), keyPEM...)
	s := &setupFiles{dir: dir, leaf: leaf, inter: inter.Cert, root: root.Cert}
	s.bundle = filepath.Join(dir, "bundle.pem")
	s.certsOnly = filepath.Join(dir, "certs.crt")
	os.WriteFile(s.bundle, bundle, 0o600)
	os.WriteFile(s.certsOnly, formats.EncodeCertificatesPEM(root.Cert, leaf, inter.Cert), 0o644)
	return s
}

func runConvert(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func names(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestConvertTargets(t *testing.T) {
	s := setup(t)
	for _, tc := range []struct {
		to       string
		extra    []string
		password string
		format   string
		certs    []string
		keys     int
		perm     os.FileMode
	}{
		{"pfx", []string{"-out-password", "pw", "-name", "www"}, "pw", "pkcs12", []string{"www.example.com", "Convert Intermediate", "Convert Root"}, 1, 0o600},
		{"pfx-legacy", []string{"-out-password", "pw"}, "pw", "pkcs12", []string{"www.example.com", "Convert Intermediate", "Convert Root"}, 1, 0o600},
		{"pfx", []string{"-no-password"}, "", "pkcs12", []string{"www.example.com", "Convert Intermediate", "Convert Root"}, 1, 0o600},
		{"p7b", nil, "", "pkcs7", []string{"Convert Root", "www.example.com", "Convert Intermediate"}, 0, 0o644},
		{"p7b-pem", nil, "", "pkcs7", []string{"Convert Root", "www.example.com", "Convert Intermediate"}, 0, 0o644},
		{"pem", nil, "", "pem", []string{"Convert Root", "www.example.com", "Convert Intermediate"}, 1, 0o600},
		{"der", nil, "", "der", []string{"www.example.com"}, 0, 0o644},
	} {
		t.Run(tc.to+strings.Join(tc.extra, ""), func(t *testing.T) {
			out := filepath.Join(s.dir, tc.to+strings.Join(tc.extra, "")+".out")
			args := append([]string{"-in", s.bundle, "-to", tc.to, "-out", out}, tc.extra...)
			code, _, stderr := runConvert(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			c, err := formats.ReadFile(out, &formats.ReadOptions{Password: tc.password})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(c.Certificates); !reflect.DeepEqual(got, tc.certs) || len(c.Keys) != tc.keys || c.Format() != tc.format {
				t.Errorf("format %q certs %q keys %d; want %q %q %d", c.Format(), got, len(c.Keys), tc.format, tc.certs, tc.keys)
			}
			fi, _ := os.Stat(out)
			if fi.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
			}
			if tc.to == "pfx" && tc.password != "" && c.KeyInfo[0].FriendlyName != "www" {
				t.Errorf("friendly name %q", c.KeyInfo[0].FriendlyName)
			}
			if tc.to == "der" && !strings.Contains(stderr, "DER holds one certificate") {
				t.Errorf("der with a chain does not say what it left out: %s", stderr)
			}
		})
	}
}

func TestConvertDERWithoutKeyPicksLeaf(t *testing.T) {
	s := setup(t)
	out := filepath.Join(s.dir, "leaf.der")
	if code, _, stderr := runConvert("-in", s.certsOnly, "-to", "der", "-out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, s.leaf.Raw) {
		t.Error("der did not write the leaf")
	}
}

func TestConvertErrors(t *testing.T) {
	s := setup(t)
	out := filepath.Join(s.dir, "x.pfx")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-in", s.bundle, "-out", out}, 2, "-to is required"},
		{[]string{"-in", s.bundle, "-to", "jks", "-out", out}, 2, "unknown -to"},
		{[]string{"-to", "pem", "-out", out}, 2, "-in is required"},
		{[]string{"-in", s.bundle, "-to", "pem"}, 2, "-out is required"},
		{[]string{"-in", s.bundle, "-to", "pfx", "-out", out}, 2, "needs -out-password"},
		{[]string{"-in", s.bundle, "-to", "pfx", "-out", out, "-out-password", "a", "-no-password"}, 2, "exclude each other"},
		{[]string{"-in", s.bundle, "-to", "pem", "-out", out, "-out-password", "a"}, 2, "apply to -to pfx"},
		{[]string{"-in", s.bundle, "-to", "pem", "-out", out, "extra"}, 2, "unexpected argument"},
		{[]string{"-in", s.certsOnly, "-to", "pfx", "-out", out, "-out-password", "a"}, 1, "needs a private key"},
		{[]string{"-in", filepath.Join(s.dir, "missing"), "-to", "pem", "-out", out}, 1, "missing"},
	} {
		code, _, stderr := runConvert(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed conversion left an output file")
	}
	// An existing output is kept unless -force.
	p := filepath.Join(s.dir, "exists.pem")
	os.WriteFile(p, []byte("keep me"), 0o600)
	if code, _, stderr := runConvert("-in", s.bundle, "-to", "pem", "-out", p); code != 1 || !strings.Contains(stderr, "-force") {
		t.Errorf("overwrite: exit %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(p); string(b) != "keep me" {
		t.Error("existing file replaced without -force")
	}
	if code, _, _ := runConvert("-in", s.bundle, "-to", "pem", "-out", p, "-force"); code != 0 {
		t.Error("-force did not replace")
	}
	// A protected input needs -password.
	pfx := filepath.Join(s.dir, "in.pfx")
	runConvert("-in", s.bundle, "-to", "pfx", "-out", pfx, "-out-password", "pw")
	if code, _, stderr := runConvert("-in", pfx, "-to", "pem", "-out", filepath.Join(s.dir, "y.pem")); code != 1 || !strings.Contains(stderr, "-password") {
		t.Errorf("protected input: exit %d %s", code, stderr)
	}
	// With the password, the pfx becomes a PEM with the key (mode 0600).
	pemOut := filepath.Join(s.dir, "from-pfx.pem")
	if code, _, stderr := runConvert("-in", pfx, "-password", "pw", "-to", "pem", "-out", pemOut); code != 0 {
		t.Fatalf("pfx to pem: exit %d %s", code, stderr)
	}
	c, err := formats.ReadFile(pemOut, nil)
	if err != nil || len(c.Pairs) != 1 || len(c.Certificates) != 3 {
		t.Errorf("pfx to pem: %v", err)
	}
	if fi, _ := os.Stat(pemOut); fi.Mode().Perm() != 0o600 {
		t.Errorf("pem with a key has mode %v", fi.Mode().Perm())
	}
}

// The outputs are read by openssl and keytool.
func TestConvertOutputsReadByTools(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	s := setup(t)
	legacy := filepath.Join(s.dir, "legacy.pfx")
	if code, _, stderr := runConvert("-in", s.bundle, "-to", "pfx-legacy", "-out", legacy, "-out-password", "pw", "-name", "www"); code != 0 {
		t.Fatal(stderr)
	}
	out, err := exec.Command(openssl, "pkcs12", "-info", "-noout", "-in", legacy, "-passin", "pass:pw").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3-KeyTripleDES") {
		t.Errorf("openssl pkcs12: %v\n%s", err, out)
	}
	p7 := filepath.Join(s.dir, "chain.p7b")
	runConvert("-in", s.certsOnly, "-to", "p7b", "-out", p7)
	out, err = exec.Command(openssl, "pkcs7", "-inform", "DER", "-in", p7, "-print_certs", "-noout").CombinedOutput()
	if err != nil || strings.Count(string(out), "subject=") != 3 {
		t.Errorf("openssl pkcs7: %v\n%s", err, out)
	}
	keytool := testtool.Require(t, "keytool")
	out, err = exec.Command(keytool, "-list", "-storetype", "PKCS12", "-keystore", legacy, "-storepass", "pw").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "www, ") || !strings.Contains(string(out), "PrivateKeyEntry") {
		t.Errorf("keytool: %v\n%s", err, out)
	}
}
