package formats

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certwright/certwright/internal/testpki"
)

// fixture is a small hierarchy: root -> intermediate -> leaf (with key).
type fixture struct {
	root, inter *testpki.Issuer
	leaf        *x509.Certificate
	key         crypto.Signer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	root := testpki.Root(t, "Test Root")
	inter := root.Intermediate(t, "Test Intermediate")
	leaf, key := inter.Leaf(t, nil, "www.example.com")
	return &fixture{root: root, inter: inter, leaf: leaf, key: key}
}

func (f *fixture) chain() []*x509.Certificate {
	return []*x509.Certificate{f.leaf, f.inter.Cert, f.root.Cert}
}

func subjects(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func pemOf(label string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der})
}

func mustRead(t *testing.T, data []byte, opts *ReadOptions) *Contents {
	t.Helper()
	c, err := Read(data, opts)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return c
}

// toIndefinite re-encodes the outer SEQUENCE and its [0] EXPLICIT content
// of a ContentInfo with indefinite lengths, as BER writers do.
func toIndefinite(t *testing.T, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var ci, explicit cryptobyte.String
	var oid cryptobyte.String
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		t.Fatal("not a ContentInfo")
	}
	out := []byte{0x30, 0x80}
	out = append(out, oid...)
	out = append(out, 0xa0, 0x80)
	out = append(out, explicit...)
	out = append(out, 0, 0, 0, 0)
	return out
}

func TestReadCertificateForms(t *testing.T) {
	f := newFixture(t)
	chainPEM := EncodeCertificatesPEM(f.chain()...)
	p7, err := EncodePKCS7(f.chain())
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(f.leaf.Raw)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 64 {
		wrapped.WriteString(b64[i:min(i+64, len(b64))])
		wrapped.WriteString("\r\n")
	}
	textNoise := "Certificate:\n    Data:\n        Version: 3 (0x2)\n        Subject: CN = www.example.com\n" + string(pemOf("CERTIFICATE", f.leaf.Raw)) +
		"\nsome words between blocks\n" + string(pemOf("CERTIFICATE", f.inter.Cert.Raw)) + "trailing text\n"
	trailingSpaces := strings.ReplaceAll(string(chainPEM), "\n", "   \n")
	crlf := strings.ReplaceAll(string(chainPEM), "\n", "\r\n")
	bom := append([]byte{0xef, 0xbb, 0xbf}, chainPEM...)
	concat := append(append(append([]byte{}, f.leaf.Raw...), f.inter.Cert.Raw...), f.root.Cert.Raw...)

	leafOnly := []string{"www.example.com"}
	all := []string{"www.example.com", "Test Intermediate", "Test Root"}
	tests := []struct {
		name    string
		in      []byte
		formats []string
		format  string
		want    []string
	}{
		{"PEM chain", chainPEM, []string{"pem"}, "pem", all},
		{"PEM with text around", []byte(textNoise), []string{"pem"}, "pem", all[:2]},
		{"PEM trailing spaces", []byte(trailingSpaces), []string{"pem"}, "pem", all},
		{"PEM CRLF", []byte(crlf), []string{"pem"}, "pem", all},
		{"PEM BOM", bom, []string{"pem"}, "pem", all},
		{"X509 CERTIFICATE label", pemOf("X509 CERTIFICATE", f.leaf.Raw), []string{"pem"}, "pem", leafOnly},
		{"DER one", f.leaf.Raw, []string{"der"}, "der", leafOnly},
		{"DER back to back", concat, []string{"der"}, "der", all},
		{"base64 one line", []byte(b64), []string{"base64"}, "base64", leafOnly},
		{"base64 CRLF wrapped", []byte(wrapped.String()), []string{"base64"}, "base64", leafOnly},
		{"PKCS7 DER", p7, []string{"der", "pkcs7"}, "pkcs7", all},
		{"PKCS7 BER", toIndefinite(t, p7), []string{"der", "pkcs7"}, "pkcs7", all},
		{"PKCS7 PEM", pemOf("PKCS7", p7), []string{"pem", "pkcs7"}, "pkcs7", all},
		{"CMS PEM", pemOf("CMS", p7), []string{"pem", "pkcs7"}, "pkcs7", all},
		{"PKCS7 labelled CERTIFICATE", pemOf("CERTIFICATE", p7), []string{"pem", "pkcs7"}, "pkcs7", all},
		{"PKCS7 base64", []byte(base64.StdEncoding.EncodeToString(p7)), []string{"base64", "pkcs7"}, "pkcs7", all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustRead(t, tc.in, nil)
			if got := subjects(c.Certificates); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("subjects = %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(c.Formats, tc.formats) {
				t.Errorf("Formats = %q, want %q", c.Formats, tc.formats)
			}
			if c.Format() != tc.format {
				t.Errorf("Format() = %q, want %q", c.Format(), tc.format)
			}
			if len(c.CertInfo) != len(c.Certificates) {
				t.Errorf("%d CertInfo for %d certificates", len(c.CertInfo), len(c.Certificates))
			}
		})
	}
}

