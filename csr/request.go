package csr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// Request is what a certificate request asks for: the six subject fields
// of the IIS "Distinguished Name Properties" page and the subject
// alternative names. Every field is optional; the checks say which missing
// or malformed values a CA would refuse. The zero value is an empty request.
//
// Host names may be written in Unicode ("bücher.example"): Create turns
// them into their ASCII (punycode, "xn--") form, see Create.
type Request struct {
	CN string // commonName: the host name, for a TLS server certificate
	O  string // organizationName: the legal name of the organisation
	OU string // organizationalUnitName: a department (public CAs drop it)
	L  string // localityName: the city, written out
	ST string // stateOrProvinceName: the state or province, written out ("Washington", not "WA")
	C  string // countryName: the 2-letter ISO 3166-1 code ("GB", "US")

	DNSNames       []string   // host names, "*.example.com" for a wildcard
	IPAddresses    []net.IP   // IPv4 and IPv6 addresses
	EmailAddresses []string   // e-mail addresses (for S/MIME)
	URIs           []*url.URL // URIs (for example SPIFFE IDs)
}

// AddSANs sorts each name into the right kind of subject alternative name
// and appends it: an IP address (IPv6 may be in brackets) goes to
// IPAddresses, a name with "://" or starting "urn:" to URIs, a name with
// "@" to EmailAddresses, and everything else to DNSNames. Blank names are
// skipped and surrounding spaces trimmed, so the parts of a comma-separated
// list can be passed as they are. Only a URI that does not parse is an
// error; the other names are judged later by Check.
func (r *Request) AddSANs(names ...string) error {
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if ip := parseIP(n); ip != nil {
			r.IPAddresses = append(r.IPAddresses, ip)
			continue
		}
		if strings.Contains(n, "://") || strings.HasPrefix(strings.ToLower(n), "urn:") {
			u, err := url.Parse(n)
			if err != nil {
				return fmt.Errorf("csr: subject alternative name %q looks like a URI but does not parse: %w", n, err)
			}
			r.URIs = append(r.URIs, u)
			continue
		}
		if strings.Contains(n, "@") {
			r.EmailAddresses = append(r.EmailAddresses, n)
			continue
		}
		r.DNSNames = append(r.DNSNames, n)
	}
	return nil
}

func parseIP(s string) net.IP {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	return net.ParseIP(s)
}

// clone returns a deep copy of r, so that normalising never changes the
// caller's request.
func (r *Request) clone() *Request {
	c := *r
	c.DNSNames = slices.Clone(r.DNSNames)
	c.EmailAddresses = slices.Clone(r.EmailAddresses)
	c.IPAddresses = make([]net.IP, len(r.IPAddresses))
	for i, ip := range r.IPAddresses {
		c.IPAddresses[i] = slices.Clone(ip)
	}
	c.URIs = make([]*url.URL, len(r.URIs))
	for i, u := range r.URIs {
		if u != nil {
			cu := *u
			if u.User != nil {
				uu := *u.User
				cu.User = &uu
			}
			c.URIs[i] = &cu
		}
	}
	if r.IPAddresses == nil {
		c.IPAddresses = nil
	}
	if r.URIs == nil {
		c.URIs = nil
	}
	return &c
}

// Normalize returns the request as Create sends it, without changing r:
// host names (in CN and DNSNames) and the domain part of e-mail addresses
// are converted to their ASCII form with IDNA 2008 (UTS #46 lookup
// processing: "Bücher.Example" becomes "xn--bcher-kva.example"), and a CN
// that is a host name or an IP address is added, first, to DNSNames or
// IPAddresses when it is not there yet, because browsers ignore the CN.
//
// The CN itself is also replaced by its ASCII form, as the CA/Browser Forum
// Baseline Requirements (7.1.2.7.2) demand that a host name in the CN be a
// character-for-character copy of a DNS SAN. A CN that is not a host name
// ("Jane Doe") is left as it is.
//
// Names that cannot be converted are left unchanged and reported by Check.
func (r *Request) Normalize() *Request {
	n := r.clone()
	for i, d := range n.DNSNames {
		if a, err := toASCII(d); err == nil {
			n.DNSNames[i] = a
		}
	}
	for i, e := range n.EmailAddresses {
		if local, domain, ok := strings.Cut(e, "@"); ok {
			if a, err := toASCII(domain); err == nil {
				n.EmailAddresses[i] = local + "@" + a
			}
		}
	}
	cn := strings.TrimSpace(n.CN)
	if ip := parseIP(cn); ip != nil {
		if !slices.ContainsFunc(n.IPAddresses, ip.Equal) {
			n.IPAddresses = append([]net.IP{ip}, n.IPAddresses...)
		}
	} else if looksLikeHost(cn) {
		if a, err := toASCII(cn); err == nil && validHost(a) {
			n.CN = a
			if !slices.ContainsFunc(n.DNSNames, func(d string) bool { return strings.EqualFold(d, a) }) {
				n.DNSNames = append([]string{a}, n.DNSNames...)
			}
		}
	}
	return n
}

// looksLikeHost reports whether s is meant as a host name rather than a
// person's or a service's name: it has a dot and no spaces.
func looksLikeHost(s string) bool {
	return strings.Contains(s, ".") && !strings.ContainsAny(s, " \t@/:")
}

