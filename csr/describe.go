package csr

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Description is a report of a certificate request's fields, for a person
// to read before sending the request to a CA (String) or for a program to
// compare.
type Description struct {
	// Request holds the six subject fields (first values) and the SANs.
	Request *Request
	// Subject is the whole subject in RFC 2253 form
	// ("CN=www.example.com,O=Example Ltd,C=GB"), including attributes
	// that Request does not hold.
	Subject string
	// KeyAlgorithm is "RSA", "ECDSA" or "Ed25519" (for other keys, the Go
	// type), KeyBits the modulus or curve size, and KeyType the name
	// GenerateKey would use ("rsa2048", "p384"), empty for unusual keys.
	KeyAlgorithm string
	KeyBits      int
	KeyType      KeyType
	// Version is the version number in the request. PKCS #10 defines only
	// 0 (version 1); OpenSSL and this package read others, and String
	// points them out.
	Version int
	// SignatureAlgorithm is the standard library's name for it
	// ("SHA256-RSA", "ECDSA-SHA384", "Ed25519").
	SignatureAlgorithm string
	// SignatureError is nil when the signature verifies (see
	// CheckSignature), and says why otherwise.
	SignatureError error
}

// Describe reports the fields of r and checks its signature. It does not
// run the pre-submission checks; Check(FromCertificateRequest(r), nil)
// does.
func Describe(r *x509.CertificateRequest) *Description {
	if r == nil {
		return &Description{Request: &Request{}, SignatureError: CheckSignature(nil)}
	}
	d := &Description{
		Request:            FromCertificateRequest(r),
		Subject:            r.Subject.String(),
		Version:            r.Version,
		SignatureAlgorithm: signatureName(r.SignatureAlgorithm),
		SignatureError:     CheckSignature(r),
	}
	d.KeyAlgorithm, d.KeyBits = keySize(r.PublicKey)
	if kt, err := KeyTypeOf(r.PublicKey); err == nil {
		d.KeyType = kt
	}
	return d
}

func signatureName(a x509.SignatureAlgorithm) string {
	if a == x509.UnknownSignatureAlgorithm {
		return "unknown algorithm"
	}
	return a.String()
}

// SANs returns the subject alternative names as text, each with its kind
// as OpenSSL prints it: "DNS:www.example.com", "IP Address:192.0.2.1",
// "email:admin@example.com", "URI:spiffe://example.com/web".
func (r *Request) SANs() []string {
	var out []string
	for _, d := range r.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range r.IPAddresses {
		out = append(out, "IP Address:"+ip.String())
	}
	for _, e := range r.EmailAddresses {
		out = append(out, "email:"+e)
	}
	for _, u := range r.URIs {
		if u != nil {
			out = append(out, "URI:"+u.String())
		}
	}
	return out
}

// String returns the report on several lines, for example
//
//	Subject:   CN=www.example.com,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB
//	  CN: www.example.com
//	  O:  Example Ltd
//	  L:  Leeds
//	  ST: West Yorkshire
//	  C:  GB
//	SANs:      DNS:www.example.com, DNS:example.com
//	Key:       RSA 2048 bits
//	Signature: SHA256-RSA, valid
func (d *Description) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject:   %s\n", d.Subject)
	r := d.Request
	if r == nil {
		r = &Request{}
	}
	for _, f := range []struct{ name, v string }{
		{"CN", r.CN}, {"O", r.O}, {"OU", r.OU}, {"L", r.L}, {"ST", r.ST}, {"C", r.C},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, "  %-3s %s\n", f.name+":", f.v)
		}
	}
	sans := r.SANs()
	if len(sans) == 0 {
		sans = []string{"(none)"}
	}
	fmt.Fprintf(&b, "SANs:      %s\n", strings.Join(sans, ", "))
	if d.KeyBits > 0 {
		fmt.Fprintf(&b, "Key:       %s %d bits\n", d.KeyAlgorithm, d.KeyBits)
	} else {
		fmt.Fprintf(&b, "Key:       %s\n", d.KeyAlgorithm)
	}
	if d.Version != 0 {
		fmt.Fprintf(&b, "Version:   %d (PKCS #10 defines only 0; some CAs refuse other numbers)\n", d.Version)
	}
	status := "valid"
	if d.SignatureError != nil {
		status = "INVALID: " + d.SignatureError.Error()
	}
	fmt.Fprintf(&b, "Signature: %s, %s\n", d.SignatureAlgorithm, status)
	return b.String()
}
