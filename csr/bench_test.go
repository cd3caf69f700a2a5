package csr

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
)

// The benchmarks set the cost of a request beside the cost of its key:
// BenchmarkGenerateKey/p256 is the bare key generation, BenchmarkCreate/p256
// the request (checks, normalisation, signing) with a key made beforehand,
// BenchmarkGenerateAndCreate/p256 both, and BenchmarkStdlibCreate/p256 what
// a user would write instead with crypto/x509 alone (no checks). Run the
// RSA 4096 and 8192 cases with -benchtime=3x; RSA 8192 key generation runs
// only with CERTWRIGHT_RSA8192=1.

func skipSlowKey(b *testing.B, kt KeyType) {
	if kt == RSA8192 && os.Getenv("CERTWRIGHT_RSA8192") == "" {
		b.Skip("RSA 8192 key generation takes about a minute; set CERTWRIGHT_RSA8192=1")
	}
}

func BenchmarkGenerateKey(b *testing.B) {
	for _, kt := range KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			skipSlowKey(b, kt)
			for b.Loop() {
				if _, err := GenerateKey(nil, kt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCreate(b *testing.B) {
	for _, kt := range KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			key := testKey(b, kt)
			req := fullRequest()
			for b.Loop() {
				if _, _, err := Create(nil, req, key, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStdlibCreate(b *testing.B) {
	for _, kt := range KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			key := testKey(b, kt)
			n := fullRequest().Normalize()
			tmpl := &x509.CertificateRequest{Subject: n.Subject(), DNSNames: n.DNSNames, IPAddresses: n.IPAddresses,
				EmailAddresses: n.EmailAddresses, URIs: n.URIs}
			for b.Loop() {
				if _, err := x509.CreateCertificateRequest(nil, tmpl, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGenerateAndCreate(b *testing.B) {
	for _, kt := range KeyTypes() {
		b.Run(string(kt), func(b *testing.B) {
			skipSlowKey(b, kt)
			req := fullRequest()
			for b.Loop() {
				key, err := GenerateKey(nil, kt)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := Create(nil, req, key, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	req := fullRequest()
	for b.Loop() {
		if fs := Check(req, nil); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

// BenchmarkParse reads an OpenSSL PEM request with Parse (format
// detection, BOM and label handling) beside encoding/pem + crypto/x509.
func BenchmarkParse(b *testing.B) {
	data := readTestdata(b, "rsa_sha256.pem")
	b.Run("csr.Parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			blk, _ := pem.Decode(data)
			if _, err := x509.ParseCertificateRequest(blk.Bytes); err != nil {
				b.Fatal(err)
			}
		}
	})
}
