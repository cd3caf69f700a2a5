package formats

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certwright/certwright/internal/ber"
)

var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

var contentTypeNames = map[string]string{
	"1.2.840.113549.1.7.1":       "data",
	"1.2.840.113549.1.7.3":       "enveloped data",
	"1.2.840.113549.1.7.5":       "digested data",
	"1.2.840.113549.1.7.6":       "encrypted data",
	"1.2.840.113549.1.9.16.1.2":  "authenticated data",
	"1.2.840.113549.1.9.16.1.23": "authenticated-enveloped data",
}

// signedDataParts is what the certificates-only walk finds.
type signedDataParts struct {
	certs   [][]byte // DER of each certificate, in order
	other   int      // CertificateChoices that are not plain certificates
	crls    int
	signers int
}

// walkSignedData walks ContentInfo -> SignedData -> certificates in DER
// without decoding signer infos, CRLs or the content.
func walkSignedData(der []byte) (*signedDataParts, error) {
	s := cryptobyte.String(der)
	var ci cryptobyte.String
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, errors.New("PKCS#7: ContentInfo is not one SEQUENCE")
	}
	var ct asn1.ObjectIdentifier
	if !ci.ReadASN1ObjectIdentifier(&ct) {
		return nil, errors.New("PKCS#7: ContentInfo has no content type")
	}
	if !ct.Equal(oidSignedData) {
		name := contentTypeNames[ct.String()]
		if name == "" {
			name = "content type " + ct.String()
		}
		return nil, fmt.Errorf("%w: PKCS#7 %s (%s) holds no certificates; only signed data (certificates-only .p7b/.p7c) is read", ErrUnsupported, name, ct)
	}
	var explicit, sd cryptobyte.String
	if !ci.ReadASN1(&explicit, cbasn1.Tag(0).ContextSpecific().Constructed()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, errors.New("PKCS#7: signed data without content")
	}
	var version int64
	if !sd.ReadASN1Integer(&version) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) {
		return nil, errors.New("PKCS#7: malformed SignedData header (version, digest algorithms, content)")
	}
	p := &signedDataParts{}
	var certs, crls, signers cryptobyte.String
	var hasCerts, hasCRLs bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!sd.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).ContextSpecific().Constructed()) ||
		!sd.ReadASN1(&signers, cbasn1.SET) {
		return nil, errors.New("PKCS#7: malformed SignedData certificates, CRLs or signer infos")
	}
	for !certs.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&el, &tag) {
			return nil, errors.New("PKCS#7: malformed certificate set")
		}
		if tag == cbasn1.SEQUENCE {
			p.certs = append(p.certs, el)
		} else {
			p.other++
		}
	}
	for !crls.Empty() {
		if !crls.SkipASN1(cbasn1.SEQUENCE) {
			return nil, errors.New("PKCS#7: malformed CRL set")
		}
		p.crls++
	}
	for !signers.Empty() {
		if !signers.SkipASN1(cbasn1.SEQUENCE) {
			return nil, errors.New("PKCS#7: malformed signer infos")
		}
		p.signers++
	}
	return p, nil
}

