package chain

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ProblemKind names one kind of problem in a served chain.
type ProblemKind string

// The problems Diagnose reports.
const (
	// ProblemNoCertificates: the server sent no certificate.
	ProblemNoCertificates ProblemKind = "no-certificates"
	// ProblemMissingIntermediate: an intermediate of the corrected chain
	// was not sent (clients without it in their cache fail, KB 954755).
	ProblemMissingIntermediate ProblemKind = "missing-intermediate"
	// ProblemWrongOrder: the chain certificates were not sent leaf first,
	// each followed by its issuer.
	ProblemWrongOrder ProblemKind = "wrong-order"
	// ProblemDuplicate: a certificate was sent more than once.
	ProblemDuplicate ProblemKind = "duplicate"
	// ProblemExtraCertificate: a certificate that is not on the chain was
	// sent (unrelated, or an issuer of another path).
	ProblemExtraCertificate ProblemKind = "extra-certificate"
	// ProblemRootSent: the trusted root (or a copy of it with the same
	// key) was sent; clients never need it.
	ProblemRootSent ProblemKind = "root-sent"
	// ProblemExpired, ProblemNotYetValid, ProblemExpiresSoon: a
	// certificate sent or on the chain is outside, or near the end of, its
	// validity period.
	ProblemExpired     ProblemKind = "expired"
	ProblemNotYetValid ProblemKind = "not-yet-valid"
	ProblemExpiresSoon ProblemKind = "expires-soon"
	// ProblemHostMismatch: the leaf is not valid for the host name (the
	// browsers' "address mismatch").
	ProblemHostMismatch ProblemKind = "host-mismatch"
	// ProblemWeakSignature: a link is signed with MD2, MD5 or SHA-1.
	ProblemWeakSignature ProblemKind = "weak-signature"
	// ProblemWeakKey: a certificate on the chain has an RSA key shorter
	// than 2048 bits.
	ProblemWeakKey ProblemKind = "weak-key"
	// ProblemNoServerAuth: an extended key usage on the chain excludes
	// TLS server authentication.
	ProblemNoServerAuth ProblemKind = "missing-server-auth"
	// ProblemUntrusted: no valid chain to a trusted root exists.
	ProblemUntrusted ProblemKind = "untrusted"
)

// Problem is one finding of Diagnose.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// Cert is the certificate concerned, nil when none.
	Cert *x509.Certificate `json:"-"`
	// Detail explains the problem and the fix in a sentence.
	Detail string `json:"detail"`
}

// Diagnosis is what is wrong with a chain as a server sends it, and the
// chain it should send instead.
type Diagnosis struct {
	// Host is the name the leaf was checked against ("" for none).
	Host string
	// Served is the chain as sent, in order.
	Served []*x509.Certificate
	// Problems lists the findings, most serious first per certificate.
	Problems []Problem
	// Chain is the corrected chain to serve (leaf first, root left out
	// unless Options.IncludeRoot), nil when none was found.
	Chain []*x509.Certificate
	// Root is the trusted root the corrected chain ends in.
	Root *x509.Certificate
	// Report is Build's report for the corrected chain, nil when none.
	Report *Report
	// Err is why no chain was found, nil otherwise.
	Err error
}

// OK reports whether no problem was found.
func (d *Diagnosis) OK() bool { return len(d.Problems) == 0 }

// Has reports whether a problem of kind k was found.
func (d *Diagnosis) Has(k ProblemKind) bool {
	return slices.ContainsFunc(d.Problems, func(p Problem) bool { return p.Kind == k })
}

func (d *Diagnosis) add(k ProblemKind, c *x509.Certificate, format string, args ...any) {
	d.Problems = append(d.Problems, Problem{Kind: k, Cert: c, Detail: fmt.Sprintf(format, args...)})
}

