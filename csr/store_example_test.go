package csr_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/certwright/certwright/csr"
)

// exampleKeyPEM is a P-256 test key, fixed so that the examples print the
// same key ID every time. It protects nothing.
const exampleKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguiopSpvv6tLscwCY
gtDhajuVhPGq1A2WYLUB9dbvlvehRANCAAQ2Hx0vuL5cIG8d1VxjurO3S06JFxzB
5AQzOt7yhpmY/XE8YjbPZpwyhF+oVGGIQGVV6xB5BK7qnXM4icbVKIvD
-----END PRIVATE KEY-----
`

// exampleRequest returns the example key and a CSR for www.example.com
// signed by it.
func exampleRequest() (crypto.Signer, []byte) {
	b, _ := pem.Decode([]byte(exampleKeyPEM))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	key := k.(crypto.Signer)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "www.example.com", Organization: []string{"Example Ltd"}, Country: []string{"GB"}},
		DNSNames: []string{"www.example.com", "example.com"},
	}, key)
	if err != nil {
		log.Fatal(err)
	}
	return key, der
}

// exampleCertificate stands in for the certificate the CA sends back: it
// holds the request's public key.
func exampleCertificate(key crypto.Signer) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "www.example.com"},
		NotBefore:    time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC),
		DNSNames:     []string{"www.example.com", "example.com"},
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

// The whole life of a pending request: keep the key when the CSR is made,
// find it again by the public key of the certificate the CA returns, and
// archive the entry once the certificate and key are written.
func ExampleDirStore() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pending")
	defer os.RemoveAll(dir)
	now := func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }

	// Day 1: make the request and keep its key before the CSR leaves.
	store, err := csr.OpenDir(dir, &csr.DirOptions{Now: now})
	if err != nil {
		log.Fatal(err)
	}
	key, req := exampleRequest()
	p := &csr.Pending{Key: key, CSR: req}
	if err := store.Put(ctx, p); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pending:", p.ID)
	fmt.Println("subject:", p.Subject)
	fmt.Println("SANs:", p.SANs)

	// A week later: the CA's certificate arrives; find its key.
	cert := exampleCertificate(key)
	found, err := store.Find(ctx, cert.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("key found for", cert.Subject.CommonName+":", found.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey))

	// ... write the certificate and key for the server, then:
	if err := store.Complete(ctx, found.ID); err != nil {
		log.Fatal(err)
	}
	_, err = store.Find(ctx, cert.PublicKey)
	fmt.Println("still pending:", !errors.Is(err, csr.ErrNotFound))
	archived, err := store.FindArchived(ctx, cert.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("archived:", archived.Completed.Format(time.RFC3339))
	// Output:
	// pending: a71aa158f1b4f0bae55c8e2ca6be6f80440a6b61ee266ab80d9a4acf8ffae184
	// subject: CN=www.example.com,O=Example Ltd,C=GB
	// SANs: [DNS:www.example.com DNS:example.com]
	// key found for www.example.com: true
	// still pending: false
	// archived: 2026-06-01T12:00:00Z
}

// Put never replaces a pending entry: a second request for the same key
// is refused and the first one is kept as it was.
func ExampleDirStore_Put() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pending")
	defer os.RemoveAll(dir)
	store, err := csr.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	key, req := exampleRequest()
	if err := store.Put(ctx, &csr.Pending{Key: key, CSR: req}); err != nil {
		log.Fatal(err)
	}
	err = store.Put(ctx, &csr.Pending{Key: key, CSR: req})
	fmt.Println("second Put refused:", errors.Is(err, csr.ErrExists))
	files, _ := os.ReadDir(filepath.Join(dir, "pending", "a71aa158f1b4f0bae55c8e2ca6be6f80440a6b61ee266ab80d9a4acf8ffae184"))
	for _, f := range files {
		info, _ := f.Info()
		fmt.Println(f.Name(), info.Mode())
	}
	// Output:
	// second Put refused: true
	// key.pem -rw-------
	// meta.json -rw-r--r--
	// request.csr -rw-r--r--
}

// A store created with a passphrase keeps its keys as encrypted PKCS#8
// (readable by `openssl pkey -in key.pem` with the passphrase) and cannot
// be opened without it.
func ExampleDirOptions_passphrase() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pending")
	defer os.RemoveAll(dir)
	// Iterations is lowered to keep the example fast; leave it zero
	// (600,000) for real stores.
	opts := &csr.DirOptions{Passphrase: []byte("correct horse battery staple"), Iterations: 1000}
	store, err := csr.OpenDir(dir, opts)
	if err != nil {
		log.Fatal(err)
	}
	key, req := exampleRequest()
	p := &csr.Pending{Key: key, CSR: req}
	if err := store.Put(ctx, p); err != nil {
		log.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "pending", p.ID, "key.pem"))
	block, _ := pem.Decode(data)
	fmt.Println(block.Type)

	_, err = csr.OpenDir(dir, nil)
	fmt.Println("without passphrase:", errors.Is(err, csr.ErrPassphraseRequired))
	_, err = csr.OpenDir(dir, &csr.DirOptions{Passphrase: []byte("wrong")})
	fmt.Println("wrong passphrase:", errors.Is(err, csr.ErrIncorrectPassphrase))
	// Output:
	// ENCRYPTED PRIVATE KEY
	// without passphrase: true
	// wrong passphrase: true
}

// Keys kept elsewhere (a hardware token, a KMS) are recorded by reference:
// the entry holds the CSR and a key URI, and Find returns it with Key nil.
func ExamplePending_keyURI() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pending")
	defer os.RemoveAll(dir)
	store, err := csr.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	key, req := exampleRequest() // stands in for a key on a token
	err = store.Put(ctx, &csr.Pending{KeyURI: "pkcs11:token=web;object=www", CSR: req})
	if err != nil {
		log.Fatal(err)
	}
	p, err := store.Find(ctx, key.Public())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.KeyURI, p.Key == nil)
	// Output:
	// pkcs11:token=web;object=www true
}
