package csr

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// TestOpenSSLReadsOurRequests proves that OpenSSL accepts the request we
// write for every key type, verifies its signature, and shows all six
// subject fields and every SAN.
func TestOpenSSLReadsOurRequests(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			der, _, err := Create(nil, fullRequest(), testKey(t, kt), nil)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(t.TempDir(), "out.csr")
			if err := os.WriteFile(name, EncodePEM(der), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(openssl, "req", "-in", name, "-verify", "-noout", "-text")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("openssl req: %v\n%s%s", err, stderr.String(), stdout.String())
			}
			if !strings.Contains(stderr.String()+stdout.String(), "verify OK") {
				t.Errorf("openssl did not report the signature as verified:\n%s", stderr.String())
			}
			text := stdout.String()
			for _, s := range []string{
				"C = GB", "ST = West Yorkshire", "L = Leeds", "O = Example Ltd", "OU = Web", "CN = www.example.com",
				"X509v3 Subject Alternative Name",
				"DNS:example.com", "DNS:www.example.com", "IP Address:192.0.2.10", "IP Address:2001:DB8:0:0:0:0:0:1",
				"email:admin@example.com", "URI:spiffe://example.com/web",
			} {
				if !strings.Contains(text, s) {
					t.Errorf("openssl output lacks %q:\n%s", s, text)
				}
			}
			want := map[KeyType]string{
				RSA2048: "Public-Key: (2048 bit)", RSA3072: "Public-Key: (3072 bit)", RSA4096: "Public-Key: (4096 bit)",
				RSA8192: "Public-Key: (8192 bit)", P256: "NIST CURVE: P-256", P384: "NIST CURVE: P-384", Ed25519: "ED25519 Public-Key",
			}[kt]
			if !strings.Contains(text, want) {
				t.Errorf("openssl output lacks %q", want)
			}
			if strings.Contains(strings.ToLower(text), "sha1") {
				t.Errorf("a SHA-1 algorithm appears in the request:\n%s", text)
			}
		})
	}
}

// TestWeReadOpenSSLRequests parses requests OpenSSL makes with each kind of
// key, in PEM and DER, and checks the fields we report.
func TestWeReadOpenSSLRequests(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	keys := map[string][]string{
		"rsa2048": {"-newkey", "rsa:2048"},
		"p256":    {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"},
		"p384":    {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"},
		"ed25519": {"-newkey", "ed25519"},
	}
	for kt, keyArgs := range keys {
		for _, form := range []string{"PEM", "DER"} {
			t.Run(kt+"/"+form, func(t *testing.T) {
				dir := t.TempDir()
				out := filepath.Join(dir, "req")
				args := append([]string{"req", "-new", "-utf8", "-nodes", "-keyout", filepath.Join(dir, "key.pem"), "-out", out, "-outform", form,
					"-subj", "/C=DE/ST=Bayern/L=München/O=Beispiel GmbH/OU=IT/CN=www.beispiel.example",
					"-addext", "subjectAltName=DNS:www.beispiel.example,DNS:beispiel.example,IP:2001:db8::5,email:it@beispiel.example"},
					keyArgs...)
				if kt != "ed25519" {
					args = append(args, "-sha256")
				}
				if b, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
					t.Fatalf("openssl %v: %v\n%s", args, err, b)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				r, err := Parse(data)
				if err != nil {
					t.Fatal(err)
				}
				if err := CheckSignature(r); err != nil {
					t.Fatal(err)
				}
				d := Describe(r)
				if string(d.KeyType) != kt {
					t.Errorf("key type %q", d.KeyType)
				}
				q := d.Request
				if q.C != "DE" || q.ST != "Bayern" || q.L != "München" || q.O != "Beispiel GmbH" || q.OU != "IT" || q.CN != "www.beispiel.example" {
					t.Errorf("subject %+v", q)
				}
				want := "DNS:www.beispiel.example DNS:beispiel.example IP Address:2001:db8::5 email:it@beispiel.example"
				if got := strings.Join(q.SANs(), " "); got != want {
					t.Errorf("SANs %q", got)
				}
				if fs := Check(q, &Options{Strict: true}); len(fs) != 0 {
					t.Errorf("findings on a clean request: %v", fs)
				}
			})
		}
	}
}

// TestOpenSSLReadsInternationalNames: UTF-8 subject fields and an IDN host
// name come out in OpenSSL as the text and the punycode the user expects.
func TestOpenSSLReadsInternationalNames(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	req := &Request{CN: "Bücher.example", O: "Bücher & Söhne GmbH", L: "Zürich", ST: "Zürich", C: "CH", DNSNames: []string{"*.bücher.example"}}
	der, findings, err := Create(nil, req, testKey(t, P256), nil)
	if err != nil || len(findings) != 0 {
		t.Fatal(err, findings)
	}
	name := filepath.Join(t.TempDir(), "idn.csr")
	if err := os.WriteFile(name, EncodePEM(der), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command(openssl, "req", "-in", name, "-verify", "-noout", "-text", "-nameopt", "utf8,sep_comma_plus_space,space_eq").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, b)
	}
	for _, s := range []string{"verify OK", "O = Bücher & Söhne GmbH", "L = Zürich", "CN = xn--bcher-kva.example",
		"DNS:xn--bcher-kva.example, DNS:*.xn--bcher-kva.example"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("openssl output lacks %q:\n%s", s, b)
		}
	}
}
