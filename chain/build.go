package chain

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Default bounds of one Build call.
const (
	// DefaultMaxSignatureChecks caps the signature verifications one Build
	// performs while searching (cached results are free).
	DefaultMaxSignatureChecks = 2000
	// DefaultMaxCandidates caps the candidate issuers considered for one
	// certificate of a path.
	DefaultMaxCandidates = 1024
	// DefaultMaxSteps caps the candidate issuers considered in total.
	DefaultMaxSteps = 20000
	// DefaultMaxDepth caps the number of certificates in a path, root
	// included.
	DefaultMaxDepth = 10
	// DefaultMaxPaths caps the complete paths collected for ranking.
	DefaultMaxPaths = 16
	// DefaultMaxFetches caps the AIA downloads of one Build.
	DefaultMaxFetches = 8
	// DefaultExpiryWarning is how close to expiry a link is reported as
	// expiring soon.
	DefaultExpiryWarning = 30 * 24 * time.Hour
)

// Where a certificate of a path came from, as reported in Link.Source.
const (
	sourceInput = "input"
	sourcePool  = "pool"
	sourceRoots = "roots"
	sourceAIA   = "aia"
	sourceTrust = "root store"
)

// Options control Build and Diagnose. The zero value is a safe default:
// trust the system root store (the embedded Mozilla set when the system
// has none), validate now for a TLS server (serverAuth), no host name
// check, no network access, root left out of the chain.
type Options struct {
	// Roots are trusted anchors that path building can list. When Roots
	// or RootPool is set, only they are trusted.
	Roots *Roots
	// RootPool holds trusted anchors that cannot be listed, such as
	// x509.SystemCertPool(). A path is completed into it by asking
	// crypto/x509 for the root.
	RootPool *x509.CertPool
	// Pool supplies candidate intermediates and caches signature results
	// across calls; share one Pool between Build calls. Nil means only
	// the given certificates (and AIA, when enabled) are candidates.
	Pool *Pool
	// Key selects the leaf among the given certificates: the one with this
	// public key. Nil means the certificate no other given certificate
	// issued.
	Key crypto.PublicKey
	// CurrentTime is the validation time; zero means time.Now().
	CurrentTime time.Time
	// DNSName, when set, must match the leaf (as x509.VerifyOptions).
	DNSName string
	// KeyUsages the path must allow, as x509.VerifyOptions: nil means
	// serverAuth; x509.ExtKeyUsageAny accepts any.
	KeyUsages []x509.ExtKeyUsage
	// IncludeRoot appends the root to Result.Chain.
	IncludeRoot bool
	// PreferRoots ranks paths ending in these roots first; ExcludeRoots
	// rejects paths ending in them. Each entry is the hex SHA-256 of the
	// root's SubjectPublicKeyInfo (see SPKIHash, "sha256:" prefix
	// allowed), its subject in RFC 2253 form, or its common name.
	PreferRoots, ExcludeRoots []string
	// FetchAIA allows downloading missing issuers from the caIssuers URLs
	// of the Authority Information Access extension. Off by default.
	FetchAIA bool
	// Fetcher downloads AIA URLs when FetchAIA is set; nil means a new
	// HTTPFetcher with its safe defaults for this call (share one
	// HTTPFetcher between calls to share its cache).
	Fetcher Fetcher
	// WholePathVerify makes every path validation a single x509.Verify of
	// the whole path, instead of reusing paths above the leaf's issuer
	// that crypto/x509 already accepted (see the package documentation
	// for when the two are equal and when the whole path is always used).
	WholePathVerify bool
	// Bounds; 0 means the Default... constant of the same name.
	MaxSignatureChecks, MaxCandidates, MaxSteps, MaxDepth, MaxPaths, MaxFetches int
	// ExpiryWarning is how close to expiry a link counts as expiring soon
	// in reports and diagnoses; 0 means DefaultExpiryWarning.
	ExpiryWarning time.Duration
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	def := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&v.MaxSignatureChecks, DefaultMaxSignatureChecks)
	def(&v.MaxCandidates, DefaultMaxCandidates)
	def(&v.MaxSteps, DefaultMaxSteps)
	def(&v.MaxDepth, DefaultMaxDepth)
	def(&v.MaxPaths, DefaultMaxPaths)
	def(&v.MaxFetches, DefaultMaxFetches)
	if v.ExpiryWarning <= 0 {
		v.ExpiryWarning = DefaultExpiryWarning
	}
	if v.CurrentTime.IsZero() {
		v.CurrentTime = time.Now()
	}
	return v
}

