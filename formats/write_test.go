package formats

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certwright/certwright/internal/testpki"
)

func TestPKCS12RoundTrip(t *testing.T) {
	f := newFixture(t)
	chain := []*x509.Certificate{f.inter.Cert, f.root.Cert}
	for _, p := range []*PKCS12Profile{Modern, Legacy3DES, LegacyRC2} {
		t.Run(p.Name(), func(t *testing.T) {
			pfx, err := EncodePKCS12(f.key, f.leaf, chain, "pässword", &PKCS12Options{Profile: p, FriendlyName: "www key"})
			if err != nil {
				t.Fatal(err)
			}
			c := mustRead(t, pfx, &ReadOptions{Password: "pässword"})
			if got := subjects(c.Certificates); !reflect.DeepEqual(got, []string{"www.example.com", "Test Intermediate", "Test Root"}) {
				t.Errorf("subjects %q", got)
			}
			if len(c.Pairs) != 1 || c.Pairs[0].Certificate != c.Certificates[0] {
				t.Errorf("pairs %+v", c.Pairs)
			}
			if c.KeyInfo[0].FriendlyName != "www key" {
				t.Errorf("key friendly name %q", c.KeyInfo[0].FriendlyName)
			}
			// The leaf's bag is named too, except inside a 40-bit RC2
			// safe, which is not decrypted and encrypted again.
			wantCertName := "www key"
			if p == LegacyRC2 {
				wantCertName = ""
			}
			if c.CertInfo[0].FriendlyName != wantCertName || c.CertInfo[1].FriendlyName != "" {
				t.Errorf("certificate friendly names %q, %q; want %q, none", c.CertInfo[0].FriendlyName, c.CertInfo[1].FriendlyName, wantCertName)
			}
			if c.Format() != "pkcs12" {
				t.Errorf("format %q", c.Format())
			}
			if _, err := Read(pfx, &ReadOptions{Password: "wrong"}); !errors.Is(err, ErrIncorrectPassword) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

func TestPKCS12Passwords(t *testing.T) {
	f := newFixture(t)
	if _, err := EncodePKCS12(f.key, f.leaf, nil, "", nil); err == nil || !strings.Contains(err.Error(), "password is required") {
		t.Errorf("empty password accepted: %v", err)
	}
	if _, err := EncodePKCS12(f.key, f.leaf, nil, "x", &PKCS12Options{Profile: Passwordless}); err == nil {
		t.Error("Passwordless accepted a password")
	}
	pfx, err := EncodePKCS12(f.key, f.leaf, nil, "", &PKCS12Options{Profile: Passwordless, FriendlyName: "open"})
	if err != nil {
		t.Fatal(err)
	}
	c := mustRead(t, pfx, nil)
	if len(c.Pairs) != 1 || c.KeyInfo[0].FriendlyName != "open" {
		t.Errorf("passwordless: pairs %d info %+v", len(c.Pairs), c.KeyInfo)
	}
	other := testpki.KeyP256(t)
	if _, err := EncodePKCS12(other, f.leaf, nil, "x", nil); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched key accepted: %v", err)
	}
}

func TestPKCS12TrustStore(t *testing.T) {
	f := newFixture(t)
	pfx, err := EncodePKCS12TrustStore([]*x509.Certificate{f.root.Cert, f.inter.Cert}, "changeit", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := mustRead(t, pfx, &ReadOptions{Password: "changeit"})
	if len(c.Certificates) != 2 || !c.CertInfo[0].Trusted || !c.CertInfo[1].Trusted {
		t.Errorf("trust store: %d certs, info %+v", len(c.Certificates), c.CertInfo)
	}
}

// setMACIterations rewrites the iteration count of a PFX's MacData.
func setMACIterations(t *testing.T, pfx []byte, iterations int64) []byte {
	t.Helper()
	s := cryptobyte.String(pfx)
	var top, version, authSafe, mac, digestInfo, salt cryptobyte.String
	if !s.ReadASN1(&top, cbasn1.SEQUENCE) || !top.ReadASN1Element(&version, cbasn1.INTEGER) ||
		!top.ReadASN1Element(&authSafe, cbasn1.SEQUENCE) || !top.ReadASN1(&mac, cbasn1.SEQUENCE) ||
		!mac.ReadASN1Element(&digestInfo, cbasn1.SEQUENCE) || !mac.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		t.Fatal("unexpected PFX")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(version)
		b.AddBytes(authSafe)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(digestInfo)
			b.AddASN1OctetString(salt)
			b.AddASN1Int64(iterations)
		})
	})
	return b.BytesOrPanic()
}

func TestPKCS12IterationBound(t *testing.T) {
	f := newFixture(t)
	pfx, err := EncodePKCS12(f.key, f.leaf, nil, "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	hostile := setMACIterations(t, pfx, 1_000_000_000)
	start := time.Now()
	_, err = Read(hostile, &ReadOptions{Password: "pw"})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "1000000000") {
		t.Fatalf("err = %v, want ErrLimit naming the count", err)
	}
	// Generous bound; the issue asks for well under 10 ms, and 10^9
	// iterations would take minutes.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	// Corrupt data is not reported as a wrong password.
	if _, err := Read(pfx[:len(pfx)-40], &ReadOptions{Password: "pw"}); err == nil || errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("truncated PKCS#12: %v", err)
	}
	// A lower cap set by the caller applies too.
	if _, err := Read(pfx, &ReadOptions{Password: "pw", MaxIterations: 1000}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxIterations 1000 on a 2048-iteration file: %v", err)
	}
}

