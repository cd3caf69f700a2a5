package pkcs12

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Bag types, RFC 7292 section 4.2: pkcs-12 bagtypes 1.2.840.113549.1.12.10.1.n.
const (
	bagKey          = 1
	bagShroudedKey  = 2
	bagCert         = 3
	bagCRL          = 4
	bagSecret       = 5
	bagSafeContents = 6
)

var (
	oidBagTypes         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1}
	oidFriendlyName     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidLocalKeyID       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidCertX509         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidCertSDSI         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 2}
	oidJavaTrustedUsage = asn1.ObjectIdentifier{2, 16, 840, 1, 113894, 746875, 1, 1}
)

var bagNames = map[int]string{
	bagKey: "keyBag", bagShroudedKey: "pkcs8ShroudedKeyBag", bagCert: "certBag",
	bagCRL: "crlBag", bagSecret: "secretBag", bagSafeContents: "safeContentsBag",
}

type attributes struct {
	friendlyName string
	localKeyID   []byte
	trusted      bool
}

// safeContents reads a DER SafeContents (SEQUENCE OF SafeBag). depth counts
// enclosing safeContentsBags; encrypted tells whether an encryptedData
// protects it.
func (d *decoder) safeContents(der []byte, depth int, encrypted bool, where string) error {
	if depth > MaxSafeNesting {
		return fmt.Errorf("%w: %s: safeContentsBags nest more than %d deep", ErrTooManyBags, where, MaxSafeNesting)
	}
	s := cryptobyte.String(der)
	var bags cryptobyte.String
	if !s.ReadASN1(&bags, cbasn1.SEQUENCE) || !s.Empty() {
		return malformed("%s: SafeContents is not a SEQUENCE", where)
	}
	for i := 1; !bags.Empty(); i++ {
		d.bags++
		if d.bags > d.opts.MaxBags {
			return fmt.Errorf("%w: more than %d bags (Options.MaxBags)", ErrTooManyBags, d.opts.MaxBags)
		}
		what := fmt.Sprintf("%s bag %d", where, i)
		// SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY,
		//                        bagAttributes SET OF PKCS12Attribute OPTIONAL }
		var bag, value, attrSet cryptobyte.String
		var bagID asn1.ObjectIdentifier
		var hasAttrs bool
		if !bags.ReadASN1(&bag, cbasn1.SEQUENCE) || !bag.ReadASN1ObjectIdentifier(&bagID) ||
			!bag.ReadASN1(&value, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!bag.ReadOptionalASN1(&attrSet, &hasAttrs, cbasn1.SET) || !bag.Empty() {
			return malformed("%s is not a SafeBag", what)
		}
		attrs, err := parseAttributes(attrSet, what)
		if err != nil {
			return err
		}
		kind := 0
		if len(bagID) == len(oidBagTypes)+1 && bagID[:len(oidBagTypes)].Equal(oidBagTypes) {
			kind = bagID[len(oidBagTypes)]
		}
		if name, ok := bagNames[kind]; ok {
			what += " (" + name + ")"
		}
		switch kind {
		case bagKey:
			if !encrypted {
				d.noteEncryption("none")
			}
			var elem cryptobyte.String
			if !value.ReadASN1Element(&elem, cbasn1.SEQUENCE) || !value.Empty() {
				return malformed("%s does not hold a PrivateKeyInfo", what)
			}
			key, err := parsePrivateKey(elem, what)
			if err != nil {
				return err
			}
			d.out.Keys = append(d.out.Keys, KeyEntry{Key: key, FriendlyName: attrs.friendlyName, LocalKeyID: attrs.localKeyID})
		case bagShroudedKey:
			if err := d.shroudedKey(value, what, attrs); err != nil {
				return err
			}
		case bagCert:
			if err := d.certBag(value, what, attrs, encrypted); err != nil {
				return err
			}
		case bagCRL, bagSecret:
			d.note("%s skipped: %s contents are not read", what, bagNames[kind])
		case bagSafeContents:
			var inner cryptobyte.String
			if !value.ReadASN1Element(&inner, cbasn1.SEQUENCE) || !value.Empty() {
				return malformed("%s does not hold a SafeContents", what)
			}
			if err := d.safeContents(inner, depth+1, encrypted, what); err != nil {
				return err
			}
		default:
			d.note("%s skipped: unknown bag type %v", what, bagID)
		}
	}
	return nil
}

// shroudedKey decrypts a pkcs8ShroudedKeyBag (EncryptedPrivateKeyInfo).
func (d *decoder) shroudedKey(value cryptobyte.String, what string, attrs attributes) error {
	// EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier,
	//                                        encryptedData OCTET STRING }
	var epki, alg, ct cryptobyte.String
	if !value.ReadASN1(&epki, cbasn1.SEQUENCE) || !value.Empty() ||
		!epki.ReadASN1Element(&alg, cbasn1.SEQUENCE) ||
		!epki.ReadASN1(&ct, cbasn1.OCTET_STRING) || !epki.Empty() {
		return malformed("%s does not hold an EncryptedPrivateKeyInfo", what)
	}
	var der []byte
	if err := d.decrypt(alg, ct, what, func(plain []byte) error {
		var err error
		if der, err = d.normalize(plain, what+" PrivateKeyInfo"); err != nil {
			return err
		}
		return checkPrivateKeyInfo(der, what)
	}); err != nil {
		return err
	}
	key, err := parsePrivateKey(der, what)
	if err != nil {
		return err
	}
	d.out.Keys = append(d.out.Keys, KeyEntry{Key: key, FriendlyName: attrs.friendlyName, LocalKeyID: attrs.localKeyID})
	return nil
}

// certBag reads a CertBag holding an X.509 certificate.
func (d *decoder) certBag(value cryptobyte.String, what string, attrs attributes, encrypted bool) error {
	// CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT ANY }
	var cb, explicit, certDER cryptobyte.String
	var certID asn1.ObjectIdentifier
	if !value.ReadASN1(&cb, cbasn1.SEQUENCE) || !value.Empty() ||
		!cb.ReadASN1ObjectIdentifier(&certID) ||
		!cb.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !cb.Empty() {
		return malformed("%s is not a CertBag", what)
	}
	if certID.Equal(oidCertSDSI) {
		d.note("%s skipped: SDSI certificates are not read", what)
		return nil
	}
	if !certID.Equal(oidCertX509) {
		d.note("%s skipped: certificate type %v is not read", what, certID)
		return nil
	}
	if !explicit.ReadASN1(&certDER, cbasn1.OCTET_STRING) || !explicit.Empty() {
		return malformed("%s: x509Certificate is not an OCTET STRING", what)
	}
	if !encrypted {
		d.noteEncryption("none")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		// The certificate itself may be BER (old Java, some CAs); its DER
		// form is what a verifier must see anyway.
		if der, nerr := d.normalize(certDER, what+" certificate"); nerr == nil && string(der) != string(certDER) {
			cert, err = x509.ParseCertificate(der)
		}
	}
	if err != nil {
		// One certificate that crypto/x509 refuses (negative serial,
		// malformed extension) must not hide the keys and the others.
		d.out.Unparsed = append(d.out.Unparsed, UnparsedCert{Raw: append([]byte(nil), certDER...), FriendlyName: attrs.friendlyName, LocalKeyID: attrs.localKeyID, Err: err})
		d.note("%s: certificate skipped, crypto/x509 cannot parse it: %v", what, err)
		return nil
	}
	d.out.Certs = append(d.out.Certs, CertEntry{Cert: cert, FriendlyName: attrs.friendlyName, LocalKeyID: attrs.localKeyID, Trusted: attrs.trusted})
	return nil
}

// parseAttributes reads the bag attributes this package reports and skips
// the others (Microsoft CSP names, key usages...).
func parseAttributes(set cryptobyte.String, what string) (attributes, error) {
	var a attributes
	for !set.Empty() {
		// PKCS12Attribute ::= SEQUENCE { attrId OID, attrValues SET OF ANY }
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return a, malformed("%s has a malformed attribute", what)
		}
		switch {
		case oid.Equal(oidFriendlyName):
			var tag cbasn1.Tag
			var v cryptobyte.String
			if !values.ReadAnyASN1(&v, &tag) {
				return a, malformed("%s friendlyName has no value", what)
			}
			switch tag {
			case cbasn1.Tag(30): // BMPString
				name, err := decodeBMP(v)
				if err != nil {
					return a, malformed("%s friendlyName: %v", what, err)
				}
				a.friendlyName = name
			case cbasn1.UTF8String:
				a.friendlyName = string(v)
			default:
				return a, malformed("%s friendlyName is not a BMPString", what)
			}
		case oid.Equal(oidLocalKeyID):
			var v cryptobyte.String
			if !values.ReadASN1(&v, cbasn1.OCTET_STRING) {
				return a, malformed("%s localKeyId is not an OCTET STRING", what)
			}
			a.localKeyID = append([]byte(nil), v...)
		case oid.Equal(oidJavaTrustedUsage):
			a.trusted = true
		}
	}
	return a, nil
}

// decodeBMP decodes big-endian UTF-16.
func decodeBMP(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("BMPString of odd length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), nil
}
