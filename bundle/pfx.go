package bundle

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/certwright/certwright/formats"
	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
)

type pfxProfile int

const (
	profileModern pfxProfile = iota
	profileLegacy
)

// encodePFX encodes the key and chain (leaf first) as PKCS#12 with a
// friendly name on the key, using the formats package's named profiles.
func encodePFX(b *Bundle, full []*x509.Certificate, password, friendly string, profile pfxProfile, rand io.Reader) ([]byte, error) {
	p := formats.Modern
	if profile == profileLegacy {
		p = formats.Legacy3DES
	}
	if rand != nil {
		p = p.WithRand(rand)
	}
	if _, err := pkcs8(b); err != nil {
		return nil, err
	}
	data, err := formats.EncodePKCS12(b.Key, full[0], full[1:], password, &formats.PKCS12Options{Profile: p, FriendlyName: friendly})
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return data, nil
}

// encodeJKS writes a JKS store with one private key entry (the key
// protected by the store password, as keytool does by default). JKS
// lower-cases aliases.
func encodeJKS(b *Bundle, full []*x509.Certificate, password, alias string, rand io.Reader) ([]byte, error) {
	der, err := pkcs8(b)
	if err != nil {
		return nil, err
	}
	if len(password) < 6 {
		return nil, fmt.Errorf("bundle: keytool and Java refuse JKS store passwords shorter than 6 characters; choose a longer WriteOptions.Password")
	}
	entry := keystore.PrivateKeyEntry{
		// The leaf's start date keeps the output a function of its inputs.
		CreationTime: b.Leaf.NotBefore.UTC().Truncate(time.Millisecond),
		PrivateKey:   der,
	}
	for _, c := range full {
		entry.CertificateChain = append(entry.CertificateChain, keystore.Certificate{Type: "X509", Content: c.Raw})
	}
	var ksOpts []keystore.Option
	if rand != nil {
		ksOpts = append(ksOpts, keystore.WithCustomRandomNumberGenerator(rand))
	}
	ks := keystore.New(ksOpts...)
	pw := []byte(password)
	if err := ks.SetPrivateKeyEntry(alias, entry, pw); err != nil {
		return nil, fmt.Errorf("bundle: JKS: %w", err)
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, pw); err != nil {
		return nil, fmt.Errorf("bundle: JKS: %w", err)
	}
	return buf.Bytes(), nil
}
