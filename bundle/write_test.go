package bundle

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
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

// testBundle is a leaf for www.example.com under an intermediate and a root.
func testBundle(t testing.TB) *Bundle {
	t.Helper()
	root := testpki.Root(t, "Test Root")
	inter := root.Intermediate(t, "Test Intermediate")
	leaf, key := inter.Leaf(t, nil, "www.example.com", "example.com")
	return &Bundle{Key: key, Leaf: leaf, Intermediates: []*x509.Certificate{inter.Cert}, Root: root.Cert}
}

func names(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

func TestWriteLayouts(t *testing.T) {
	b := testBundle(t)
	tests := []struct {
		server Server
		files  []string
	}{
		{Nginx, []string{"fullchain.pem", "privkey.pem"}},
		{Apache, []string{"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}},
		{HAProxy, []string{"www.example.com.pem"}},
		{IIS, []string{"www.example.com.pfx"}},
		{IISLegacy, []string{"www.example.com.pfx"}},
		{Java, []string{"www.example.com.p12"}},
		{JavaJKS, []string{"www.example.com.jks"}},
		{Kubernetes, []string{"www.example.com.yaml"}},
		{PEM, []string{"www.example.com.crt", "www.example.com.key"}},
	}
	secret := map[string]bool{"privkey.pem": true, "www.example.com.pem": true, "www.example.com.pfx": true,
		"www.example.com.p12": true, "www.example.com.jks": true, "www.example.com.yaml": true, "www.example.com.key": true}
	for _, tt := range tests {
		t.Run(string(tt.server), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			written, err := b.Write(dir, tt.server, &WriteOptions{Password: "changeit"})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(written); !reflect.DeepEqual(got, tt.files) {
				t.Fatalf("wrote %v, want %v", got, tt.files)
			}
			for _, p := range written {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				want := os.FileMode(0o644)
				if secret[filepath.Base(p)] {
					want = 0o600
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tt.files) {
				t.Errorf("folder holds %d entries, want %d (temporary files left?)", len(entries), len(tt.files))
			}
		})
	}
}

func readPEMCerts(t *testing.T, p string) []string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	certs, _, err := parsePEM(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestWriteChainContents(t *testing.T) {
	b := testBundle(t)
	dir := t.TempDir()
	if _, err := b.Write(dir, Apache, nil); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		"cert.pem":      {"www.example.com"},
		"chain.pem":     {"Test Intermediate"},
		"fullchain.pem": {"www.example.com", "Test Intermediate"},
	} {
		if got := readPEMCerts(t, filepath.Join(dir, file)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s holds %v, want %v", file, got, want)
		}
	}
	dir = t.TempDir()
	if _, err := b.Write(dir, Apache, &WriteOptions{IncludeRoot: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := readPEMCerts(t, filepath.Join(dir, "fullchain.pem")), []string{"www.example.com", "Test Intermediate", "Test Root"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fullchain.pem with root holds %v, want %v", got, want)
	}
	// HAProxy: certificates first, then the key.
	dir = t.TempDir()
	w, err := b.Write(dir, HAProxy, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(w[0])
	var types []string
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		types = append(types, blk.Type)
	}
	if want := []string{"CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"}; !reflect.DeepEqual(types, want) {
		t.Errorf("HAProxy file blocks %v, want %v", types, want)
	}
}

func TestWritePFXFriendlyNameAndChain(t *testing.T) {
	b := testBundle(t)
	for _, tt := range []struct {
		server Server
		opts   WriteOptions
		certs  int
		name   string
	}{
		{IIS, WriteOptions{Password: "pw"}, 2, "www.example.com"},
		{IISLegacy, WriteOptions{Password: "pw", FriendlyName: "Example 2026"}, 2, "Example 2026"},
		{Java, WriteOptions{Password: "changeit", FriendlyName: "tomcat", IncludeRoot: true}, 3, "tomcat"},
	} {
		dir := t.TempDir()
		w, err := b.Write(dir, tt.server, &tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		c, err := formats.ReadFile(w[0], &formats.ReadOptions{Password: tt.opts.Password})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Certificates) != tt.certs || len(c.Keys) != 1 || c.KeyInfo[0].FriendlyName != tt.name {
			t.Errorf("%s: %d certificates, %d keys, name %q; want %d, 1, %q", tt.server, len(c.Certificates), len(c.Keys), c.KeyInfo[0].FriendlyName, tt.certs, tt.name)
		}
		if _, err := formats.ReadFile(w[0], &formats.ReadOptions{Password: "wrong"}); !errors.Is(err, formats.ErrIncorrectPassword) {
			t.Errorf("%s: wrong password gave %v", tt.server, err)
		}
	}
}

func TestWriteKubernetesSecret(t *testing.T) {
	b := testBundle(t)
	dir := t.TempDir()
	w, err := b.Write(dir, Kubernetes, &WriteOptions{Namespace: "web"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(w[0])
	s := string(data)
	for _, want := range []string{"kind: Secret\n", "  name: www.example.com-tls\n", "  namespace: web\n", "type: kubernetes.io/tls\n", "  tls.crt: ", "  tls.key: "} {
		if !strings.Contains(s, want) {
			t.Errorf("manifest lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "ca.crt") {
		t.Error("ca.crt present without IncludeRoot")
	}
	dir = t.TempDir()
	w, err = b.Write(dir, Kubernetes, &WriteOptions{IncludeRoot: true, SecretName: "example"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(w[0])
	if !strings.Contains(string(data), "  ca.crt: ") || !strings.Contains(string(data), "  name: example\n") {
		t.Errorf("manifest with root:\n%s", data)
	}
	if _, err := b.Write(t.TempDir(), Kubernetes, &WriteOptions{SecretName: "Bad_Name"}); err == nil {
		t.Error("invalid Secret name accepted")
	}
}

func TestWriteNeverOverwritesKey(t *testing.T) {
	b := testBundle(t)
	dir := t.TempDir()
	if _, err := b.Write(dir, Nginx, nil); err != nil {
		t.Fatal(err)
	}
	keyBefore, _ := os.ReadFile(filepath.Join(dir, "privkey.pem"))
	chainBefore, _ := os.ReadFile(filepath.Join(dir, "fullchain.pem"))

	other := testBundle(t)
	// Default: nothing is replaced, not even the certificate file.
	if _, err := other.Write(dir, Nginx, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second write: %v, want ErrExists", err)
	}
	// Overwrite replaces certificates but still protects the key, and the
	// refusal comes before any file is touched.
	_, err := other.Write(dir, Nginx, &WriteOptions{Overwrite: true})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "privkey.pem") {
		t.Fatalf("overwrite without key permission: %v", err)
	}
	keyAfter, _ := os.ReadFile(filepath.Join(dir, "privkey.pem"))
	chainAfter, _ := os.ReadFile(filepath.Join(dir, "fullchain.pem"))
	if !bytes.Equal(keyBefore, keyAfter) || !bytes.Equal(chainBefore, chainAfter) {
		t.Fatal("a refused write changed files")
	}
	// AllowKeyOverwrite replaces both.
	if _, err := other.Write(dir, Nginx, &WriteOptions{AllowKeyOverwrite: true}); err != nil {
		t.Fatal(err)
	}
	keyAfter, _ = os.ReadFile(filepath.Join(dir, "privkey.pem"))
	if bytes.Equal(keyBefore, keyAfter) {
		t.Fatal("AllowKeyOverwrite did not replace the key")
	}
}

func TestWriteRefusesBadBundles(t *testing.T) {
	b := testBundle(t)
	other := testBundle(t)
	root := b.Root

	mismatch := *b
	mismatch.Key = other.Key
	if _, err := mismatch.Write(t.TempDir(), Nginx, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched key: %v", err)
	}
	wrongChain := *b
	wrongChain.Intermediates = other.Intermediates
	if _, err := wrongChain.Write(t.TempDir(), Nginx, nil); !errors.Is(err, ErrChainOrder) {
		t.Errorf("foreign intermediate: %v", err)
	}
	rootAsInter := *b
	rootAsInter.Intermediates = append(append([]*x509.Certificate{}, b.Intermediates...), root)
	rootAsInter.Root = nil
	if _, err := rootAsInter.Write(t.TempDir(), Nginx, nil); !errors.Is(err, ErrChainOrder) {
		t.Errorf("root among intermediates: %v", err)
	}
	noRoot := *b
	noRoot.Root = nil
	if _, err := noRoot.Write(t.TempDir(), Nginx, &WriteOptions{IncludeRoot: true}); err == nil {
		t.Error("IncludeRoot without a root accepted")
	}
	if _, err := b.Write(t.TempDir(), IIS, nil); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("pfx without password: %v", err)
	}
	if _, err := b.Write(t.TempDir(), HAProxy, &WriteOptions{Name: "../escape"}); err == nil {
		t.Error("a path as Name accepted")
	}
	if _, err := b.Write(t.TempDir(), Server("lighttpd"), nil); err == nil || !strings.Contains(err.Error(), "nginx") {
		t.Errorf("unknown server: %v", err)
	}
}

func TestWriteFailureReportsFile(t *testing.T) {
	b := testBundle(t)
	// A folder path that runs through a regular file fails for every user.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	if w, err := b.Write(filepath.Join(blocker, "out"), Nginx, nil); err == nil || len(w) != 0 {
		t.Fatalf("write under a file: %v, %v", w, err)
	}
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions; the read-only folder case needs another user")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	w, err := b.Write(dir, Nginx, nil)
	if err == nil || len(w) != 0 || !strings.Contains(err.Error(), "fullchain.pem") {
		t.Fatalf("write into read-only folder: %v, %v", w, err)
	}
}

func TestDefaultName(t *testing.T) {
	root := testpki.Root(t, "R")
	for hosts, want := range map[string]string{
		"*.example.com": "wildcard.example.com",
		"a.example.com": "a.example.com",
		"192.0.2.1":     "192.0.2.1",
	} {
		leaf, _ := root.Leaf(t, nil, hosts)
		if got := defaultName(leaf); got != want {
			t.Errorf("defaultName(%s) = %q, want %q", hosts, got, want)
		}
	}
}

func TestParseServer(t *testing.T) {
	for _, s := range Servers() {
		got, err := ParseServer(strings.ToUpper(string(s)))
		if err != nil || got != s {
			t.Errorf("ParseServer(%q) = %q, %v", s, got, err)
		}
	}
	if got, _ := ParseServer("tomcat"); got != Java {
		t.Errorf("tomcat -> %q", got)
	}
}

// Interoperability: what Write produces, the real consumers read.

func TestOpenSSLReadsOutputs(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	b := testBundle(t)
	dir := t.TempDir()
	if _, err := b.Write(dir, Apache, nil); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "root.pem")
	os.WriteFile(rootFile, encodeCertsPEM([]*x509.Certificate{b.Root}), 0o644)
	run(t, openssl, "verify", "-attime", "1780315200", "-CAfile", rootFile, "-untrusted", filepath.Join(dir, "chain.pem"), filepath.Join(dir, "cert.pem"))
	// The key matches the certificate, as openssl sees it.
	pub1 := run(t, openssl, "pkey", "-in", filepath.Join(dir, "privkey.pem"), "-pubout")
	pub2 := run(t, openssl, "x509", "-in", filepath.Join(dir, "cert.pem"), "-noout", "-pubkey")
	if pub1 != pub2 {
		t.Errorf("openssl: key and certificate public keys differ")
	}
	for _, tt := range []struct {
		server Server
		extra  []string
		want   string
	}{
		{IIS, nil, "PBES2"},
		{IISLegacy, []string{"-legacy"}, "pbeWithSHA1And3-KeyTripleDES-CBC"},
	} {
		d := t.TempDir()
		w, err := b.Write(d, tt.server, &WriteOptions{Password: "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"pkcs12", "-info", "-in", w[0], "-passin", "pass:s3cret", "-nodes"}, tt.extra...)
		out := run(t, openssl, args...)
		for _, want := range []string{tt.want, "friendlyName: www.example.com", "CN = Test Intermediate", "BEGIN PRIVATE KEY"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: openssl pkcs12 -info lacks %q:\n%s", tt.server, want, out)
			}
		}
	}
}

func TestKeytoolReadsKeystores(t *testing.T) {
	keytool := testtool.Require(t, "keytool")
	b := testBundle(t)
	for _, tt := range []struct {
		server Server
		typ    string
	}{{Java, "PKCS12"}, {JavaJKS, "JKS"}} {
		dir := t.TempDir()
		w, err := b.Write(dir, tt.server, &WriteOptions{Password: "changeit", FriendlyName: "tomcat"})
		if err != nil {
			t.Fatal(err)
		}
		out := run(t, keytool, "-list", "-v", "-keystore", w[0], "-storetype", tt.typ, "-storepass", "changeit")
		for _, want := range []string{"Alias name: tomcat", "PrivateKeyEntry", "Certificate chain length: 2"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: keytool -list lacks %q:\n%s", tt.server, want, out)
			}
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
