package formats

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf16"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/certwright/certwright/internal/ber"
	"github.com/certwright/certwright/internal/pkcs12"
)

// readPKCS12 reads a PKCS#12 file (DER or BER) with internal/pkcs12, which
// checks nesting depth and iteration counts before any work.
func (r *reader) readPKCS12(data []byte, format, source string) error {
	left := r.o.MaxTotalIterations - r.spent
	if left <= 0 {
		return fmt.Errorf("%w: %s: the key derivation budget of this input is spent (ReadOptions.MaxTotalIterations)", ErrLimit, source)
	}
	p, err := pkcs12.Decode(data, r.o.Password, pkcs12.Options{
		MaxIterations:      r.o.MaxIterations,
		MaxTotalIterations: left,
		MaxDepth:           r.o.MaxDepth,
		MaxBags:            r.o.MaxCertificates,
	})
	if err != nil {
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword):
			if r.o.Password == "" {
				return fmt.Errorf("%w: the file is protected and no password was given: %w", ErrIncorrectPassword, err)
			}
			return fmt.Errorf("%w: %w", ErrIncorrectPassword, err)
		case errors.Is(err, pkcs12.ErrTooManyIterations), errors.Is(err, pkcs12.ErrTooManyBags),
			errors.Is(err, pkcs12.ErrKeyTooLarge), errors.Is(err, ber.ErrTooDeep):
			return fmt.Errorf("%w: %w", ErrLimit, err)
		case errors.Is(err, pkcs12.ErrUnsupported):
			return fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return err
	}
	// Decode reports the largest derivation only; charge it for the MAC
	// and for each encrypted item as an estimate of what was spent.
	r.spent += p.Iterations * (1 + len(p.Encryption))
	desc := []string{"MAC " + p.MACAlgorithm}
	if len(p.Encryption) > 0 {
		desc = append(desc, "encryption "+strings.Join(p.Encryption, ", "))
	}
	if p.Iterations > 0 {
		desc = append(desc, fmt.Sprintf("%d iterations", p.Iterations))
	}
	if p.BER {
		desc = append(desc, "BER encoded")
	}
	r.note("%s: %s", source, strings.Join(desc, ", "))
	for _, e := range p.Encryption {
		if strings.Contains(e, "RC2") || strings.Contains(e, "DES") || strings.Contains(e, "RC4") {
			r.note("%s: legacy encryption %s: re-export with the Modern profile (AES-256) when the consumer allows", source, e)
			break
		}
	}
	unparsedAt, p12Notes := pkcs12Unparsed(p)
	for _, n := range p12Notes {
		r.note("%s: %s", source, n)
	}
	for i, k := range p.Keys {
		err := r.addKey(k.Key, KeyInfo{
			Source:       fmt.Sprintf("%s key %d", source, i+1),
			Format:       FormatPKCS12,
			Encoding:     "pkcs8",
			Encrypted:    strings.Join(p.Encryption, ", "),
			FriendlyName: k.FriendlyName,
			LocalKeyID:   k.LocalKeyID,
		})
		if err != nil {
			return err
		}
	}
	for i, c := range p.Certs {
		err := r.addCert(c.Cert, CertInfo{
			Source:       fmt.Sprintf("%s certificate %d", source, i+1),
			Format:       FormatPKCS12,
			FriendlyName: c.FriendlyName,
			LocalKeyID:   c.LocalKeyID,
			Trusted:      c.Trusted,
		})
		if err != nil {
			return err
		}
	}
	for i, u := range p.Unparsed {
		r.addUnparsed(UnparsedCert{
			Source:       source + " " + unparsedAt[i],
			Format:       FormatPKCS12,
			FriendlyName: u.FriendlyName,
			LocalKeyID:   u.LocalKeyID,
			Raw:          u.Raw,
			Err:          u.Err,
		}, false)
	}
	return nil
}

