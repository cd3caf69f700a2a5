package csr_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"math/big"
	"os"
	"time"

	"github.com/certwright/certwright/csr"
)

// A new key and a certificate request for a web server, as the IIS
// "Create Certificate Request" wizard makes them.
func Example() {
	key, err := csr.GenerateKey(nil, csr.P256)
	if err != nil {
		log.Fatal(err)
	}
	req := &csr.Request{CN: "www.example.com", O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB"}
	if err := req.AddSANs("example.com", "192.0.2.10"); err != nil {
		log.Fatal(err)
	}
	der, warnings, err := csr.Create(nil, req, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Keep key in a Store here, before the request leaves the process.
	pemBytes := csr.EncodePEM(der)

	r, err := csr.Parse(pemBytes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("warnings:", len(warnings))
	fmt.Println("subject:", r.Subject)
	fmt.Println("DNS:", r.DNSNames)
	fmt.Println("IP:", r.IPAddresses)
	fmt.Println("signature:", r.SignatureAlgorithm, csr.CheckSignature(r) == nil)
	// Output:
	// warnings: 0
	// subject: CN=www.example.com,OU=Web,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB
	// DNS: [www.example.com example.com]
	// IP: [192.0.2.10]
	// signature: ECDSA-SHA256 true
}

// The pre-submission checks catch what a CA would send back, each with a
// code a program can branch on.
func ExampleCheck() {
	req := &csr.Request{CN: "shop.example.com", O: "Example Inc", L: "Seattle", ST: "WA", C: "USA"}
	if err := req.AddSANs("*.com", "shop.example.com", "SHOP.example.com"); err != nil {
		log.Fatal(err)
	}
	for _, f := range csr.Check(req, nil) {
		fmt.Println(f)
	}
	// Output:
	// warning: ST: "WA" looks like an abbreviation; CAs send requests back unless the state or province is written out in full, here "Washington" [state-abbreviated]
	// error: C: "USA" is not a 2-letter ISO 3166 country code; did you mean "US"? [country-invalid]
	// error: DNS: "*.com" is too broad: a wildcard needs at least two labels after it ("*.example.com") [wildcard-too-broad]
	// error: DNS: "SHOP.example.com" is listed twice (host names ignore case); list each name once [duplicate-san]
}

// Create refuses a request that fails a check, listing every problem at
// once; Strict makes warnings count too.
func ExampleCreate_strict() {
	key, err := csr.GenerateKey(nil, csr.P256)
	if err != nil {
		log.Fatal(err)
	}
	req := &csr.Request{CN: "www.example.com", L: "Sydney", ST: "NSW", C: "AU"}
	_, warnings, err := csr.Create(nil, req, key, nil)
	fmt.Println("normal:", err, len(warnings), warnings[0].Code)

	_, _, err = csr.Create(nil, req, key, &csr.Options{Strict: true})
	var ce *csr.CheckError
	fmt.Println("strict:", errors.Is(err, csr.ErrCheckFailed), errors.As(err, &ce), ce.Findings[0].Code)
	// Output:
	// normal: <nil> 1 state-abbreviated
	// strict: true true state-abbreviated
}

// A key type named on a command line; RSA below 2048 bits is refused with
// the reason.
func ExampleParseKeyType() {
	kt, err := csr.ParseKeyType("P-384")
	fmt.Println(kt, err)
	_, err = csr.ParseKeyType("rsa1024")
	fmt.Println(errors.Is(err, csr.ErrWeakKey))
	fmt.Println(err)
	// Output:
	// p384 <nil>
	// true
	// csr: key too weak: RSA 1024 is refused: RSA keys below 2048 bits can be factored with affordable computing, and CAs have rejected them since 2013; use rsa2048 (the default) or larger, or p256
}

// A renewal: the same subject and names as the certificate in service,
// with a new key of the same type (or the old key, found in the Store).
func ExampleFromCertificate() {
	cert := existingCertificate()

	req := csr.FromCertificate(cert)
	key, err := csr.GenerateKey(nil, csr.KeyTypeFor(cert))
	if err != nil {
		log.Fatal(err)
	}
	der, _, err := csr.Create(nil, req, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := csr.Parse(der)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Subject)
	fmt.Println(csr.FromCertificateRequest(r).SANs())
	fmt.Println(csr.KeyTypeFor(cert))
	// Output:
	// CN=intranet.example.com,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB
	// [DNS:intranet.example.com DNS:wiki.example.com]
	// p256
}

// existingCertificate stands for the certificate a server uses today.
func existingCertificate() *x509.Certificate {
	key, err := csr.GenerateKey(nil, csr.P256)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "intranet.example.com", Organization: []string{"Example Ltd"},
			Locality: []string{"Leeds"}, Province: []string{"West Yorkshire"}, Country: []string{"GB"}},
		DNSNames:  []string{"intranet.example.com", "wiki.example.com"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	return cert
}

// Reading a request another tool wrote (here OpenSSL, with the old "NEW
// CERTIFICATE REQUEST" label) and reporting its fields.
func ExampleDescribe() {
	data, err := os.ReadFile("testdata/ec_sha256_old_header.pem")
	if err != nil {
		log.Fatal(err)
	}
	r, err := csr.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(csr.Describe(r))
	// Output:
	// Subject:   CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US
	//   CN: cryptography.io
	//   O:  PyCA
	//   L:  Austin
	//   ST: Texas
	//   C:  US
	// SANs:      (none)
	// Key:       ECDSA 384 bits
	// Signature: ECDSA-SHA256, valid
}
