package csr

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// MaxInput is the largest input Parse reads. A request with an 8192-bit RSA
// key and a hundred SANs is under 10 KiB.
const MaxInput = 1 << 20

// maxBlocks bounds the PEM blocks Parse looks at.
const maxBlocks = 64

// ErrNotRequest is wrapped by Parse when the input holds no certificate
// request: it is empty, too large, another kind of PEM block (the error
// names it), or bytes that do not parse.
var ErrNotRequest = errors.New("csr: no certificate request found")

// ErrBadSignature is wrapped by CheckSignature when a request's signature
// does not verify with its own public key.
var ErrBadSignature = errors.New("csr: request signature does not verify")

// Parse reads one certificate request from data, in any of the forms tools
// write: PEM with the label "CERTIFICATE REQUEST" or the older "NEW
// CERTIFICATE REQUEST", DER, or bare base64 of the DER. It tolerates a
// UTF-8 or UTF-16 byte order mark, CRLF line endings, and text around the
// PEM block (as in a mail or a certreq output); of several requests it
// returns the first. Input larger than MaxInput is refused.
//
// Parse does not verify the signature, so that a broken request can still
// be described; call CheckSignature before trusting it.
func Parse(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%w: input of %d bytes is larger than the %d bytes a request can need", ErrNotRequest, len(data), MaxInput)
	}
	data = decodeText(data)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: the input is empty", ErrNotRequest)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEM(data)
	}
	if data[0] == 0x30 {
		r, err := x509.ParseCertificateRequest(data)
		if err != nil {
			return nil, fmt.Errorf("%w: DER input does not parse as a request: %v%s", ErrNotRequest, err, certificateHint(data))
		}
		return r, nil
	}
	if der, ok := decodeBase64(data); ok {
		r, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return nil, fmt.Errorf("%w: base64 input does not decode to a request: %v%s", ErrNotRequest, err, certificateHint(der))
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: the input is neither PEM (\"-----BEGIN CERTIFICATE REQUEST-----\"), DER nor base64", ErrNotRequest)
}

func parsePEM(data []byte) (*x509.CertificateRequest, error) {
	var others []string
	rest := data
	for i := 0; i < maxBlocks; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
			r, err := x509.ParseCertificateRequest(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: the %q PEM block does not parse: %v", ErrNotRequest, b.Type, err)
			}
			return r, nil
		}
		others = append(others, b.Type)
	}
	if len(others) == 0 {
		return nil, fmt.Errorf("%w: the input has a \"-----BEGIN\" line but no complete PEM block (check the \"-----END\" line)", ErrNotRequest)
	}
	hint := ""
	for _, t := range others {
		if t == "CERTIFICATE" {
			hint = "; this is an issued certificate: to renew it, build a request from it with FromCertificate"
		}
	}
	return nil, fmt.Errorf("%w: the input has only %s PEM blocks%s", ErrNotRequest, quoteList(others), hint)
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// certificateHint explains DER that is a certificate rather than a request.
func certificateHint(der []byte) string {
	if _, err := x509.ParseCertificate(der); err == nil {
		return "; this is an issued certificate: to renew it, build a request from it with FromCertificate"
	}
	return ""
}

// decodeText removes a byte order mark, converting UTF-16 text to UTF-8.
func decodeText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:]
	case len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF):
		le := data[0] == 0xFF
		data = data[2:]
		u := make([]uint16, len(data)/2)
		for i := range u {
			if le {
				u[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
			} else {
				u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
			}
		}
		return []byte(string(utf16.Decode(u)))
	}
	return data
}

// decodeBase64 decodes text that is only base64 and white space.
func decodeBase64(data []byte) ([]byte, bool) {
	clean := make([]byte, 0, len(data))
	for _, c := range data {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=':
			clean = append(clean, c)
		default:
			return nil, false
		}
	}
	der, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil || len(der) == 0 || der[0] != 0x30 {
		return nil, false
	}
	return der, true
}

// CheckSignature verifies that r is signed by the key it carries (proof
// that whoever made it holds the private key). A mismatch wraps
// ErrBadSignature; an MD5 or SHA-1 signature wraps ErrInsecureSignature
// (the standard library refuses to verify those, and CAs refuse them).
func CheckSignature(r *x509.CertificateRequest) error {
	if r == nil {
		return fmt.Errorf("%w: no request", ErrBadSignature)
	}
	if insecureAlgorithm(r.SignatureAlgorithm) {
		return fmt.Errorf("%w: the request is signed with %v; make a new request (this package signs with SHA-256 or better)", ErrInsecureSignature, r.SignatureAlgorithm)
	}
	if err := r.CheckSignature(); err != nil {
		if r.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
			return fmt.Errorf("%w: the signature algorithm is unknown or unsupported: %v", ErrBadSignature, err)
		}
		return fmt.Errorf("%w: %v signature: %v (the request was altered, or signed with another key)", ErrBadSignature, r.SignatureAlgorithm, err)
	}
	return nil
}