func TestEncodeKeyPEM(t *testing.T) {
	f := newFixture(t)
	rsaKey := testpki.KeyRSA(t, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name  string
		opts  *KeyOptions
		label string
		key   any
	}{
		{"ec pkcs8", nil, "PRIVATE KEY", f.key},
		{"ec sec1", &KeyOptions{Encoding: Traditional}, "EC PRIVATE KEY", f.key},
		{"rsa pkcs1", &KeyOptions{Encoding: Traditional}, "RSA PRIVATE KEY", rsaKey},
		{"ed25519 pkcs8", nil, "PRIVATE KEY", edKey},
		{"ec encrypted", &KeyOptions{Password: "pw", Iterations: 1000}, "ENCRYPTED PRIVATE KEY", f.key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EncodeKeyPEM(asSigner(tc.key), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(out)
			if block == nil || block.Type != tc.label {
				t.Fatalf("label = %v, want %q", block, tc.label)
			}
			c := mustRead(t, out, &ReadOptions{Password: "pw"})
			if len(c.Keys) != 1 {
				t.Fatal("key not read back")
			}
			want, _ := x509.MarshalPKIXPublicKey(asSigner(tc.key).Public())
			got, _ := x509.MarshalPKIXPublicKey(c.Keys[0].Public())
			if !bytes.Equal(want, got) {
				t.Error("a different key came back")
			}
		})
	}
	if _, err := EncodeKeyPEM(edKey, &KeyOptions{Encoding: Traditional}); err == nil {
		t.Error("Ed25519 has no traditional encoding")
	}
	if _, err := EncodeKeyPEM(f.key, &KeyOptions{Encoding: Traditional, Password: "x"}); err == nil {
		t.Error("legacy encrypted PEM must not be written")
	}
}

func asSigner(k any) crypto.Signer { return k.(crypto.Signer) }

func TestPKCS7RoundTrip(t *testing.T) {
	f := newFixture(t)
	// Reverse order on purpose: the writer keeps the caller's order.
	certs := []*x509.Certificate{f.root.Cert, f.leaf, f.inter.Cert}
	p7pem, err := EncodePKCS7PEM(certs)
	if err != nil {
		t.Fatal(err)
	}
	c := mustRead(t, p7pem, nil)
	if got := subjects(c.Certificates); !reflect.DeepEqual(got, subjects(certs)) {
		t.Errorf("order %q, want %q", got, subjects(certs))
	}
	if _, err := EncodePKCS7(nil); err == nil {
		t.Error("empty PKCS#7 accepted")
	}
}

func TestReadJKS(t *testing.T) {
	f := newFixture(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(f.key)
	ks := keystore.New()
	now := testpki.Now
	err := ks.SetPrivateKeyEntry("server", keystore.PrivateKeyEntry{
		CreationTime: now, PrivateKey: pkcs8,
		CertificateChain: []keystore.Certificate{{Type: "X509", Content: f.leaf.Raw}, {Type: "X509", Content: f.inter.Cert.Raw}},
	}, []byte("keypass"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.SetTrustedCertificateEntry("root", keystore.TrustedCertificateEntry{CreationTime: now, Certificate: keystore.Certificate{Type: "X509", Content: f.root.Cert.Raw}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, []byte("storepass")); err != nil {
		t.Fatal(err)
	}
	jks := buf.Bytes()
	c := mustRead(t, jks, &ReadOptions{Password: "storepass", KeyPassword: "keypass"})
	if len(c.Keys) != 1 || len(c.Certificates) != 3 || len(c.Pairs) != 1 {
		t.Fatalf("keys %d certs %d pairs %d", len(c.Keys), len(c.Certificates), len(c.Pairs))
	}
	if c.Format() != "jks" || c.KeyInfo[0].FriendlyName != "server" {
		t.Errorf("format %q info %+v", c.Format(), c.KeyInfo[0])
	}
	var trusted []string
	for i, ci := range c.CertInfo {
		if ci.Trusted {
			trusted = append(trusted, c.Certificates[i].Subject.CommonName)
		}
	}
	if !reflect.DeepEqual(trusted, []string{"Test Root"}) {
		t.Errorf("trusted %q", trusted)
	}
	if _, err := Read(jks, &ReadOptions{Password: "wrong"}); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("wrong store password: %v", err)
	}
	if _, err := Read(jks, &ReadOptions{Password: "storepass"}); !errors.Is(err, ErrIncorrectPassword) || !strings.Contains(err.Error(), "KeyPassword") {
		t.Errorf("wrong key password: %v", err)
	}
	// A header claiming a 4 GiB certificate is refused before allocation.
	lie := append([]byte{}, jks[:12]...)
	lie = append(lie, 0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'X', '.', '5', '0', '9', 0xff, 0xff, 0xff, 0xff)
	if _, err := Read(lie, &ReadOptions{Password: "storepass"}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("lying length: %v", err)
	}
}