// PKCS12Profile is a named, immutable set of PKCS#12 encryption
// parameters. Use the predefined profiles and derive variants with the
// copy-returning With... methods.
type PKCS12Profile struct {
	name       string
	enc        *gopkcs12.Encoder
	iterations int
	rand       io.Reader
}

var (
	// Modern encrypts keys and certificates with PBES2 (PBKDF2-HMAC-SHA-256,
	// AES-256-CBC) and uses an HMAC-SHA-256 MAC: OpenSSL 1.1.1+, Java 12+,
	// Windows Server 2019+ and macOS read it. It is the default.
	Modern = &PKCS12Profile{name: "Modern", enc: gopkcs12.Modern2023}
	// Legacy3DES encrypts with pbeWithSHAAnd3-KeyTripleDES-CBC and uses an
	// HMAC-SHA-1 MAC, for Windows Server 2016 and older, Java 8 and other
	// old consumers. The encryption is weak: protect the file otherwise.
	Legacy3DES = &PKCS12Profile{name: "Legacy3DES", enc: gopkcs12.LegacyDES}
	// LegacyRC2 encrypts certificates with 40-bit RC2 and keys with 3DES,
	// as OpenSSL before 3.0 did. Use it only when a consumer demands it:
	// OpenSSL 3 needs -legacy to read it, and 40-bit RC2 protects nothing.
	LegacyRC2 = &PKCS12Profile{name: "LegacyRC2", enc: gopkcs12.LegacyRC2}
	// Passwordless writes no encryption and no MAC: anyone can read the
	// key. It requires an empty password and exists for trust stores and
	// pipelines that protect the file by other means.
	Passwordless = &PKCS12Profile{name: "Passwordless", enc: gopkcs12.Passwordless}
)

// Name returns the profile's name ("Modern", "Legacy3DES", "LegacyRC2",
// "Passwordless").
func (p PKCS12Profile) Name() string { return p.name }

// WithIterations returns a copy of p that derives keys with n iterations
// (n < 1 is rejected when encoding). Passwordless ignores it.
func (p PKCS12Profile) WithIterations(n int) *PKCS12Profile {
	p.iterations = n
	return &p
}

// WithRand returns a copy of p that takes salts and IVs from rand instead
// of crypto/rand.
func (p PKCS12Profile) WithRand(rand io.Reader) *PKCS12Profile {
	p.rand = rand
	return &p
}

func (p *PKCS12Profile) encoder() (*gopkcs12.Encoder, error) {
	enc := p.enc
	if p.iterations != 0 && p.name != "Passwordless" {
		if p.iterations < 1 {
			return nil, fmt.Errorf("formats: PKCS#12: %d iterations", p.iterations)
		}
		enc = enc.WithIterations(p.iterations)
	}
	if p.rand != nil {
		enc = enc.WithRand(p.rand)
	}
	return enc, nil
}

// PKCS12Options controls EncodePKCS12. The zero value uses the Modern
// profile and no friendly name.
type PKCS12Options struct {
	// Profile selects the encryption; nil means Modern.
	Profile *PKCS12Profile
	// FriendlyName is set on the private key bag (keytool takes the alias
	// from it) and on the leaf certificate's bag (Windows and IIS show it),
	// as openssl pkcs12 -name does. With LegacyRC2 only the key bag gets
	// it: the 40-bit RC2 certificate safe is not re-encrypted. Empty means
	// none. It must be within the Basic Multilingual Plane (BMPString).
	FriendlyName string
}