func TestReadEmptyIndefiniteSet(t *testing.T) {
	// certificates-only PKCS#7 as some Java tools write it: BER with the
	// digestAlgorithms and signerInfos as empty indefinite SETs (31 80 00 00).
	f := newFixture(t)
	body := []byte{0x02, 0x01, 0x01, 0x31, 0x80, 0x00, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0, 0x80}
	body = append(body, f.leaf.Raw...)
	body = append(body, 0x00, 0x00, 0x31, 0x80, 0x00, 0x00)
	in := []byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80}
	in = append(in, body...)
	in = append(in, 0, 0, 0, 0, 0, 0)
	c := mustRead(t, in, nil)
	if got := subjects(c.Certificates); !reflect.DeepEqual(got, []string{"www.example.com"}) {
		t.Fatalf("subjects = %q", got)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "BER") {
		t.Errorf("notes do not mention BER: %q", c.Notes)
	}
}

func TestReadKeysAndPairing(t *testing.T) {
	f := newFixture(t)
	rsaKey := testpki.KeyRSA(t, 2048)
	rsaLeaf, _ := f.inter.Leaf(t, rsaKey.Public(), "rsa.example.com")
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(f.key)
	sec1, _ := x509.MarshalECPrivateKey(f.key.(*ecdsa.PrivateKey))
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))
	ecParams := pemOf("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	// Keys first, certificates in a different order: pairing must follow
	// the public keys.
	var in []byte
	in = append(in, pemOf("RSA PRIVATE KEY", pkcs1)...)
	in = append(in, ecParams...)
	in = append(in, pemOf("EC PRIVATE KEY", sec1)...)
	in = append(in, EncodeCertificatesPEM(f.inter.Cert, f.leaf, rsaLeaf)...)
	c := mustRead(t, in, nil)
	if len(c.Keys) != 2 || len(c.Pairs) != 2 {
		t.Fatalf("%d keys, %d pairs; notes %q", len(c.Keys), len(c.Pairs), c.Notes)
	}
	if c.CertificateFor(c.Keys[0]) != c.Certificates[2] || c.CertificateFor(c.Keys[1]) != c.Certificates[1] {
		t.Errorf("pairing by position instead of public key: %+v", c.Pairs)
	}
	if c.KeyFor(c.Certificates[0]) != nil {
		t.Errorf("the intermediate got a key")
	}
	if c.KeyInfo[0].Encoding != "pkcs1" || c.KeyInfo[1].Encoding != "sec1" {
		t.Errorf("encodings %q %q", c.KeyInfo[0].Encoding, c.KeyInfo[1].Encoding)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "P-256") {
		t.Errorf("EC PARAMETERS not noted: %q", c.Notes)
	}

	// DER keys of each encoding, detected by content.
	for name, der := range map[string][]byte{"pkcs8": pkcs8, "sec1": sec1, "pkcs1": pkcs1} {
		c := mustRead(t, der, nil)
		if len(c.Keys) != 1 || c.KeyInfo[0].Encoding != name {
			t.Errorf("DER %s: keys %d, info %+v", name, len(c.Keys), c.KeyInfo)
		}
	}
	// A PKCS#1 key under the PRIVATE KEY label is still read.
	if c := mustRead(t, pemOf("PRIVATE KEY", pkcs1), nil); len(c.Keys) != 1 {
		t.Errorf("mislabelled key not read")
	}
}

