package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/certwright/certwright/examples/internal/stepca"
)

// TestStepCAKeepsSubject checks the harness: step-ca's authorisation path
// accepts the request, and the template keeps the whole subject and every
// SAN (step-ca's default template keeps only the CN). Start and sign
// latencies are logged for the report; they are not asserted.
func TestStepCAKeepsSubject(t *testing.T) {
	start := time.Now()
	ca, err := stepca.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("authority started in %v", time.Since(start))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	subject := pkix.Name{CommonName: "www.example.com", Organization: []string{"Example Ltd"}, OrganizationalUnit: []string{"Web"}, Locality: []string{"Springfield"}, Province: []string{"Oregon"}, Country: []string{"US"}}
	ip := net.ParseIP("192.0.2.10").To4()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     subject,
		DNSNames:    []string{"www.example.com", "example.com"},
		IPAddresses: []net.IP{ip},
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
		if leaf.Subject.String() != "CN=www.example.com,OU=Web,O=Example Ltd,L=Springfield,ST=Oregon,C=US" {
			t.Errorf("subject %q", leaf.Subject)
		}
		if !reflect.DeepEqual(leaf.DNSNames, []string{"www.example.com", "example.com"}) || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(ip) {
			t.Errorf("SANs %v %v", leaf.DNSNames, leaf.IPAddresses)
		}
		if len(inters) != 1 || !inters[0].Equal(ca.Intermediate) || !root.Equal(ca.Root) {
			t.Fatalf("chain: %d intermediates", len(inters))
		}
		if err := leaf.CheckSignatureFrom(ca.Intermediate); err != nil {
			t.Fatal(err)
		}
		if len(leaf.ExtKeyUsage) == 0 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
			t.Errorf("EKU %v", leaf.ExtKeyUsage)
		}
	}
}