// readPKCS7 reads the certificates of a PKCS#7/CMS signed data (DER or
// BER). DER goes straight to the certificates-only walk, which descends a
// fixed number of levels. Anything else is first normalised by
// internal/ber, which bounds the nesting depth, so that no recursive parser
// (smallstep/pkcs7 is one) ever sees unbounded nesting.
func (r *reader) readPKCS7(data []byte, format, source string) error {
	r.addFormat(FormatPKCS7)
	der := data
	p, walkErr := walkSignedData(der)
	if walkErr != nil && !errors.Is(walkErr, ErrUnsupported) {
		norm, err := ber.ToDER(data, r.o.MaxDepth)
		if err != nil {
			if errors.Is(err, ber.ErrTooDeep) {
				return fmt.Errorf("%w: %s: ASN.1 nested more than %d levels (ReadOptions.MaxDepth): %w", ErrLimit, source, r.o.MaxDepth, err)
			}
			return fmt.Errorf("%s: PKCS#7 is not well-formed BER: %w", source, err)
		}
		if !bytes.Equal(norm, data) {
			r.note("%s: PKCS#7 in BER (indefinite lengths or constructed strings), normalised to DER", source)
		}
		der = norm
		p, walkErr = walkSignedData(der)
	}
	if walkErr != nil {
		if errors.Is(walkErr, ErrUnsupported) {
			return walkErr
		}
		// The certificates-only walk is strict; give the general parser a
		// chance before failing, and keep both reasons. der passed
		// ber.ToDER, so its depth is bounded.
		p7, err := pkcs7.Parse(der)
		if err != nil {
			return errors.Join(walkErr, fmt.Errorf("smallstep/pkcs7: %w", err))
		}
		r.note("%s: read by the general PKCS#7 parser after: %v", source, walkErr)
		for i, cert := range p7.Certificates {
			if err := r.addCert(cert, CertInfo{Source: fmt.Sprintf("%s certificate %d", source, i+1), Format: FormatPKCS7}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(p.certs) > r.o.MaxCertificates {
		return fmt.Errorf("%w: %s holds %d certificates, more than the %d allowed (ReadOptions.MaxCertificates)", ErrLimit, source, len(p.certs), r.o.MaxCertificates)
	}
	r.reserve(len(p.certs))
	for i, certDER := range p.certs {
		src := fmt.Sprintf("%s certificate %d", source, i+1)
		cert, err := parseCertificate(certDER)
		if err != nil {
			r.addUnparsed(UnparsedCert{Source: src, Format: FormatPKCS7, Raw: certDER, Err: err}, false)
			continue
		}
		if err := r.addCert(cert, CertInfo{Source: src, Format: FormatPKCS7}); err != nil {
			return err
		}
	}
	if p.other > 0 {
		r.note("%s: %d attribute or extended certificates skipped", source, p.other)
	}
	if p.crls > 0 {
		r.note("%s: %d CRLs skipped", source, p.crls)
	}
	if p.signers > 0 {
		msg := fmt.Sprintf("%s: signed data with %d signer(s); the signature is not verified", source, p.signers)
		if _, err := ber.Check(der, r.o.MaxDepth); p.signers == 1 && err == nil {
			if p7, err := pkcs7.Parse(der); err == nil {
				if signer := p7.GetOnlySigner(); signer != nil {
					msg += "; signer " + signer.Subject.String()
				}
			}
		}
		r.note("%s", msg)
	}
	if len(p.certs) == 0 {
		r.note("%s: PKCS#7 without certificates", source)
	}
	return nil
}

// EncodePKCS7 returns a certificates-only PKCS#7 SignedData in DER (the
// .p7b/.p7c format): version 1, no digest algorithms, empty data content,
// the certificates in the order given and no signer infos. Windows,
// OpenSSL (openssl pkcs7 -print_certs) and Java read it. It does not sign
// anything.
func EncodePKCS7(certs []*x509.Certificate) ([]byte, error) {
	if len(certs) == 0 {
		return nil, errors.New("formats: PKCS#7: no certificates to encode")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(ci *cryptobyte.Builder) {
		ci.AddASN1ObjectIdentifier(oidSignedData)
		ci.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(e *cryptobyte.Builder) {
			e.AddASN1(cbasn1.SEQUENCE, func(sd *cryptobyte.Builder) {
				sd.AddASN1Int64(1)
				sd.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
				sd.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
					c.AddASN1ObjectIdentifier(oidData)
				})
				sd.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(cs *cryptobyte.Builder) {
					for _, cert := range certs {
						cs.AddBytes(cert.Raw)
					}
				})
				sd.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("formats: PKCS#7: %w", err)
	}
	return der, nil
}

// EncodePKCS7PEM returns EncodePKCS7 in a PEM block labelled PKCS7, the
// form OpenSSL writes with crl2pkcs7 and most CAs offer as .p7b text.
func EncodePKCS7PEM(certs []*x509.Certificate) ([]byte, error) {
	der, err := EncodePKCS7(certs)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: der}), nil
}
