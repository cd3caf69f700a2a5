package chain_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/smallstep/pkcs7"
)

func pemOf(cs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range cs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// aiaServer serves documents by path on loopback and counts requests.
func aiaServer(t *testing.T, docs map[string][]byte) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.HasPrefix(r.URL.Path, "/redirect/") {
			n := strings.TrimPrefix(r.URL.Path, "/redirect/")
			if n == "0" {
				w.Write(docs["/i1.der"])
				return
			}
			http.Redirect(w, r, "/redirect/"+string(rune(n[0]-1)), http.StatusFound)
			return
		}
		if r.URL.Path == "/huge" {
			w.Write(make([]byte, 2<<20))
			return
		}
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(d)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, &hits
}

func TestHTTPFetcher(t *testing.T) {
	p := newPKI(t)
	p7, err := pkcs7.DegenerateCertificate(p.i1.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{"/i1.der": p.i1.Cert.Raw, "/i1.pem": pemOf(p.i1.Cert), "/i1.p7c": p7}
	s, hits := aiaServer(t, docs)
	ctx := context.Background()
	f := &chain.HTTPFetcher{AllowPrivate: true}
	for _, path := range []string{"/i1.der", "/i1.pem", "/i1.p7c"} {
		body, err := f.Fetch(ctx, s.URL+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cs, err := chain.ParseIssuers(body)
		if err != nil || len(cs) != 1 || !sameRaw(cs[0], p.i1.Cert) {
			t.Fatalf("%s: %v %v", path, cs, err)
		}
	}
	before := hits.Load()
	if _, err := f.Fetch(ctx, s.URL+"/i1.der"); err != nil || hits.Load() != before {
		t.Fatalf("cached fetch hit the server again (err %v)", err)
	}
	if _, err := f.Fetch(ctx, s.URL+"/redirect/3"); err != nil {
		t.Fatalf("3 redirects: %v", err)
	}
	if _, err := f.Fetch(ctx, s.URL+"/redirect/4"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("4 redirects: %v", err)
	}
	if _, err := f.Fetch(ctx, s.URL+"/huge"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge: %v", err)
	}
	if _, err := f.Fetch(ctx, s.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing: %v", err)
	}
}

func TestHTTPFetcherRefusals(t *testing.T) {
	s, hits := aiaServer(t, map[string][]byte{"/x": []byte("x")})
	ctx := context.Background()
	f := &chain.HTTPFetcher{} // private addresses refused
	for _, u := range []string{
		s.URL + "/x", // 127.0.0.1
		strings.Replace(s.URL, "127.0.0.1", "localhost", 1) + "/x", // a name that resolves to loopback
		"http://[::1]:1/x",
		"http://10.1.2.3/x",
		"http://169.254.169.254/latest/meta-data/",
		"http://192.168.0.1/x",
		"ldap://ldap.example.com/cn=CA?cACertificate",
		"file:///etc/passwd",
		"http:///nohost",
	} {
		if _, err := f.Fetch(ctx, u); !errors.Is(err, chain.ErrFetchRefused) {
			t.Errorf("%s: err %v, want ErrFetchRefused", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the server was reached %d times", hits.Load())
	}
	// A redirect from an allowed server to another scheme is refused too.
	redir := httptest.NewServer(http.RedirectHandler("ftp://example.com/ca.der", http.StatusFound))
	defer redir.Close()
	if _, err := (&chain.HTTPFetcher{AllowPrivate: true}).Fetch(ctx, redir.URL); !errors.Is(err, chain.ErrFetchRefused) {
		t.Fatalf("redirect to ftp: %v", err)
	}
}

// TestBuildAIA completes a leaf-only input from AIA caIssuers URLs: the
// leaf points at I2 (DER), I2 at I1 (PKCS#7), with a dead URL tried first.
func TestBuildAIA(t *testing.T) {
	root := testpki.Root(t, "Root")
	var s *httptest.Server
	docs := map[string][]byte{}
	s, _ = aiaServer(t, docs)
	i1 := root.Intermediate(t, "I1")
	tm := caTmpl("I2")
	tm.IssuingCertificateURL = []string{s.URL + "/gone.der", s.URL + "/i1.p7c"}
	k2 := testpki.KeyP256(t)
	i2 := &testpki.Issuer{Cert: testpki.Sign(t, tm, k2.Public(), i1, nil), Key: k2}
	lt := &x509.Certificate{
		DNSNames: []string{"aia.example"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IssuingCertificateURL: []string{s.URL + "/i2.der"},
	}
	lt.Subject.CommonName = "aia.example"
	leaf := testpki.Sign(t, lt, testpki.KeyP256(t).Public(), i2, nil)
	p7, _ := pkcs7.DegenerateCertificate(i1.Cert.Raw)
	docs["/i2.der"] = i2.Cert.Raw
	docs["/i1.p7c"] = p7

	o := chain.Options{Roots: chain.NewRoots(root.Cert), CurrentTime: testpki.Now}
	_, err := chain.Build(context.Background(), []*x509.Certificate{leaf}, &o)
	if !errors.Is(err, chain.ErrNoChain) || !strings.Contains(err.Error(), "AIA fetching is off") {
		t.Fatalf("offline: %v", err)
	}
	o.FetchAIA = true
	o.Fetcher = &chain.HTTPFetcher{AllowPrivate: true}
	res, err := build(t, []*x509.Certificate{leaf}, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Chain); !slices.Equal(got, []string{"aia.example", "I2", "I1"}) {
		t.Fatalf("chain %v", got)
	}
	if n := len(res.Report.Fetched); n != 3 || res.Report.Fetched[1].Err == nil || res.Report.Links[2].Source != "aia" {
		t.Fatalf("fetched %+v\n%s", res.Report.Fetched, res.Report)
	}
	// The default fetcher refuses the loopback test server.
	o.Fetcher = nil
	_, err = chain.Build(context.Background(), []*x509.Certificate{leaf}, &o)
	var nc *chain.NoChainError
	if !errors.As(err, &nc) {
		t.Fatalf("default fetcher on loopback: %v", err)
	}
}

func FuzzParseIssuers(f *testing.F) {
	for _, name := range []string{"r3.pem", "isrg-root-x1.der", "dst-root-ca-x3.p7c", "isrg-root-x1-by-dst.pem"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("-----BEGIN PKCS7-----\nMIAGCSqGSIb3DQEHAqCAMIACAQExADCABgkqhkiG9w0BBwEAAKCAMAAAADEAAAAA\n-----END PKCS7-----\n"))
	f.Add(bytes.Repeat([]byte{0x30, 0x80}, 5000))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := chain.ParseIssuers(data)
		if err == nil && (len(cs) == 0 || len(cs) > 64) {
			t.Fatalf("%d certificates without error", len(cs))
		}
	})
}

// TestBuildAIAAfterRejectedPath: the given issuer is an expired
// cross-sign; with AIA on, the leaf's caIssuers URL yields the current
// issuer certificate and the chain validates.
func TestBuildAIAAfterRejectedPath(t *testing.T) {
	c := newCross(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	docs := map[string][]byte{"/i.der": c.iByR1.Raw}
	s, _ := aiaServer(t, docs)
	lt := &x509.Certificate{DNSNames: []string{"x.example.com"}, IssuingCertificateURL: []string{s.URL + "/i.der"}}
	lt.Subject.CommonName = "x.example.com"
	leaf := testpki.Sign(t, lt, testpki.KeyP256(t).Public(), c.iss, nil)
	o := chain.Options{
		Roots: chain.NewRoots(c.r1.Cert, c.r2.Cert), CurrentTime: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		FetchAIA: true, Fetcher: &chain.HTTPFetcher{AllowPrivate: true},
	}
	res, err := build(t, []*x509.Certificate{leaf, c.iByR2}, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chain[1] == c.iByR2 || res.Root.Subject.CommonName != "R1" || len(res.Report.Fetched) != 1 {
		t.Fatalf("%s", describe(res))
	}
}
