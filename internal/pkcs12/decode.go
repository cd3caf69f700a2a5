package pkcs12

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/certwright/certwright/internal/ber"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
)

// decoder holds the state of one Decode call.
type decoder struct {
	opts     Options
	password string
	// candidates are the BMPString password encodings to try with the
	// PKCS#12 KDF, best first. For the empty password OpenSSL uses two
	// bytes of NUL and NSS/Java/Windows sometimes zero bytes.
	candidates  [][]byte
	macVerified bool
	spent       int // iterations derived so far
	bags        int
	out         *Contents
}

// Decode parses a PKCS#12 (PFX, RFC 7292) file with password and returns
// every private key and certificate it holds, with their attributes.
//
// It reads DER and BER at every level, any number of AuthenticatedSafe
// items and bags, plain and encrypted safes mixed, nested
// safeContentsBags; the MAC (HMAC with the PKCS#12 KDF, or PBMAC1) is
// verified before anything is decrypted, and files without MAC are
// accepted. Every iteration count is checked against opts before any
// derivation. Decode does not pair keys with certificates and does not
// verify certificates; it does not read public-key integrity or privacy
// modes (ErrUnsupported).
//
// Errors wrap ErrIncorrectPassword, ErrTooManyIterations, ErrTooManyBags,
// ErrKeyTooLarge, ErrUnsupported or ErrMalformed.
func Decode(data []byte, password string, opts Options) (*Contents, error) {
	d := newDecoder(password, opts)
	if err := d.decode(data); err != nil {
		return nil, err
	}
	return d.out, nil
}

func newDecoder(password string, opts Options) *decoder {
	d := &decoder{opts: opts.withDefaults(), password: password, out: &Contents{MACAlgorithm: "none"}}
	d.candidates = [][]byte{bmpPassword(password)}
	if password == "" {
		d.candidates = append(d.candidates, nil)
	}
	return d
}

