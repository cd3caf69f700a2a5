package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

func run(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func writePEM(t testing.TB, path, typ string, ders ...[]byte) {
	t.Helper()
	var buf bytes.Buffer
	for _, d := range ders {
		pem.Encode(&buf, &pem.Block{Type: typ, Bytes: d})
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// opensslPKI writes key.pem, leaf.pem and chain.pem (intermediate, root)
// into dir and returns the key and the three certificates.
func opensslPKI(t testing.TB, dir string, key crypto.Signer) []*x509.Certificate {
	t.Helper()
	root := testpki.Root(t, "OpenSSL Interop Root")
	inter := root.Intermediate(t, "OpenSSL Interop Intermediate")
	leaf, _ := inter.Leaf(t, key.Public(), "interop.example")
	writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", pkcs8Of(t, key))
	writePEM(t, filepath.Join(dir, "leaf.pem"), "CERTIFICATE", leaf.Raw)
	writePEM(t, filepath.Join(dir, "chain.pem"), "CERTIFICATE", inter.Cert.Raw, root.Cert.Raw)
	return []*x509.Certificate{leaf, inter.Cert, root.Cert}
}

// TestOpenSSLExports decodes files written by `openssl pkcs12 -export` with
// each profile a user meets, and compares keys and certificates with the
// ones exported.
func TestOpenSSLExports(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	rsaKey := testpki.KeyRSA(t, 2048)
	certs := opensslPKI(t, dir, rsaKey)
	base := []string{"pkcs12", "-export", "-in", "leaf.pem", "-inkey", "key.pem", "-certfile", "chain.pem", "-name", "interop leaf"}
	const aes = "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"
	for _, c := range []struct {
		name     string
		password string
		args     []string
		mac      string
		enc      []string
		iter     int
	}{
		{"default", "s3cret", nil, "HMAC-SHA256", []string{aes}, 2048},
		{"legacy", "s3cret", []string{"-legacy"}, "HMAC-SHA1", []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, 2048},
		{"3des", "s3cret", []string{"-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"}, "HMAC-SHA1", []string{"pbeWithSHAAnd3-KeyTripleDES-CBC"}, 2048},
		{"rc2-128 2des", "s3cret", []string{"-legacy", "-certpbe", "PBE-SHA1-RC2-128", "-keypbe", "PBE-SHA1-2DES"}, "HMAC-SHA1", []string{"pbeWithSHAAnd128BitRC2-CBC", "pbeWithSHAAnd2-KeyTripleDES-CBC"}, 2048},
		{"rc4", "s3cret", []string{"-legacy", "-certpbe", "PBE-SHA1-RC4-128", "-keypbe", "PBE-SHA1-RC4-40"}, "HMAC-SHA1", []string{"pbeWithSHAAnd128BitRC4", "pbeWithSHAAnd40BitRC4"}, 2048},
		{"aes mixed sha512", "s3cret", []string{"-certpbe", "AES-128-CBC", "-keypbe", "AES-192-CBC", "-macalg", "sha512", "-iter", "10000"}, "HMAC-SHA512", []string{"PBES2/PBKDF2-HMAC-SHA256/AES-128-CBC", "PBES2/PBKDF2-HMAC-SHA256/AES-192-CBC"}, 10000},
		{"pbes2 3des sha384", "s3cret", []string{"-certpbe", "DES-EDE3-CBC", "-keypbe", "DES-EDE3-CBC", "-macalg", "sha384"}, "HMAC-SHA384", []string{"PBES2/PBKDF2-HMAC-SHA256/DES-EDE3-CBC"}, 2048},
		{"nomac", "s3cret", []string{"-nomac"}, "none", []string{"none", aes}, 2048}, // OpenSSL leaves the certificates unencrypted
		{"no encryption", "s3cret", []string{"-keypbe", "NONE", "-certpbe", "NONE"}, "HMAC-SHA256", []string{"none"}, 2048},
		{"no encryption no mac", "", []string{"-keypbe", "NONE", "-certpbe", "NONE", "-nomac"}, "none", []string{"none"}, 0},
		{"empty password", "", nil, "HMAC-SHA256", []string{aes}, 2048},
		{"empty password legacy", "", []string{"-legacy"}, "HMAC-SHA1", []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, 2048},
		{"unicode password", "Pässwörd-世界-\U0001F511", nil, "HMAC-SHA256", []string{aes}, 2048},
		{"unicode password legacy", "Pässwörd-世界", []string{"-legacy"}, "HMAC-SHA1", []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, 2048},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".p12")
			args := append(slices.Clone(base), c.args...)
			args = append(args, "-passout", "pass:"+c.password, "-out", out)
			run(t, dir, openssl, args...)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data, c.password, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Keys) != 1 || !rsaKey.(*rsa.PrivateKey).Equal(got.Keys[0].Key) {
				t.Fatalf("keys %+v", got.Keys)
			}
			if len(got.Certs) != 3 {
				t.Fatalf("%d certificates, want 3", len(got.Certs))
			}
			// OpenSSL writes the leaf first, then the -certfile chain.
			for i, ce := range got.Certs {
				if !ce.Cert.Equal(certs[i]) {
					t.Errorf("certificate %d is %s, want %s", i, ce.Cert.Subject, certs[i].Subject)
				}
			}
			if got.Keys[0].FriendlyName != "interop leaf" || got.Certs[0].FriendlyName != "interop leaf" ||
				len(got.Keys[0].LocalKeyID) == 0 || !bytes.Equal(got.Keys[0].LocalKeyID, got.Certs[0].LocalKeyID) {
				t.Errorf("attributes: key %q %x, cert %q %x", got.Keys[0].FriendlyName, got.Keys[0].LocalKeyID, got.Certs[0].FriendlyName, got.Certs[0].LocalKeyID)
			}
			if got.MACAlgorithm != c.mac || !slices.Equal(got.Encryption, c.enc) || got.Iterations != c.iter || got.BER {
				t.Errorf("MAC %q, encryption %q, iterations %d, BER %v; want %q, %q, %d, false",
					got.MACAlgorithm, got.Encryption, got.Iterations, got.BER, c.mac, c.enc, c.iter)
			}
			if c.mac != "none" || len(c.enc) > 0 && c.enc[0] != "none" {
				if _, err := Decode(data, c.password+"x", Options{}); !errors.Is(err, ErrIncorrectPassword) {
					t.Errorf("wrong password: %v, want ErrIncorrectPassword", err)
				}
			}
			// The same file as BER (indefinite lengths, chunked octet
			// strings and encrypted content) reads the same.
			berData := toBER(t, data)
			bgot, err := Decode(berData, c.password, Options{})
			if err != nil {
				t.Fatalf("BER form: %v", err)
			}
			if !bgot.BER || len(bgot.Keys) != 1 || len(bgot.Certs) != 3 {
				t.Errorf("BER form: BER %v, %d keys, %d certs", bgot.BER, len(bgot.Keys), len(bgot.Certs))
			}
		})
	}
}

