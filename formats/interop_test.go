package formats

import (
	"crypto"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// tool runs a program and returns its combined output, failing the test
// on a non-zero exit.
func tool(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readTestFile(t *testing.T, path, password string) *Contents {
	t.Helper()
	c, err := ReadFile(path, &ReadOptions{Password: password})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	return c
}

// What we write, OpenSSL reads.
func TestOpenSSLReadsOurOutput(t *testing.T) {
	testtool.Require(t, "openssl")
	f := newFixture(t)
	dir := t.TempDir()
	chain := []*x509.Certificate{f.inter.Cert, f.root.Cert}

	for _, tc := range []struct {
		profile *PKCS12Profile
		extra   []string
		wantAlg string
	}{
		{Modern, nil, "AES-256-CBC"},
		{Legacy3DES, nil, "pbeWithSHA1And3-KeyTripleDES-CBC"},
		{LegacyRC2, []string{"-legacy"}, "pbeWithSHA1And40BitRC2-CBC"},
	} {
		pfx, err := EncodePKCS12(f.key, f.leaf, chain, "s3cret pw", &PKCS12Options{Profile: tc.profile, FriendlyName: "www key"})
		if err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, dir, tc.profile.Name()+".pfx", pfx)
		info := tool(t, dir, "openssl", append([]string{"pkcs12", "-info", "-noout", "-passin", "pass:s3cret pw", "-in", p}, tc.extra...)...)
		if !strings.Contains(info, tc.wantAlg) {
			t.Errorf("%s: openssl pkcs12 -info does not show %s:\n%s", tc.profile.Name(), tc.wantAlg, info)
		}
		dump := tool(t, dir, "openssl", append([]string{"pkcs12", "-nodes", "-passin", "pass:s3cret pw", "-in", p}, tc.extra...)...)
		names := 2
		if tc.profile == LegacyRC2 {
			names = 1
		}
		if strings.Count(dump, "BEGIN CERTIFICATE") != 3 || !strings.Contains(dump, "BEGIN PRIVATE KEY") || strings.Count(dump, "friendlyName: www key") != names {
			t.Errorf("%s: openssl pkcs12 output lacks the key, 3 certificates or the friendly name:\n%s", tc.profile.Name(), dump)
		}
	}

	p7, _ := EncodePKCS7(f.chain())
	p7der := writeFile(t, dir, "chain.p7b", p7)
	p7pemData, _ := EncodePKCS7PEM(f.chain())
	p7pem := writeFile(t, dir, "chain.p7b.pem", p7pemData)
	for _, args := range [][]string{{"-inform", "DER", "-in", p7der}, {"-in", p7pem}} {
		out := tool(t, dir, "openssl", append([]string{"pkcs7", "-print_certs", "-noout"}, args...)...)
		if n := strings.Count(out, "subject="); n != 3 {
			t.Errorf("openssl pkcs7 %v printed %d subjects:\n%s", args, n, out)
		}
	}

	for name, opts := range map[string]*KeyOptions{
		"pkcs8.pem":     nil,
		"sec1.pem":      {Encoding: Traditional},
		"encrypted.pem": {Password: "keypw", Iterations: 10000},
	} {
		data, err := EncodeKeyPEM(f.key, opts)
		if err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, dir, name, data)
		tool(t, dir, "openssl", "pkey", "-in", p, "-passin", "pass:keypw", "-noout")
	}
	rsaKey := writeFile(t, dir, "rsa.pem", mustKeyPEM(t, testpkiRSA(t), &KeyOptions{Encoding: Traditional}))
	tool(t, dir, "openssl", "pkey", "-in", rsaKey, "-noout")

	certs := writeFile(t, dir, "chain.pem", EncodeCertificatesPEM(f.chain()...))
	out := tool(t, dir, "openssl", "x509", "-in", certs, "-noout", "-subject")
	if !strings.Contains(out, "www.example.com") {
		t.Errorf("openssl x509: %s", out)
	}
	der := writeFile(t, dir, "leaf.der", f.leaf.Raw)
	tool(t, dir, "openssl", "x509", "-inform", "DER", "-in", der, "-noout")
}

// What we write, keytool reads.
func TestKeytoolReadsOurPKCS12(t *testing.T) {
	testtool.Require(t, "keytool")
	f := newFixture(t)
	dir := t.TempDir()
	pfx, err := EncodePKCS12(f.key, f.leaf, []*x509.Certificate{f.inter.Cert}, "changeit", &PKCS12Options{FriendlyName: "server"})
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, dir, "server.p12", pfx)
	out := tool(t, dir, "keytool", "-list", "-v", "-storetype", "PKCS12", "-keystore", p, "-storepass", "changeit")
	if !strings.Contains(out, "Alias name: server") || !strings.Contains(out, "PrivateKeyEntry") || !strings.Contains(out, "Certificate chain length: 2") {
		t.Errorf("keytool -list:\n%s", out)
	}
	trust, err := EncodePKCS12TrustStore([]*x509.Certificate{f.root.Cert}, "changeit", Legacy3DES)
	if err != nil {
		t.Fatal(err)
	}
	tp := writeFile(t, dir, "trust.p12", trust)
	out = tool(t, dir, "keytool", "-list", "-storetype", "PKCS12", "-keystore", tp, "-storepass", "changeit")
	if !strings.Contains(out, "trustedCertEntry") {
		t.Errorf("keytool -list trust store:\n%s", out)
	}
}

