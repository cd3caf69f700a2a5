package bundle

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrNoKey reports input with certificates but no private key at all.
var ErrNoKey = errors.New("no private key in the input")

// Pair finds the private keys in inputs (a loose key file beside
// certificate files, a .pfx, a HAProxy PEM...) and pairs each with the
// certificate for it, by public key, never by position or file name; then
// builds each chain as Complete does. It is for keys that are not in a
// pending store: moving a site to another server, exporting what a server
// already has. When several certificates share a key (a renewal that kept
// the key), the one valid longest is taken. Keys with no certificate are
// skipped when another key found one; when none did, the error is a
// *KeyNotFoundError listing the certificates and the keys' fingerprints.
func Pair(ctx context.Context, inputs []Input, opts *CompleteOptions) ([]*Bundle, error) {
	contents, err := readInputs(inputs, opts)
	if err != nil {
		return nil, err
	}
	return pair(ctx, contents, opts)
}

// PairFiles is Pair on the named files.
func PairFiles(ctx context.Context, files []string, opts *CompleteOptions) ([]*Bundle, error) {
	contents, err := readFiles(files, opts)
	if err != nil {
		return nil, err
	}
	return pair(ctx, contents, opts)
}

func pair(ctx context.Context, contents []named, opts *CompleteOptions) ([]*Bundle, error) {
	if opts == nil {
		opts = &CompleteOptions{}
	}
	p := gather(contents)
	for _, k := range opts.Keys {
		p.addKey(k, "a given key")
	}
	leaves := p.leaves()
	if len(p.keys) == 0 {
		var files []string
		for _, n := range contents {
			files = append(files, n.name)
		}
		return nil, fmt.Errorf("bundle: %w (%v); give the key file too, or, for a certificate answering a CSR, complete it from the pending store", ErrNoKey, files)
	}
	if len(leaves) == 0 {
		return nil, p.noLeafError(contents)
	}
	var out []*Bundle
	for ki, key := range p.keys {
		best := -1
		for _, i := range leaves {
			c := p.certs[i]
			if publicKeyEqual(key.Public(), c.PublicKey) && (best < 0 || c.NotAfter.After(p.certs[best].NotAfter)) {
				best = i
			}
		}
		if best < 0 {
			continue
		}
		certs := []*x509.Certificate{p.certs[best]}
		for i, c := range p.certs {
			if i != best && !contains(leaves, i) {
				certs = append(certs, c)
			}
		}
		res, err := buildChain(ctx, certs, key.Public(), opts)
		if err != nil {
			return nil, fmt.Errorf("bundle: the key from %s matches %s from %s, but its chain cannot be built: %w", p.keyFrom[ki], describe(p.certs[best]), p.certFrom[best], err)
		}
		b := &Bundle{Key: key, Leaf: res.Chain[0], Intermediates: res.Chain[1:], Root: res.Root}
		if err := b.Check(); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		e := &KeyNotFoundError{}
		for _, i := range leaves {
			e.Certificates = append(e.Certificates, summarize(p.certs[i], p.certFrom[i]))
		}
		for i, k := range p.keys {
			e.Searched = append(e.Searched, KeySummary{Fingerprint: Fingerprint(k.Public()), Source: p.keyFrom[i]})
		}
		return nil, e
	}
	return out, nil
}