// Result is the outcome of Build.
type Result struct {
	// Chain is what a server sends: the leaf first, then each issuer in
	// order; the root only when Options.IncludeRoot is set.
	Chain []*x509.Certificate
	// Root is the trusted root the chain ends in.
	Root *x509.Certificate
	// Report explains what was done.
	Report *Report
}

// candidate is a complete path found by the search.
type candidate struct {
	nodes  []*node // leaf first, then intermediates (root excluded)
	root   *node   // nil when the root is to be found in the opaque pool
	order  int     // discovery order
	reason string  // why it ranks below the chosen path, filled in later
}

type builder struct {
	ctx   context.Context
	o     Options
	pool  *Pool
	local *index
	trust *trust
	leaf  *node

	checks, steps int
	paths         []*candidate
	notes         []string
	noteSeen      map[string]bool
	fetched       []Fetched
	fetchedFor    map[[32]byte]bool
	fetchedURL    map[string]bool
	fetches       int
	stopped       string
	deadEnd       []*node // the longest path whose top had no issuer
	forceFetch    bool    // fetch AIA issuers even where paths were found
	issuerCache   map[string][]*node
}

func (b *builder) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if b.noteSeen[s] {
		return
	}
	b.noteSeen[s] = true
	b.notes = append(b.notes, s)
}

func (b *builder) stop(reason string) {
	if b.stopped == "" {
		b.stopped = reason
		b.note("search stopped: %s", reason)
	}
}

// Build finds, completes, orders and validates the chain for a leaf.
//
// certs holds the leaf, or a pile that contains it in any order with
// intermediates, duplicates, roots and unrelated certificates. The leaf is
// the certificate matching Options.Key, else the one no other given
// certificate issued. The other given certificates, Options.Pool and the
// certificates fetched through AIA (when Options.FetchAIA is set) are
// candidate issuers. Every complete path found is ranked: first one that
// does not expire before the leaf, one ending in a preferred root, the
// shortest, the one with the strongest algorithms; the best that
// crypto/x509 accepts is returned. Build never checks revocation.
//
// ctx bounds AIA downloads only. Build returns an error wrapping
// ErrNoLeaf when no leaf can be chosen, and a *NoChainError (wrapping
// ErrNoChain) when no valid path exists.
func Build(ctx context.Context, certs []*x509.Certificate, opts *Options) (*Result, error) {
	o := opts.withDefaults()
	t, err := resolveTrust(&o)
	if err != nil {
		return nil, err
	}
	b := &builder{
		ctx: ctx, o: o, pool: o.Pool, local: newIndex(), trust: t,
		noteSeen: map[string]bool{}, issuerCache: map[string][]*node{}, fetchedFor: map[[32]byte]bool{}, fetchedURL: map[string]bool{},
	}
	if b.pool == nil {
		b.pool = NewPool(nil)
	}
	rep := &Report{Trust: t.desc}

	// Deduplicate the input, keeping its order.
	var in []*node
	seen := map[[32]byte]bool{}
	for _, c := range certs {
		if c == nil {
			continue
		}
		n := newNode(c, sourceInput)
		if seen[n.fp] {
			rep.Dropped = append(rep.Dropped, Dropped{Cert: c, Reason: "duplicate"})
			continue
		}
		seen[n.fp] = true
		in = append(in, n)
	}
	leaf, err := chooseLeaf(in, o.Key)
	if err != nil {
		return nil, err
	}
	b.leaf = leaf
	rep.Leaf = leaf.cert
	for _, n := range in {
		if n != leaf {
			b.local.add(n)
		}
	}

	b.search()
	best, rejected := b.choose()
	if best == nil && o.FetchAIA && b.fetches == 0 && b.stopped == "" {
		// Every path found was rejected (an expired cross-sign, say):
		// look for other issuers through AIA too and try again.
		b.forceFetch = true
		b.paths = nil
		clear(b.issuerCache)
		b.search()
		best, rejected = b.choose()
	}
	rep.Notes = b.notes
	rep.Fetched = b.fetched
	rep.SignatureChecks = b.checks
	if best == nil {
		reason := fmt.Sprintf("no path to %s", t.desc)
		if len(b.paths) > 0 {
			reason = fmt.Sprintf("%d path(s) to %s found, all rejected", len(b.paths), t.desc)
		} else if p := b.partial(); p != "" {
			reason = fmt.Sprintf("no path to %s; the search reached %s", t.desc, p)
		}
		if !o.FetchAIA && len(leaf.cert.IssuingCertificateURL) > 0 && len(b.paths) == 0 {
			reason += "; AIA fetching is off (Options.FetchAIA)"
		}
		return nil, &NoChainError{Leaf: leaf.cert.Subject.String(), Reason: reason, Rejected: rejected, Notes: b.notes}
	}
	res := &Result{Root: best.root, Report: rep}
	for _, c := range best.chain {
		res.Chain = append(res.Chain, c)
	}
	if o.IncludeRoot && !sameCert(best.chain[len(best.chain)-1], best.root) {
		res.Chain = append(res.Chain, best.root)
	}
	rep.Rejected = rejected
	rep.Verification = best.how
	b.fillReport(rep, in, best)
	return res, nil
}

