package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/certwright/certwright/examples/internal/stepca"
)

func TestStepCAKeepsSubject(t *testing.T) {
	start := time.Now()
	ca, err := stepca.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("authority started in %v", time.Since(start))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "www.example.com", Organization: []string{"Example Ltd"}, OrganizationalUnit: []string{"Web"}, Locality: []string{"Springfield"}, Province: []string{"Oregon"}, Country: []string{"US"}},
		DNSNames: []string{"www.example.com", "example.com"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		start = time.Now()
		leaf, inters, root, err := ca.Sign(context.Background(), der)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sign %d: %v", i, time.Since(start))
		if i == 0 {
			t.Logf("leaf %s issuer %s, %d intermediates, root %s, SANs %v", leaf.Subject, leaf.Issuer, len(inters), root.Subject, leaf.DNSNames)
		}
	}
}
