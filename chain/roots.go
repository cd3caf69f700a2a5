package chain

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Roots is a set of trusted root certificates that path building can list
// and index, unlike an *x509.CertPool. Make it once (NewRoots,
// MozillaRoots) and share it between Build calls. A Roots is immutable and
// safe for concurrent use.
type Roots struct {
	ix          *index
	constraints map[[32]byte]func([]*x509.Certificate) error
	// byKey finds a root by subject and public key, so that a copy of a
	// root issued by another CA (a cross-sign) is recognised.
	byKey map[string]*node
}

func rootKey(c *x509.Certificate) string {
	return string(c.RawSubject) + "\x00" + string(c.RawSubjectPublicKeyInfo)
}

// NewRoots returns a root set holding certs (nil entries and duplicates
// skipped).
func NewRoots(certs ...*x509.Certificate) *Roots {
	r := &Roots{ix: newIndex(), byKey: map[string]*node{}}
	for _, c := range certs {
		r.add(c, nil)
	}
	return r
}

func (r *Roots) add(c *x509.Certificate, constraint func([]*x509.Certificate) error) {
	if c == nil {
		return
	}
	n, ok := r.ix.add(newNode(c, sourceRoots))
	if !ok {
		return
	}
	if constraint != nil {
		if r.constraints == nil {
			r.constraints = map[[32]byte]func([]*x509.Certificate) error{}
		}
		r.constraints[n.fp] = constraint
	}
	if _, dup := r.byKey[rootKey(c)]; !dup {
		r.byKey[rootKey(c)] = n
	}
}

// Len returns the number of roots.
func (r *Roots) Len() int {
	if r == nil {
		return 0
	}
	return r.ix.len()
}

// Certificates returns the roots in the order they were added.
func (r *Roots) Certificates() []*x509.Certificate {
	if r == nil {
		return nil
	}
	out := make([]*x509.Certificate, len(r.ix.order))
	for i, n := range r.ix.order {
		out[i] = n.cert
	}
	return out
}

// CertPool returns the roots as an *x509.CertPool, with the constraints
// of the embedded Mozilla set (distrust-after dates) attached.
func (r *Roots) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	if r == nil {
		return p
	}
	for _, n := range r.ix.order {
		p.AddCertWithConstraint(n.cert, r.constraints[n.fp])
	}
	return p
}

func (r *Roots) contains(n *node) bool {
	if r == nil {
		return false
	}
	_, ok := r.ix.byFP[n.fp]
	return ok
}

func (r *Roots) byNorm(norm string) []*node {
	if r == nil {
		return nil
	}
	return r.ix.byNorm[norm]
}

// sameKeyRoot returns the root with n's subject and public key, if any.
func (r *Roots) sameKeyRoot(n *node) *node {
	if r == nil {
		return nil
	}
	return r.byKey[rootKey(n.cert)]
}

var mozilla = sync.OnceValues(func() (*Roots, error) {
	r := &Roots{ix: newIndex(), byKey: map[string]*node{}}
	for root := range bundle.Roots() {
		c, err := x509.ParseCertificate(root.Certificate)
		if err != nil {
			return nil, fmt.Errorf("chain: embedded Mozilla root set: %w", err)
		}
		r.add(c, root.Constraint)
	}
	return r, nil
})

// MozillaRoots returns the Mozilla root set embedded in
// golang.org/x/crypto/x509roots/fallback/bundle (parsed once, then shared),
// with its distrust-after constraints. It does not register the set as
// crypto/x509's fallback, unlike importing the fallback package.
func MozillaRoots() (*Roots, error) { return mozilla() }

// trust is the set of anchors one Build trusts.
type trust struct {
	roots  *Roots         // enumerable anchors, may be nil
	opaque *x509.CertPool // anchors we cannot list, may be nil
	// opaqueSubjects holds the raw subjects of opaque, when the platform
	// can list them; nil means unknown.
	opaqueSubjects map[string]bool
	desc           string
}

func resolveTrust(o *Options) (*trust, error) {
	t := &trust{roots: o.Roots, opaque: o.RootPool}
	switch {
	case o.Roots != nil && o.RootPool != nil:
		t.desc = fmt.Sprintf("the %d given roots and the given root pool", o.Roots.Len())
	case o.Roots != nil:
		t.desc = fmt.Sprintf("the %d given roots", o.Roots.Len())
	case o.RootPool != nil:
		t.desc = "the given root pool"
	default:
		sys, err := x509.SystemCertPool()
		usable := err == nil && sys != nil
		if usable && runtime.GOOS != "windows" && runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
			//lint:ignore SA1019 on this platform Subjects lists the system roots.
			usable = len(sys.Subjects()) > 0 //nolint:staticcheck
		}
		if usable {
			t.opaque = sys
			t.desc = "the system root store"
		} else {
			m, err := MozillaRoots()
			if err != nil {
				return nil, err
			}
			t.roots = m
			t.desc = "the embedded Mozilla root set (no system root store)"
		}
	}
	if t.opaque != nil && runtime.GOOS != "windows" && runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		//lint:ignore SA1019 used only to decide where to ask Verify for a root.
		subs := t.opaque.Subjects() //nolint:staticcheck
		if len(subs) > 0 {
			t.opaqueSubjects = make(map[string]bool, len(subs))
			for _, s := range subs {
				t.opaqueSubjects[string(s)] = true
			}
		}
	}
	return t, nil
}

// SPKIHash returns the lowercase hex SHA-256 of a certificate's
// SubjectPublicKeyInfo, the form Options.PreferRoots and
// Options.ExcludeRoots accept.
func SPKIHash(c *x509.Certificate) string {
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(s[:])
}

// matchRoot reports whether root matches one of the selectors: the hex
// SHA-256 of its SubjectPublicKeyInfo (optionally prefixed "sha256:"), its
// subject in RFC 2253 form, or its common name.
func matchRoot(root *x509.Certificate, selectors []string) bool {
	if root == nil || len(selectors) == 0 {
		return false
	}
	h := SPKIHash(root)
	subj := root.Subject.String()
	for _, s := range selectors {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		hs := strings.ToLower(strings.TrimPrefix(s, "sha256:"))
		if hs == h || s == subj || (root.Subject.CommonName != "" && s == root.Subject.CommonName) {
			return true
		}
	}
	return false
}

func sameCert(a, b *x509.Certificate) bool {
	return a != nil && b != nil && bytes.Equal(a.Raw, b.Raw)
}