// chooseLeaf picks the leaf of a deduplicated pile.
func chooseLeaf(in []*node, key crypto.PublicKey) (*node, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("chain: no certificates given: %w", ErrNoLeaf)
	}
	if key != nil {
		type equaler interface{ Equal(crypto.PublicKey) bool }
		var match []*node
		for _, n := range in {
			if e, ok := n.cert.PublicKey.(equaler); ok && e.Equal(key) {
				match = append(match, n)
			}
		}
		if len(match) == 0 {
			der, _ := x509.MarshalPKIXPublicKey(key)
			var have []string
			for _, n := range in {
				have = append(have, fmt.Sprintf("%q (key %s)", n.cert.Subject.String(), hex.EncodeToString(n.spki[:8])))
			}
			return nil, fmt.Errorf("chain: no certificate has the given public key (SPKI SHA-256 %s); certificates given: %s: %w",
				spkiPrefix(der), strings.Join(have, ", "), ErrNoLeaf)
		}
		// Prefer an end-entity certificate, then the newest.
		sort.SliceStable(match, func(i, j int) bool {
			if match[i].cert.IsCA != match[j].cert.IsCA {
				return !match[i].cert.IsCA
			}
			return match[i].cert.NotBefore.After(match[j].cert.NotBefore)
		})
		return match[0], nil
	}
	var cands []*node
	for i, n := range in {
		issued := false
		for j, m := range in {
			if i == j || !bytes.Equal(m.cert.RawIssuer, n.cert.RawSubject) {
				continue
			}
			if len(m.cert.AuthorityKeyId) > 0 && len(n.cert.SubjectKeyId) > 0 && !bytes.Equal(m.cert.AuthorityKeyId, n.cert.SubjectKeyId) {
				continue
			}
			issued = true
			break
		}
		if !issued {
			cands = append(cands, n)
		}
	}
	if len(cands) > 1 {
		var ee []*node
		for _, n := range cands {
			if !n.cert.IsCA {
				ee = append(ee, n)
			}
		}
		if len(ee) > 0 {
			cands = ee
		}
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		return nil, fmt.Errorf("chain: every given certificate issued another one (a cycle), so none is the leaf; pass the leaf's key in Options.Key: %w", ErrNoLeaf)
	default:
		var names []string
		for _, n := range cands {
			names = append(names, fmt.Sprintf("%q", n.cert.Subject.String()))
		}
		return nil, fmt.Errorf("chain: %d certificates could be the leaf (%s); give one leaf per call or select it with Options.Key: %w",
			len(cands), strings.Join(names, ", "), ErrNoLeaf)
	}
}

func spkiPrefix(der []byte) string {
	n := newNode(&x509.Certificate{RawSubjectPublicKeyInfo: der}, "")
	return hex.EncodeToString(n.spki[:])
}

// search collects complete paths from the leaf.
func (b *builder) search() {
	if b.trust.roots.contains(b.leaf) {
		b.paths = append(b.paths, &candidate{nodes: []*node{b.leaf}, root: b.trust.roots.ix.byFP[b.leaf.fp]})
	}
	b.explore([]*node{b.leaf})
}

