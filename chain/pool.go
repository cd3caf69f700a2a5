package chain

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default bounds of a Pool.
const (
	// DefaultMaxPoolCertificates is the number of certificates a Pool holds
	// when PoolOptions.MaxCertificates is 0.
	DefaultMaxPoolCertificates = 100_000
	// DefaultMaxCacheEntries is the number of cached signature results and
	// verified paths a Pool keeps when PoolOptions.MaxCacheEntries is 0.
	// When a cache is full it is emptied and starts again.
	DefaultMaxCacheEntries = 1 << 20
)

// Bounds on the public keys of candidate issuers. Checking a signature
// made with a huge RSA key costs seconds; keys below the lower bound are
// broken. Candidates outside these bounds are skipped with a note.
const (
	MinRSAKeyBits = 1024
	MaxRSAKeyBits = 8192
)

// node is a certificate with the facts path building asks about it again
// and again, computed once.
type node struct {
	cert    *x509.Certificate
	fp      [32]byte // SHA-256 of the DER
	spki    [32]byte // SHA-256 of the SubjectPublicKeyInfo
	keyBad  string   // why this key cannot be an issuer's key ("" when usable)
	source  string   // where the certificate came from (input, pool, roots, aia)
	selfIss bool     // subject == issuer
	// policyExt: policy constraints, policy mappings or inhibitAnyPolicy
	// present; nameCons: name constraints present (see composedEligible).
	policyExt, nameCons bool
}

func newNode(c *x509.Certificate, source string) *node {
	n := &node{
		cert:    c,
		fp:      sha256.Sum256(c.Raw),
		spki:    sha256.Sum256(c.RawSubjectPublicKeyInfo),
		source:  source,
		selfIss: bytes.Equal(c.RawSubject, c.RawIssuer),
	}
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(oidPolicyConstraints), e.Id.Equal(oidPolicyMappings), e.Id.Equal(oidInhibitAnyPolicy):
			n.policyExt = true
		case e.Id.Equal(oidNameConstraints):
			n.nameCons = true
		}
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < MinRSAKeyBits || bits > MaxRSAKeyBits {
			n.keyBad = fmt.Sprintf("RSA key of %d bits is outside %d..%d", bits, MinRSAKeyBits, MaxRSAKeyBits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case nil:
		n.keyBad = "public key algorithm not supported by crypto/x509"
	default:
		n.keyBad = fmt.Sprintf("public key type %T cannot verify signatures", k)
	}
	return n
}

// index finds certificates by fingerprint, subject and subject key id.
type index struct {
	byFP      map[[32]byte]*node
	bySubject map[string][]*node
	bySKI     map[string][]*node
	byNorm    map[string][]*node // by normName of the subject
	order     []*node
}

// normName folds case and runs of spaces in each attribute of a
// distinguished name, to find issuers whose names differ only in encoding.
func normName(n pkix.Name) string {
	var b strings.Builder
	for _, atv := range n.Names {
		b.WriteString(atv.Type.String())
		b.WriteByte('=')
		b.WriteString(strings.Join(strings.Fields(strings.ToLower(fmt.Sprint(atv.Value))), " "))
		b.WriteByte(',')
	}
	return b.String()
}

func newIndex() *index {
	return &index{
		byFP:      map[[32]byte]*node{},
		bySubject: map[string][]*node{},
		bySKI:     map[string][]*node{},
		byNorm:    map[string][]*node{},
	}
}

// add indexes n unless a certificate with the same DER is present; it
// returns the node held by the index.
func (ix *index) add(n *node) (*node, bool) {
	if old, ok := ix.byFP[n.fp]; ok {
		return old, false
	}
	ix.byFP[n.fp] = n
	ix.bySubject[string(n.cert.RawSubject)] = append(ix.bySubject[string(n.cert.RawSubject)], n)
	if len(n.cert.SubjectKeyId) > 0 {
		ix.bySKI[string(n.cert.SubjectKeyId)] = append(ix.bySKI[string(n.cert.SubjectKeyId)], n)
	}
	norm := normName(n.cert.Subject)
	ix.byNorm[norm] = append(ix.byNorm[norm], n)
	ix.order = append(ix.order, n)
	return n, true
}

func (ix *index) len() int { return len(ix.order) }

// PoolOptions bounds a Pool. The zero value gives the documented defaults.
type PoolOptions struct {
	// MaxCertificates caps the number of certificates; Add refuses more
	// with ErrPoolFull. 0 means DefaultMaxPoolCertificates.
	MaxCertificates int
	// MaxCacheEntries caps each cache (signature results, verified
	// paths). 0 means DefaultMaxCacheEntries.
	MaxCacheEntries int
}

