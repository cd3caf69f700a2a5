//go:build ignore

// gen_testdata writes the fuzz seeds of FuzzParseSignResponse: a root, an
// intermediate and a leaf. Run: go run gen_testdata.go
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"time"
)

func main() {
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	issue := func(serial int64, cn string, ca bool, parent *x509.Certificate, parentKey crypto.Signer, dns ...string) (*x509.Certificate, crypto.Signer) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: notBefore, NotAfter: notAfter, DNSNames: dns,
			IsCA: ca, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if ca {
			tmpl.KeyUsage |= x509.KeyUsageCertSign
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			panic(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		return cert, key
	}
	root, rootKey := issue(1, "Fuzz Seed Root", true, nil, nil)
	inter, interKey := issue(2, "Fuzz Seed Intermediate", true, root, rootKey)
	leaf, _ := issue(3, "www.example.com", false, inter, interKey, "www.example.com")
	for name, cert := range map[string]*x509.Certificate{"root.pem": root, "intermediate.pem": inter, "leaf.pem": leaf} {
		if err := os.WriteFile("testdata/"+name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
			panic(err)
		}
	}
}