// partial describes how far the search got when it found nothing.
func (b *builder) partial() string {
	if len(b.deadEnd) == 0 {
		return ""
	}
	top := b.deadEnd[len(b.deadEnd)-1].cert
	return fmt.Sprintf("%s, whose issuer %q is neither a trusted root nor among the candidates (a missing intermediate or an untrusted root)",
		describePath(certsOf(b.deadEnd)), top.Issuer.String())
}

func inPath(path []*node, n *node) bool {
	for _, p := range path {
		if p.fp == n.fp || (bytes.Equal(p.cert.RawSubject, n.cert.RawSubject) && p.spki == n.spki) {
			return true
		}
	}
	return false
}

// issuers lists the candidate issuers of cur: trusted roots first, then
// those whose subject key id matches cur's authority key id, each group in
// the order given, input before fetched before pool.
func (b *builder) issuers(cur *node) []*node {
	key := string(cur.cert.RawIssuer) + "\x00" + string(cur.cert.AuthorityKeyId)
	if out, ok := b.issuerCache[key]; ok {
		return out
	}
	out := b.listIssuers(cur)
	// Listing costs in proportion to the candidates, so it is charged to
	// the same budget as considering them; a pool holding a huge number
	// of certificates with one name ends the search instead of stalling it.
	b.steps += len(out)
	if b.steps > b.o.MaxSteps {
		b.stop(fmt.Sprintf("%d candidate issuers listed or considered (Options.MaxSteps)", b.o.MaxSteps))
		out = nil
	}
	if len(out) > b.o.MaxCandidates {
		// Candidates already known to have signed cur go first, so that a
		// flood cannot push a known issuer out of the window.
		sort.SliceStable(out, func(i, j int) bool {
			oi, _ := b.pool.cachedSig(sigKey{cur.fp, out[i].spki})
			oj, _ := b.pool.cachedSig(sigKey{cur.fp, out[j].spki})
			return oi && !oj
		})
		b.note("%q has %d candidate issuers; only the first %d were considered (Options.MaxCandidates)",
			cur.cert.Subject.String(), len(out), b.o.MaxCandidates)
		out = out[:b.o.MaxCandidates]
	}
	b.issuerCache[key] = out
	return out
}

func (b *builder) listIssuers(cur *node) []*node {
	subject := cur.cert.RawIssuer
	seen := map[[32]byte]bool{}
	var out []*node
	push := func(ns []*node, isRoot bool) {
		for _, n := range ns {
			if seen[n.fp] {
				continue
			}
			if !isRoot && b.trust.roots.contains(n) {
				continue // counted as a root
			}
			seen[n.fp] = true
			out = append(out, n)
		}
	}
	if b.trust.roots != nil {
		roots := b.trust.roots.ix.bySubject[string(subject)]
		var kept []*node
		for _, r := range roots {
			if matchRoot(r.cert, b.o.ExcludeRoots) {
				b.note("root %q is excluded by the caller", r.cert.Subject.String())
				continue
			}
			kept = append(kept, r)
		}
		push(kept, true)
	}
	nRoots := len(out)
	push(b.local.bySubject[string(subject)], false)
	poolSubj, _ := b.pool.lookup(subject, nil)
	push(poolSubj, false)
	aki := cur.cert.AuthorityKeyId
	rank := func(n *node) int {
		switch {
		case len(aki) == 0 || len(n.cert.SubjectKeyId) == 0:
			return 1
		case bytes.Equal(aki, n.cert.SubjectKeyId):
			return 0
		default:
			return 2
		}
	}
	sort.SliceStable(out[:nRoots], func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	rest := out[nRoots:]
	sort.SliceStable(rest, func(i, j int) bool { return rank(rest[i]) < rank(rest[j]) })
	if len(out) == 0 {
		// No byte-identical name: look for names that differ only in
		// encoding, case or spacing, so that the report can show the path
		// (crypto/x509, which compares names byte for byte, rejects it).
		norm := normName(cur.cert.Issuer)
		for _, ns := range [][]*node{b.trust.roots.byNorm(norm), b.local.byNorm[norm], b.pool.lookupNorm(norm)} {
			for _, n := range ns {
				if !seen[n.fp] && !(b.trust.roots.contains(n) && matchRoot(n.cert, b.o.ExcludeRoots)) {
					seen[n.fp] = true
					out = append(out, n)
				}
			}
		}
		if len(out) > 0 {
			b.note("%q names its issuer %q, which matches %q only when case and spacing are ignored",
				cur.cert.Subject.String(), cur.cert.Issuer.String(), out[0].cert.Subject.String())
		}
	}
	if len(out) == 0 && len(aki) > 0 {
		_, byKey := b.pool.lookup(nil, aki)
		byKey = append(byKey, b.local.bySKI[string(aki)]...)
		if b.trust.roots != nil {
			byKey = append(byKey, b.trust.roots.ix.bySKI[string(aki)]...)
		}
		if len(byKey) > 0 {
			b.note("%q names issuer %q, but the certificate with its authority key id is named %q (names must match exactly)",
				cur.cert.Subject.String(), cur.cert.Issuer.String(), byKey[0].cert.Subject.String())
		}
	}
	return out
}

// keyAlgorithmFits reports whether the issuer's key type can have made
// the child's signature, so that hopeless candidates cost nothing.
func keyAlgorithmFits(child, issuer *x509.Certificate) bool {
	want := x509.UnknownPublicKeyAlgorithm
	switch child.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA, x509.SHA1WithRSA, x509.MD5WithRSA, x509.MD2WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		want = x509.RSA
	case x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		want = x509.ECDSA
	case x509.PureEd25519:
		want = x509.Ed25519
	case x509.DSAWithSHA1, x509.DSAWithSHA256:
		want = x509.DSA
	}
	return want == x509.UnknownPublicKeyAlgorithm || want == issuer.PublicKeyAlgorithm
}

