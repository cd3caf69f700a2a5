package formats

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certwright/certwright/internal/ber"
)

// kind is what a DER element looks like from its first few tags.
type kind int

const (
	kindUnknown        kind = iota
	kindContentInfo         // SEQUENCE { OID, ... }: PKCS#7 / CMS
	kindPKCS12              // SEQUENCE { INTEGER 3, SEQUENCE { OID ...
	kindPKCS8               // SEQUENCE { INTEGER 0|1, SEQUENCE algorithm, OCTET STRING }
	kindPKCS1               // SEQUENCE { INTEGER 0|1, INTEGER n, ... }
	kindSEC1                // SEQUENCE { INTEGER 1, OCTET STRING, ... }
	kindEncryptedPKCS8      // SEQUENCE { SEQUENCE algorithm, OCTET STRING }
	kindSigned              // SEQUENCE { SEQUENCE tbs, SEQUENCE alg, BIT STRING }: certificate, CSR or CRL
)

var kindNames = map[kind]string{
	kindContentInfo:    "PKCS#7",
	kindPKCS12:         "PKCS#12",
	kindPKCS8:          "a PKCS#8 private key",
	kindPKCS1:          "a PKCS#1 RSA private key",
	kindSEC1:           "a SEC 1 EC private key",
	kindEncryptedPKCS8: "an encrypted PKCS#8 private key",
	kindSigned:         "a certificate or certificate request",
}

// classify looks at the first tags of one DER (or BER) element.
func classify(elem []byte) kind {
	if len(elem) > 1 && elem[1] == 0x80 {
		// Indefinite length: BER, which only PKCS#7 and PKCS#12 use.
		if len(elem) > 2 && elem[2] == 0x06 {
			return kindContentInfo
		}
		if len(elem) > 5 && elem[2] == 0x02 && elem[3] == 0x01 && elem[4] == 0x03 {
			return kindPKCS12
		}
		return kindUnknown
	}
	s := cryptobyte.String(elem)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return kindUnknown
	}
	switch {
	case seq.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER):
		return kindContentInfo
	case seq.PeekASN1Tag(cbasn1.INTEGER):
		var v cryptobyte.String
		if !seq.ReadASN1(&v, cbasn1.INTEGER) || len(v) != 1 {
			return kindUnknown
		}
		switch {
		case v[0] == 3 && (seq.PeekASN1Tag(cbasn1.SEQUENCE) || len(seq) > 1 && seq[0] == 0x30):
			return kindPKCS12
		case v[0] <= 1 && seq.PeekASN1Tag(cbasn1.SEQUENCE):
			return kindPKCS8
		case v[0] <= 1 && seq.PeekASN1Tag(cbasn1.INTEGER):
			return kindPKCS1
		case v[0] == 1 && seq.PeekASN1Tag(cbasn1.OCTET_STRING):
			return kindSEC1
		}
	case seq.PeekASN1Tag(cbasn1.SEQUENCE):
		if !seq.SkipASN1(cbasn1.SEQUENCE) {
			return kindUnknown
		}
		switch {
		case seq.PeekASN1Tag(cbasn1.OCTET_STRING):
			return kindEncryptedPKCS8
		case seq.PeekASN1Tag(cbasn1.SEQUENCE):
			return kindSigned
		}
	}
	return kindUnknown
}

