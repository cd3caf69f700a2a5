package bundle_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/csr"
)

// issuer is a CA for the examples.
type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var (
	notBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	pinnedNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

func mustKey() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func issue(tmpl *x509.Certificate, pub crypto.PublicKey, parent *issuer, self crypto.Signer) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, notBefore, notAfter
	p, signer := tmpl, self
	if parent != nil {
		p, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p, pub, signer)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func ca(cn string, parent *issuer) *issuer {
	k := mustKey()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	return &issuer{cert: issue(tmpl, k.Public(), parent, k), key: k}
}

func leafFor(pub crypto.PublicKey, parent *issuer, hosts ...string) *x509.Certificate {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	return issue(tmpl, pub, parent, nil)
}

func pemCerts(certs ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// Complete a request: the key waits in a pending store, the CA answers
// with a certificate and a root-first chain, and the nginx files are
// written before the pending entry is archived.
func ExampleComplete() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "bundle-example")
	defer os.RemoveAll(dir)

	// When the CSR was made: the key is kept pending.
	store, err := csr.OpenDir(filepath.Join(dir, "pending"), nil)
	if err != nil {
		panic(err)
	}
	key := mustKey()
	if err := store.Put(ctx, &csr.Pending{Key: key}); err != nil {
		panic(err)
	}

	// A week later: the CA's answer.
	root := ca("Example Root", nil)
	inter := ca("Example Intermediate", root)
	answer := []bundle.Input{
		{Name: "certnew.cer", Data: leafFor(key.Public(), inter, "www.example.com").Raw},
		{Name: "chain.pem", Data: pemCerts(root.cert, inter.cert)},
	}
	done, err := bundle.Complete(ctx, store, answer, &bundle.CompleteOptions{
		Roots: []*x509.Certificate{root.cert},
		Chain: &chain.Options{CurrentTime: pinnedNow},
	})
	if err != nil {
		panic(err)
	}
	for _, c := range done {
		written, err := c.WriteAndFinish(ctx, filepath.Join(dir, "nginx"), bundle.Nginx, nil)
		if err != nil {
			panic(err) // the request stays pending
		}
		for _, p := range written {
			fmt.Println(filepath.Base(p))
		}
		for _, x := range c.Bundle.Chain(true) {
			fmt.Println(" ", x.Subject.CommonName)
		}
	}
	pending, _ := store.List(ctx)
	fmt.Println("still pending:", len(pending))
	// Output:
	// fullchain.pem
	// privkey.pem
	//   www.example.com
	//   Example Intermediate
	//   Example Root
	// still pending: 0
}

// A certificate issued for a key that is not in the store.
func ExampleComplete_wrongKey() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "bundle-example")
	defer os.RemoveAll(dir)
	store, _ := csr.OpenDir(dir, nil)
	store.Put(ctx, &csr.Pending{Key: mustKey()})

	root := ca("Example Root", nil)
	issued := leafFor(mustKey().Public(), root, "www.example.com") // for another CSR
	_, err := bundle.Complete(ctx, store, []bundle.Input{{Name: "certnew.cer", Data: issued.Raw}},
		&bundle.CompleteOptions{Roots: []*x509.Certificate{root.cert}})
	var kerr *bundle.KeyNotFoundError
	fmt.Println(errors.Is(err, bundle.ErrKeyNotFound), errors.As(err, &kerr))
	fmt.Println(kerr.Certificates[0].Subject, "searched:", len(kerr.Searched))
	// Output:
	// true true
	// CN=www.example.com searched: 1
}

// Write one bundle for several servers.
func ExampleBundle_Write() {
	dir, _ := os.MkdirTemp("", "bundle-example")
	defer os.RemoveAll(dir)
	root := ca("Example Root", nil)
	inter := ca("Example Intermediate", root)
	key := mustKey()
	b := &bundle.Bundle{Key: key, Leaf: leafFor(key.Public(), inter, "shop.example.com"),
		Intermediates: []*x509.Certificate{inter.cert}, Root: root.cert}

	for _, s := range []bundle.Server{bundle.Apache, bundle.HAProxy, bundle.IISLegacy, bundle.Kubernetes} {
		written, err := b.Write(filepath.Join(dir, string(s)), s, &bundle.WriteOptions{Password: "s3cret", IncludeRoot: s == bundle.Kubernetes})
		if err != nil {
			panic(err)
		}
		fmt.Print(s, ":")
		for _, p := range written {
			fi, _ := os.Stat(p)
			fmt.Printf(" %s(%o)", filepath.Base(p), fi.Mode().Perm())
		}
		fmt.Println()
	}
	// Output:
	// apache: cert.pem(644) chain.pem(644) fullchain.pem(644) privkey.pem(600)
	// haproxy: shop.example.com.pem(600)
	// iis-legacy: shop.example.com.pfx(600)
	// k8s: shop.example.com.yaml(600)
}

// Move a site to another server: a key file and certificate files become
// one .pfx with the whole chain.
func ExamplePair() {
	dir, _ := os.MkdirTemp("", "bundle-example")
	defer os.RemoveAll(dir)
	root := ca("Example Root", nil)
	inter := ca("Example Intermediate", root)
	key := mustKey()
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	inputs := []bundle.Input{
		{Name: "server.crt", Data: pemCerts(inter.cert, leafFor(key.Public(), inter, "farm.example.com"))},
		{Name: "server.key", Data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})},
	}
	bs, err := bundle.Pair(context.Background(), inputs, &bundle.CompleteOptions{
		Roots: []*x509.Certificate{root.cert}, Chain: &chain.Options{CurrentTime: pinnedNow}})
	if err != nil {
		panic(err)
	}
	out := filepath.Join(dir, "farm.pfx")
	if err := bs[0].Export(out, &bundle.ExportOptions{Password: "s3cret"}); err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(out), len(bs[0].Chain(true)), "certificates")
	// Output: farm.pfx 3 certificates
}

// Serve several sites from one Go listener, chosen by SNI.
func ExampleNewSNI() {
	root := ca("Example Root", nil)
	var bundles []*bundle.Bundle
	for _, h := range []string{"www.example.com", "*.api.example.com"} {
		k := mustKey()
		bundles = append(bundles, &bundle.Bundle{Key: k, Leaf: leafFor(k.Public(), root, h)})
	}
	sni, err := bundle.NewSNI(bundles...)
	if err != nil {
		panic(err)
	}
	cfg := &tls.Config{GetCertificate: sni.GetCertificate}
	for _, name := range []string{"eu.api.example.com", "unknown.example.org"} {
		c, _ := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		fmt.Println(name, "->", c.Leaf.DNSNames[0])
	}
	// Output:
	// eu.api.example.com -> *.api.example.com
	// unknown.example.org -> www.example.com
}
