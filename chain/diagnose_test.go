package chain_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

func kinds(d *chain.Diagnosis) []string {
	var out []string
	for _, p := range d.Problems {
		out = append(out, string(p.Kind))
	}
	return out
}

func TestDiagnose(t *testing.T) {
	p := newPKI(t)
	unrelated := testpki.Root(t, "Unrelated")
	roots := chain.NewRoots(p.root.Cert)
	pool := chain.NewPool(nil)
	pool.Add(p.i1.Cert, p.i2.Cert)
	host := "www.example.com"
	for _, tc := range []struct {
		name   string
		served []*x509.Certificate
		host   string
		at     time.Time
		want   []string
	}{
		{"good", []*x509.Certificate{p.leaf, p.i2.Cert, p.i1.Cert}, host, testpki.Now, nil},
		{"leaf only", []*x509.Certificate{p.leaf}, host, testpki.Now, []string{"missing-intermediate", "missing-intermediate"}},
		{"one missing", []*x509.Certificate{p.leaf, p.i2.Cert}, host, testpki.Now, []string{"missing-intermediate"}},
		{"wrong order, root and noise", []*x509.Certificate{p.leaf, p.i1.Cert, p.root.Cert, p.i2.Cert, unrelated.Cert, p.i1.Cert}, host, testpki.Now,
			[]string{"root-sent", "extra-certificate", "duplicate", "wrong-order"}},
		{"host mismatch", []*x509.Certificate{p.leaf, p.i2.Cert, p.i1.Cert}, "other.example.org", testpki.Now, []string{"host-mismatch"}},
		{"expires soon", []*x509.Certificate{p.leaf, p.i2.Cert, p.i1.Cert}, host, testpki.NotAfter.Add(-10 * 24 * time.Hour),
			[]string{"expires-soon", "expires-soon", "expires-soon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := chain.Diagnose(context.Background(), tc.served, tc.host, &chain.Options{Roots: roots, Pool: pool, CurrentTime: tc.at})
			if got := kinds(d); !slices.Equal(got, tc.want) {
				t.Fatalf("problems %v, want %v\n%s", got, tc.want, d)
			}
			if got := names(d.Chain); !slices.Equal(got, []string{host, "I2", "I1"}) {
				t.Fatalf("corrected chain %v", got)
			}
			if d.OK() != (len(tc.want) == 0) {
				t.Fatal("OK disagrees with Problems")
			}
		})
	}
}

func TestDiagnoseExpiredAndNoServerAuth(t *testing.T) {
	p := newPKI(t)
	tm := &x509.Certificate{
		Subject: pkix.Name{CommonName: "client"}, DNSNames: []string{"client.example"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotAfter:    time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	k := testpki.KeyP256(t)
	leaf := testpki.Sign(t, tm, k.Public(), p.i2, nil)
	d := chain.Diagnose(context.Background(), []*x509.Certificate{leaf, p.i2.Cert, p.i1.Cert}, "client.example", &chain.Options{
		Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now,
	})
	if got, want := kinds(d), []string{"expired", "missing-server-auth", "untrusted"}; !slices.Equal(got, want) {
		t.Fatalf("problems %v, want %v\n%s", got, want, d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Kind    string `json:"kind"`
			Subject string `json:"subject"`
		} `json:"problems"`
		Served []struct {
			SHA256 string `json:"sha256"`
		} `json:"served"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.OK || len(v.Problems) != 3 || v.Problems[0].Subject != "CN=client" || len(v.Served) != 3 || len(v.Served[0].SHA256) != 64 || v.Error == "" {
		t.Fatalf("JSON %s", b)
	}
}

func TestDiagnoseWeakSignatureCFSSL(t *testing.T) {
	dir := testtool.Corpus(t, "cfssl/bundler/testdata")
	served := readCerts(t, filepath.Join(dir, "partial-bundle.pem"))
	served = append(served, one(t, filepath.Join(dir, "inter-L1.pem")))
	d := chain.Diagnose(context.Background(), served, "", &chain.Options{
		Roots: chain.NewRoots(one(t, filepath.Join(dir, "ca.pem"))), CurrentTime: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	if !d.Has(chain.ProblemWeakSignature) || !d.Has(chain.ProblemUntrusted) {
		t.Fatalf("%s", d)
	}
	if !strings.Contains(d.String(), "SHA1-RSA") {
		t.Fatalf("%s", d)
	}
}

func TestDiagnoseNothingServed(t *testing.T) {
	d := chain.Diagnose(context.Background(), nil, "x", nil)
	if !d.Has(chain.ProblemNoCertificates) || d.Err == nil {
		t.Fatalf("%s", d)
	}
}

// TestDiagnoseNoPath: the server sends the leaf, the wrong intermediate
// level and the root, and nothing completes the chain.
func TestDiagnoseNoPath(t *testing.T) {
	p := newPKI(t)
	d := chain.Diagnose(context.Background(), []*x509.Certificate{p.leaf, p.i1.Cert, p.root.Cert}, "www.example.com",
		&chain.Options{Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now})
	if got, want := kinds(d), []string{"untrusted", "missing-intermediate", "root-sent"}; !slices.Equal(got, want) {
		t.Fatalf("problems %v, want %v\n%s", got, want, d)
	}
	if !strings.Contains(d.Problems[1].Detail, `"CN=I2,O=certwright test"`) {
		t.Fatalf("%s", d.Problems[1].Detail)
	}
}
