package csr

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"slices"
)

// FromCertificate returns a request for a renewal of cert: the same six
// subject fields and the same subject alternative names. Sign it with
// Create, either with a new key (GenerateKey, KeyTypeFor suggests the type)
// or with the certificate's existing key (found, for example, with
// Store.Find(ctx, cert.PublicKey)).
//
// Only the first value of each subject field is kept (certificates rarely
// have more, and a CA sets the subject from its own validation anyway);
// other subject attributes (serialNumber, street, ...) are left out. The
// certificate is not checked: run Check on the result to see whether the
// old names still pass today's rules.
func FromCertificate(cert *x509.Certificate) *Request {
	if cert == nil {
		return &Request{}
	}
	return fromName(cert.Subject, cert.DNSNames, cert.IPAddresses, cert.EmailAddresses, cert.URIs)
}

// FromCertificateRequest returns the request r asks for, for example to
// make it again with another key. Like FromCertificate it keeps the six
// subject fields (first values) and the SANs.
func FromCertificateRequest(r *x509.CertificateRequest) *Request {
	if r == nil {
		return &Request{}
	}
	return fromName(r.Subject, r.DNSNames, r.IPAddresses, r.EmailAddresses, r.URIs)
}

func fromName(n pkix.Name, dns []string, ips []net.IP, emails []string, uris []*url.URL) *Request {
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	r := &Request{
		CN:             n.CommonName,
		O:              first(n.Organization),
		OU:             first(n.OrganizationalUnit),
		L:              first(n.Locality),
		ST:             first(n.Province),
		C:              first(n.Country),
		DNSNames:       slices.Clone(dns),
		EmailAddresses: slices.Clone(emails),
	}
	for _, ip := range ips {
		r.IPAddresses = append(r.IPAddresses, slices.Clone(ip))
	}
	for _, u := range uris {
		if u != nil {
			cu := *u
			r.URIs = append(r.URIs, &cu)
		}
	}
	return r
}

// KeyTypeFor returns the key type for a renewal of cert with a new key: the
// type of the certificate's key when GenerateKey makes it and it is strong
// enough, DefaultKeyType otherwise (an RSA 1024 or P-521 certificate is
// renewed with RSA 2048).
func KeyTypeFor(cert *x509.Certificate) KeyType {
	if cert == nil {
		return DefaultKeyType
	}
	kt, err := KeyTypeOf(cert.PublicKey)
	if err != nil || !slices.Contains(KeyTypes(), kt) {
		return DefaultKeyType
	}
	return kt
}