// TestOpenSSLKeyTypes exports P-384, P-521 and Ed25519 keys made by OpenSSL
// itself (ECDSA as SEC1 inside PKCS#8), plus key-only and certificate-only
// files.
func TestOpenSSLKeyTypes(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	for _, alg := range [][]string{
		{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"},
		{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"},
		{"-algorithm", "ED25519"},
	} {
		t.Run(alg[1]+strings.Join(alg[2:], ""), func(t *testing.T) {
			run(t, dir, openssl, append([]string{"genpkey", "-out", "k.pem"}, alg...)...)
			run(t, dir, openssl, "req", "-x509", "-new", "-key", "k.pem", "-subj", "/CN=keytype", "-days", "2", "-out", "c.pem")
			run(t, dir, openssl, "pkcs12", "-export", "-in", "c.pem", "-inkey", "k.pem", "-passout", "pass:k", "-out", "f.p12")
			run(t, dir, openssl, "pkcs12", "-export", "-nocerts", "-inkey", "k.pem", "-passout", "pass:k", "-out", "keyonly.p12")
			run(t, dir, openssl, "pkcs12", "-export", "-nokeys", "-in", "c.pem", "-passout", "pass:k", "-out", "certonly.p12")
			for file, want := range map[string][2]int{"f.p12": {1, 1}, "keyonly.p12": {1, 0}, "certonly.p12": {0, 1}} {
				data, _ := os.ReadFile(filepath.Join(dir, file))
				c, err := Decode(data, "k", Options{})
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if len(c.Keys) != want[0] || len(c.Certs) != want[1] {
					t.Fatalf("%s: %d keys, %d certs; want %v", file, len(c.Keys), len(c.Certs), want)
				}
				for _, k := range c.Keys {
					switch k.Key.(type) {
					case *ecdsa.PrivateKey, ed25519.PrivateKey:
					default:
						t.Errorf("%s: key %T", file, k.Key)
					}
					if file == "f.p12" && certFor(c, k.Key) == nil {
						t.Errorf("%s: key does not match the certificate", file)
					}
				}
			}
		})
	}
}

// TestOpenSSLReadsBuilder makes sure the test builder writes real PKCS#12:
// OpenSSL reads the 4-key, 6-certificate file and finds the same counts.
func TestOpenSSLReadsBuilder(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	f := newMultiFixture(t, "builder")
	path := filepath.Join(dir, "multi.p12")
	if err := os.WriteFile(path, f.pfx.build(t), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, dir, openssl, "pkcs12", "-legacy", "-in", path, "-passin", "pass:builder", "-nodes", "-info")
	if n := bytes.Count(out, []byte("BEGIN CERTIFICATE")); n != 6 {
		t.Errorf("openssl sees %d certificates, want 6", n)
	}
	if n := bytes.Count(out, []byte("BEGIN PRIVATE KEY")); n != 4 {
		t.Errorf("openssl sees %d keys, want 4\n%s", n, out)
	}
}

// TestOpenSSLHugeIterations rewrites the MAC iteration count of an OpenSSL
// file to 10^9: refused with no derivation done.
func TestOpenSSLHugeIterations(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	opensslPKI(t, dir, testpki.KeyP256(t))
	run(t, dir, openssl, "pkcs12", "-export", "-in", "leaf.pem", "-inkey", "key.pem", "-passout", "pass:i", "-out", "f.p12")
	data, _ := os.ReadFile(filepath.Join(dir, "f.p12"))
	d := newDecoder("i", Options{})
	if err := d.decode(setMACIterations(t, data, 1_000_000_000)); !errors.Is(err, ErrTooManyIterations) || d.spent != 0 {
		t.Errorf("err %v after %d iterations, want ErrTooManyIterations after 0", err, d.spent)
	}
}
