package stepca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func TestParseSignResponse(t *testing.T) {
	root := testpki.Root(t, "Root")
	inter := root.Intermediate(t, "Intermediate")
	leaf, _ := inter.Leaf(t, nil, "www.example.com")
	other := testpki.Root(t, "Other").Intermediate(t, "Other Intermediate")
	for _, tc := range []struct {
		name      string
		crt, ca   string
		chain     []string
		wantChain int
		err       string
	}{
		{"certChain", pemOf(leaf), pemOf(inter.Cert), []string{pemOf(leaf), pemOf(inter.Cert)}, 1, ""},
		{"root dropped", pemOf(leaf), pemOf(inter.Cert), []string{pemOf(leaf), pemOf(inter.Cert), pemOf(root.Cert)}, 1, ""},
		{"crt and ca only", pemOf(leaf), pemOf(inter.Cert), nil, 1, ""},
		{"crt only", pemOf(leaf), "", nil, 0, ""},
		{"out of order", pemOf(leaf), "", []string{pemOf(leaf), pemOf(root.Cert), pemOf(inter.Cert)}, 0, "is not signed by the next"},
		{"wrong issuer", pemOf(leaf), pemOf(other.Cert), nil, 0, "is not signed by the next"},
		{"crt not first", pemOf(inter.Cert), "", []string{pemOf(leaf), pemOf(inter.Cert)}, 0, "crt is not the first"},
		{"not PEM", "garbage", "", nil, 0, "not a PEM certificate"},
		{"two in one", pemOf(leaf) + pemOf(inter.Cert), "", nil, 0, "data after"},
		{"too long", "", "", []string{pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf), pemOf(leaf)}, 0, "at most 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, chain, err := parseSignResponse(tc.crt, tc.ca, tc.chain)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !l.Equal(leaf) || len(chain) != tc.wantChain || (tc.wantChain == 1 && !chain[0].Equal(inter.Cert)) {
				t.Fatalf("leaf %q, chain of %d", l.Subject, len(chain))
			}
		})
	}
}

// TestErrorAnswers checks how error statuses become *Error, with step-ca's
// JSON body or another body, and the size bound.
func TestErrorAnswers(t *testing.T) {
	var status int
	var body string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	hc := srv.Client()
	c := &Client{URL: srv.URL, HTTPClient: hc, MaxResponse: 100}
	for _, tc := range []struct {
		status  int
		body    string
		want    string
		refused bool
	}{
		{401, `{"status":401,"message":"The request lacked necessary authorization to be completed."}`, "POST /1.0/sign: the CA answered 401 Unauthorized: The request lacked necessary authorization to be completed.", true},
		{502, "<html>Bad gateway</html>", "502 Bad Gateway: <html>Bad gateway</html>", true},
		{500, "", "500 Internal Server Error: no message", true},
		{201, "{not json", "malformed answer", false},
		{201, strings.Repeat("x", 101), "larger than 100 bytes", false},
	} {
		status, body = tc.status, tc.body
		_, _, err := c.Sign(context.Background(), testCSR(t), "token")
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrRefused) != tc.refused {
			t.Errorf("%d %q: %v", tc.status, tc.body, err)
		}
	}
}

func testCSR(t *testing.T) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{DNSNames: []string{"www.example.com"}}, testpki.KeyP256(t))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := (&Client{URL: "https://ca.invalid"}).Roots(ctx); !errors.Is(err, ErrNoRoots) {
		t.Errorf("no roots: %v", err)
	}
	pool := x509.NewCertPool()
	if _, err := (&Client{URL: "http://ca.invalid", RootCAs: pool}).Roots(ctx); err == nil || !strings.Contains(err.Error(), "not an https:// address") {
		t.Errorf("http URL: %v", err)
	}
	c := &Client{URL: "https://ca.invalid", RootCAs: pool}
	if _, _, err := c.Sign(ctx, []byte("x"), "t"); err == nil || !strings.Contains(err.Error(), "not DER") {
		t.Errorf("bad CSR: %v", err)
	}
	if _, _, err := c.Sign(ctx, testCSR(t), ""); err == nil || !strings.Contains(err.Error(), "no one-time token") {
		t.Errorf("no token: %v", err)
	}
	if _, err := c.Root(ctx, "12:34"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("short fingerprint: %v", err)
	}
	hc := &Client{URL: "https://ca.invalid", HTTPClient: &http.Client{Transport: roundTripper(nil)}}
	if _, err := hc.client(&tls.Certificate{}); err == nil || !strings.Contains(err.Error(), "needs an *http.Transport") {
		t.Errorf("custom transport renew: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTP01(t *testing.T) {
	h := new(HTTP01)
	h.set("tok-1", "tok-1.thumb")
	mux := http.NewServeMux()
	mux.Handle(HTTP01Path, h)
	mux.Handle("/stripped/", http.StripPrefix("/stripped/", h))
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", HTTP01Path + "tok-1", 200, "tok-1.thumb"},
		{"GET", "/stripped/tok-1", 200, "tok-1.thumb"},
		{"HEAD", HTTP01Path + "tok-1", 200, ""},
		{"GET", HTTP01Path + "tok-2", 404, ""},
		{"GET", HTTP01Path, 404, ""},
		{"GET", HTTP01Path + "tok-1/x", 404, ""},
		{"POST", HTTP01Path + "tok-1", 405, ""},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, rec.Code, rec.Body.String())
		}
	}
	h.remove("tok-1")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", HTTP01Path+"tok-1", nil))
	if rec.Code != 404 {
		t.Errorf("removed token: %d", rec.Code)
	}
}

// FuzzParseSignResponse feeds arbitrary crt/ca/certChain members; it must
// not panic, and what it accepts is a chain in issuing order.
func FuzzParseSignResponse(f *testing.F) {
	for _, name := range []string{"leaf.pem", "intermediate.pem", "root.pem"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "", "")
	}
	leaf, _ := os.ReadFile(filepath.Join("testdata", "leaf.pem"))
	inter, _ := os.ReadFile(filepath.Join("testdata", "intermediate.pem"))
	f.Add(string(leaf), string(inter), string(leaf))
	f.Fuzz(func(t *testing.T, crt, ca, chain string) {
		var chainPEMs []string
		if chain != "" {
			chainPEMs = []string{chain, ca}
		}
		l, rest, err := parseSignResponse(crt, ca, chainPEMs)
		if err != nil {
			return
		}
		all := append([]*x509.Certificate{l}, rest...)
		for i := 0; i+1 < len(all); i++ {
			if all[i].CheckSignatureFrom(all[i+1]) != nil {
				t.Fatal("accepted a chain out of order")
			}
		}
	})
}