func TestReadCSR(t *testing.T) {
	key := testpki.KeyP256(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "req.example.com"}, DNSNames: []string{"req.example.com"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"PEM":     pemOf("CERTIFICATE REQUEST", der),
		"NEW PEM": pemOf("NEW CERTIFICATE REQUEST", der),
		"DER":     der,
		"base64":  []byte(base64.StdEncoding.EncodeToString(der)),
	} {
		c := mustRead(t, in, nil)
		if len(c.CSRs) != 1 || c.CSRs[0].Subject.CommonName != "req.example.com" {
			t.Errorf("%s: CSRs %v", name, c.CSRs)
		}
	}
}

func TestReadTrustedCertificate(t *testing.T) {
	f := newFixture(t)
	var b cryptobyte.Builder
	b.AddBytes(f.root.Cert.Raw)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier([]int{1, 3, 6, 1, 5, 5, 7, 3, 1})
		})
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte("my root")) })
	})
	c := mustRead(t, pemOf("TRUSTED CERTIFICATE", b.BytesOrPanic()), nil)
	if len(c.Certificates) != 1 || !c.CertInfo[0].Trusted || c.CertInfo[0].FriendlyName != "my root" {
		t.Fatalf("got %d certs, info %+v", len(c.Certificates), c.CertInfo)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "serverAuth") {
		t.Errorf("trust not noted: %q", c.Notes)
	}
}

