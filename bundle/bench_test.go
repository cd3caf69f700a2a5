package bundle

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

// BenchmarkWriteNginx is Write for nginx (checks, atomic writes with fsync
// of file and folder, read-back) beside BenchmarkWriteNginxPlain, the
// two os.WriteFile calls a script would do with the same bytes.
func BenchmarkWriteNginx(b *testing.B) {
	bd := testBundle(b)
	root := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bd.Write(filepath.Join(root, fmt.Sprint(i)), Nginx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteNginxPlain(b *testing.B) {
	bd := testBundle(b)
	chain := encodeCertsPEM(bd.Chain(false))
	key, _ := encodeKeyPEM(bd)
	root := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(root, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "fullchain.pem"), chain, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "privkey.pem"), key, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// sniBundles makes n bundles for host0.example.com ... hostN.
func sniBundles(b *testing.B, n int) []*Bundle {
	root := testpki.Root(b, "Bench Root")
	var out []*Bundle
	for i := 0; i < n; i++ {
		leaf, key := root.Leaf(b, nil, fmt.Sprintf("host%d.example.com", i))
		out = append(out, &Bundle{Key: key, Leaf: leaf})
	}
	return out
}

// BenchmarkSNI is GetCertificate over 100 bundles beside
// BenchmarkSNIStdlib, what crypto/tls does without GetCertificate: try
// each of Config.Certificates with SupportsCertificate.
func BenchmarkSNI(b *testing.B) {
	bs := sniBundles(b, 100)
	sni, err := NewSNI(bs...)
	if err != nil {
		b.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{ServerName: "host99.example.com", SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, SupportedVersions: []uint16{tls.VersionTLS13}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, _ := sni.GetCertificate(hello)
		if c.Leaf.DNSNames[0] != "host99.example.com" {
			b.Fatal("wrong certificate")
		}
	}
}

func BenchmarkSNIStdlib(b *testing.B) {
	bs := sniBundles(b, 100)
	var certs []tls.Certificate
	for _, bd := range bs {
		c, err := bd.TLSCertificate()
		if err != nil {
			b.Fatal(err)
		}
		certs = append(certs, c)
	}
	hello := &tls.ClientHelloInfo{ServerName: "host99.example.com", SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, SupportedVersions: []uint16{tls.VersionTLS13}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var got *x509.Certificate
		for j := range certs {
			if hello.SupportsCertificate(&certs[j]) == nil {
				got = certs[j].Leaf
				break
			}
		}
		if got == nil || got.DNSNames[0] != "host99.example.com" {
			b.Fatal("wrong certificate")
		}
	}
}
