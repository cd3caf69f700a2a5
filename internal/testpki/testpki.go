// Package testpki builds small certificate hierarchies for tests, with
// pinned validity so that tests do not depend on the clock.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Times every generated certificate is valid between, and a moment inside.
var (
	NotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	NotAfter  = time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	Now       = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

var serial atomic.Int64

// Issuer is a CA certificate with its key.
type Issuer struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// KeyP256 makes a P-256 key.
func KeyP256(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// KeyRSA makes an RSA key of the given size.
func KeyRSA(t testing.TB, bits int) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ski(pub crypto.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	s := sha1.Sum(der)
	return s[:]
}

// Sign issues tmpl for pub with the issuer (self-signed when iss is nil,
// then key signs). Unset validity and serial are filled in.
func Sign(t testing.TB, tmpl *x509.Certificate, pub crypto.PublicKey, iss *Issuer, key crypto.Signer) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(1000 + serial.Add(1))
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = NotBefore
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = NotAfter
	}
	if tmpl.SubjectKeyId == nil {
		tmpl.SubjectKeyId = ski(pub)
	}
	parent, signer := tmpl, key
	if iss != nil {
		parent, signer = iss.Cert, iss.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certwright test"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
}

// Root makes a self-signed root CA with a P-256 key.
func Root(t testing.TB, cn string) *Issuer {
	t.Helper()
	k := KeyP256(t)
	return &Issuer{Cert: Sign(t, caTemplate(cn), k.Public(), nil, k), Key: k}
}

// Intermediate makes a CA certificate issued by iss with a new P-256 key.
func (iss *Issuer) Intermediate(t testing.TB, cn string) *Issuer {
	t.Helper()
	k := KeyP256(t)
	return &Issuer{Cert: Sign(t, caTemplate(cn), k.Public(), iss, nil), Key: k}
}

// Leaf issues a TLS server certificate for the host names (IP addresses
// are recognised) to pub; a nil pub gets a new P-256 key, returned.
func (iss *Issuer) Leaf(t testing.TB, pub crypto.PublicKey, hosts ...string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	var key crypto.Signer
	if pub == nil {
		key = KeyP256(t)
		pub = key.Public()
	}
	cn := "leaf"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return Sign(t, tmpl, pub, iss, nil), key
}