// readDER reads one or more DER/BER elements placed back to back (a .cer
// with several certificates, a .p7b, a .p12, a key). enc describes the
// outer encoding for error messages ("DER" or "base64").
func (r *reader) readDER(data []byte, format, enc string) (string, error) {
	detected := enc
	var failures []error
	for i, pos := 0, 0; pos < len(data); i++ {
		rest := data[pos:]
		if i > 0 && bytes.IndexByte([]byte("\x00 \t\r\n"), rest[0]) >= 0 && len(bytes.Trim(rest, "\x00 \t\r\n")) == 0 {
			r.note("%d bytes of padding after the last element ignored", len(rest))
			break
		}
		if i >= r.o.MaxCertificates {
			return detected, fmt.Errorf("%w: more than %d DER elements back to back (ReadOptions.MaxCertificates)", ErrLimit, r.o.MaxCertificates)
		}
		n, err := elementLength(rest, r.o.MaxDepth)
		if err != nil {
			if errors.Is(err, ber.ErrTooDeep) {
				return detected, fmt.Errorf("%w: ASN.1 nested more than %d levels (ReadOptions.MaxDepth): %w", ErrLimit, r.o.MaxDepth, err)
			}
			if i == 0 {
				return detected, fmt.Errorf("%w: %s does not hold a complete ASN.1 element (%v); %s", ErrUnrecognized, enc, err, hint(data))
			}
			failures = append(failures, fmt.Errorf("%d bytes after element %d are not ASN.1: %w", len(rest), i, err))
			r.note("%d bytes after element %d are not ASN.1, ignored", len(rest), i)
			break
		}
		elem := rest[:n]
		pos += n
		k := classify(elem)
		source := enc
		switch k {
		case kindContentInfo:
			source = "PKCS#7"
		case kindPKCS12:
			source = "PKCS#12"
		}
		if i > 0 || pos < len(data) {
			source = fmt.Sprintf("%s element %d", enc, i+1)
		}
		if i == 0 && k != kindUnknown {
			detected = kindNames[k] + " (" + enc + ")"
			if k == kindSigned && looksLikeCertificate(elem) {
				detected = "a certificate (" + enc + ")"
			}
		}
		switch k {
		case kindContentInfo:
			err = r.readPKCS7(elem, format, source)
		case kindPKCS12:
			r.addFormat(FormatPKCS12)
			err = r.readPKCS12(elem, format, source)
		case kindPKCS8, kindPKCS1, kindSEC1:
			err = r.readKeyDER(elem, "", format, source, "")
		case kindEncryptedPKCS8:
			err = r.readEncryptedPKCS8(elem, format, source)
		case kindSigned:
			err = r.readSignedDER(elem, format, source)
		default:
			err = fmt.Errorf("%w: %s: an ASN.1 element that is none of the supported structures; %s", ErrUnrecognized, source, hint(elem))
		}
		if err != nil {
			if errors.Is(err, ErrIncorrectPassword) || errors.Is(err, ErrLimit) || i == 0 && pos == len(data) {
				return detected, err
			}
			failures = append(failures, err)
			r.note("%s skipped: %v", source, err)
		}
	}
	if len(r.c.Certificates) == 0 && len(r.c.Keys) == 0 && len(r.c.CSRs) == 0 && len(failures) > 0 {
		return detected, joinSome(failures)
	}
	return detected, nil
}

// elementLength returns the length of the element at the start of b. A
// definite length is read from the header alone (the consumers either
// parse a fixed shape or bound the depth themselves: readPKCS7 and
// internal/pkcs12 normalise with internal/ber); an indefinite length needs
// a bounded walk to find the end-of-contents.
func elementLength(b []byte, maxDepth int) (int, error) {
	if len(b) > 1 && b[1] != 0x80 {
		s := cryptobyte.String(b)
		var el cryptobyte.String
		var tag cbasn1.Tag
		if s.ReadAnyASN1Element(&el, &tag) {
			return len(el), nil
		}
	}
	return ber.Check(b, maxDepth)
}

// readSignedDER reads a certificate or a CSR, or notes a CRL.
func (r *reader) readSignedDER(der []byte, format, source string) error {
	cert, certErr := parseCertificate(der)
	if certErr == nil {
		return r.addCert(cert, CertInfo{Source: source, Format: format})
	}
	if looksLikeCertificate(der) {
		r.addUnparsed(UnparsedCert{Source: source, Format: format, Raw: der, Err: certErr}, true)
		return certErr
	}
	req, csrErr := x509.ParseCertificateRequest(der)
	if csrErr == nil {
		return r.addCSR(req, source)
	}
	if _, crlErr := x509.ParseRevocationList(der); crlErr == nil {
		r.note("%s skipped: a certificate revocation list", source)
		return nil
	}
	return fmt.Errorf("not a valid certificate (%v) nor certificate request (%v)", certErr, csrErr)
}

// looksLikeCertificate reports a signed structure whose to-be-signed part
// starts with the [0] EXPLICIT version of an X.509 v2/v3 certificate, which
// neither requests nor CRLs have.
func looksLikeCertificate(der []byte) bool {
	s := cryptobyte.String(der)
	var outer, tbs cryptobyte.String
	return s.ReadASN1(&outer, cbasn1.SEQUENCE) && outer.ReadASN1(&tbs, cbasn1.SEQUENCE) &&
		tbs.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed())
}

func (r *reader) readCertDER(der []byte, format, source string) error {
	cert, err := parseCertificate(der)
	if err != nil {
		if req, csrErr := x509.ParseCertificateRequest(der); csrErr == nil {
			r.note("%s holds a certificate request, not a certificate", source)
			return r.addCSR(req, source)
		}
		r.addUnparsed(UnparsedCert{Source: source, Format: format, Raw: der, Err: err}, true)
		return err
	}
	return r.addCert(cert, CertInfo{Source: source, Format: format})
}

func (r *reader) readCSRDER(der []byte, source string) error {
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return fmt.Errorf("not a valid certificate request: %w", err)
	}
	return r.addCSR(req, source)
}

func parseCertificate(der []byte) (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("not a valid certificate: %w", err)
	}
	return cert, nil
}

// checkPublicKey enforces MaxRSABits.
func (r *reader) checkPublicKey(pub any, what string) error {
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() > r.o.MaxRSABits {
		return fmt.Errorf("%w: %s has a %d-bit RSA key, more than the %d allowed (ReadOptions.MaxRSABits)", ErrLimit, what, k.N.BitLen(), r.o.MaxRSABits)
	}
	return nil
}
