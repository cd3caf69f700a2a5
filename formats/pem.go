package formats

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var pemBegin = []byte("-----BEGIN ")

// readPEM reads every PEM block in data. Text outside blocks is ignored.
// Malformed or unknown blocks are noted and skipped; a password problem or
// a bound fails the whole read.
func (r *reader) readPEM(data []byte) error {
	begins := countPEMBegins(data)
	if begins > r.o.MaxPEMBlocks {
		return fmt.Errorf("%w: %d PEM blocks, more than the %d allowed (ReadOptions.MaxPEMBlocks)", ErrLimit, begins, r.o.MaxPEMBlocks)
	}
	r.reserve(begins)
	var failures []error
	var d pemDecoder
	rest := data
	n := 0
	for {
		var block *pem.Block
		block, rest = d.next(rest)
		if block == nil {
			break
		}
		n++
		source := "PEM block " + strconv.Itoa(n) + " (" + printable(block.Type) + ")"
		err := r.readPEMBlock(block, source)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrIncorrectPassword) || errors.Is(err, ErrLimit) {
			return fmt.Errorf("%s: %w", source, err)
		}
		failures = append(failures, fmt.Errorf("%s: %w", source, err))
		r.note("%s skipped: %v", source, err)
	}
	if begins > n {
		r.note("%d of %d PEM BEGIN lines did not start a well-formed block (bad base64 or no END line), skipped", begins-n, begins)
		if n == 0 {
			failures = append(failures, fmt.Errorf("%w: no well-formed PEM block (bad base64 or missing END line)", ErrUnrecognized))
		}
	}
	if len(r.c.Certificates) == 0 && len(r.c.Keys) == 0 && len(r.c.CSRs) == 0 && len(failures) > 0 {
		return joinSome(failures)
	}
	return nil
}

// joinSome joins the first few errors and counts the rest, so that an
// input with thousands of bad blocks does not make a megabyte error.
func joinSome(errs []error) error {
	if len(errs) <= 5 {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs[:5:5], fmt.Errorf("and %d more failures", len(errs)-5))...)
}

func (r *reader) readPEMBlock(block *pem.Block, source string) error {
	label := block.Type
	switch label {
	case "CERTIFICATE", "X509 CERTIFICATE":
		if len(block.Bytes) > 0 && isContentInfo(block.Bytes) {
			r.note("%s holds PKCS#7 rather than a certificate (as AD CS certnew.p7b does)", source)
			return r.readPKCS7(block.Bytes, FormatPEM, source)
		}
		return r.readCertDER(block.Bytes, FormatPEM, source)
	case "TRUSTED CERTIFICATE":
		return r.readTrustedCert(block.Bytes, source)
	case "PKCS7", "CMS", "PKCS #7 SIGNED DATA":
		return r.readPKCS7(block.Bytes, FormatPEM, source)
	case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
		return r.readCSRDER(block.Bytes, source)
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		der, encrypted, err := r.decryptLegacyPEM(block)
		if err != nil {
			return err
		}
		return r.readKeyDER(der, label, FormatPEM, source, encrypted)
	case "ENCRYPTED PRIVATE KEY":
		return r.readEncryptedPKCS8(block.Bytes, FormatPEM, source)
	case "EC PARAMETERS":
		if curve := curveName(block.Bytes); curve != "" {
			r.note("%s (%s) skipped: curve parameters only; the key follows in its own block", source, curve)
		} else {
			r.note("%s skipped: curve parameters only", source)
		}
		return nil
	case "PKCS12":
		r.addFormat(FormatPKCS12)
		return r.readPKCS12(block.Bytes, FormatPEM, source)
	case "X509 CRL":
		r.note("%s skipped: certificate revocation lists are not read", source)
		return nil
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		r.note("%s skipped: a public key alone is neither a certificate nor a private key", source)
		return nil
	case "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return fmt.Errorf("%w: %s keys cannot be used for X.509 certificates here", ErrUnsupported, strings.TrimSuffix(label, " PRIVATE KEY"))
	}
	r.note("%s skipped: unknown PEM label", source)
	return nil
}

// isContentInfo reports whether der starts like a PKCS#7/CMS ContentInfo:
// a SEQUENCE whose first element is an OBJECT IDENTIFIER.
func isContentInfo(der []byte) bool {
	s := cryptobyte.String(der)
	var inner cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&inner, &tag) {
		// BER with indefinite lengths: look at the first bytes only.
		return len(der) > 4 && der[0] == 0x30 && der[1] == 0x80 && der[2] == 0x06
	}
	return tag == cbasn1.SEQUENCE && inner.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER)
}

