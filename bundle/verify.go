package bundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/certwright/certwright/formats"
)

// The read-back checks run on the bytes as found on disk after a write.
// PEM and the Secret manifest are parsed with the standard library, the
// containers with the formats package, so a writer is never checked by the
// code that wrote it.

// verifyPEM checks a PEM file holding exactly the certificates want, in
// order, and exactly one PKCS#8 key matching the leaf when wantKey.
func (b *Bundle) verifyPEM(want []*x509.Certificate, wantKey bool) func([]byte) error {
	return func(data []byte) error {
		certs, keys, err := parsePEM(data)
		if err != nil {
			return err
		}
		if err := b.sameCerts(certs, want); err != nil {
			return err
		}
		return b.checkKeys(keys, wantKey)
	}
}

// verifyPEMChainOnly checks chain.pem: the intermediates (and the root when
// asked), no key. An empty chain makes an empty file.
func (b *Bundle) verifyPEMChainOnly(want []*x509.Certificate) func([]byte) error {
	return func(data []byte) error {
		certs, keys, err := parsePEM(data)
		if err != nil {
			return err
		}
		if err := b.sameCerts(certs, want); err != nil {
			return err
		}
		return b.checkKeys(keys, false)
	}
}

// verifyPFX opens a PKCS#12 file with the formats package and checks the
// key, the certificates and the friendly name.
func (b *Bundle) verifyPFX(want []*x509.Certificate, password, friendly string) func([]byte) error {
	return b.verifyContainer(want, password, friendly)
}

// verifyJKS opens a JKS store with the formats package and checks it like
// a PKCS#12 file.
func (b *Bundle) verifyJKS(want []*x509.Certificate, password, alias string) func([]byte) error {
	return b.verifyContainer(want, password, strings.ToLower(alias))
}

func (b *Bundle) verifyContainer(want []*x509.Certificate, password, friendly string) func([]byte) error {
	return func(data []byte) error {
		c, err := formats.Read(data, &formats.ReadOptions{Password: password})
		if err != nil {
			return err
		}
		if err := b.checkKeys(c.Keys, true); err != nil {
			return err
		}
		if got := c.KeyInfo[0].FriendlyName; got != friendly {
			return fmt.Errorf("the key entry is named %q, expected %q", got, friendly)
		}
		// Containers keep certificates as a set; check membership, then
		// that the chain the file yields is the one intended.
		if len(c.Certificates) != len(want) {
			return fmt.Errorf("holds %d certificates, expected %d", len(c.Certificates), len(want))
		}
		for _, w := range want {
			found := false
			for _, g := range c.Certificates {
				if bytes.Equal(g.Raw, w.Raw) {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s is missing", describe(w))
			}
		}
		return nil
	}
}

// verifySecret parses the manifest written by encodeSecret and checks each
// data value.
func (b *Bundle) verifySecret(name string, tlsCrt, ca []*x509.Certificate) func([]byte) error {
	return func(data []byte) error {
		fields := map[string]string{}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
			if ok {
				if _, dup := fields[k]; dup {
					return fmt.Errorf("the manifest has %q twice", k)
				}
				fields[k] = v
			}
		}
		if fields["kind"] != "Secret" || fields["type"] != "kubernetes.io/tls" || fields["name"] != name {
			return fmt.Errorf("the manifest is not a kubernetes.io/tls Secret named %q", name)
		}
		decode := func(k string) ([]byte, error) {
			v, ok := fields[k]
			if !ok {
				return nil, fmt.Errorf("the manifest has no %s", k)
			}
			return base64.StdEncoding.DecodeString(v)
		}
		crt, err := decode("tls.crt")
		if err != nil {
			return err
		}
		if err := b.verifyPEM(tlsCrt, false)(crt); err != nil {
			return fmt.Errorf("tls.crt: %w", err)
		}
		key, err := decode("tls.key")
		if err != nil {
			return err
		}
		if err := b.verifyPEM(nil, true)(key); err != nil {
			return fmt.Errorf("tls.key: %w", err)
		}
		if len(ca) == 0 {
			if _, ok := fields["ca.crt"]; ok {
				return errors.New("ca.crt is present but the root was not asked for")
			}
			return nil
		}
		caPEM, err := decode("ca.crt")
		if err != nil {
			return err
		}
		certs, keys, err := parsePEM(caPEM)
		if err != nil {
			return fmt.Errorf("ca.crt: %w", err)
		}
		if len(keys) != 0 || len(certs) != 1 || !bytes.Equal(certs[0].Raw, ca[0].Raw) {
			return errors.New("ca.crt does not hold exactly the root")
		}
		return nil
	}
}

// parsePEM reads CERTIFICATE and PRIVATE KEY blocks; anything else, or
// text that is not PEM, is an error because we wrote the file.
func parsePEM(data []byte) ([]*x509.Certificate, []crypto.Signer, error) {
	var certs []*x509.Certificate
	var keys []crypto.Signer
	rest := data
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, nil, errors.New("holds text that is not PEM")
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("private key: %w", err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, nil, fmt.Errorf("private key of type %T", k)
			}
			keys = append(keys, s)
		default:
			return nil, nil, fmt.Errorf("holds an unexpected %q PEM block", block.Type)
		}
	}
	return certs, keys, nil
}

// sameCerts checks that got is exactly want, in order, and that the order
// is the issuing order with no root unless want ends with the bundle's root.
func (b *Bundle) sameCerts(got, want []*x509.Certificate) error {
	if len(got) != len(want) {
		return fmt.Errorf("holds %d certificates, expected %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Raw, want[i].Raw) {
			return fmt.Errorf("certificate %d is %s, expected %s", i+1, describe(got[i]), describe(want[i]))
		}
	}
	if len(got) == 0 {
		return nil
	}
	hasRoot := b.Root != nil && bytes.Equal(got[len(got)-1].Raw, b.Root.Raw)
	if err := checkOrder(got, hasRoot); err != nil {
		return err
	}
	if !hasRoot && len(got) > 1 && selfSigned(got[len(got)-1]) {
		return fmt.Errorf("%s is a root, which was not asked for", describe(got[len(got)-1]))
	}
	return nil
}

func (b *Bundle) checkKeys(keys []crypto.Signer, wantKey bool) error {
	switch {
	case !wantKey && len(keys) > 0:
		return errors.New("holds a private key where none belongs")
	case wantKey && len(keys) != 1:
		return fmt.Errorf("holds %d private keys, expected 1", len(keys))
	case wantKey && !publicKeyEqual(keys[0].Public(), b.Leaf.PublicKey):
		return fmt.Errorf("%w: the key read back has fingerprint %s, the certificate %s",
			ErrKeyMismatch, Fingerprint(keys[0].Public()), Fingerprint(b.Leaf.PublicKey))
	}
	return nil
}