// sigKey names one signature check: the signed certificate and the public
// key of the candidate issuer. The result depends on nothing else.
type sigKey struct {
	child [32]byte
	spki  [32]byte
}

// verifiedSuffix records that crypto/x509 accepted a path from an
// intermediate to a root, at any time inside [notBefore, notAfter].
type verifiedSuffix struct {
	notBefore, notAfter time.Time
}

// Pool holds candidate intermediate certificates, indexed by subject and
// by subject key identifier, and caches the results of signature checks
// and of path validations across every Build that shares it. Certificates
// in a Pool are never trusted by themselves: a path must end in a root of
// Options.Roots or Options.RootPool.
//
// A Pool is safe for concurrent use. The zero value is not usable; call
// NewPool.
type Pool struct {
	maxCerts, maxCache int

	mu sync.RWMutex
	ix *index

	cacheMu  sync.Mutex
	sigs     map[sigKey]bool
	suffixes map[string]verifiedSuffix

	checks atomic.Int64
}

// NewPool returns an empty pool with the given bounds (nil: defaults).
func NewPool(opts *PoolOptions) *Pool {
	var o PoolOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxCertificates <= 0 {
		o.MaxCertificates = DefaultMaxPoolCertificates
	}
	if o.MaxCacheEntries <= 0 {
		o.MaxCacheEntries = DefaultMaxCacheEntries
	}
	return &Pool{
		maxCerts: o.MaxCertificates,
		maxCache: o.MaxCacheEntries,
		ix:       newIndex(),
		sigs:     map[sigKey]bool{},
		suffixes: map[string]verifiedSuffix{},
	}
}

// Add adds certificates to the pool, skipping nil ones and exact
// duplicates, and returns how many were new. When the pool is full it adds
// what fits and returns an error wrapping ErrPoolFull.
func (p *Pool) Add(certs ...*x509.Certificate) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	added := 0
	for _, c := range certs {
		if c == nil {
			continue
		}
		if p.ix.len() >= p.maxCerts {
			return added, fmt.Errorf("chain: pool holds %d certificates, the most it may (PoolOptions.MaxCertificates): %w", p.maxCerts, ErrPoolFull)
		}
		if _, ok := p.ix.add(newNode(c, sourcePool)); ok {
			added++
		}
	}
	return added, nil
}

// Len returns the number of certificates in the pool.
func (p *Pool) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.ix.len()
}

// Certificates returns the pool's certificates in the order they were
// added.
func (p *Pool) Certificates() []*x509.Certificate {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*x509.Certificate, len(p.ix.order))
	for i, n := range p.ix.order {
		out[i] = n.cert
	}
	return out
}

// SignatureChecks returns how many signature verifications path building
// has performed for this pool since it was made (cache hits excluded, the
// checks crypto/x509 makes inside Verify excluded).
func (p *Pool) SignatureChecks() int64 { return p.checks.Load() }

// lookup returns the nodes with the given subject and, separately, the
// nodes whose subject key id is ski (which may have another subject).
func (p *Pool) lookup(subject, ski []byte) (bySubject, byKey []*node) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	bySubject = p.ix.bySubject[string(subject)]
	if len(ski) > 0 {
		byKey = p.ix.bySKI[string(ski)]
	}
	return bySubject, byKey
}

func (p *Pool) lookupNorm(norm string) []*node {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.ix.byNorm[norm]
}

// cachedSig reports a cached signature result.
func (p *Pool) cachedSig(k sigKey) (ok, found bool) {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	ok, found = p.sigs[k]
	return ok, found
}

func (p *Pool) storeSig(k sigKey, ok bool) {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	if len(p.sigs) >= p.maxCache {
		clear(p.sigs)
	}
	p.sigs[k] = ok
}

func (p *Pool) suffixOK(key string, at time.Time) bool {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	v, ok := p.suffixes[key]
	return ok && !at.Before(v.notBefore) && !at.After(v.notAfter)
}

func (p *Pool) storeSuffix(key string, v verifiedSuffix) {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	if len(p.suffixes) >= p.maxCache {
		clear(p.suffixes)
	}
	p.suffixes[key] = v
}

// checkSignature reports whether parent's public key verifies child's
// signature, using and filling the cache. It checks the signature only:
// whether parent may issue certificates, and whether the algorithm is
// acceptable, is left to crypto/x509 when the path is validated.
func (p *Pool) checkSignature(child, parent *node) bool {
	k := sigKey{child: child.fp, spki: parent.spki}
	if ok, found := p.cachedSig(k); found {
		return ok
	}
	p.checks.Add(1)
	err := parent.cert.CheckSignature(child.cert.SignatureAlgorithm, child.cert.RawTBSCertificate, child.cert.Signature)
	ok := err == nil
	p.storeSig(k, ok)
	return ok
}
