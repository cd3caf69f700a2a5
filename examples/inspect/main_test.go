package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

type files struct {
	dir                      string
	chainPEM, p7b, pfx, junk string
	leaf, inter, root        *x509.Certificate
}

func setup(t *testing.T) *files {
	t.Helper()
	root := testpki.Root(t, "Inspect Root")
	inter := root.Intermediate(t, "Inspect Intermediate")
	leaf, key := inter.Leaf(t, nil, "www.example.com")
	dir := t.TempDir()
	f := &files{dir: dir, leaf: leaf, inter: inter.Cert, root: root.Cert}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.chainPEM = write("chain.crt", formats.EncodeCertificatesPEM(leaf, inter.Cert, root.Cert))
	p7, err := formats.EncodePKCS7([]*x509.Certificate{leaf, inter.Cert})
	if err != nil {
		t.Fatal(err)
	}
	f.p7b = write("chain.pem", p7) // DER despite the name: detection is by content
	pfx, err := formats.EncodePKCS12(key, leaf, []*x509.Certificate{inter.Cert}, "pw", &formats.PKCS12Options{FriendlyName: "www"})
	if err != nil {
		t.Fatal(err)
	}
	f.pfx = write("server.pfx", pfx)
	f.junk = write("junk.cer", []byte("PK\x03\x04 this is a zip"))
	return f
}

func runInspect(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func decodeLines(t *testing.T, out string) []fileJSON {
	t.Helper()
	var res []fileJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f fileJSON
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		res = append(res, f)
	}
	return res
}

func TestInspectJSON(t *testing.T) {
	f := setup(t)
	// Flags before, between and after the file names.
	code, out, stderr := runInspect(f.chainPEM, "-json", f.p7b, "-password", "pw", f.pfx)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	res := decodeLines(t, out)
	if len(res) != 3 {
		t.Fatalf("%d JSON lines, want 3:\n%s", len(res), out)
	}
	if res[0].File != f.chainPEM || res[0].Format != "pem" || len(res[0].Certificates) != 3 {
		t.Errorf("chain: %+v", res[0])
	}
	if res[1].Format != "pkcs7" || strings.Join(res[1].Formats, ",") != "der,pkcs7" || len(res[1].Certificates) != 2 {
		t.Errorf("p7b: %+v", res[1])
	}
	p := res[2]
	if p.Format != "pkcs12" || len(p.Certificates) != 2 || len(p.Keys) != 1 || len(p.CSRs) != 0 {
		t.Fatalf("pfx: %+v", p)
	}
	c := p.Certificates[0]
	sum := sha256.Sum256(f.leaf.Raw)
	spki := sha256.Sum256(f.leaf.RawSubjectPublicKeyInfo)
	if c.Subject != "CN=www.example.com" || c.Issuer != f.inter.Subject.String() ||
		c.Serial != f.leaf.SerialNumber.Text(16) || c.NotAfter != f.leaf.NotAfter.UTC().Format(time.RFC3339) ||
		c.SHA256 != hex.EncodeToString(sum[:]) || c.SPKISHA256 != hex.EncodeToString(spki[:]) || c.IsCA || !c.HasKey {
		t.Errorf("leaf JSON %+v", c)
	}
	if !p.Certificates[1].IsCA {
		t.Error("intermediate not is_ca")
	}
	k := p.Keys[0]
	if k.Type != "ECDSA-P-256" || k.SPKISHA256 != c.SPKISHA256 || k.FriendlyName != "www" {
		t.Errorf("key JSON %+v", k)
	}
	// Required keys are present even when empty.
	var raw map[string]any
	json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &raw)
	for _, key := range []string{"file", "format", "formats", "certificates", "keys", "csrs", "notes"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
}

func TestInspectFailures(t *testing.T) {
	f := setup(t)
	code, out, stderr := runInspect("-json", f.junk, f.chainPEM, f.pfx, filepath.Join(f.dir, "missing.crt"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if n := len(decodeLines(t, out)); n != 1 {
		t.Errorf("%d files reported on stdout, want the 1 readable one", n)
	}
	for _, want := range []string{f.junk + ": unrecognized format: starts with 0x50 0x4b 0x03 0x04: a ZIP archive", f.pfx + ": looks like PKCS#12 (DER)", "pass -password", "missing.crt"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, _ := runInspect(); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
	if code, _, _ := runInspect("-bogus", f.chainPEM); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, _ := runInspect(f.chainPEM, "-password"); code != 2 {
		t.Errorf("flag without value: exit %d, want 2", code)
	}
}

func TestInspectText(t *testing.T) {
	f := setup(t)
	code, out, _ := runInspect("-password", "pw", f.pfx)
	if code != 0 || !strings.Contains(out, "server.pfx: pkcs12") || !strings.Contains(out, "[has private key]") || !strings.Contains(out, "ECDSA-P-256") {
		t.Errorf("exit %d, text:\n%s", code, out)
	}
}

// Files made by openssl, inspected through the command.
func TestInspectOpenSSLFiles(t *testing.T) {
	testtool.Require(t, "openssl")
	dir := t.TempDir()
	sh := func(args ...string) {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-subj", "/CN=tool.example.com", "-days", "30")
	sh("pkcs12", "-export", "-legacy", "-in", "c.pem", "-inkey", "k.pem", "-passout", "pass:pw", "-out", "c.p12")
	sh("crl2pkcs7", "-nocrl", "-certfile", "c.pem", "-out", "c.p7b")
	code, out, stderr := runInspect("-json", "-password", "pw", filepath.Join(dir, "c.p12"), filepath.Join(dir, "c.p7b"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res := decodeLines(t, out)
	if res[0].Format != "pkcs12" || len(res[0].Keys) != 1 || res[0].Keys[0].Type != "RSA-2048" || res[1].Format != "pkcs7" {
		t.Errorf("%+v", res)
	}
}