// Diagnose checks the certificates a server sends (served, in the order
// sent) for host (skipped when empty): missing intermediates, wrong
// order, duplicates, extra and unrelated certificates, the root sent,
// expired, not yet valid or soon expiring links (Options.ExpiryWarning),
// a host name mismatch, weak signatures and keys, and a missing
// serverAuth extended key usage; and it builds the corrected chain with
// Build (the first served certificate is the leaf, as in TLS). ctx bounds
// AIA downloads, done only when opts.FetchAIA is set. Diagnose does not
// check revocation.
func Diagnose(ctx context.Context, served []*x509.Certificate, host string, opts *Options) *Diagnosis {
	o := opts.withDefaults()
	d := &Diagnosis{Host: host, Served: served}
	if len(served) == 0 || served[0] == nil {
		d.add(ProblemNoCertificates, nil, "the server sent no certificate")
		d.Err = fmt.Errorf("chain: no certificates to diagnose: %w", ErrNoLeaf)
		return d
	}
	leaf := served[0]
	now := o.CurrentTime

	bo := o
	bo.Key = leaf.PublicKey
	bo.DNSName = ""
	bo.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	res, err := Build(ctx, served, &bo)
	if err != nil {
		d.Err = err
	} else {
		d.Chain, d.Root, d.Report = res.Chain, res.Root, res.Report
	}

	if host != "" {
		if err := leaf.VerifyHostname(host); err != nil {
			d.add(ProblemHostMismatch, leaf, "%s is not valid for %q (it names %s)", certName(leaf), host, leafNames(leaf))
		}
	}

	// Everything we look at: the served certificates, then the chain.
	seen := map[[32]byte]bool{}
	var all []*x509.Certificate
	for _, c := range append(slices.Clone(served), d.Chain...) {
		fp := sha256.Sum256(c.Raw)
		if !seen[fp] {
			seen[fp] = true
			all = append(all, c)
		}
	}
	for _, c := range all {
		switch {
		case now.After(c.NotAfter):
			d.add(ProblemExpired, c, "%s expired on %s", certName(c), c.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(c.NotBefore):
			d.add(ProblemNotYetValid, c, "%s is not valid before %s", certName(c), c.NotBefore.UTC().Format(time.RFC3339))
		case c.NotAfter.Sub(now) < o.ExpiryWarning:
			d.add(ProblemExpiresSoon, c, "%s expires on %s, in %d day(s)", certName(c), c.NotAfter.UTC().Format(time.DateOnly), int(c.NotAfter.Sub(now).Hours()/24))
		}
		if d.Root == nil || !sameCert(c, d.Root) {
			switch c.SignatureAlgorithm {
			case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
				d.add(ProblemWeakSignature, c, "%s is signed with %s, which clients reject; have it reissued with SHA-256", certName(c), c.SignatureAlgorithm)
			}
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
			d.add(ProblemWeakKey, c, "%s has a %d-bit RSA key; 2048 bits is the minimum", certName(c), k.N.BitLen())
		}
	}
	path := slices.Clone(d.Chain)
	if d.Root != nil && (len(path) == 0 || !sameCert(path[len(path)-1], d.Root)) {
		path = append(path, d.Root)
	}
	if len(path) == 0 {
		path = []*x509.Certificate{leaf}
	}
	for _, c := range path {
		if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
			continue
		}
		if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
			d.add(ProblemNoServerAuth, c, "%s has extended key usages that exclude TLS server authentication", certName(c))
		}
	}

	if d.Err != nil {
		d.add(ProblemUntrusted, leaf, "no valid chain to a trusted root: %v", d.Err)
		var nc *NoChainError
		if errors.As(d.Err, &nc) && len(nc.Rejected) == 0 {
			// No path at all: follow the sent certificates by name from
			// the leaf; the first issuer not sent is what is missing
			// (unless the root it names is simply not trusted here).
			top := leaf
			for range len(served) {
				next := slices.IndexFunc(served, func(c *x509.Certificate) bool {
					return !bytes.Equal(c.Raw, top.Raw) && bytes.Equal(c.RawSubject, top.RawIssuer) && !bytes.Equal(c.RawSubject, c.RawIssuer)
				})
				if next < 0 {
					break
				}
				top = served[next]
			}
			if !bytes.Equal(top.RawSubject, top.RawIssuer) {
				d.add(ProblemMissingIntermediate, top, "no certificate named %q (the issuer of %s) was sent or is known; send that intermediate (or, if it is a root, it is not trusted here)",
					top.Issuer.String(), certName(top))
			}
		}
		for _, c := range served[1:] {
			if o.Roots.contains(newNode(c, "")) {
				d.add(ProblemRootSent, c, "the root %s was sent; clients use their own copy, so leave it out", certName(c))
			}
		}
		return d
	}

	// Compare what was sent with the corrected chain.
	inChain := func(c *x509.Certificate) int {
		return slices.IndexFunc(d.Chain, func(x *x509.Certificate) bool { return sameCert(x, c) })
	}
	for _, c := range d.Chain[1:] {
		if !slices.ContainsFunc(served, func(x *x509.Certificate) bool { return sameCert(x, c) }) {
			d.add(ProblemMissingIntermediate, c, "the intermediate %s was not sent; send it after %s", certName(c), certName(d.Chain[inChain(c)-1]))
		}
	}
	var order []int
	dup := map[[32]byte]bool{}
	for _, c := range served {
		fp := sha256.Sum256(c.Raw)
		if dup[fp] {
			d.add(ProblemDuplicate, c, "%s was sent more than once", certName(c))
			continue
		}
		dup[fp] = true
		if i := inChain(c); i >= 0 {
			order = append(order, i)
			continue
		}
		if sameCert(c, d.Root) || (bytes.Equal(c.RawSubject, d.Root.RawSubject) && bytes.Equal(c.RawSubjectPublicKeyInfo, d.Root.RawSubjectPublicKeyInfo)) {
			d.add(ProblemRootSent, c, "the root %s was sent; clients use their own copy, so leave it out", certName(c))
			continue
		}
		d.add(ProblemExtraCertificate, c, "%s is not on the chain to %s; leave it out", certName(c), certName(d.Root))
	}
	if !slices.IsSorted(order) {
		d.add(ProblemWrongOrder, nil, "the certificates were not sent leaf first, each followed by its issuer; send %s", describePath(d.Chain))
	}
	return d
}