func TestReadNotesAndDuplicates(t *testing.T) {
	f := newFixture(t)
	var in []byte
	in = append(in, pemOf("CERTIFICATE", f.leaf.Raw)...)
	in = append(in, pemOf("X509 CRL", []byte{0x30, 0x00})...)
	in = append(in, pemOf("CERTIFICATE", f.leaf.Raw)...)
	in = append(in, pemOf("SOMETHING ELSE", []byte{1, 2, 3})...)
	in = append(in, pemOf("PRIVATE KEY", []byte("https://bit.ly/garbage"))...)
	c := mustRead(t, in, nil)
	if len(c.Certificates) != 1 {
		t.Fatalf("%d certificates, want 1 after removing the duplicate", len(c.Certificates))
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"PEM block 3 (CERTIFICATE): duplicate of PEM block 1", "PEM block 2 (X509 CRL) skipped", "PEM block 4 (SOMETHING ELSE) skipped: unknown PEM label", "PEM block 5 (PRIVATE KEY) skipped"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestReadErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		in       []byte
		opts     *ReadOptions
		sentinel error
		contains string
	}{
		{"empty", nil, nil, ErrUnrecognized, "empty"},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00"), nil, ErrUnrecognized, "0x50 0x4b 0x03 0x04: a ZIP archive"},
		{"random", []byte{0x99, 0x01, 0x02, 0x03, 0x04}, nil, ErrUnrecognized, "starts with 0x99 0x01 0x02 0x03"},
		{"html", []byte("<html><body>error</body></html>"), nil, ErrUnrecognized, "web page"},
		{"utf16 binary", []byte{0xff, 0xfe, 0x00, 0x00, 0x01, 0x02}, nil, ErrUnrecognized, "UTF-16"},
		{"plain text", []byte("hello, this is not a certificate\n"), nil, ErrUnrecognized, "plain text without a PEM BEGIN line"},
		{"only CRL", pemOf("X509 CRL", []byte{0x30, 0x00}), nil, ErrEmpty, "X509 CRL"},
		{"truncated DER", f.leaf.Raw[:100], nil, ErrUnrecognized, "does not hold a complete ASN.1 element"},
		{"bad PEM base64", []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), nil, ErrUnrecognized, "no well-formed PEM block"},
		{"too large", bytes.Repeat([]byte("A"), 2000), &ReadOptions{MaxSize: 1000}, ErrLimit, "MaxSize"},
		{"too many blocks", bytes.Repeat(pemOf("CERTIFICATE", f.leaf.Raw), 5), &ReadOptions{MaxPEMBlocks: 4}, ErrLimit, "MaxPEMBlocks"},
		{"too many certs", EncodeCertificatesPEM(f.chain()...), &ReadOptions{MaxCertificates: 2}, ErrLimit, "MaxCertificates"},
		{"too many DER elements", bytes.Repeat([]byte{0x30, 0x00}, 1<<20), nil, ErrLimit, "more than 10000 DER elements"},
		{"many bad PEM blocks", bytes.Repeat([]byte("-----BEGIN X-----\nAAAA\n-----END X-----\n"), 1000), nil, ErrEmpty, "and 995 more"},
		{"enveloped data", []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0xa0, 0x00}, nil, ErrUnsupported, "enveloped data"},
		{"JCEKS", []byte{0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2}, nil, ErrUnsupported, "keytool -importkeystore"},
		{"legacy PEM without password", legacyPEM(t, f.key, "pw"), nil, ErrIncorrectPassword, "no password"},
		{"legacy PEM wrong password", legacyPEM(t, f.key, "pw"), &ReadOptions{Password: "nope"}, ErrIncorrectPassword, "legacy PEM AES-256-CBC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.in, tc.opts)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
			var re *ReadError
			if !errors.As(err, &re) {
				t.Fatalf("err %T is not a *ReadError", err)
			}
			if !strings.Contains(err.Error(), tc.contains) || !strings.HasPrefix(err.Error(), "formats: ") {
				t.Errorf("err = %q, want it to contain %q", err, tc.contains)
			}
			if strings.Contains(err.Error(), "pw") && tc.opts != nil && tc.opts.Password == "pw" {
				t.Errorf("the password leaks into the error: %q", err)
			}
		})
	}
}

