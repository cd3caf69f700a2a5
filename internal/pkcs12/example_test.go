package pkcs12_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/certwright/certwright/internal/pkcs12"
)

// Decode returns every key and certificate; pair them by public key, not by
// position or localKeyId.
func ExampleDecode() {
	data, err := os.ReadFile("testdata/gopkcs12_chain_3keys.p12")
	if err != nil {
		panic(err)
	}
	c, err := pkcs12.Decode(data, "password", pkcs12.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d keys, %d certificates, MAC %s, %s\n", len(c.Keys), len(c.Certs), c.MACAlgorithm, c.Encryption[0])
	for _, k := range c.Keys {
		pub, _ := x509.MarshalPKIXPublicKey(k.Key.(crypto.Signer).Public())
		for _, ce := range c.Certs {
			if bytes.Equal(ce.Cert.RawSubjectPublicKeyInfo, pub) {
				fmt.Printf("key %q -> %s\n", k.FriendlyName, ce.Cert.Subject.CommonName)
				break
			}
		}
	}
	// Output:
	// 3 keys, 6 certificates, MAC HMAC-SHA256, PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC
	// key "example-ca" -> example-ca
	// key "example-intermediate-ca (example-ca)" -> example-intermediate-ca
	// key "example-server (example-intermediate-ca)" -> example-server
}

// A wrong password is told apart from a corrupt file with errors.Is.
func ExampleDecode_wrongPassword() {
	data, err := os.ReadFile("testdata/boringssl_windows.p12")
	if err != nil {
		panic(err)
	}
	_, err = pkcs12.Decode(data, "not the password", pkcs12.Options{})
	fmt.Println(errors.Is(err, pkcs12.ErrIncorrectPassword))
	_, err = pkcs12.Decode(data[:len(data)/2], "foo", pkcs12.Options{})
	fmt.Println(errors.Is(err, pkcs12.ErrMalformed), errors.Is(err, pkcs12.ErrIncorrectPassword))
	// Output:
	// true
	// true false
}

// Options bound the work; a file above the iteration cap is refused before
// any key derivation.
func ExampleOptions() {
	data, err := os.ReadFile("testdata/gopkcs12_chain_3keys.p12") // 10,000 iterations
	if err != nil {
		panic(err)
	}
	_, err = pkcs12.Decode(data, "password", pkcs12.Options{MaxIterations: 5000})
	fmt.Println(errors.Is(err, pkcs12.ErrTooManyIterations))
	fmt.Println(err)
	// Output:
	// true
	// pkcs12: too many KDF iterations: the MAC declares 10000 iterations, more than the limit of 5000 (raise Options.MaxIterations only for files from a trusted source)
}