// toASCII converts a host name to its ASCII form label by label, so that
// a wildcard or another ASCII mistake in one label is left for Check to
// name precisely. A name that is all ASCII is returned as it is (not even
// lowercased), so that Check reports problems on what the user wrote.
func toASCII(host string) (string, error) {
	if isASCII(host) {
		return host, nil
	}
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if isASCII(l) {
			labels[i] = strings.ToLower(l) // as UTS #46 maps the rest
			continue
		}
		a, err := idna.Lookup.ToASCII(l)
		if err != nil {
			return "", err
		}
		labels[i] = a
	}
	return strings.Join(labels, "."), nil
}

// validHost reports whether the ASCII host name a passes the host checks.
func validHost(a string) bool {
	for _, f := range hostProblems(a, a) {
		if f.Severity == SeverityError {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Options controls Check and Create. The zero value runs every check with
// warnings left as warnings and picks the signature algorithm from the key.
type Options struct {
	// Strict turns every warning into an error, so that a request a CA
	// might send back is never made.
	Strict bool

	// SignatureAlgorithm overrides the algorithm picked from the key
	// (SHA256WithRSA for RSA, ECDSAWithSHA256 for P-256, ECDSAWithSHA384
	// for P-384, ECDSAWithSHA512 for P-521, PureEd25519 for Ed25519). MD5
	// and SHA-1 based algorithms are refused.
	SignatureAlgorithm x509.SignatureAlgorithm
}

// ErrInsecureSignature is wrapped when an MD5 or SHA-1 signature algorithm
// is asked for, or found on a parsed request by CheckSignature.
var ErrInsecureSignature = errors.New("csr: insecure signature algorithm")

// Create makes a certificate request for r signed by key, and returns its
// DER encoding (EncodePEM makes the PEM form) and the findings of the
// checks. key may be any crypto.Signer (a key from GenerateKey, a PKCS#11
// or cloud KMS key); its Public method gives the key the CA will certify.
// rand nil means crypto/rand.Reader.
//
// Create first normalises r (see Normalize; r itself is not changed), then
// runs Check and the key checks. When any finding is an error (or, with
// Options.Strict, any finding at all) it returns no request and a
// *CheckError listing all of them; otherwise the findings it returns are
// the warnings the caller may show. Create does not store the key or the
// request: put both in a Store before handing the request to a CA.
func Create(rand io.Reader, r *Request, key crypto.Signer, opts *Options) ([]byte, []Finding, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	if opts == nil {
		opts = &Options{}
	}
	if r == nil {
		r = &Request{}
	}
	n := r.Normalize()
	findings := checkNormalized(r, n, opts)
	var pub crypto.PublicKey
	if key == nil {
		findings = append(findings, newFinding(SeverityError, CodeKeyUnsupported, "key", "no key was given to sign the request"))
	} else {
		pub = key.Public()
		findings = append(findings, checkKey(pub, opts)...)
	}
	if err := FindingsError(findings); err != nil {
		return nil, findings, err
	}
	alg, err := signatureAlgorithm(pub, opts.SignatureAlgorithm)
	if err != nil {
		return nil, findings, err
	}
	tmpl := &x509.CertificateRequest{
		Subject:            n.subject(),
		DNSNames:           n.DNSNames,
		IPAddresses:        n.IPAddresses,
		EmailAddresses:     n.EmailAddresses,
		URIs:               n.URIs,
		SignatureAlgorithm: alg,
	}
	der, err := x509.CreateCertificateRequest(rand, tmpl, key)
	if err != nil {
		return nil, findings, fmt.Errorf("csr: signing the request with the %T key: %w", key, err)
	}
	return der, findings, nil
}

// subject returns the pkix.Name of the request, leaving empty fields out.
func (r *Request) subject() pkix.Name {
	var n pkix.Name
	n.CommonName = r.CN
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	add(&n.Organization, r.O)
	add(&n.OrganizationalUnit, r.OU)
	add(&n.Locality, r.L)
	add(&n.Province, r.ST)
	add(&n.Country, r.C)
	return n
}

// Subject returns the subject the request asks for, as the standard
// library's pkix.Name (whose String method gives the RFC 2253 form). It
// does not normalise r.
func (r *Request) Subject() pkix.Name { return r.subject() }

// signatureAlgorithm picks SHA-256 or better for pub, or validates the
// caller's choice.
func signatureAlgorithm(pub crypto.PublicKey, want x509.SignatureAlgorithm) (x509.SignatureAlgorithm, error) {
	if want != x509.UnknownSignatureAlgorithm {
		if insecureAlgorithm(want) {
			return 0, fmt.Errorf("%w: %v; use SHA-256 or better (leave Options.SignatureAlgorithm unset)", ErrInsecureSignature, want)
		}
		return want, nil
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return x509.SHA256WithRSA, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		case elliptic.P521():
			return x509.ECDSAWithSHA512, nil
		}
		return x509.ECDSAWithSHA256, nil
	case ed25519.PublicKey:
		return x509.PureEd25519, nil
	}
	return 0, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

func insecureAlgorithm(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return true
	}
	return false
}

// PEMType is the PEM block type of a certificate request. Parse also
// accepts the older "NEW CERTIFICATE REQUEST" written by Netscape-era tools
// and some versions of IIS and Java keytool.
const PEMType = "CERTIFICATE REQUEST"

// EncodePEM returns the PEM form ("-----BEGIN CERTIFICATE REQUEST-----")
// of a DER certificate request, with "\n" line endings.
func EncodePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: PEMType, Bytes: der})
}
