package formats_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"math/big"
	"strings"
	"time"

	"github.com/certwright/certwright/formats"
)

// issue makes a small hierarchy for the examples: a root, an intermediate
// and a leaf with its key.
func issue() (leaf, inter, root *x509.Certificate, key *ecdsa.PrivateKey) {
	mk := func(cn string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
			IsCA: ca, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		}
		if parent == nil {
			parent, parentKey = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
		if err != nil {
			log.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k
	}
	root, rootKey := mk("Example Root", true, nil, nil)
	inter, interKey := mk("Example Intermediate", true, root, rootKey)
	leaf, key = mk("www.example.com", false, inter, interKey)
	return leaf, inter, root, key
}

// A CA answered a CSR with a .cer that is base64 without BEGIN/END lines
// and Windows line ends. Read detects it by content.
func ExampleRead_caResponse() {
	leaf, _, _, _ := issue()
	b64 := base64.StdEncoding.EncodeToString(leaf.Raw)
	response := []byte(b64[:64] + "\r\n" + b64[64:] + "\r\n")

	c, err := formats.Read(response, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Format(), len(c.Certificates), c.Certificates[0].Subject.CommonName)
	// Output: base64 1 www.example.com
}

// A .p7b (PKCS#7, certificates only) in PEM, the usual "chain" download.
func ExampleRead_p7b() {
	leaf, inter, root, _ := issue()
	p7b, err := formats.EncodePKCS7PEM([]*x509.Certificate{leaf, inter, root})
	if err != nil {
		log.Fatal(err)
	}

	c, err := formats.Read(p7b, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Join(c.Formats, "+"))
	for i, cert := range c.Certificates {
		fmt.Println(cert.Subject.CommonName, "from", c.CertInfo[i].Source)
	}
	// Output:
	// pem+pkcs7
	// www.example.com from PEM block 1 (PKCS7) certificate 1
	// Example Intermediate from PEM block 1 (PKCS7) certificate 2
	// Example Root from PEM block 1 (PKCS7) certificate 3
}

// Write a .pfx for Windows or Java: the key, its certificate and the
// chain, with the Modern profile (AES-256) and a friendly name. Read pairs
// the key with its certificate by public key.
func ExampleEncodePKCS12() {
	leaf, inter, _, key := issue()
	pfx, err := formats.EncodePKCS12(key, leaf, []*x509.Certificate{inter}, "correct horse",
		&formats.PKCS12Options{FriendlyName: "www"})
	if err != nil {
		log.Fatal(err)
	}
	// For Windows Server 2016 or Java 8:
	//   &formats.PKCS12Options{Profile: formats.Legacy3DES}

	c, err := formats.Read(pfx, &formats.ReadOptions{Password: "correct horse"})
	if err != nil {
		log.Fatal(err)
	}
	p := c.Pairs[0]
	fmt.Println(c.Format(), p.Certificate.Subject.CommonName, c.KeyInfo[p.KeyIndex].FriendlyName, len(c.Certificates))
	// Output: pkcs12 www.example.com www 2
}

// Write a certificates-only .p7b in DER, for IIS or a Windows import.
func ExampleEncodePKCS7() {
	leaf, inter, _, _ := issue()
	der, err := formats.EncodePKCS7([]*x509.Certificate{leaf, inter})
	if err != nil {
		log.Fatal(err)
	}
	c, _ := formats.Read(der, nil)
	fmt.Println(c.Format(), len(c.Certificates))
	// Output: pkcs7 2
}

// A wrong password is told apart from corrupt data.
func ExampleRead_wrongPassword() {
	leaf, _, _, key := issue()
	pfx, _ := formats.EncodePKCS12(key, leaf, nil, "right", nil)
	_, err := formats.Read(pfx, &formats.ReadOptions{Password: "wrong"})
	fmt.Println(errors.Is(err, formats.ErrIncorrectPassword))
	// Output: true
}