// What OpenSSL writes, we read.
func TestReadOpenSSLOutput(t *testing.T) {
	testtool.Require(t, "openssl")
	dir := t.TempDir()
	run := func(args ...string) string { return tool(t, dir, "openssl", args...) }
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.crt", "-subj", "/CN=rsa.example.com", "-days", "30")
	run("ecparam", "-name", "prime256v1", "-genkey", "-out", "ec.key")
	run("req", "-x509", "-new", "-key", "ec.key", "-out", "ec.crt", "-subj", "/CN=ec.example.com", "-days", "30")
	run("req", "-new", "-key", "ec.key", "-out", "ec.csr", "-subj", "/CN=ec.example.com")
	text := run("x509", "-in", "rsa.crt", "-text")
	writeFile(t, dir, "rsa-text.crt", []byte(text))
	run("x509", "-in", "rsa.crt", "-outform", "DER", "-out", "rsa.der")
	run("crl2pkcs7", "-nocrl", "-certfile", "rsa.crt", "-certfile", "ec.crt", "-out", "both.p7b.pem")
	run("crl2pkcs7", "-nocrl", "-certfile", "rsa.crt", "-certfile", "ec.crt", "-outform", "DER", "-out", "both.p7b")
	run("pkcs8", "-topk8", "-in", "rsa.key", "-passout", "pass:pw", "-out", "rsa-enc.key")
	run("pkcs8", "-topk8", "-in", "ec.key", "-v2", "des3", "-passout", "pass:pw", "-out", "ec-des3.key")
	run("rsa", "-in", "rsa.key", "-aes256", "-traditional", "-passout", "pass:pw", "-out", "rsa-legacy.key")
	run("pkcs12", "-export", "-in", "rsa.crt", "-inkey", "rsa.key", "-certfile", "ec.crt", "-name", "rsa entry", "-passout", "pass:pw", "-out", "modern.p12")
	run("pkcs12", "-export", "-legacy", "-in", "ec.crt", "-inkey", "ec.key", "-passout", "pass:pw", "-out", "legacy.p12")
	run("pkcs12", "-export", "-nokeys", "-in", "rsa.crt", "-passout", "pass:pw", "-out", "certsonly.p12")
	run("x509", "-in", "rsa.crt", "-trustout", "-addtrust", "serverAuth", "-setalias", "my rsa", "-out", "trusted.crt")
	writeFile(t, dir, "msg.txt", []byte("hello"))
	run("cms", "-sign", "-in", "msg.txt", "-signer", "ec.crt", "-inkey", "ec.key", "-certfile", "rsa.crt", "-outform", "PEM", "-out", "signed.cms")
	run("smime", "-sign", "-in", "msg.txt", "-signer", "rsa.crt", "-inkey", "rsa.key", "-outform", "DER", "-out", "signed.p7s")

	type want struct {
		file, password string
		format         string
		certs          []string
		keys, pairs    int
		csrs           int
	}
	rsaCN, ecCN := "rsa.example.com", "ec.example.com"
	for _, w := range []want{
		{"rsa.crt", "", "pem", []string{rsaCN}, 0, 0, 0},
		{"rsa-text.crt", "", "pem", []string{rsaCN}, 0, 0, 0},
		{"rsa.der", "", "der", []string{rsaCN}, 0, 0, 0},
		{"ec.key", "", "pem", nil, 1, 0, 0},
		{"ec.csr", "", "pem", nil, 0, 0, 1},
		{"both.p7b.pem", "", "pkcs7", []string{rsaCN, ecCN}, 0, 0, 0},
		{"both.p7b", "", "pkcs7", []string{rsaCN, ecCN}, 0, 0, 0},
		{"rsa-enc.key", "pw", "pem", nil, 1, 0, 0},
		{"ec-des3.key", "pw", "pem", nil, 1, 0, 0},
		{"rsa-legacy.key", "pw", "pem", nil, 1, 0, 0},
		{"modern.p12", "pw", "pkcs12", []string{rsaCN, ecCN}, 1, 1, 0},
		{"legacy.p12", "pw", "pkcs12", []string{ecCN}, 1, 1, 0},
		{"certsonly.p12", "pw", "pkcs12", []string{rsaCN}, 0, 0, 0},
		{"trusted.crt", "", "pem", []string{rsaCN}, 0, 0, 0},
		{"signed.cms", "", "pkcs7", []string{ecCN, rsaCN}, 0, 0, 0},
		{"signed.p7s", "", "pkcs7", []string{rsaCN}, 0, 0, 0},
	} {
		t.Run(w.file, func(t *testing.T) {
			c := readTestFile(t, filepath.Join(dir, w.file), w.password)
			if got := subjects(c.Certificates); !reflect.DeepEqual(got, w.certs) {
				t.Errorf("certificates %q, want %q", got, w.certs)
			}
			if len(c.Keys) != w.keys || len(c.Pairs) != w.pairs || len(c.CSRs) != w.csrs || c.Format() != w.format {
				t.Errorf("format %q keys %d pairs %d csrs %d; want %q %d %d %d; notes %q", c.Format(), len(c.Keys), len(c.Pairs), len(c.CSRs), w.format, w.keys, w.pairs, w.csrs, c.Notes)
			}
		})
	}
	c := readTestFile(t, filepath.Join(dir, "modern.p12"), "pw")
	if c.KeyInfo[0].FriendlyName != "rsa entry" || c.CertInfo[0].FriendlyName != "rsa entry" {
		t.Errorf("friendly names: key %q cert %q", c.KeyInfo[0].FriendlyName, c.CertInfo[0].FriendlyName)
	}
	c = readTestFile(t, filepath.Join(dir, "trusted.crt"), "")
	if c.CertInfo[0].FriendlyName != "my rsa" || !c.CertInfo[0].Trusted {
		t.Errorf("TRUSTED CERTIFICATE aux: %+v", c.CertInfo[0])
	}
	// Signed data: the signer is named, the signature is not verified.
	c = readTestFile(t, filepath.Join(dir, "signed.p7s"), "")
	if notes := strings.Join(c.Notes, "\n"); !strings.Contains(notes, "1 signer(s)") || !strings.Contains(notes, "signer CN=rsa.example.com") {
		t.Errorf("signed data notes: %q", c.Notes)
	}
	// Missing and wrong passwords are told apart from corrupt data.
	for _, name := range []string{"modern.p12", "rsa-enc.key", "rsa-legacy.key"} {
		_, err := ReadFile(filepath.Join(dir, name), &ReadOptions{Password: "wrong"})
		if !errorsIsIncorrect(err) {
			t.Errorf("%s with a wrong password: %v", name, err)
		}
	}
}

