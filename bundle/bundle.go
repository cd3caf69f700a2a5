package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
)

// Bundle is what a TLS server needs: the private key, the certificate issued
// for it, and the certificates between that certificate and a root, in order.
type Bundle struct {
	// Key is the private key of Leaf. Writers that put the key in a file
	// need a key they can export (*rsa.PrivateKey, *ecdsa.PrivateKey,
	// ed25519.PrivateKey); TLSCertificate accepts any crypto.Signer.
	Key crypto.Signer
	// Leaf is the end-entity certificate.
	Leaf *x509.Certificate
	// Intermediates are the CA certificates from Leaf's issuer upwards,
	// each one the issuer of the one before it, the root left out.
	Intermediates []*x509.Certificate
	// Root is the trust anchor the chain ends in; nil when unknown. Writers
	// include it only when asked (WriteOptions.IncludeRoot), because a
	// server that sends its root wastes bytes and clients ignore it.
	Root *x509.Certificate
}

// ErrKeyMismatch reports a key that does not belong to the certificate.
var ErrKeyMismatch = errors.New("the private key does not match the certificate")

// ErrChainOrder reports intermediates that are not each the issuer of the
// certificate before them.
var ErrChainOrder = errors.New("the chain is not in order from the leaf to the root")

// Chain returns the certificates a server sends: Leaf followed by
// Intermediates, and Root at the end when includeRoot is true and Root is
// set. The slice is new; the certificates are shared.
func (b *Bundle) Chain(includeRoot bool) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(b.Intermediates)+2)
	out = append(out, b.Leaf)
	out = append(out, b.Intermediates...)
	if includeRoot && b.Root != nil {
		out = append(out, b.Root)
	}
	return out
}

// Check verifies that the bundle is consistent: the key matches the leaf,
// each intermediate issued the certificate before it (by name and
// signature), the root issued the last one, and no intermediate is
// self-signed. It does not check validity dates, host names or trust: the
// chain package does that when the bundle is built.
func (b *Bundle) Check() error {
	if b == nil || b.Leaf == nil {
		return errors.New("bundle: no leaf certificate")
	}
	if b.Key == nil {
		return fmt.Errorf("bundle: no private key for %s", describe(b.Leaf))
	}
	if !publicKeyEqual(b.Key.Public(), b.Leaf.PublicKey) {
		return fmt.Errorf("bundle: %w: the key's public key has fingerprint %s, the certificate %s has %s",
			ErrKeyMismatch, Fingerprint(b.Key.Public()), describe(b.Leaf), Fingerprint(b.Leaf.PublicKey))
	}
	return checkOrder(b.Chain(true), b.Root != nil)
}

// checkOrder checks that certs[i+1] issued certs[i] for every i, and, when
// hasRoot, that the last certificate is self-signed while no earlier one is.
func checkOrder(certs []*x509.Certificate, hasRoot bool) error {
	for i := 1; i < len(certs); i++ {
		if hasRoot && i == len(certs)-1 {
			break
		}
		if selfSigned(certs[i]) {
			return fmt.Errorf("bundle: %w: %s at position %d is self-signed (a root); pass roots as Bundle.Root, not as intermediates", ErrChainOrder, describe(certs[i]), i)
		}
	}
	for i := 0; i+1 < len(certs); i++ {
		child, parent := certs[i], certs[i+1]
		if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
			return fmt.Errorf("bundle: %w: %s at position %d was issued by %q, but the next certificate is %q",
				ErrChainOrder, describe(child), i, child.Issuer.String(), parent.Subject.String())
		}
		if err := child.CheckSignatureFrom(parent); err != nil {
			return fmt.Errorf("bundle: %w: %s at position %d is not signed by the next certificate %q: %v",
				ErrChainOrder, describe(child), i, parent.Subject.String(), err)
		}
	}
	return nil
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// TLSCertificate returns the bundle as a crypto/tls certificate: the chain
// (Leaf and Intermediates, never the root), the key, and Leaf set so that
// crypto/tls does not parse the leaf again. It checks the bundle first.
func (b *Bundle) TLSCertificate() (tls.Certificate, error) {
	if err := b.Check(); err != nil {
		return tls.Certificate{}, err
	}
	var c tls.Certificate
	for _, x := range b.Chain(false) {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	c.PrivateKey = b.Key
	c.Leaf = b.Leaf
	return c, nil
}

// Fingerprint returns the hex SHA-256 of the DER SubjectPublicKeyInfo of pub
// (the same value as csr.KeyID and `openssl pkey -pubin -outform DER |
// sha256sum`), or a placeholder when pub cannot be encoded.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Sprintf("(unencodable %T key)", pub)
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// publicKeyEqual compares two public keys with their Equal methods.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch k := a.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return k.(equaler).Equal(b)
	case equaler:
		return k.Equal(b)
	}
	return false
}

// describe names a certificate for error messages: its subject and serial.
func describe(c *x509.Certificate) string {
	serial := "?"
	if c.SerialNumber != nil {
		serial = fmt.Sprintf("%X", c.SerialNumber)
	}
	return fmt.Sprintf("%q (serial %s)", c.Subject.String(), serial)
}
