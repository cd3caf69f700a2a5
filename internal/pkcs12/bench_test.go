package pkcs12

import (
	"os"
	"testing"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// The benchmarks decode the same files with this package and with
// software.sslmate.com/src/go-pkcs12's DecodeChain, the library a user would
// pick instead. Key derivation dominates both.

func benchFile(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchDecode(b *testing.B, file, password string) {
	data := benchFile(b, file)
	b.ReportAllocs()
	for b.Loop() {
		c, err := Decode(data, password, Options{})
		if err != nil || len(c.Keys) != 1 {
			b.Fatal(err)
		}
	}
}

func benchGoPKCS12(b *testing.B, file, password string) {
	data := benchFile(b, file)
	b.ReportAllocs()
	for b.Loop() {
		key, _, _, err := gopkcs12.DecodeChain(data, password)
		if err != nil || key == nil {
			b.Fatal(err)
		}
	}
}

// AES: Windows AD export, PBES2/PBKDF2-HMAC-SHA256/AES-256, HMAC-SHA256, 2000 iterations.
func BenchmarkDecodeAES(b *testing.B)   { benchDecode(b, "gopkcs12_windows_aes256.p12", "password") }
func BenchmarkGoPKCS12AES(b *testing.B) { benchGoPKCS12(b, "gopkcs12_windows_aes256.p12", "password") }

// 3DES: Windows 7 export, 3DES key, RC2-40 certificates, HMAC-SHA1, 2000 iterations.
func BenchmarkDecode3DES(b *testing.B)   { benchDecode(b, "boringssl_windows.p12", "foo") }
func BenchmarkGoPKCS123DES(b *testing.B) { benchGoPKCS12(b, "boringssl_windows.p12", "foo") }

// BenchmarkRejectHugeIterations measures the refusal of a file whose MAC
// declares 10^9 iterations (go-pkcs12 would derive them: minutes).
func BenchmarkRejectHugeIterations(b *testing.B) {
	data := setMACIterations(b, benchFile(b, "boringssl_windows.p12"), 1_000_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, "foo", Options{}); err == nil {
			b.Fatal("accepted")
		}
	}
}