// readTrustedCert reads OpenSSL's TRUSTED CERTIFICATE: a certificate
// followed by an X509_CERT_AUX structure with trust settings, an alias and
// a key ID.
func (r *reader) readTrustedCert(der []byte, source string) error {
	s := cryptobyte.String(der)
	var certDER cryptobyte.String
	if !s.ReadASN1Element(&certDER, cbasn1.SEQUENCE) {
		return fmt.Errorf("%w: TRUSTED CERTIFICATE does not start with a certificate", ErrUnrecognized)
	}
	cert, err := parseCertificate(certDER)
	if err != nil {
		r.addUnparsed(UnparsedCert{Source: source, Format: FormatPEM, Raw: certDER, Err: err}, true)
		return err
	}
	info := CertInfo{Source: source, Format: FormatPEM}
	if len(s) > 0 {
		trust, reject, alias, keyID, ok := parseCertAux(s)
		if !ok {
			r.note("%s: OpenSSL trust data after the certificate is malformed, ignored", source)
		} else {
			info.FriendlyName, info.LocalKeyID = alias, keyID
			info.Trusted = len(trust) > 0
			msg := "OpenSSL trust settings"
			if len(trust) > 0 {
				msg += ": trusted for " + strings.Join(trust, ", ")
			}
			if len(reject) > 0 {
				msg += "; rejected for " + strings.Join(reject, ", ")
			}
			if alias != "" {
				msg += fmt.Sprintf("; alias %q", alias)
			}
			r.note("%s: %s (not enforced by this package)", source, msg)
		}
	}
	return r.addCert(cert, info)
}

var purposeNames = map[string]string{
	"2.5.29.37.0":       "any purpose",
	"1.3.6.1.5.5.7.3.1": "serverAuth",
	"1.3.6.1.5.5.7.3.2": "clientAuth",
	"1.3.6.1.5.5.7.3.3": "codeSigning",
	"1.3.6.1.5.5.7.3.4": "emailProtection",
	"1.3.6.1.5.5.7.3.8": "timeStamping",
	"1.3.6.1.5.5.7.3.9": "OCSPSigning",
}

// parseCertAux parses X509_CERT_AUX:
//
//	SEQUENCE { trust SEQUENCE OF OID OPTIONAL, reject [0] IMPLICIT SEQUENCE OF OID OPTIONAL,
//	           alias UTF8String OPTIONAL, keyid OCTET STRING OPTIONAL, other [1] ... OPTIONAL }
func parseCertAux(b cryptobyte.String) (trust, reject []string, alias string, keyID []byte, ok bool) {
	var aux cryptobyte.String
	if !b.ReadASN1(&aux, cbasn1.SEQUENCE) {
		return nil, nil, "", nil, false
	}
	readOIDs := func(s cryptobyte.String) ([]string, bool) {
		var out []string
		for !s.Empty() {
			var oid asn1.ObjectIdentifier
			if !s.ReadASN1ObjectIdentifier(&oid) {
				return nil, false
			}
			name := purposeNames[oid.String()]
			if name == "" {
				name = oid.String()
			}
			out = append(out, name)
		}
		return out, true
	}
	var seq cryptobyte.String
	var present bool
	if !aux.ReadOptionalASN1(&seq, &present, cbasn1.SEQUENCE) {
		return nil, nil, "", nil, false
	}
	if present {
		if trust, ok = readOIDs(seq); !ok {
			return nil, nil, "", nil, false
		}
	}
	if !aux.ReadOptionalASN1(&seq, &present, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, nil, "", nil, false
	}
	if present {
		if reject, ok = readOIDs(seq); !ok {
			return nil, nil, "", nil, false
		}
	}
	var a cryptobyte.String
	if !aux.ReadOptionalASN1(&a, &present, cbasn1.UTF8String) {
		return nil, nil, "", nil, false
	}
	alias = string(a)
	var k cryptobyte.String
	if !aux.ReadOptionalASN1(&k, &present, cbasn1.OCTET_STRING) {
		return nil, nil, "", nil, false
	}
	if present {
		keyID = append([]byte(nil), k...)
	}
	return trust, reject, alias, keyID, true
}

var curveOIDs = map[string]string{
	"1.2.840.10045.3.1.7": "P-256",
	"1.3.132.0.34":        "P-384",
	"1.3.132.0.35":        "P-521",
	"1.3.132.0.10":        "secp256k1",
	"1.2.840.10045.3.1.1": "P-192",
	"1.3.132.0.33":        "P-224",
}

func curveName(der []byte) string {
	s := cryptobyte.String(der)
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return ""
	}
	if n, ok := curveOIDs[oid.String()]; ok {
		return n
	}
	return oid.String()
}

// decodeBareBase64 decodes text made only of base64 characters and white
// space (a .cer without BEGIN/END lines, with any line length and line
// endings). It reports false for anything else.
func decodeBareBase64(text []byte) ([]byte, bool) {
	clean := make([]byte, 0, len(text))
	for _, c := range text {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			clean = append(clean, c)
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return nil, false
		}
	}
	if len(clean) < 4 {
		return nil, false
	}
	enc := base64.StdEncoding
	if len(clean)%4 != 0 && !bytes.Contains(clean, []byte("=")) {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(out, clean)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// printable returns s, or s quoted when it holds anything but printable
// ASCII, so that labels from the input cannot put control sequences into
// notes and errors.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strconv.Quote(s)
		}
	}
	return s
}
