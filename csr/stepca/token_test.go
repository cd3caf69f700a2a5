package stepca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/internal/testpki"
)

// decodeToken splits a compact JWS and verifies its signature with the
// standard library, returning header and claims.
func decodeToken(t *testing.T, tok string, pub crypto.PublicKey) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var header, claims map[string]any
	for i, out := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	input := []byte(parts[0] + "." + parts[1])
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			t.Fatalf("ECDSA signature of %d bytes, want %d", len(sig), 2*size)
		}
		h := map[int]crypto.Hash{32: crypto.SHA256, 48: crypto.SHA384, 66: crypto.SHA512}[size].New()
		h.Write(input)
		ok = ecdsa.Verify(k, h.Sum(nil), new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
	case *rsa.PublicKey:
		d := sha256.Sum256(input)
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, input, sig)
	}
	if !ok {
		t.Fatal("signature does not verify")
	}
	return header, claims
}

func TestNewTokenAlgorithms(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		key crypto.Signer
		alg string
	}{{p256, "ES256"}, {p384, "ES384"}, {p521, "ES512"}, {rsaKey, "RS256"}, {edKey, "EdDSA"}} {
		t.Run(tc.alg, func(t *testing.T) {
			// Many tokens, so that short r or s values (leading zero
			// bytes) are padded too.
			n := 1
			if tc.alg[0] == 'E' && tc.alg != "EdDSA" {
				n = 300
			}
			for i := 0; i < n; i++ {
				tok, err := NewToken(&Token{Provisioner: "ops", Key: tc.key, CA: "https://ca.example.com:9000/", Subject: "a.example.com", Now: testpki.Now})
				if err != nil {
					t.Fatal(err)
				}
				header, _ := decodeToken(t, tok, tc.key.Public())
				kid, _ := Thumbprint(tc.key.Public())
				if header["alg"] != tc.alg || header["typ"] != "JWT" || header["kid"] != kid {
					t.Fatalf("header %v", header)
				}
			}
		})
	}
}

func TestNewTokenClaims(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	reqKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "www.example.com", Organization: []string{"Example"}},
		DNSNames:       []string{"www.example.com", "example.com"},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.1")},
		EmailAddresses: []string{"ops@example.com"},
	}, reqKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewToken(&Token{Provisioner: "ops@example.com", KeyID: "k1", Key: key, CA: "https://ca.example.com:9000", CSR: der, Now: testpki.Now, Validity: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	header, claims := decodeToken(t, tok, key.Public())
	if header["kid"] != "k1" {
		t.Errorf("kid %v", header["kid"])
	}
	sum := sha256.Sum256(der)
	now := float64(testpki.Now.Unix())
	want := map[string]any{
		"iss":  "ops@example.com",
		"sub":  "www.example.com",
		"aud":  []any{"https://ca.example.com:9000/1.0/sign"},
		"sans": []any{"www.example.com", "example.com", "192.0.2.1", "ops@example.com"},
		"iat":  now, "nbf": now, "exp": now + 120,
		"cnf": map[string]any{"x5rt#S256": base64.RawURLEncoding.EncodeToString(sum[:])},
	}
	jti, _ := claims["jti"].(string)
	delete(claims, "jti")
	if len(jti) != 64 {
		t.Errorf("jti %q", jti)
	}
	if !reflect.DeepEqual(claims, want) {
		t.Errorf("claims\n%v\nwant\n%v", claims, want)
	}

	// Explicit subject and SANs win over the request's; no request, no cnf.
	tok, err = NewToken(&Token{Provisioner: "p", Key: key, CA: "https://ca", SANs: []string{"x.example.com"}, Now: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, claims = decodeToken(t, tok, key.Public())
	if claims["sub"] != "x.example.com" || claims["cnf"] != nil || claims["exp"] != now+300 {
		t.Errorf("claims %v", claims)
	}
}

func TestNewTokenErrors(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	ok := Token{Provisioner: "p", Key: key, CA: "https://ca.example.com", Subject: "a"}
	for _, tc := range []struct {
		name   string
		modify func(*Token)
		want   string
		is     error
	}{
		{"no provisioner", func(t *Token) { t.Provisioner = "" }, "provisioner's name", nil},
		{"no key", func(t *Token) { t.Key = nil }, "private key", nil},
		{"no CA", func(t *Token) { t.CA = "" }, "no CA URL", nil},
		{"http CA", func(t *Token) { t.CA = "http://ca.example.com" }, "not an https:// address", nil},
		{"CA with query", func(t *Token) { t.CA = "https://ca.example.com/?x=1" }, "query", nil},
		{"no subject", func(t *Token) { t.Subject = "" }, "needs a subject", nil},
		{"long validity", func(t *Token) { t.Validity = 48 * time.Hour }, "outside", nil},
		{"negative validity", func(t *Token) { t.Validity = -time.Second }, "outside", nil},
		{"bad CSR", func(t *Token) { t.CSR = []byte("nope") }, "not a DER request", nil},
		{"small RSA", func(t *Token) { t.Key = small }, "1024 bits", ErrUnsupportedKey},
		{"P-224", func(t *Token) { t.Key = p224 }, "P-224", ErrUnsupportedKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := ok
			tc.modify(&tok)
			_, err := NewToken(&tok)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "stepca: ") {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("%v is not %v", err, tc.is)
			}
		})
	}
	if _, err := NewToken(nil); err == nil {
		t.Fatal("nil token")
	}
}

// TestThumbprintRFC7638 checks the thumbprint against the example of RFC
// 7638 section 3.1.
func TestThumbprintRFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", got)
	}
	if _, err := Thumbprint("not a key"); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatal(err)
	}
}
