package csr

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/certwright/certwright/internal/testpki"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseVectors(t *testing.T) {
	tests := []struct {
		file    string
		subject string
		sans    []string
		key     KeyType
		sig     error // from CheckSignature
	}{
		{"rsa_sha256.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, RSA2048, nil},
		{"rsa_sha256.der", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, RSA2048, nil},
		{"ec_sha256.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, P384, nil},
		{"ec_sha256.der", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, P384, nil},
		{"ec_sha256_old_header.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, P384, nil},
		{"challenge.pem", "C=US", nil, RSA2048, nil},
		{"san_rsa_sha1.pem", "CN=cryptography.io,O=PyCA,L=Chicago,ST=Illinois,C=US", []string{"DNS:cryptography.io", "DNS:sub.cryptography.io"}, RSA2048, ErrInsecureSignature},
		{"san_rsa_sha1.der", "CN=cryptography.io,O=PyCA,L=Chicago,ST=Illinois,C=US", []string{"DNS:cryptography.io", "DNS:sub.cryptography.io"}, RSA2048, ErrInsecureSignature},
		{"rsa_sha1.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, RSA2048, ErrInsecureSignature},
		{"dsa_sha1.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, "", ErrInsecureSignature},
		{"rsa_md4.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, RSA2048, ErrBadSignature},
		{"invalid_signature.pem", "CN=test", nil, "rsa1024", ErrBadSignature},
		{"basic_constraints.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, RSA2048, ErrInsecureSignature},
		{"unsupported_extension_critical.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US", nil, RSA2048, ErrInsecureSignature},
		{"bad-version.pem", "CN=Test", nil, P256, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Parse(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d := Describe(r)
			if got := strings.Contains(d.String(), "Version:"); got != (r.Version != 0) {
				t.Errorf("version %d, report:\n%s", r.Version, d)
			}
			if d.Subject != tc.subject || d.KeyType != tc.key {
				t.Errorf("subject %q key %q", d.Subject, d.KeyType)
			}
			if got := strings.Join(d.Request.SANs(), ","); got != strings.Join(tc.sans, ",") {
				t.Errorf("SANs %q", got)
			}
			err = CheckSignature(r)
			if tc.sig == nil && err != nil || tc.sig != nil && !errors.Is(err, tc.sig) {
				t.Errorf("CheckSignature = %v, want %v", err, tc.sig)
			}
			if !errors.Is(d.SignatureError, tc.sig) && (tc.sig != nil || d.SignatureError != nil) {
				t.Errorf("Describe signature error %v", d.SignatureError)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	pemData := readTestdata(t, "ec_sha256.pem")
	der := readTestdata(t, "ec_sha256.der")
	crlf := bytes.ReplaceAll(pemData, []byte("\n"), []byte("\r\n"))
	utf16le := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(string(crlf))) {
		utf16le = append(utf16le, byte(u), byte(u>>8))
	}
	utf16be := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(string(pemData))) {
		utf16be = append(utf16be, byte(u>>8), byte(u))
	}
	oldLabel := bytes.ReplaceAll(pemData, []byte("CERTIFICATE REQUEST"), []byte("NEW CERTIFICATE REQUEST"))
	cert, _ := testpki.Root(t, "not a request").Cert, 0
	certPEM := []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(cert.Raw) + "\n-----END CERTIFICATE-----\n")
	forms := map[string][]byte{
		"PEM":               pemData,
		"DER":               der,
		"CRLF":              crlf,
		"UTF-8 BOM":         append([]byte{0xEF, 0xBB, 0xBF}, pemData...),
		"UTF-16LE BOM CRLF": utf16le,
		"UTF-16BE BOM":      utf16be,
		"text around":       append(append([]byte("Here is our request:\r\n\r\n"), pemData...), "\nRegards,\nIT\n"...),
		"after a cert":      append(append([]byte{}, certPEM...), pemData...),
		"old label":         oldLabel,
		"bare base64":       []byte(base64.StdEncoding.EncodeToString(der)),
		"wrapped base64":    []byte(wrap(base64.StdEncoding.EncodeToString(der), 64, "\r\n")),
	}
	for name, data := range forms {
		r, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(r.Raw, der) {
			t.Errorf("%s: parsed a different request", name)
		}
	}

	bad := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "the input is empty"},
		{"blank", []byte(" \r\n"), "the input is empty"},
		{"too large", make([]byte, MaxInput+1), "larger than"},
		{"certificate PEM", certPEM, `only "CERTIFICATE" PEM blocks; this is an issued certificate`},
		{"certificate DER", cert.Raw, "this is an issued certificate"},
		{"truncated PEM", pemData[:len(pemData)-30], "no complete PEM block"},
		{"garbage", []byte("hello world"), "neither PEM"},
		{"broken DER", der[:len(der)-5], "DER input does not parse"},
	}
	for _, tc := range bad {
		_, err := Parse(tc.data)
		if !errors.Is(err, ErrNotRequest) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want ErrNotRequest with %q", tc.name, err, tc.msg)
		}
	}
}

func wrap(s string, n int, nl string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + nl)
		s = s[n:]
	}
	b.WriteString(s + nl)
	return b.String()
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".key") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrNotRequest) {
				t.Fatalf("error does not wrap ErrNotRequest: %v", err)
			}
			return
		}
		// Whatever parses survives a round trip through our PEM, and can
		// be described and checked without panicking.
		again, err := Parse(EncodePEM(r.Raw))
		if err != nil || !bytes.Equal(again.Raw, r.Raw) {
			t.Fatalf("round trip: %v", err)
		}
		_ = Describe(r).String()
		_ = Check(FromCertificateRequest(r), nil)
	})
}
