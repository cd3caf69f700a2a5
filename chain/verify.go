package chain

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
)

// How a chosen path was validated, as reported in Report.Verification.
const (
	// VerifiedWholePath: one x509.Verify call given exactly the path's
	// intermediates and its root.
	VerifiedWholePath = "x509.Verify of the whole path"
	// VerifiedComposed: x509.Verify of the leaf against its issuer, plus
	// an x509.Verify of the path above the leaf's issuer (done once and
	// cached in the Pool), under the conditions in the package
	// documentation that make the two equal to the whole-path check.
	VerifiedComposed = "x509.Verify of the leaf's link plus a cached x509.Verify of the path above it"
	// VerifiedByRootPool: one x509.Verify call against Options.RootPool
	// (or the system store), which picked the root.
	VerifiedByRootPool = "x509.Verify against the root pool"
)

var (
	oidNameConstraints   = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidPolicyMappings    = asn1.ObjectIdentifier{2, 5, 29, 33}
	oidPolicyConstraints = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidInhibitAnyPolicy  = asn1.ObjectIdentifier{2, 5, 29, 54}
)

// validate checks one candidate path with crypto/x509 and returns it with
// its root.
func (b *builder) validate(c *candidate) (*chosen, error) {
	leaf := c.nodes[0].cert
	vo := x509.VerifyOptions{
		DNSName:     b.o.DNSName,
		CurrentTime: b.o.CurrentTime,
		KeyUsages:   b.o.KeyUsages,
	}
	inter := x509.NewCertPool()
	for _, n := range c.nodes[1:] {
		inter.AddCert(n.cert)
	}
	vo.Intermediates = inter

	if c.root == nil {
		vo.Roots = b.trust.opaque
		chains, err := leaf.Verify(vo)
		if err != nil {
			return nil, fmt.Errorf("crypto/x509 rejected it: %w", err)
		}
		// Take the shortest chain that extends our path.
		var pick []*x509.Certificate
		for _, ch := range chains {
			if len(ch) < len(c.nodes) || !prefixEqual(ch, c.nodes) {
				continue
			}
			if pick == nil || len(ch) < len(pick) {
				pick = ch
			}
		}
		if pick == nil {
			return nil, fmt.Errorf("crypto/x509 accepted only other paths (%s)", describePath(chains[0]))
		}
		root := pick[len(pick)-1]
		if matchRoot(root, b.o.ExcludeRoots) {
			return nil, fmt.Errorf("it ends in root %s, which the caller excluded", certName(root))
		}
		links := slices.Clone(c.nodes[:len(pick)-1])
		rn := newNode(root, sourceTrust)
		if len(pick) == len(c.nodes) { // the last certificate of our path is itself in the pool
			links = links[:len(links)-1]
			rn = c.nodes[len(c.nodes)-1]
		}
		return &chosen{chain: certsOf(links), root: root, links: append(links, rn), how: VerifiedByRootPool}, nil
	}

	full := append(slices.Clone(c.nodes), c.root)
	served := c.nodes
	if sameCert(c.nodes[len(c.nodes)-1].cert, c.root.cert) {
		full = c.nodes
		served = c.nodes[:len(c.nodes)-1]
		if len(served) == 0 { // the leaf is itself a trusted root
			served = c.nodes
		}
	}
	out := &chosen{chain: certsOf(served), root: c.root.cert, links: full}
	if !b.o.WholePathVerify && b.composedVerify(full) {
		out.how = VerifiedComposed
		return out, nil
	}
	roots := x509.NewCertPool()
	roots.AddCertWithConstraint(c.root.cert, b.trust.roots.constraints[c.root.fp])
	vo.Roots = roots
	chains, err := leaf.Verify(vo)
	if err != nil {
		return nil, fmt.Errorf("crypto/x509 rejected it: %w", err)
	}
	if len(full) == 1 {
		out.how = VerifiedWholePath
		return out, nil
	}
	for _, ch := range chains {
		if equalPath(ch, full) {
			out.how = VerifiedWholePath
			return out, nil
		}
	}
	return nil, fmt.Errorf("crypto/x509 accepted only other paths through the same certificates (%s)", describePath(chains[0]))
}

func prefixEqual(ch []*x509.Certificate, ns []*node) bool {
	for i, n := range ns {
		if !sameCert(ch[i], n.cert) {
			return false
		}
	}
	return true
}

func equalPath(ch []*x509.Certificate, ns []*node) bool {
	return len(ch) == len(ns) && prefixEqual(ch, ns)
}

