package chain

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report explains a Build: what was reordered, dropped, added and
// fetched, the expiry of each link, and the paths not chosen.
type Report struct {
	// Leaf is the certificate the chain was built for.
	Leaf *x509.Certificate
	// Trust names the anchors that were trusted.
	Trust string
	// Reordered is true when the given certificates that ended up in the
	// chain were not given in chain order (leaf first).
	Reordered bool
	// Dropped lists given certificates left out of the chain, and why:
	// "duplicate", "root" (the root, which servers should not send),
	// "not on the chosen path" (an alternative issuer) or "unrelated".
	Dropped []Dropped
	// Links lists the chain and then the root, with the source and expiry
	// of each.
	Links []Link
	// Fetched lists the AIA downloads attempted.
	Fetched []Fetched
	// Rejected lists the other complete paths found, each with why it was
	// not chosen.
	Rejected []Alternative
	// Notes lists skipped candidates and bounds reached.
	Notes []string
	// SignatureChecks is the number of signature verifications the search
	// made (cache hits and the checks inside x509.Verify not counted).
	SignatureChecks int
	// Verification says how crypto/x509 validated the chosen path (one
	// of the Verified... constants).
	Verification string
}

// Dropped is a given certificate that is not in the chain.
type Dropped struct {
	Cert   *x509.Certificate
	Reason string
}

// Link is one certificate of the chosen path.
type Link struct {
	Cert *x509.Certificate
	// Source is where it came from: "input", "pool", "aia", "roots" or
	// "root store".
	Source string
	// NotAfter is when it expires.
	NotAfter time.Time
	// ExpiresBeforeLeaf is true when it expires before the leaf does.
	ExpiresBeforeLeaf bool
	// Root is true for the trusted root.
	Root bool
}

// Fetched is one AIA download.
type Fetched struct {
	// For is the subject of the certificate whose issuer was sought.
	For string
	URL string
	// Certificates is the number of certificates the response held.
	Certificates int
	// Err is why the download or parse failed, nil on success.
	Err error
}

// Alternative is a complete path that was not chosen.
type Alternative struct {
	// Chain is the path, leaf first, root last when known.
	Chain []*x509.Certificate
	// Reason says why it was not chosen.
	Reason string
	// Err is crypto/x509's error when it rejected the path.
	Err error
}

func (b *builder) fillReport(rep *Report, in []*node, best *chosen) {
	leafEnd := b.leaf.cert.NotAfter
	onPath := map[[32]byte]bool{}
	for i, n := range best.links {
		isRoot := i == len(best.links)-1 && (len(best.links) > 1 || sameCert(n.cert, best.root))
		onPath[n.fp] = !isRoot
		rep.Links = append(rep.Links, Link{
			Cert: n.cert, Source: n.source, NotAfter: n.cert.NotAfter,
			ExpiresBeforeLeaf: i > 0 && n.cert.NotAfter.Before(leafEnd), Root: isRoot,
		})
	}
	// Order of the given certificates that were kept.
	var pos []int
	for i, n := range in {
		if onPath[n.fp] {
			pos = append(pos, i)
			continue
		}
		if n == b.leaf {
			continue
		}
		switch {
		case sameCert(n.cert, best.root) || (bytes.Equal(n.cert.RawSubject, best.root.RawSubject) && bytes.Equal(n.cert.RawSubjectPublicKeyInfo, best.root.RawSubjectPublicKeyInfo)):
			rep.Dropped = append(rep.Dropped, Dropped{Cert: n.cert, Reason: "root"})
		case onAlternative(n, rep.Rejected):
			rep.Dropped = append(rep.Dropped, Dropped{Cert: n.cert, Reason: "not on the chosen path"})
		default:
			rep.Dropped = append(rep.Dropped, Dropped{Cert: n.cert, Reason: "unrelated"})
		}
	}
	// The chain order of the kept certificates, by their input position.
	var want []int
	for _, c := range best.chain {
		for i, n := range in {
			if sameCert(n.cert, c) {
				want = append(want, i)
			}
		}
	}
	rep.Reordered = !slices.Equal(pos, want)
}

func onAlternative(n *node, alts []Alternative) bool {
	for _, a := range alts {
		for _, c := range a.Chain {
			if sameCert(c, n.cert) {
				return true
			}
		}
	}
	return false
}

// String explains the report in plain text, one fact per line.
func (r *Report) String() string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "leaf: %s\n", certName(r.Leaf))
	fmt.Fprintf(&b, "trusted: %s\n", r.Trust)
	for i, l := range r.Links {
		role := "intermediate"
		switch {
		case l.Root:
			role = "root"
		case i == 0:
			role = "leaf"
		}
		warn := ""
		if l.ExpiresBeforeLeaf {
			warn = " (expires before the leaf)"
		}
		fmt.Fprintf(&b, "  %d. %s %s from %s, expires %s%s\n", i, role, certName(l.Cert), l.Source, l.NotAfter.UTC().Format(time.RFC3339), warn)
	}
	if r.Reordered {
		b.WriteString("reordered: the given certificates were not in leaf-first order\n")
	}
	for _, d := range r.Dropped {
		fmt.Fprintf(&b, "dropped %s: %s\n", certName(d.Cert), d.Reason)
	}
	for _, f := range r.Fetched {
		if f.Err != nil {
			fmt.Fprintf(&b, "fetch %s (issuer of %q) failed: %v\n", f.URL, f.For, f.Err)
		} else {
			fmt.Fprintf(&b, "fetched %s (issuer of %q): %d certificate(s)\n", f.URL, f.For, f.Certificates)
		}
	}
	for _, a := range r.Rejected {
		fmt.Fprintf(&b, "alternative %s: %s\n", describePath(a.Chain), a.Reason)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "validated by %s; %d signature check(s) while searching\n", r.Verification, r.SignatureChecks)
	return b.String()
}
