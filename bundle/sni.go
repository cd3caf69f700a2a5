package bundle

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// SNI chooses a certificate by the server name a TLS client asks for, as an
// IIS site with several SNI bindings, or one listener serving many host
// names. Use its GetCertificate method as tls.Config.GetCertificate.
type SNI struct {
	exact    map[string][]*tls.Certificate
	wildcard map[string][]*tls.Certificate // keyed by the parent domain: "example.com" for "*.example.com"
	def      *tls.Certificate
}

// NewSNI indexes the bundles by the DNS names of their leaves (the subject
// alternative names; the common name is ignored as browsers ignore it).
// The first bundle is the default, served to clients that send no server
// name or a name no bundle covers. When several bundles cover a name, the
// first one the client can use (key type and signature algorithms, per
// tls.ClientHelloInfo.SupportsCertificate) wins, so an ECDSA and an RSA
// bundle for the same names serve old and new clients. Each bundle is
// checked (Bundle.Check) first.
func NewSNI(bundles ...*Bundle) (*SNI, error) {
	if len(bundles) == 0 {
		return nil, errors.New("bundle: NewSNI needs at least one bundle")
	}
	s := &SNI{exact: map[string][]*tls.Certificate{}, wildcard: map[string][]*tls.Certificate{}}
	for i, b := range bundles {
		c, err := b.TLSCertificate()
		if err != nil {
			return nil, fmt.Errorf("bundle: NewSNI: bundle %d: %w", i+1, err)
		}
		cert := &c
		if i == 0 {
			s.def = cert
		}
		for _, n := range b.Leaf.DNSNames {
			n = normalizeName(n)
			if parent, ok := strings.CutPrefix(n, "*."); ok {
				s.wildcard[parent] = append(s.wildcard[parent], cert)
			} else {
				s.exact[n] = append(s.exact[n], cert)
			}
		}
	}
	return s, nil
}

// GetCertificate returns the certificate for hello.ServerName: an exact
// name first, then a wildcard covering it (one label only, as RFC 6125
// says), then the default. It never returns an error, so a client asking
// for an unknown name gets the default and a name-mismatch error of its
// own, as from any server.
func (s *SNI) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalizeName(hello.ServerName)
	if name != "" {
		if c := pick(hello, s.exact[name]); c != nil {
			return c, nil
		}
		if _, parent, ok := strings.Cut(name, "."); ok && parent != "" {
			if c := pick(hello, s.wildcard[parent]); c != nil {
				return c, nil
			}
		}
	}
	return s.def, nil
}

// pick returns the first candidate the client supports, or the first one
// when it supports none (so the handshake fails with a clear alert rather
// than with the default certificate for another name).
func pick(hello *tls.ClientHelloInfo, cands []*tls.Certificate) *tls.Certificate {
	if len(cands) == 0 {
		return nil
	}
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cands[0]
}

func normalizeName(n string) string {
	return strings.ToLower(strings.TrimSuffix(n, "."))
}
