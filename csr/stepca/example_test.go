package stepca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/certwright/certwright/csr/stepca"
)

// ExampleNewToken makes the one-time token `step ca token` would make for a
// request, bound to it. The token goes with the request to Client.Sign.
func ExampleNewToken() {
	provisionerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "www.example.com"},
		DNSNames: []string{"www.example.com", "example.com"},
	}, key)

	tok, err := stepca.NewToken(&stepca.Token{
		Provisioner: "admin@example.com",
		Key:         provisionerKey,
		CA:          "https://ca.internal:9000",
		CSR:         der,
		Now:         time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The claims, as step-ca reads them.
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var claims struct {
		Iss, Sub      string
		Aud, Sans     []string
		Iat, Nbf, Exp int64
	}
	json.Unmarshal(payload, &claims)
	fmt.Println("iss:", claims.Iss)
	fmt.Println("sub:", claims.Sub)
	fmt.Println("aud:", claims.Aud)
	fmt.Println("sans:", claims.Sans)
	fmt.Println("valid for:", time.Duration(claims.Exp-claims.Nbf)*time.Second)
	// Output:
	// iss: admin@example.com
	// sub: www.example.com
	// aud: [https://ca.internal:9000/1.0/sign]
	// sans: [www.example.com example.com]
	// valid for: 5m0s
}

// ExampleHTTP01 mounts the HTTP-01 answers where ACME servers look for them,
// beside whatever else the port-80 server does. ACMEIssue fills it while an
// order is validated.
func ExampleHTTP01() {
	solver := new(stepca.HTTP01)
	mux := http.NewServeMux()
	mux.Handle(stepca.HTTP01Path, solver)
	mux.Handle("/", http.RedirectHandler("https://www.example.com/", http.StatusMovedPermanently))

	// Outside an order every token is unknown.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "http://www.example.com/.well-known/acme-challenge/abc", nil))
	fmt.Println(rec.Code)
	// Output:
	// 404
}

// ExampleClient_Sign submits a request with a token; the answer feeds
// bundle.Complete. It needs a running step-ca, so it is compiled, not run
// (examples/e2e runs the same calls against a real step-ca).
func ExampleClient_Sign() {
	ctx := context.Background()
	c := &stepca.Client{URL: "https://ca.internal:9000"}
	// Trust the CA's root by the fingerprint `step certificate
	// fingerprint root_ca.crt` prints, once; keep the root afterwards.
	root, err := c.Root(ctx, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		fmt.Println(err)
		return
	}
	c.RootCAs = x509.NewCertPool()
	c.RootCAs.AddCert(root)

	var csrDER []byte // from csr.Create, its key already in a csr.Store
	var token string  // from NewToken or `step ca token`
	leaf, chain, err := c.Sign(ctx, csrDER, token)
	if err != nil {
		fmt.Println(err) // a *stepca.Error carries the CA's status and message
		return
	}
	fmt.Println(leaf.Subject, len(chain))
}
