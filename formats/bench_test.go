package formats

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// bench200 returns 200 real intermediate certificates (the first 200 of
// cfssl_trust/int-bundle.crt) or, without the corpus, 200 generated ones.
func bench200(b *testing.B) []*x509.Certificate {
	b.Helper()
	p := filepath.Join(testtool.RepoRoot(), "..", "shared", "corpus", "cfssl_trust", "int-bundle.crt")
	var certs []*x509.Certificate
	if data, err := os.ReadFile(p); err == nil {
		for rest := data; len(certs) < 200; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if c, err := x509.ParseCertificate(block.Bytes); err == nil {
				certs = append(certs, c)
			}
		}
	}
	if len(certs) < 200 {
		b.Log("corpus absent: using 200 generated P-256 certificates")
		certs = certs[:0]
		root := testpki.Root(b, "Bench Root")
		for len(certs) < 200 {
			c, _ := root.Leaf(b, nil, "bench.example.com")
			certs = append(certs, c)
		}
	}
	return certs
}

func parseAll(b *testing.B, ders [][]byte) {
	for _, d := range ders {
		if _, err := x509.ParseCertificate(d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPEM200 compares Read on a 200-certificate PEM bundle with
// pem.Decode + x509.ParseCertificate and with x509.ParseCertificate alone
// on the same DER.
func BenchmarkPEM200(b *testing.B) {
	certs := bench200(b)
	data := EncodeCertificatesPEM(certs...)
	var ders [][]byte
	for _, c := range certs {
		ders = append(ders, c.Raw)
	}
	b.Run("formats.Read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := Read(data, nil)
			if err != nil || len(c.Certificates) != 200 {
				b.Fatal(err)
			}
		}
	})
	b.Run("pem.Decode+x509.ParseCertificate", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for rest := data; ; {
				var block *pem.Block
				block, rest = pem.Decode(rest)
				if block == nil {
					break
				}
				if _, err := x509.ParseCertificate(block.Bytes); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("x509.ParseCertificate", func(b *testing.B) {
		for b.Loop() {
			parseAll(b, ders)
		}
	})
}

// BenchmarkPKCS7200 compares Read on a 200-certificate .p7b (DER and BER)
// with smallstep/pkcs7.Parse and with x509.ParseCertificate alone.
func BenchmarkPKCS7200(b *testing.B) {
	certs := bench200(b)
	p7, err := EncodePKCS7(certs)
	if err != nil {
		b.Fatal(err)
	}
	var ders [][]byte
	for _, c := range certs {
		ders = append(ders, c.Raw)
	}
	b.Run("formats.Read", func(b *testing.B) {
		for b.Loop() {
			c, err := Read(p7, nil)
			if err != nil || len(c.Certificates) != 200 {
				b.Fatal(err)
			}
		}
	})
	b.Run("smallstep/pkcs7.Parse", func(b *testing.B) {
		for b.Loop() {
			p, err := pkcs7.Parse(p7)
			if err != nil || len(p.Certificates) != 200 {
				b.Fatal(err)
			}
		}
	})
	b.Run("x509.ParseCertificate", func(b *testing.B) {
		for b.Loop() {
			parseAll(b, ders)
		}
	})
}

// BenchmarkPKCS12 compares Read on a PKCS#12 (key, leaf, two CA
// certificates; Modern profile, 2048 iterations) with go-pkcs12's
// DecodeChain on the same file.
func BenchmarkPKCS12(b *testing.B) {
	root := testpki.Root(b, "Bench Root")
	inter := root.Intermediate(b, "Bench Intermediate")
	leaf, key := inter.Leaf(b, nil, "bench.example.com")
	pfx, err := EncodePKCS12(key, leaf, []*x509.Certificate{inter.Cert, root.Cert}, "password", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("formats.Read", func(b *testing.B) {
		for b.Loop() {
			c, err := Read(pfx, &ReadOptions{Password: "password"})
			if err != nil || len(c.Pairs) != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-pkcs12.DecodeChain", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := gopkcs12.DecodeChain(pfx, "password"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRatio200 alternates Read and the bare x509.ParseCertificate of
// the same 200 certificates in one loop, so that both see the same machine
// load, and reports each one's time and their ratio (the target is 1.3).
// For PEM it also times base64.StdEncoding.Decode of the 200 blocks' text
// (line ends included, as in the file) in the same loop: b64/parse is the
// part of the ratio that any PEM reader pays before parsing.
func BenchmarkRatio200(b *testing.B) {
	certs := bench200(b)
	var ders, bodies [][]byte
	for _, c := range certs {
		ders = append(ders, c.Raw)
		text := EncodeCertificatesPEM(c)
		text = text[bytes.IndexByte(text, '\n')+1 : bytes.Index(text, []byte("-----END"))]
		bodies = append(bodies, text)
	}
	p7, err := EncodePKCS7(certs)
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name string
		data []byte
	}{{"PEM", EncodeCertificatesPEM(certs...)}, {"PKCS7", p7}} {
		b.Run(in.name, func(b *testing.B) {
			var read, parse, b64 time.Duration
			out := make([]byte, 64<<10)
			for b.Loop() {
				t0 := time.Now()
				if _, err := Read(in.data, nil); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				parseAll(b, ders)
				t2 := time.Now()
				read += t1.Sub(t0)
				parse += t2.Sub(t1)
				if in.name == "PEM" {
					for _, body := range bodies {
						if _, err := base64.StdEncoding.Decode(out, body); err != nil {
							b.Fatal(err)
						}
					}
					b64 += time.Since(t2)
				}
			}
			b.ReportMetric(float64(read.Nanoseconds())/float64(b.N), "read-ns/op")
			b.ReportMetric(float64(parse.Nanoseconds())/float64(b.N), "parse-ns/op")
			b.ReportMetric(float64(read)/float64(parse), "read/parse")
			if b64 > 0 {
				b.ReportMetric(float64(b64.Nanoseconds())/float64(b.N), "b64-ns/op")
				b.ReportMetric(float64(b64)/float64(parse), "b64/parse")
			}
		})
	}
}