// composedEligible reports whether validating full (leaf, issuer, ...,
// root) as "leaf against its issuer" plus "issuer up to the root" gives
// the same verdict as x509.Verify of the whole path. See the package
// documentation for the argument.
func composedEligible(full []*node, usages []x509.ExtKeyUsage) bool {
	if len(full) < 3 {
		return false
	}
	anyUsage := slices.Contains(usages, x509.ExtKeyUsageAny)
	if len(usages) == 0 {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	issuer := full[1].cert
	if !issuer.BasicConstraintsValid || !issuer.IsCA {
		return false
	}
	for i, n := range full {
		c := n.cert
		// Policy processing runs over the whole path; without these
		// extensions (and with no caller policy set) it cannot fail.
		if n.policyExt {
			return false
		}
		for j := 0; j < i; j++ {
			if string(full[j].cert.RawSubject) == string(c.RawSubject) && full[j].spki == n.spki {
				return false
			}
		}
		// Path length as crypto/x509 counts it for the whole path.
		if i >= 1 && c.BasicConstraintsValid && c.MaxPathLen >= 0 && i-1 > c.MaxPathLen {
			return false
		}
		if i < 2 {
			continue
		}
		// Above the leaf's issuer: nothing that constrains the leaf.
		if n.nameCons {
			return false
		}
		if !anyUsage && !allowsUsages(c, usages) {
			return false
		}
	}
	return true
}

// allowsUsages reports whether c removes none of the usages in the
// crossing-out walk of crypto/x509.
func allowsUsages(c *x509.Certificate, usages []x509.ExtKeyUsage) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return true
	}
	for _, u := range usages {
		if !slices.Contains(c.ExtKeyUsage, u) {
			return false
		}
	}
	return true
}

func suffixKey(ns []*node) string {
	var sb strings.Builder
	for _, n := range ns {
		sb.Write(n.fp[:])
	}
	return sb.String()
}

// composedVerify validates full as two x509.Verify calls: the path from
// the leaf's issuer to the root (cached in the Pool for the time window
// in which all its certificates are valid), and the leaf against its
// issuer as the only anchor. It returns false whenever it cannot vouch
// for the path, and the caller then verifies the whole path.
func (b *builder) composedVerify(full []*node) bool {
	root := full[len(full)-1]
	if b.trust.roots.constraints[root.fp] != nil || !composedEligible(full, b.o.KeyUsages) {
		return false
	}
	now := b.o.CurrentTime
	upper := full[1:]
	key := suffixKey(upper)
	if !b.pool.suffixOK(key, now) {
		inter := x509.NewCertPool()
		for _, n := range upper[1 : len(upper)-1] {
			inter.AddCert(n.cert)
		}
		roots := x509.NewCertPool()
		roots.AddCert(root.cert)
		chains, err := upper[0].cert.Verify(x509.VerifyOptions{
			Intermediates: inter, Roots: roots, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil || !slices.ContainsFunc(chains, func(ch []*x509.Certificate) bool { return equalPath(ch, upper) }) {
			return false
		}
		w := verifiedSuffix{notBefore: upper[0].cert.NotBefore, notAfter: upper[0].cert.NotAfter}
		for _, n := range upper[1:] {
			if n.cert.NotBefore.After(w.notBefore) {
				w.notBefore = n.cert.NotBefore
			}
			if n.cert.NotAfter.Before(w.notAfter) {
				w.notAfter = n.cert.NotAfter
			}
		}
		b.pool.storeSuffix(key, w)
	}
	anchor := x509.NewCertPool()
	anchor.AddCert(full[1].cert)
	chains, err := full[0].cert.Verify(x509.VerifyOptions{
		Roots: anchor, CurrentTime: now, DNSName: b.o.DNSName, KeyUsages: b.o.KeyUsages,
	})
	if err != nil || !slices.ContainsFunc(chains, func(ch []*x509.Certificate) bool { return equalPath(ch, full[:2]) }) {
		return false
	}
	b.pool.storeSig(sigKey{full[0].fp, full[1].spki}, true)
	return true
}

// pathStrength returns the security level in bits of the weakest link of
// a path (leaf .. root; the root's own signature does not count) and the
// sum over links, for ranking.
func pathStrength(ns []*node) [2]int {
	minBits, sum := 1<<30, 0
	for i := 0; i+1 < len(ns); i++ {
		s := min(hashBits(ns[i].cert.SignatureAlgorithm), keyBits(ns[i+1].cert))
		minBits = min(minBits, s)
		sum += s
	}
	if minBits == 1<<30 {
		minBits = 0
	}
	return [2]int{minBits, sum}
}

func hashBits(a x509.SignatureAlgorithm) int {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA:
		return 0
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		return 60
	case x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256, x509.PureEd25519:
		return 128
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return 192
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return 256
	}
	return 0
}

// keyBits is the approximate security level of c's public key (NIST SP
// 800-57 equivalences).
func keyBits(c *x509.Certificate) int {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		n := k.N.BitLen()
		switch {
		case n < 2048:
			return 80
		case n < 3072:
			return 112
		case n < 7680:
			return 128
		case n < 15360:
			return 192
		}
		return 256
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize / 2
	case ed25519.PublicKey:
		return 128
	}
	return 0
}