// explore extends path (leaf first) towards trusted roots and reports
// whether any complete path was found through it.
func (b *builder) explore(path []*node) bool {
	if b.stopped != "" || len(b.paths) >= b.o.MaxPaths {
		return false
	}
	cur := path[len(path)-1]
	found := false
	if b.trust.opaque != nil && (b.trust.opaqueSubjects == nil || b.trust.opaqueSubjects[string(cur.cert.RawIssuer)]) {
		b.paths = append(b.paths, &candidate{nodes: slices.Clone(path), order: len(b.paths)})
		found = true
	}
	if len(path)+1 > b.o.MaxDepth {
		b.note("paths longer than %d certificates were not followed (Options.MaxDepth)", b.o.MaxDepth)
		return found
	}
	cands := b.issuers(cur)
	if b.tryCandidates(path, cands) {
		found = true
	}
	if (!found || b.forceFetch) && b.o.FetchAIA && !cur.selfIss && b.stopped == "" {
		if fresh := b.fetchIssuers(cur); len(fresh) > 0 {
			cands = fresh
			if b.tryCandidates(path, fresh) {
				found = true
			}
		}
	}
	if !found && len(cands) == 0 && len(path) > len(b.deadEnd) {
		b.deadEnd = slices.Clone(path)
	}
	return found
}

func (b *builder) tryCandidates(path []*node, cands []*node) bool {
	cur := path[len(path)-1]
	// The leaf's signature is checked by crypto/x509 when the path is
	// validated; when every candidate carries the same key and names the
	// leaf's authority key id, checking it here too would only repeat
	// that work.
	deferLeaf := false
	if len(path) == 1 && !b.o.WholePathVerify && len(cands) > 0 && len(cur.cert.AuthorityKeyId) > 0 {
		deferLeaf = true
		for _, c := range cands {
			if c.spki != cands[0].spki || !bytes.Equal(c.cert.SubjectKeyId, cur.cert.AuthorityKeyId) {
				deferLeaf = false
				break
			}
		}
	}
	found := false
	for _, c := range cands {
		if b.stopped != "" || len(b.paths) >= b.o.MaxPaths {
			break
		}
		b.steps++
		if b.steps > b.o.MaxSteps {
			b.stop(fmt.Sprintf("%d candidate issuers considered (Options.MaxSteps)", b.o.MaxSteps))
			break
		}
		if inPath(path, c) {
			continue
		}
		if c.keyBad != "" {
			b.note("skipped candidate issuer %q: %s", c.cert.Subject.String(), c.keyBad)
			continue
		}
		if !keyAlgorithmFits(cur.cert, c.cert) {
			continue
		}
		if !deferLeaf {
			if _, cached := b.pool.cachedSig(sigKey{cur.fp, c.spki}); !cached {
				if b.checks >= b.o.MaxSignatureChecks {
					b.stop(fmt.Sprintf("%d signature checks made (Options.MaxSignatureChecks)", b.o.MaxSignatureChecks))
					break
				}
				b.checks++
			}
			if !b.pool.checkSignature(cur, c) {
				continue
			}
		}
		if b.trust.roots.contains(c) {
			b.paths = append(b.paths, &candidate{nodes: slices.Clone(path), root: c, order: len(b.paths)})
			found = true
			continue
		}
		next := append(slices.Clone(path), c)
		if b.explore(next) {
			found = true
		}
	}
	return found
}