func legacyPEM(t *testing.T, key crypto.Signer, password string) []byte {
	t.Helper()
	der, _ := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	//lint:ignore SA1019 writing the legacy format to test reading it.
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte(password), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func TestReadLegacyEncryptedPEM(t *testing.T) {
	f := newFixture(t)
	c := mustRead(t, legacyPEM(t, f.key, "secret"), &ReadOptions{Password: "secret"})
	if len(c.Keys) != 1 || c.KeyInfo[0].Encrypted != "legacy PEM AES-256-CBC" {
		t.Fatalf("keys %d info %+v", len(c.Keys), c.KeyInfo)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "MD5") {
		t.Errorf("weakness not noted: %q", c.Notes)
	}
}

func TestReadEncryptedPKCS8(t *testing.T) {
	f := newFixture(t)
	enc, err := EncodeKeyPEM(f.key, &KeyOptions{Password: "s3cret", Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("not an encrypted PKCS#8 block:\n%s", enc)
	}
	c := mustRead(t, enc, &ReadOptions{Password: "s3cret"})
	if len(c.Keys) != 1 || !strings.Contains(c.KeyInfo[0].Encrypted, "1000 iterations") {
		t.Fatalf("keys %d info %+v", len(c.Keys), c.KeyInfo)
	}
	if _, err := Read(enc, &ReadOptions{Password: "wrong"}); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := Read(enc, nil); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("no password: %v", err)
	}
	if _, err := Read(enc, &ReadOptions{Password: "s3cret", MaxIterations: 999}); !errors.Is(err, ErrLimit) {
		t.Errorf("iteration cap: %v", err)
	}
	// Three keys of 1000 iterations each against a total budget of 2500:
	// the third is refused before its derivation.
	three := bytes.Repeat(enc, 3)
	if _, err := Read(three, &ReadOptions{Password: "s3cret", MaxTotalIterations: 2500}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "PEM block 3") {
		t.Errorf("total iteration budget: %v", err)
	}
	if c, err := Read(three, &ReadOptions{Password: "s3cret", MaxTotalIterations: 3000}); err != nil || len(c.Keys) != 1 {
		t.Errorf("within budget: %v", err)
	}
}

func TestReadBoundsFast(t *testing.T) {
	// 4 MiB of nested indefinite SEQUENCEs: refused by the depth check
	// before any recursive parser runs.
	deep := bytes.Repeat([]byte{0x30, 0x80}, 2<<20)
	for name, in := range map[string][]byte{
		"DER":                  deep,
		"PEM":                  pemOf("PKCS7", deep),
		"PKCS7 in CERTIFICATE": pemOf("CERTIFICATE", append([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}, deep...)),
	} {
		start := time.Now()
		_, err := Read(in, nil)
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%s: err = %v, want ErrLimit", name, err)
		}
		// Generous bound: the issue asks for well under 10 ms.
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

func TestReadRSABound(t *testing.T) {
	// A 9000-bit modulus in PKCS#1 form is refused before parsing.
	n := new(big.Int).Lsh(big.NewInt(1), 8999)
	n.Add(n, big.NewInt(1))
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1BigInt(n)
		b.AddASN1Int64(65537)
	})
	_, err := Read(pemOf("RSA PRIVATE KEY", b.BytesOrPanic()), nil)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "9000-bit") {
		t.Errorf("private key: %v", err)
	}
	// A certificate for a 9000-bit public key (signed by a P-256 CA).
	f := newFixture(t)
	big := &rsa.PublicKey{N: n, E: 65537}
	cert := testpki.Sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "huge"}}, big, f.inter, nil)
	if _, err := Read(cert.Raw, nil); !errors.Is(err, ErrLimit) {
		t.Errorf("certificate: %v", err)
	}
	if c, err := Read(cert.Raw, &ReadOptions{MaxRSABits: 9000}); err != nil || len(c.Certificates) != 1 {
		t.Errorf("raised bound: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "chain.crt")
	if err := os.WriteFile(name, f.leaf.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadFile(name, nil)
	if err != nil || len(c.Certificates) != 1 {
		t.Fatalf("ReadFile: %v", err)
	}
	if _, err := ReadFile(name, &ReadOptions{MaxSize: 10}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), name) {
		t.Errorf("size bound: %v", err)
	}
	bad := filepath.Join(dir, "cert.pfx")
	os.WriteFile(bad, []byte("not a certificate at all!"), 0o644)
	_, err = ReadFile(bad, nil)
	var re *ReadError
	if !errors.As(err, &re) || re.File != bad || !strings.Contains(err.Error(), "formats: "+bad+": ") {
		t.Errorf("error does not name the file: %v", err)
	}
}

func TestReadEd25519AndECDHKeys(t *testing.T) {
	// An Ed25519 PKCS#8 key is a signer; sanity-check the P-384 path too.
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k384)
	c := mustRead(t, pemOf("PRIVATE KEY", der), nil)
	if len(c.Keys) != 1 {
		t.Fatal("P-384 key not read")
	}
}

func TestReadUTF16PEM(t *testing.T) {
	f := newFixture(t)
	text := EncodeCertificatesPEM(f.leaf)
	u := []byte{0xff, 0xfe}
	for _, c := range string(text) {
		u = append(u, byte(c), 0)
	}
	c := mustRead(t, u, nil)
	if len(c.Certificates) != 1 || !strings.Contains(strings.Join(c.Notes, "\n"), "UTF-16") {
		t.Fatalf("certs %d notes %q", len(c.Certificates), c.Notes)
	}
}