func leafNames(c *x509.Certificate) string {
	var ns []string
	ns = append(ns, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		ns = append(ns, ip.String())
	}
	if len(ns) == 0 {
		return "no DNS names or IP addresses"
	}
	return strings.Join(ns, ", ")
}

// String explains the diagnosis in plain text.
func (d *Diagnosis) String() string {
	var b strings.Builder
	if d.Host != "" {
		fmt.Fprintf(&b, "host: %s\n", d.Host)
	}
	fmt.Fprintf(&b, "served: %s\n", describePath(d.Served))
	if d.OK() {
		b.WriteString("no problems found\n")
	}
	for _, p := range d.Problems {
		fmt.Fprintf(&b, "problem %s: %s\n", p.Kind, p.Detail)
	}
	if d.Chain != nil {
		fmt.Fprintf(&b, "chain to serve: %s (root %s)\n", describePath(d.Chain), certName(d.Root))
	}
	return b.String()
}

// certJSON is the machine-readable form of a certificate in a diagnosis.
type certJSON struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
}

func toJSON(cs []*x509.Certificate) []certJSON {
	out := make([]certJSON, 0, len(cs))
	for _, c := range cs {
		fp := sha256.Sum256(c.Raw)
		out = append(out, certJSON{c.Subject.String(), c.Issuer.String(), c.NotBefore.UTC(), c.NotAfter.UTC(), hex.EncodeToString(fp[:])})
	}
	return out
}

// MarshalJSON gives the diagnosis as JSON: host, ok, problems (kind,
// subject, detail), served and corrected chain (subject, issuer,
// validity, SHA-256), root and error.
func (d *Diagnosis) MarshalJSON() ([]byte, error) {
	type problem struct {
		Kind    ProblemKind `json:"kind"`
		Subject string      `json:"subject,omitempty"`
		Detail  string      `json:"detail"`
	}
	v := struct {
		Host     string     `json:"host,omitempty"`
		OK       bool       `json:"ok"`
		Problems []problem  `json:"problems"`
		Served   []certJSON `json:"served"`
		Chain    []certJSON `json:"chain"`
		Root     *certJSON  `json:"root,omitempty"`
		Error    string     `json:"error,omitempty"`
	}{Host: d.Host, OK: d.OK(), Problems: []problem{}, Served: toJSON(d.Served), Chain: toJSON(d.Chain)}
	for _, p := range d.Problems {
		q := problem{Kind: p.Kind, Detail: p.Detail}
		if p.Cert != nil {
			q.Subject = p.Cert.Subject.String()
		}
		v.Problems = append(v.Problems, q)
	}
	if d.Root != nil {
		r := toJSON([]*x509.Certificate{d.Root})[0]
		v.Root = &r
	}
	if d.Err != nil {
		v.Error = d.Err.Error()
	}
	return json.Marshal(v)
}
