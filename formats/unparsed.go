package formats

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certwright/certwright/internal/pkcs12"
)

// UnparsedCert is a certificate found in the input but left out of
// Contents.Certificates because x509.ParseCertificate rejects it (a
// negative serial number, an extension crypto/x509 considers malformed, DSA
// parameters inherited from the issuer...). Other verifiers may accept it;
// this package cannot hand it over as an *x509.Certificate.
type UnparsedCert struct {
	// Source says where in the input the certificate was, as
	// CertInfo.Source does, e.g. "PKCS#12 AuthenticatedSafe item 1 bag 1
	// (certBag)" or "PKCS#7 certificate 3".
	Source string
	// Format is the innermost format that held it.
	Format string
	// FriendlyName is the PKCS#12 friendly name or the JKS alias, when
	// present.
	FriendlyName string
	// LocalKeyID is the PKCS#12 local key ID, when present.
	LocalKeyID []byte
	// Raw is the certificate's encoding as stored in the input.
	Raw []byte
	// Err is why it was left out: the error of x509.ParseCertificate.
	Err error
}

// addUnparsed records a certificate crypto/x509 rejects. With noted false
// it also writes the note; callers that already note the skipped item (PEM
// blocks, DER elements) pass true.
func (r *reader) addUnparsed(u UnparsedCert, noted bool) {
	r.c.Unparsed = append(r.c.Unparsed, u)
	if noted {
		return
	}
	var b strings.Builder
	b.WriteString(u.Source)
	if u.FriendlyName != "" {
		fmt.Fprintf(&b, ", friendly name %q", u.FriendlyName)
	}
	b.WriteString(": certificate")
	if subject, serial, _, ok := certSummary(u.Raw); ok {
		fmt.Fprintf(&b, " %s (serial %s)", printable(subject), serial)
	}
	fmt.Fprintf(&b, " left out, crypto/x509 cannot parse it: %v", u.Err)
	if ki, ok := r.keyOfUnparsed(u.Raw); ok {
		fmt.Fprintf(&b, "; its private key (%s) is read without it", r.c.KeyInfo[ki].Source)
	}
	r.c.Notes = append(r.c.Notes, b.String())
}

// keyOfUnparsed returns the index in Contents.Keys of the private key for
// the public key of an unparsed certificate.
func (r *reader) keyOfUnparsed(raw []byte) (int, bool) {
	_, _, spki, ok := certSummary(raw)
	if !ok {
		return 0, false
	}
	i, ok := r.keySeen[string(spki)]
	return i, ok
}

// certSummary takes the subject, serial number and SubjectPublicKeyInfo
// out of a certificate crypto/x509 refuses, by a lenient walk of its
// to-be-signed part. It reports false when even that fails.
func certSummary(raw []byte) (subject, serial string, spki []byte, ok bool) {
	s := cryptobyte.String(raw)
	var cert, tbs, subj, key cryptobyte.String
	n := new(big.Int)
	if !s.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!tbs.ReadASN1Integer(n) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // signature algorithm
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // issuer
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.ReadASN1Element(&subj, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&key, cbasn1.SEQUENCE) {
		return "", "", nil, false
	}
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(subj, &rdns); err != nil || len(rest) > 0 {
		return "", "", nil, false
	}
	var name pkix.Name
	name.FillFromRDNSequence(&rdns)
	return name.String(), n.String(), key, true
}

// pkcs12UnparsedNote is how internal/pkcs12 notes a certificate bag that
// crypto/x509 rejects, after the bag's location. readPKCS12 replaces those
// notes with its own, which add the friendly name, the subject and the
// matching key; the location is taken from them.
const pkcs12UnparsedNote = ": certificate skipped, crypto/x509 cannot parse it: "

// pkcs12Unparsed returns the locations of p.Unparsed (one per entry, in
// order) and p.Notes without the notes those locations came from. When
// the notes do not match the entries one for one, the locations are
// numbered instead and the notes are kept.
func pkcs12Unparsed(p *pkcs12.Contents) (where []string, notes []string) {
	for _, n := range p.Notes {
		if i := strings.Index(n, pkcs12UnparsedNote); i > 0 {
			where = append(where, n[:i])
			continue
		}
		notes = append(notes, n)
	}
	if len(where) == len(p.Unparsed) {
		return where, notes
	}
	where = where[:0]
	for i := range p.Unparsed {
		where = append(where, fmt.Sprintf("unparsed certificate %d", i+1))
	}
	return where, p.Notes
}
