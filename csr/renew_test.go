package csr

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"slices"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

func TestFromCertificate(t *testing.T) {
	ca := testpki.Root(t, "Test Root")
	old := testKey(t, P384)
	u, _ := url.Parse("spiffe://example.com/web")
	cert := testpki.Sign(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "www.example.com", Organization: []string{"Example Ltd"},
			OrganizationalUnit: []string{"Web"}, Locality: []string{"Leeds"}, Province: []string{"West Yorkshire"},
			Country: []string{"GB"}, SerialNumber: "1234"},
		DNSNames:       []string{"www.example.com", "example.com"},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.1")},
		EmailAddresses: []string{"ops@example.com"},
		URIs:           []*url.URL{u},
	}, old.Public(), ca, nil)

	r := FromCertificate(cert)
	want := Request{CN: "www.example.com", O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB"}
	if r.CN != want.CN || r.O != want.O || r.OU != want.OU || r.L != want.L || r.ST != want.ST || r.C != want.C {
		t.Errorf("subject fields %+v", r)
	}
	if !slices.Equal(r.SANs(), []string{"DNS:www.example.com", "DNS:example.com", "IP Address:192.0.2.1", "email:ops@example.com", "URI:spiffe://example.com/web"}) {
		t.Errorf("SANs %q", r.SANs())
	}
	r.URIs[0].Path = "/changed"
	if cert.URIs[0].Path != "/web" {
		t.Error("FromCertificate shares the certificate's URLs")
	}
	r.URIs[0].Path = "/web"
	if fs := Check(r, nil); len(fs) != 0 {
		t.Errorf("findings %v", fs)
	}

	if got := KeyTypeFor(cert); got != P384 {
		t.Errorf("KeyTypeFor = %q, want p384", got)
	}
	weakCert := testpki.Sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "old.example.com"}}, testKey(t, RSA2048).Public(), ca, nil)
	weakCert.PublicKey = mustWeakPub(t)
	if got := KeyTypeFor(weakCert); got != DefaultKeyType {
		t.Errorf("KeyTypeFor(rsa1024 certificate) = %q, want the default", got)
	}

	// Renewal with the existing key and with a new key keeps subject and SANs.
	for name, key := range map[string]crypto.Signer{"same key": old, "new key": testKey(t, KeyTypeFor(cert))} {
		der, _, err := Create(nil, r, key, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject.String() != "CN=www.example.com,OU=Web,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB" {
			t.Errorf("%s: subject %s", name, c.Subject)
		}
		if got := FromCertificateRequest(c).SANs(); !slices.Equal(got, r.SANs()) {
			t.Errorf("%s: SANs %q", name, got)
		}
		if !c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Errorf("%s: the request carries another key", name)
		}
	}
	if got := FromCertificate(nil); got == nil || len(got.SANs()) != 0 {
		t.Errorf("FromCertificate(nil) = %+v", got)
	}
}

func mustWeakPub(t *testing.T) crypto.PublicKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}