func TestReadBinaryWithPEMInside(t *testing.T) {
	// A signed message whose content is PEM text: the file is PKCS#7, and
	// the certificate inside the content must not be taken for its own.
	f := newFixture(t)
	content := EncodeCertificatesPEM(f.root.Cert)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidData)
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(content)
					})
				})
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddBytes(f.leaf.Raw)
				})
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
			})
		})
	})
	c := mustRead(t, b.BytesOrPanic(), nil)
	if got := subjects(c.Certificates); !reflect.DeepEqual(got, []string{"www.example.com"}) || c.Format() != "pkcs7" {
		t.Errorf("format %q certificates %q", c.Format(), got)
	}
}

func TestReadUnreducedRSAKey(t *testing.T) {
	// d >= n, as some old tools wrote it: OpenSSL reads it, crypto/x509
	// does not; the key is rebuilt with d reduced.
	k := testpki.KeyRSA(t, 2048).(*rsa.PrivateKey)
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(k.Primes[0], one), new(big.Int).Sub(k.Primes[1], one))
	der, err := asn1.Marshal(pkcs1Key{
		N: k.N, E: big.NewInt(int64(k.E)), D: new(big.Int).Add(k.D, phi), P: k.Primes[0], Q: k.Primes[1],
		Dp: k.Precomputed.Dp, Dq: k.Precomputed.Dq, Qinv: k.Precomputed.Qinv,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		t.Skip("crypto/x509 now reads unreduced keys")
	}
	c := mustRead(t, pemOf("RSA PRIVATE KEY", der), nil)
	if len(c.Keys) != 1 || !c.Keys[0].(*rsa.PrivateKey).Equal(k) {
		t.Fatalf("keys %d", len(c.Keys))
	}
	sig, err := c.Keys[0].Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
	if err != nil || rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, make([]byte, 32), sig) != nil {
		t.Errorf("the rebuilt key does not sign: %v", err)
	}
}

// TestPEMDecoderKeysApart: certificates decoded by the PEM fast path share
// buffers, private keys never do (their bytes must not live as long as a
// certificate read beside them).
func TestPEMDecoderKeysApart(t *testing.T) {
	root := testpki.Root(t, "Slab Root")
	leaf, key := root.Leaf(t, nil, "slab.example.com")
	keyPEM, err := EncodeKeyPEM(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Join([][]byte{EncodeCertificatesPEM(leaf), keyPEM, EncodeCertificatesPEM(root.Cert)}, nil)
	var d pemDecoder
	var blocks [][]byte
	for rest := data; ; {
		var b *pem.Block
		b, rest = d.next(rest)
		if b == nil {
			break
		}
		if b != &d.block {
			t.Fatalf("block %q not on the fast path", b.Type)
		}
		blocks = append(blocks, b.Bytes)
	}
	if len(blocks) != 3 || !bytes.Equal(blocks[0], leaf.Raw) || !bytes.Equal(blocks[2], root.Cert.Raw) {
		t.Fatalf("%d blocks", len(blocks))
	}
	addr := func(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
	// The two certificates follow each other in one slab, each with its
	// capacity capped; the key lies outside it.
	if addr(blocks[2]) != addr(blocks[0])+uintptr(len(blocks[0])) {
		t.Error("certificates not decoded into one shared buffer")
	}
	if cap(blocks[0]) != len(blocks[0]) || cap(blocks[2]) != len(blocks[2]) {
		t.Error("block capacity not capped")
	}
	if k := addr(blocks[1]); k >= addr(blocks[0]) && k < addr(blocks[2])+uintptr(len(blocks[2])) {
		t.Error("private key decoded into the certificates' buffer")
	}
}