// What keytool writes, we read: JKS and PKCS#12 key stores, trust stores.
func TestReadKeytoolOutput(t *testing.T) {
	testtool.Require(t, "keytool")
	testtool.Require(t, "openssl")
	dir := t.TempDir()
	kt := func(args ...string) { tool(t, dir, "keytool", args...) }
	for _, st := range []string{"JKS", "PKCS12"} {
		kt("-genkeypair", "-storetype", st, "-keystore", "server."+st, "-storepass", "storepw", "-keypass", "storepw",
			"-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=server.example.com", "-validity", "30")
		kt("-exportcert", "-storetype", st, "-keystore", "server."+st, "-storepass", "storepw", "-alias", "server", "-rfc", "-file", "server-"+st+".crt")
		kt("-importcert", "-noprompt", "-storetype", st, "-keystore", "trust."+st, "-storepass", "storepw", "-alias", "ca", "-file", "server-"+st+".crt")
	}
	kt("-genkeypair", "-storetype", "JCEKS", "-keystore", "server.JCEKS", "-storepass", "storepw", "-keypass", "storepw",
		"-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=server.example.com", "-validity", "30")
	if _, err := ReadFile(filepath.Join(dir, "server.JCEKS"), &ReadOptions{Password: "storepw"}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "-deststoretype PKCS12") {
		t.Errorf("JCEKS: %v", err)
	}
	for _, tc := range []struct {
		file, format  string
		keys, trusted int
	}{
		{"server.JKS", "jks", 1, 0},
		{"server.PKCS12", "pkcs12", 1, 0},
		{"trust.JKS", "jks", 0, 1},
		{"trust.PKCS12", "pkcs12", 0, 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := readTestFile(t, filepath.Join(dir, tc.file), "storepw")
			trusted := 0
			for _, ci := range c.CertInfo {
				if ci.Trusted {
					trusted++
				}
			}
			if c.Format() != tc.format || len(c.Keys) != tc.keys || len(c.Certificates) != 1 || trusted != tc.trusted || len(c.Pairs) != tc.keys {
				t.Errorf("format %q keys %d certs %d trusted %d pairs %d; notes %q", c.Format(), len(c.Keys), len(c.Certificates), trusted, len(c.Pairs), c.Notes)
			}
			if tc.keys == 1 && c.KeyInfo[0].FriendlyName != "server" {
				t.Errorf("alias %q", c.KeyInfo[0].FriendlyName)
			}
			if _, err := ReadFile(filepath.Join(dir, tc.file), &ReadOptions{Password: "wrong"}); !errorsIsIncorrect(err) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

func errorsIsIncorrect(err error) bool { return errors.Is(err, ErrIncorrectPassword) }

func testpkiRSA(t *testing.T) crypto.Signer { return testpki.KeyRSA(t, 2048) }

func mustKeyPEM(t *testing.T, key crypto.Signer, opts *KeyOptions) []byte {
	t.Helper()
	out, err := EncodeKeyPEM(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
