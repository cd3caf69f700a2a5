package bundle_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
)

// rxCA is a CA certificate and its key, for the renewal examples.
type rxCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var rxSerial int64 = 5000

// rxIssue signs tmpl for pub by parent (self-signed when parent is nil).
func rxIssue(tmpl *x509.Certificate, pub crypto.PublicKey, parent *rxCA, self crypto.Signer) *x509.Certificate {
	rxSerial++
	tmpl.SerialNumber = big.NewInt(rxSerial)
	p, k := tmpl, self
	if parent != nil {
		p, k = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p, pub, k)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func rxKey() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func rxNewCA(cn string, parent *rxCA) *rxCA {
	k := rxKey()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:  x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &rxCA{cert: rxIssue(tmpl, k.Public(), parent, k), key: k}
}

// rxLeaf issues a 90-day server certificate from notBefore.
func rxLeaf(parent *rxCA, pub crypto.PublicKey, subject pkix.Name, dns []string, notBefore time.Time) *x509.Certificate {
	return rxIssue(&x509.Certificate{Subject: subject, DNSNames: dns, NotBefore: notBefore, NotAfter: notBefore.Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, pub, parent, nil)
}

// ExpiryOf with the rule of the ACME clients: a 90-day certificate is
// renewed when a third of its lifetime (30 days) remains.
func ExampleExpiryOf() {
	root := rxNewCA("Example Root", nil)
	issued := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	leaf := rxLeaf(root, rxKey().Public(), pkix.Name{CommonName: "www.example.com"}, []string{"www.example.com"}, issued)

	for _, day := range []int{45, 61, 91} {
		e, err := bundle.ExpiryOf(leaf, &bundle.ExpiryOptions{Now: issued.AddDate(0, 0, day), Fraction: bundle.ACMEFraction})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("day %d: %d days left, renew: %v (%s)\n", day, e.DaysLeft, e.NeedsRenewal, e.Reason)
	}
	// Output:
	// day 45: 45 days left, renew: false (expires in 45 days; renewal due from 2026-04-30T00:00:00Z (renew when 1/3 of the 90-day lifetime remains (30 days)))
	// day 61: 29 days left, renew: true (expires in 29 days, on 2026-05-30T00:00:00Z: renew when 1/3 of the 90-day lifetime remains (30 days))
	// day 91: -1 days left, renew: true (expired 24 hours ago, on 2026-05-30T00:00:00Z)
}

// CheckExpiry walks a folder of server files and reports each certificate
// once; keys and other files are skipped with a note.
func ExampleCheckExpiry() {
	dir, _ := os.MkdirTemp("", "certs")
	defer os.RemoveAll(dir)
	root := rxNewCA("Example Root", nil)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, site := range []struct {
		host string
		age  int // days since issuance
	}{{"www.example.com", 80}, {"api.example.com", 20}} {
		leaf := rxLeaf(root, rxKey().Public(), pkix.Name{CommonName: site.host}, []string{site.host}, now.AddDate(0, 0, -site.age))
		os.MkdirAll(filepath.Join(dir, site.host), 0o700)
		os.WriteFile(filepath.Join(dir, site.host, "fullchain.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("the web servers' certificates\n"), 0o644)

	rep, err := bundle.CheckExpiry(context.Background(), []string{dir}, &bundle.ExpiryOptions{Now: now, Before: 30 * 24 * time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range rep.Certificates {
		rel, _ := filepath.Rel(dir, e.File)
		fmt.Printf("%-16s %-32s %3d days left, renew: %v\n", e.SANs[0], rel, e.DaysLeft, e.NeedsRenewal)
	}
	fmt.Println(len(rep.Notes), "file skipped;", len(rep.Due()), "certificate to renew")
	// Output:
	// DNS:www.example.com www.example.com/fullchain.pem     10 days left, renew: true
	// DNS:api.example.com api.example.com/fullchain.pem     70 days left, renew: false
	// 1 file skipped; 1 certificate to renew
}

// Renew makes the request for a renewal: same subject and names, a new key
// of the same type, kept pending in the store before the request is
// returned.
func ExampleRenew() {
	dir, _ := os.MkdirTemp("", "renew")
	defer os.RemoveAll(dir)
	store, err := csr.OpenDir(filepath.Join(dir, "pending"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	root := rxNewCA("Example Root", nil)
	old := rxLeaf(root, rxKey().Public(), pkix.Name{CommonName: "www.example.com", Organization: []string{"Example Ltd"}, Country: []string{"GB"}},
		[]string{"www.example.com", "example.com"}, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))

	r, err := bundle.Renew(context.Background(), store, old, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("subject:", r.Request.Subject)
	fmt.Println("SANs:", r.Pending.SANs)
	fmt.Println("key:", r.KeyType, "new:", !r.ReusedKey)
	pending, err := store.Find(context.Background(), r.Request.PublicKey)
	fmt.Println("pending:", err == nil && pending.ID == r.Pending.ID)
	// Output:
	// subject: CN=www.example.com,O=Example Ltd,C=GB
	// SANs: [DNS:www.example.com DNS:example.com]
	// key: p256 new: true
	// pending: true
}

// Replace serves a renewed certificate in place of the old one: the old
// files go to an archive folder first, and a new intermediate (the CA moved
// from "Issuing CA A" to "Issuing CA B") is written with the new leaf.
func ExampleBundle_Replace() {
	dir, _ := os.MkdirTemp("", "www")
	defer os.RemoveAll(dir)
	root := rxNewCA("Example Root", nil)
	a, b := rxNewCA("Issuing CA A", root), rxNewCA("Issuing CA B", root)
	name := pkix.Name{CommonName: "www.example.com"}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	oldKey, newKey := rxKey(), rxKey()
	old := &bundle.Bundle{Key: oldKey, Leaf: rxLeaf(a, oldKey.Public(), name, []string{"www.example.com"}, start), Intermediates: []*x509.Certificate{a.cert}}
	if _, err := old.Write(dir, bundle.Nginx, nil); err != nil {
		fmt.Println(err)
		return
	}
	renewed := &bundle.Bundle{Key: newKey, Leaf: rxLeaf(b, newKey.Public(), name, []string{"www.example.com"}, start.AddDate(0, 0, 60)), Intermediates: []*x509.Certificate{b.cert}}
	res, err := renewed.Replace(dir, bundle.Nginx, &bundle.ReplaceOptions{Now: time.Date(2026, 4, 30, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range res.Written {
		fmt.Println("served:", filepath.Base(p))
	}
	for _, p := range res.Archived {
		rel, _ := filepath.Rel(dir, p)
		fmt.Println("archived:", rel)
	}
	if ic := res.IssuerChange; ic != nil {
		fmt.Printf("issuer changed: %s -> %s\n", ic.Old, ic.New)
	}
	// Output:
	// served: fullchain.pem
	// served: privkey.pem
	// archived: archive/20260430T120000Z/fullchain.pem
	// archived: archive/20260430T120000Z/privkey.pem
	// issuer changed: CN=Issuing CA A -> CN=Issuing CA B
}