// EncodePKCS12 returns a PKCS#12 (.pfx/.p12) file holding key, the
// certificate leaf for it and the chain certificates (intermediates,
// leaf's issuer first), protected with password. The key must belong to
// leaf (checked by public key). A password is required, except with the
// Passwordless profile, which requires an empty one. A nil opts means the
// zero PKCS12Options.
func EncodePKCS12(key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, password string, opts *PKCS12Options) ([]byte, error) {
	var o PKCS12Options
	if opts != nil {
		o = *opts
	}
	profile := o.Profile
	if profile == nil {
		profile = Modern
	}
	if key == nil || leaf == nil {
		return nil, errors.New("formats: PKCS#12: a key and its certificate are required")
	}
	if profile.name == "Passwordless" {
		if password != "" {
			return nil, errors.New("formats: PKCS#12: the Passwordless profile takes an empty password")
		}
	} else if password == "" {
		return nil, fmt.Errorf("formats: PKCS#12: a password is required with the %s profile (use the Passwordless profile to write an unprotected file)", profile.name)
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("formats: PKCS#12: %w", err)
	}
	if string(spki) != string(leaf.RawSubjectPublicKeyInfo) {
		return nil, fmt.Errorf("formats: PKCS#12: the key does not belong to the certificate %q (key SPKI SHA-256 %x, certificate SPKI SHA-256 %x)",
			leaf.Subject.String(), sha256.Sum256(spki), sha256.Sum256(leaf.RawSubjectPublicKeyInfo))
	}
	enc, err := profile.encoder()
	if err != nil {
		return nil, err
	}
	pfx, err := enc.Encode(key, leaf, chain, password)
	if err != nil {
		return nil, fmt.Errorf("formats: PKCS#12 %s: %w", profile.name, err)
	}
	if o.FriendlyName != "" {
		if pfx, err = addFriendlyName(pfx, o.FriendlyName, password); err != nil {
			return nil, fmt.Errorf("formats: PKCS#12 friendly name: %w", err)
		}
	}
	return pfx, nil
}

// EncodePKCS12TrustStore returns a PKCS#12 trust store: certificates only,
// each marked as trusted for Java (keytool lists them as
// trustedCertEntry), named by its subject.
func EncodePKCS12TrustStore(certs []*x509.Certificate, password string, profile *PKCS12Profile) ([]byte, error) {
	if profile == nil {
		profile = Modern
	}
	if profile.name != "Passwordless" && password == "" {
		return nil, fmt.Errorf("formats: PKCS#12: a password is required with the %s profile", profile.name)
	}
	if len(certs) == 0 {
		return nil, errors.New("formats: PKCS#12: no certificates")
	}
	enc, err := profile.encoder()
	if err != nil {
		return nil, err
	}
	out, err := enc.EncodeTrustStore(certs, password)
	if err != nil {
		return nil, fmt.Errorf("formats: PKCS#12 %s: %w", profile.name, err)
	}
	return out, nil
}

var (
	oidFriendlyName = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidSHA1         = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

func bmpString(s string) ([]byte, error) {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if utf16.IsSurrogate(rune(u)) {
			return nil, fmt.Errorf("%q has characters outside the Basic Multilingual Plane, which a BMPString cannot hold", s)
		}
		out = append(out, byte(u>>8), byte(u))
	}
	return out, nil
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2 with hash h
// (output u bytes, block v bytes), producing n bytes for purpose id (1 key,
// 2 IV, 3 MAC key). pass is the BMPString password with its two NULs.
func pkcs12KDF(h func() hash.Hash, u, v int, salt, pass []byte, iterations, id, n int) []byte {
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		l := v * ((len(b) + v - 1) / v)
		out := make([]byte, l)
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	D := make([]byte, v)
	for i := range D {
		D[i] = byte(id)
	}
	I := append(fill(salt), fill(pass)...)
	var out []byte
	for len(out) < n {
		hh := h()
		hh.Write(D)
		hh.Write(I)
		A := hh.Sum(nil)
		for j := 1; j < iterations; j++ {
			hh.Reset()
			hh.Write(A)
			A = hh.Sum(A[:0])
		}
		out = append(out, A...)
		if len(out) >= n {
			break
		}
		B := make([]byte, v)
		for i := range B {
			B[i] = A[i%u]
		}
		for j := 0; j < len(I); j += v {
			// I_j = (I_j + B + 1) mod 2^(8v)
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(I[j+k]) + int(B[k]) + carry
				I[j+k] = byte(sum)
				carry = sum >> 8
			}
		}
	}
	return out[:n]
}