// normalize converts one BER element to DER within the depth bound and
// records whether it was BER. what names the structure for errors.
func (d *decoder) normalize(b []byte, what string) ([]byte, error) {
	der, err := ber.ToDER(b, d.opts.MaxDepth)
	if err != nil {
		if errors.Is(err, ber.ErrTooDeep) {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
		}
		return nil, fmt.Errorf("%w: %s is not valid ASN.1: %v", ErrMalformed, what, err)
	}
	if !bytes.Equal(der, b) {
		d.out.BER = true
	}
	return der, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func (d *decoder) note(format string, args ...any) {
	d.out.Notes = append(d.out.Notes, fmt.Sprintf(format, args...))
}

func (d *decoder) noteEncryption(desc string) {
	for _, e := range d.out.Encryption {
		if e == desc {
			return
		}
	}
	d.out.Encryption = append(d.out.Encryption, desc)
}

// spend checks an iteration count against both bounds before a derivation
// and records it. what names the derivation for the error.
func (d *decoder) spend(iterations int, what string) error {
	if iterations < 1 {
		return malformed("%s declares %d iterations", what, iterations)
	}
	if iterations > d.opts.MaxIterations {
		return fmt.Errorf("%w: %s declares %d iterations, more than the limit of %d (raise Options.MaxIterations only for files from a trusted source)",
			ErrTooManyIterations, what, iterations, d.opts.MaxIterations)
	}
	if d.spent+iterations > d.opts.MaxTotalIterations {
		return fmt.Errorf("%w: %s would bring the iterations derived for this file to %d, more than the limit of %d",
			ErrTooManyIterations, what, d.spent+iterations, d.opts.MaxTotalIterations)
	}
	d.spent += iterations
	if iterations > d.out.Iterations {
		d.out.Iterations = iterations
	}
	return nil
}

func (d *decoder) decode(data []byte) error {
	if len(data) == 0 {
		return malformed("empty input")
	}
	n, err := ber.Check(data, d.opts.MaxDepth)
	if err != nil {
		if errors.Is(err, ber.ErrTooDeep) {
			return fmt.Errorf("%w: PFX: %w", ErrMalformed, err)
		}
		return malformed("not a PKCS#12 file (not ASN.1: %v)", err)
	}
	if n < len(data) {
		d.note("ignored %d bytes after the PFX structure", len(data)-n)
	}
	der, err := d.normalize(data[:n], "PFX")
	if err != nil {
		return err
	}

	// PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo,
	//                    macData MacData OPTIONAL }
	in := cryptobyte.String(der)
	var pfx, authSafe cryptobyte.String
	var version int
	if !in.ReadASN1(&pfx, cbasn1.SEQUENCE) || !pfx.ReadASN1Integer(&version) {
		return malformed("not a PKCS#12 file (no PFX SEQUENCE with a version)")
	}
	if version != 3 {
		return malformed("PFX version %d, want 3", version)
	}
	if !pfx.ReadASN1(&authSafe, cbasn1.SEQUENCE) {
		return malformed("PFX has no authSafe ContentInfo")
	}
	var macData cryptobyte.String
	var hasMAC bool
	if !pfx.ReadOptionalASN1(&macData, &hasMAC, cbasn1.SEQUENCE) || !pfx.Empty() {
		return malformed("PFX has trailing data after macData")
	}

	var ctype asn1.ObjectIdentifier
	if !authSafe.ReadASN1ObjectIdentifier(&ctype) {
		return malformed("authSafe ContentInfo has no content type")
	}
	switch {
	case ctype.Equal(oidData):
	case ctype.Equal(oidSignedData):
		return fmt.Errorf("%w: PFX uses public-key integrity mode (signedData); only password integrity is read", ErrUnsupported)
	default:
		return malformed("authSafe content type %v, want data", ctype)
	}
	var explicit, octets cryptobyte.String
	if !authSafe.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!explicit.ReadASN1(&octets, cbasn1.OCTET_STRING) || !explicit.Empty() || !authSafe.Empty() {
		return malformed("authSafe ContentInfo has no [0] OCTET STRING content")
	}

	if hasMAC {
		if err := d.verifyMAC(macData, octets); err != nil {
			return err
		}
		d.macVerified = true
	}

	safeDER, err := d.normalize(octets, "AuthenticatedSafe")
	if err != nil {
		return err
	}
	// AuthenticatedSafe ::= SEQUENCE OF ContentInfo
	s := cryptobyte.String(safeDER)
	var items cryptobyte.String
	if !s.ReadASN1(&items, cbasn1.SEQUENCE) {
		return malformed("AuthenticatedSafe is not a SEQUENCE")
	}
	for i := 1; !items.Empty(); i++ {
		var ci cryptobyte.String
		if !items.ReadASN1(&ci, cbasn1.SEQUENCE) {
			return malformed("AuthenticatedSafe item %d is not a ContentInfo", i)
		}
		if err := d.contentInfo(ci, i); err != nil {
			return err
		}
	}
	return nil
}

// contentInfo reads AuthenticatedSafe item i: a data or encryptedData
// ContentInfo holding SafeContents.
func (d *decoder) contentInfo(ci cryptobyte.String, i int) error {
	what := fmt.Sprintf("AuthenticatedSafe item %d", i)
	var ctype asn1.ObjectIdentifier
	if !ci.ReadASN1ObjectIdentifier(&ctype) {
		return malformed("%s has no content type", what)
	}
	var explicit cryptobyte.String
	var present bool
	if !ci.ReadOptionalASN1(&explicit, &present, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() {
		return malformed("%s has a bad [0] content", what)
	}
	switch {
	case ctype.Equal(oidData):
		var octets cryptobyte.String
		if !present {
			return malformed("%s (data) has no content", what)
		}
		if !explicit.ReadASN1(&octets, cbasn1.OCTET_STRING) || !explicit.Empty() {
			return malformed("%s (data) does not hold an OCTET STRING", what)
		}
		der, err := d.normalize(octets, what+" SafeContents")
		if err != nil {
			return err
		}
		return d.safeContents(der, 0, false, what)
	case ctype.Equal(oidEncryptedData):
		if !present {
			return malformed("%s (encryptedData) has no content", what)
		}
		return d.encryptedData(explicit, what)
	case ctype.Equal(oidEnvelopedData):
		return fmt.Errorf("%w: %s uses public-key privacy mode (envelopedData); only password privacy is read", ErrUnsupported, what)
	default:
		return fmt.Errorf("%w: %s has content type %v", ErrUnsupported, what, ctype)
	}
}

// encryptedData decrypts an EncryptedData (RFC 5652 section 8) and reads the
// SafeContents inside.
func (d *decoder) encryptedData(explicit cryptobyte.String, what string) error {
	// EncryptedData ::= SEQUENCE { version, encryptedContentInfo, [1] unprotectedAttrs OPTIONAL }
	// EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
	//                                     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
	var ed, eci cryptobyte.String
	var version int
	if !explicit.ReadASN1(&ed, cbasn1.SEQUENCE) || !explicit.Empty() ||
		!ed.ReadASN1Integer(&version) || !ed.ReadASN1(&eci, cbasn1.SEQUENCE) {
		return malformed("%s is not an EncryptedData", what)
	}
	var ctype asn1.ObjectIdentifier
	var alg cryptobyte.String
	if !eci.ReadASN1ObjectIdentifier(&ctype) || !eci.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return malformed("%s has a bad EncryptedContentInfo", what)
	}
	if !ctype.Equal(oidData) {
		return malformed("%s encrypts content type %v, want data", what, ctype)
	}
	var ct []byte
	switch {
	case eci.Empty():
		return malformed("%s has no encrypted content", what)
	case eci.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()):
		var c cryptobyte.String
		eci.ReadASN1(&c, cbasn1.Tag(0).ContextSpecific())
		ct = c
	case eci.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()):
		// BER: a constructed [0] IMPLICIT OCTET STRING. internal/ber only
		// flattens UNIVERSAL strings, so concatenate the chunks here (they
		// are primitive OCTET STRINGs after normalisation).
		var c cryptobyte.String
		eci.ReadASN1(&c, cbasn1.Tag(0).Constructed().ContextSpecific())
		for !c.Empty() {
			var chunk cryptobyte.String
			if !c.ReadASN1(&chunk, cbasn1.OCTET_STRING) {
				return malformed("%s: constructed encrypted content holds something other than OCTET STRING chunks", what)
			}
			ct = append(ct, chunk...)
		}
		d.out.BER = true
	default:
		return malformed("%s: encryptedContent is not [0] IMPLICIT OCTET STRING", what)
	}
	if !eci.Empty() {
		return malformed("%s has trailing data in EncryptedContentInfo", what)
	}
	var der []byte
	if err := d.decrypt(alg, ct, what, func(plain []byte) error {
		var err error
		der, err = d.normalize(plain, what+" SafeContents")
		if err != nil {
			return err
		}
		s := cryptobyte.String(der)
		if !s.PeekASN1Tag(cbasn1.SEQUENCE) {
			return malformed("%s does not decrypt to a SafeContents SEQUENCE", what)
		}
		return nil
	}); err != nil {
		return err
	}
	err := d.safeContents(der, 0, true, what)
	if err != nil && !d.macVerified && errors.Is(err, ErrMalformed) {
		// Without a MAC, garbage that happens to end in valid padding is
		// the likeliest explanation for a broken structure.
		return fmt.Errorf("%w: %s decrypts to a broken structure (%v)", ErrIncorrectPassword, what, err)
	}
	return err
}