// chosen is the validated best path.
type chosen struct {
	chain []*x509.Certificate // leaf .. last intermediate
	root  *x509.Certificate
	links []*node // chain then root, with sources
	how   string
}

// choose ranks the complete paths and validates them in rank order.
func (b *builder) choose() (*chosen, []Alternative) {
	leafEnd := b.leaf.cert.NotAfter
	rs := make([]ranked, 0, len(b.paths))
	for _, c := range b.paths {
		r := ranked{c: c, outlives: true, length: len(c.nodes) + 1}
		all := c.nodes
		if c.root != nil {
			all = append(slices.Clone(c.nodes), c.root)
			r.prefer = matchRoot(c.root.cert, b.o.PreferRoots)
			if sameCert(c.nodes[len(c.nodes)-1].cert, c.root.cert) {
				r.length--
			}
		}
		r.minEnd = leafEnd
		for _, n := range all[1:] {
			if n.cert.NotAfter.Before(leafEnd) {
				r.outlives = false
			}
			if n.cert.NotAfter.Before(r.minEnd) {
				r.minEnd = n.cert.NotAfter
			}
		}
		r.strength = pathStrength(all)
		rs = append(rs, r)
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, c := rs[i], rs[j]
		if a.prefer != c.prefer {
			return a.prefer
		}
		if a.outlives != c.outlives {
			return a.outlives
		}
		if a.length != c.length {
			return a.length < c.length
		}
		if a.strength != c.strength {
			return a.strength[0] > c.strength[0] || (a.strength[0] == c.strength[0] && a.strength[1] > c.strength[1])
		}
		if !a.minEnd.Equal(c.minEnd) {
			return a.minEnd.After(c.minEnd)
		}
		return a.c.order < c.c.order
	})
	var best *chosen
	var bestRank ranked
	var alts []Alternative
	for _, r := range rs {
		full := r.c.nodes
		if r.c.root != nil {
			full = append(slices.Clone(r.c.nodes), r.c.root)
		}
		if best != nil {
			alts = append(alts, Alternative{Chain: certsOf(full), Reason: "not used: ranked below the chosen path because " + rankReason(bestRank, r)})
			continue
		}
		ch, err := b.validate(r.c)
		if err != nil {
			alts = append(alts, Alternative{Chain: certsOf(full), Reason: err.Error(), Err: err})
			continue
		}
		best, bestRank = ch, r
	}
	return best, alts
}

// ranked is a complete path with the facts it is ranked by.
type ranked struct {
	c        *candidate
	outlives bool
	prefer   bool
	length   int
	strength [2]int
	minEnd   time.Time
}

func rankReason(best, r ranked) string {
	switch {
	case best.prefer && !r.prefer:
		return "it does not end in a preferred root"
	case best.outlives && !r.outlives:
		return "a certificate on it expires before the leaf"
	case r.length > best.length:
		return fmt.Sprintf("it is longer (%d certificates, chosen %d)", r.length, best.length)
	case r.strength != best.strength:
		return fmt.Sprintf("its algorithms are weaker (weakest link %d-bit security, chosen %d-bit)", r.strength[0], best.strength[0])
	case r.minEnd.Before(best.minEnd):
		return "it expires sooner"
	default:
		return "an equally good path was found first"
	}
}

func certsOf(ns []*node) []*x509.Certificate {
	out := make([]*x509.Certificate, len(ns))
	for i, n := range ns {
		out[i] = n.cert
	}
	return out
}

// describePath names the certificates of a path by common name (or full
// subject when there is none).
func describePath(cs []*x509.Certificate) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = certName(c)
	}
	return strings.Join(names, " -> ")
}

func certName(c *x509.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return fmt.Sprintf("%q", c.Subject.String())
}
