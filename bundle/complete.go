package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
)

// Input is one response from a CA (or any file handed over): its bytes and
// a name for messages, usually the file name.
type Input struct {
	Name string
	Data []byte
}

// CompleteOptions tunes Complete and Pair. The zero value reads unencrypted
// input with the formats package's default bounds and builds the chain
// against the system roots (the embedded Mozilla set on machines without
// any), valid now, for a TLS server.
type CompleteOptions struct {
	// Password opens PKCS#12 (.pfx) and JKS responses and encrypted keys.
	Password string
	// Roots, when set, are the only trusted roots (a private CA's root).
	// The roots in a response are never trusted because they came with it.
	Roots []*x509.Certificate
	// Chain is the base of the chain.Build options (a shared Pool of
	// intermediates, AIA fetching, CurrentTime, root preferences, bounds).
	// Its Key and IncludeRoot are set per certificate, and its Roots when
	// Roots above is set. Nil means the zero chain.Options.
	Chain *chain.Options
	// Read holds the formats bounds; its Password is replaced by Password.
	// Nil means the defaults.
	Read *formats.ReadOptions
	// Keys are private keys to pair besides those found in the inputs
	// (Pair only; for example keys looked up in an archive of completed
	// requests). Complete ignores them: its keys come from the store.
	Keys []crypto.Signer
	// KeyResolver loads the keys of pending requests that are kept outside
	// the store (csr.Pending.KeyURI set and Key nil: a key generated in a
	// PKCS#11 token or a KMS), with csr.ResolveKey, which checks that the
	// key found is the request's. Nil means such requests fail with an
	// error wrapping csr.ErrNoKeyResolver. Entries with a Key never use it.
	//
	// The Bundle of such a request holds the resolver's crypto.Signer, whose
	// private half cannot be written to a file: Write fails with
	// ErrKeyNotExportable for every server layout (each one has a key file
	// or container), before anything is written. Write the certificate
	// files alone with Completed.WriteCertificates, and serve with
	// Bundle.TLSCertificate in a Go program or with a server that reads
	// the key from the token by its URI.
	KeyResolver csr.KeyResolver
}

// ErrKeyNotFound reports a certificate for which no private key was found:
// not in the pending store (Complete), not among the given files (Pair).
// The error is a *KeyNotFoundError with the details.
var ErrKeyNotFound = errors.New("no private key matches the certificate")

// ErrNoCertificate reports input that holds no end-entity certificate.
var ErrNoCertificate = errors.New("no end-entity certificate in the input")

// ErrNotWritten reports Finish called before a successful Write.
var ErrNotWritten = errors.New("the certificate has not been written")

// CertSummary identifies a certificate in error messages.
type CertSummary struct {
	Subject string
	Serial  string // hex
	// Fingerprint is the hex SHA-256 of the SubjectPublicKeyInfo (the
	// pending store's key ID).
	Fingerprint string
	Source      string // input name
}

// KeySummary identifies a key that was searched.
type KeySummary struct {
	Fingerprint string // hex SHA-256 of the SubjectPublicKeyInfo
	Subject     string // the subject requested, when known
	Created     time.Time
	Source      string // input name, for loose keys
}

// KeyNotFoundError says which certificates found no key, which keys were
// searched, and the likely cause.
type KeyNotFoundError struct {
	Certificates []CertSummary
	Searched     []KeySummary
	// Store is true when the search was in a pending store (Complete),
	// false when among given files (Pair).
	Store bool
}

const maxListed = 10

func (e *KeyNotFoundError) Error() string {
	var sb strings.Builder
	sb.WriteString("bundle: ")
	sb.WriteString(ErrKeyNotFound.Error())
	for i, c := range e.Certificates {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "certificate %q (serial %s, public key sha256:%s)", c.Subject, c.Serial, c.Fingerprint)
		if c.Source != "" {
			fmt.Fprintf(&sb, " from %s", c.Source)
		}
	}
	where := "among the given files"
	if e.Store {
		where = "in the pending store"
	}
	if len(e.Searched) == 0 {
		fmt.Fprintf(&sb, "; there is no %s key %s", map[bool]string{true: "pending", false: "private"}[e.Store], where)
	} else {
		fmt.Fprintf(&sb, "; searched %d key(s) %s:", len(e.Searched), where)
		for i, k := range e.Searched {
			if i == maxListed {
				fmt.Fprintf(&sb, " and %d more", len(e.Searched)-maxListed)
				break
			}
			fmt.Fprintf(&sb, " sha256:%s", k.Fingerprint)
			if k.Subject != "" {
				fmt.Fprintf(&sb, " %q", k.Subject)
			}
			if !k.Created.IsZero() {
				fmt.Fprintf(&sb, " (created %s)", k.Created.UTC().Format(time.RFC3339))
			}
			if k.Source != "" {
				fmt.Fprintf(&sb, " (%s)", k.Source)
			}
			if i < len(e.Searched)-1 && i < maxListed-1 {
				sb.WriteString(",")
			}
		}
	}
	if same := e.sameSubject(); same != "" {
		fmt.Fprintf(&sb, "; a key for the same subject %q is there but it is a different key: the CA signed another CSR than the one made with it (an older request, or a CSR re-made after the submission)", same)
	}
	if e.Store {
		sb.WriteString("; likely causes: the CSR was made on another machine or with another pending store (complete it there, or open that store), or the certificate was issued for a different CSR (check which CSR was submitted; `inspect` shows the spki_sha256 of both)")
	} else {
		sb.WriteString("; likely causes: the key file belongs to another certificate (an older one, or another server's), or the key is still in the pending store of the machine that made the CSR")
	}
	return sb.String()
}

func (e *KeyNotFoundError) sameSubject() string {
	for _, c := range e.Certificates {
		for _, k := range e.Searched {
			if k.Subject != "" && k.Subject == c.Subject {
				return c.Subject
			}
		}
	}
	return ""
}

// Unwrap returns ErrKeyNotFound.
func (e *KeyNotFoundError) Unwrap() error { return ErrKeyNotFound }

// Completed is a certificate paired with its pending request. It holds the
// bundle to write, and the handle that archives the pending request once
// the outputs are safely written: call WriteAndFinish, or Write then
// Finish. Finish refuses to run before a successful Write, so the pending
// key cannot be archived while its certificate exists nowhere on disk.
type Completed struct {
	// Bundle is the key, the leaf and its chain (root in Bundle.Root).
	Bundle *Bundle
	// Pending is the store entry the key came from.
	Pending *csr.Pending
	// Chain is chain.Build's result, with its report of what was
	// reordered, dropped and why.
	Chain *chain.Result
	// Source is the name of the input the leaf came from.
	Source string
	// Notes say what else is worth knowing: certificates in the response
	// with no pending key, differences between what the CSR asked for and
	// what the CA issued.
	Notes []string

	store    csr.Store
	written  []string
	finished bool
}

// Write writes the bundle for server into dir (see Bundle.Write) and
// remembers that it succeeded, which Finish requires.
func (c *Completed) Write(dir string, server Server, opts *WriteOptions) ([]string, error) {
	w, err := c.Bundle.Write(dir, server, opts)
	if err != nil {
		if errors.Is(err, ErrKeyNotExportable) && c.Pending != nil && c.Pending.Key == nil && c.Pending.KeyURI != "" {
			return w, fmt.Errorf("bundle: %w: the key of %s stays at %s, and the %s layout needs it in a file; write the certificate files alone (Completed.WriteCertificates: cert.pem, chain.pem, fullchain.pem) and have the server use the key where it is (its URI in the server's configuration, or Bundle.TLSCertificate in a Go program)",
				ErrKeyNotExportable, describe(c.Bundle.Leaf), csr.RedactKeyURI(c.Pending.KeyURI), server)
		}
		return w, err
	}
	c.written = append(c.written, w...)
	return w, nil
}

// Finish archives the pending request in the store (csr.Store.Complete: the
// key is kept in the archive, not deleted). It fails with ErrNotWritten
// unless Write succeeded before; a caller that wrote its outputs by other
// means calls the store's Complete with Pending.ID itself, deliberately.
// Calling Finish again after success does nothing.
func (c *Completed) Finish(ctx context.Context) error {
	if c.finished {
		return nil
	}
	if len(c.written) == 0 {
		return fmt.Errorf("bundle: %w: the pending request sha256:%s stays pending until Write succeeds", ErrNotWritten, c.Pending.ID)
	}
	if err := c.store.Complete(ctx, c.Pending.ID); err != nil {
		return fmt.Errorf("bundle: the certificate was written (%s) but archiving the pending request failed; it is still pending and Finish can be retried: %w", strings.Join(c.written, ", "), err)
	}
	c.finished = true
	return nil
}

// WriteAndFinish writes the bundle for server into dir and, only when every
// file was written and read back correctly, archives the pending request.
// On a write error the pending request stays as it was.
func (c *Completed) WriteAndFinish(ctx context.Context, dir string, server Server, opts *WriteOptions) ([]string, error) {
	w, err := c.Write(dir, server, opts)
	if err != nil {
		return w, err
	}
	return w, c.Finish(ctx)
}

// Written returns the paths written so far through Write.
func (c *Completed) Written() []string { return append([]string(nil), c.written...) }

// Complete pairs the certificates a CA returned with their pending keys and
// builds each chain. inputs are whatever came back, in any format the
// formats package reads and in any number of files (a leaf .cer beside a
// chain .p7b, a .pfx, a PEM with noise). Each end-entity certificate is
// paired with a pending key by its public key (store.Find), never by
// position or name; when several are present, each that has a pending key
// gives a Completed. The chain is built with chain.Build from the response's
// other certificates (and CompleteOptions.Chain.Pool), to the roots of
// CompleteOptions.
//
// Complete changes nothing in the store: the entries are archived by
// Completed.Finish (or WriteAndFinish) once the outputs are written. When no
// certificate has a pending key the error is a *KeyNotFoundError (errors.Is
// ErrKeyNotFound); a chain that cannot be built gives chain's error
// (errors.Is chain.ErrNoChain).
func Complete(ctx context.Context, store csr.Store, inputs []Input, opts *CompleteOptions) ([]*Completed, error) {
	contents, err := readInputs(inputs, opts)
	if err != nil {
		return nil, err
	}
	return complete(ctx, store, contents, opts)
}

// CompleteFiles is Complete on the named files.
func CompleteFiles(ctx context.Context, store csr.Store, files []string, opts *CompleteOptions) ([]*Completed, error) {
	contents, err := readFiles(files, opts)
	if err != nil {
		return nil, err
	}
	return complete(ctx, store, contents, opts)
}

type named struct {
	name string
	c    *formats.Contents
}

func readOptions(opts *CompleteOptions) *formats.ReadOptions {
	var ro formats.ReadOptions
	if opts.Read != nil {
		ro = *opts.Read
	}
	ro.Password = opts.Password
	return &ro
}

func readInputs(inputs []Input, opts *CompleteOptions) ([]named, error) {
	if opts == nil {
		opts = &CompleteOptions{}
	}
	if len(inputs) == 0 {
		return nil, errors.New("bundle: no input given")
	}
	var out []named
	for i, in := range inputs {
		name := in.Name
		if name == "" {
			name = fmt.Sprintf("input %d", i+1)
		}
		c, err := formats.Read(in.Data, readOptions(opts))
		if err != nil {
			return nil, fmt.Errorf("bundle: reading %s: %w", name, err)
		}
		out = append(out, named{name, c})
	}
	return out, nil
}

func readFiles(files []string, opts *CompleteOptions) ([]named, error) {
	if opts == nil {
		opts = &CompleteOptions{}
	}
	if len(files) == 0 {
		return nil, errors.New("bundle: no input file given")
	}
	var out []named
	for _, f := range files {
		c, err := formats.ReadFile(f, readOptions(opts))
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		out = append(out, named{f, c})
	}
	return out, nil
}

// pile is every certificate and key of the inputs, duplicates removed.
type pile struct {
	certs    []*x509.Certificate
	certFrom []string
	keys     []crypto.Signer
	keyFrom  []string
}

func gather(contents []named) *pile {
	p := &pile{}
	seenCert := map[string]bool{}
	for _, n := range contents {
		for _, c := range n.c.Certificates {
			if !seenCert[string(c.Raw)] {
				seenCert[string(c.Raw)] = true
				p.certs = append(p.certs, c)
				p.certFrom = append(p.certFrom, n.name)
			}
		}
		for _, k := range n.c.Keys {
			p.addKey(k, n.name)
		}
	}
	return p
}

func (p *pile) addKey(k crypto.Signer, from string) {
	if k == nil {
		return
	}
	fp := Fingerprint(k.Public())
	for _, have := range p.keys {
		if Fingerprint(have.Public()) == fp {
			return
		}
	}
	p.keys = append(p.keys, k)
	p.keyFrom = append(p.keyFrom, from)
}

// leaves returns the indexes of the end-entity certificates: not CA
// certificates and not the issuer of another certificate in the pile.
func (p *pile) leaves() []int {
	var out []int
	for i, c := range p.certs {
		if c.BasicConstraintsValid && c.IsCA {
			continue
		}
		issuer := false
		for j, o := range p.certs {
			if i != j && bytes.Equal(o.RawIssuer, c.RawSubject) && !bytes.Equal(o.RawIssuer, o.RawSubject) && o.CheckSignatureFrom(c) == nil {
				issuer = true
				break
			}
		}
		if !issuer {
			out = append(out, i)
		}
	}
	return out
}

func (p *pile) noLeafError(names []named) error {
	var files []string
	for _, n := range names {
		files = append(files, n.name)
	}
	if len(p.certs) == 0 {
		return fmt.Errorf("bundle: %w: %s hold(s) no certificate at all; the CA's answer is missing (ask for the issued certificate, e.g. the .cer or .p7b)", ErrNoCertificate, strings.Join(files, ", "))
	}
	var subj []string
	for _, c := range p.certs {
		subj = append(subj, fmt.Sprintf("%q", c.Subject.String()))
	}
	return fmt.Errorf("bundle: %w: %s hold(s) only CA certificates (%s); the issued certificate itself is missing (download the certificate, not only the CA chain)", ErrNoCertificate, strings.Join(files, ", "), strings.Join(subj, ", "))
}

func summarize(c *x509.Certificate, source string) CertSummary {
	serial := ""
	if c.SerialNumber != nil {
		serial = fmt.Sprintf("%X", c.SerialNumber)
	}
	return CertSummary{Subject: c.Subject.String(), Serial: serial, Fingerprint: Fingerprint(c.PublicKey), Source: source}
}

func complete(ctx context.Context, store csr.Store, contents []named, opts *CompleteOptions) ([]*Completed, error) {
	if opts == nil {
		opts = &CompleteOptions{}
	}
	if store == nil {
		return nil, errors.New("bundle: Complete needs a pending store")
	}
	p := gather(contents)
	leaves := p.leaves()
	if len(leaves) == 0 {
		return nil, p.noLeafError(contents)
	}
	type match struct {
		idx     int
		pending *csr.Pending
	}
	var matches []match
	var unmatched []int
	for _, i := range leaves {
		pend, err := store.Find(ctx, p.certs[i].PublicKey)
		switch {
		case err == nil:
			matches = append(matches, match{i, pend})
		case errors.Is(err, csr.ErrNotFound):
			unmatched = append(unmatched, i)
		default:
			return nil, fmt.Errorf("bundle: looking up the key of %s in the pending store: %w", describe(p.certs[i]), err)
		}
	}
	if len(matches) == 0 {
		e := &KeyNotFoundError{Store: true}
		for _, i := range unmatched {
			e.Certificates = append(e.Certificates, summarize(p.certs[i], p.certFrom[i]))
		}
		list, err := store.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w (listing the pending store to report what was searched also failed: %v)", e, err)
		}
		for _, pe := range list {
			e.Searched = append(e.Searched, KeySummary{Fingerprint: pe.ID, Subject: pe.Subject, Created: pe.Created})
		}
		sort.SliceStable(e.Searched, func(a, b int) bool { return e.Searched[a].Created.After(e.Searched[b].Created) })
		return nil, e
	}

	var out []*Completed
	for _, m := range matches {
		leaf := p.certs[m.idx]
		key, err := csr.ResolveKey(ctx, m.pending, opts.KeyResolver)
		if err != nil {
			return nil, fmt.Errorf("bundle: the key of %s from %s is kept outside the pending store (CompleteOptions.KeyResolver loads it): %w", describe(leaf), p.certFrom[m.idx], err)
		}
		// The chain pile: this leaf and every certificate that is not
		// another leaf of the response.
		certs := []*x509.Certificate{leaf}
		for i, c := range p.certs {
			if i != m.idx && !contains(leaves, i) {
				certs = append(certs, c)
			}
		}
		res, err := buildChain(ctx, certs, leaf.PublicKey, opts)
		if err != nil {
			return nil, fmt.Errorf("bundle: %s from %s matches the pending key sha256:%s, but its chain cannot be built: %w", describe(leaf), p.certFrom[m.idx], m.pending.ID, err)
		}
		b := &Bundle{Key: key, Leaf: res.Chain[0], Intermediates: res.Chain[1:], Root: res.Root}
		if err := b.Check(); err != nil {
			return nil, err
		}
		c := &Completed{Bundle: b, Pending: m.pending, Chain: res, Source: p.certFrom[m.idx], store: store}
		for _, i := range unmatched {
			c.Notes = append(c.Notes, fmt.Sprintf("%s from %s has no pending key and was left aside", describe(p.certs[i]), p.certFrom[i]))
		}
		c.Notes = append(c.Notes, requestDiff(m.pending, leaf)...)
		out = append(out, c)
	}
	return out, nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func buildChain(ctx context.Context, certs []*x509.Certificate, key crypto.PublicKey, opts *CompleteOptions) (*chain.Result, error) {
	var co chain.Options
	if opts.Chain != nil {
		co = *opts.Chain
	}
	co.Key = key
	co.IncludeRoot = false
	if len(opts.Roots) > 0 {
		co.Roots = chain.NewRoots(opts.Roots...)
		co.RootPool = nil
	}
	res, err := chain.Build(ctx, certs, &co)
	if err != nil {
		return nil, err
	}
	// Build leaves the root out unless asked; a path that ends in a root
	// also present in the chain (a self-signed anchor given as input) is
	// trimmed so that Bundle.Root alone holds it.
	if n := len(res.Chain); n > 1 && res.Root != nil && bytes.Equal(res.Chain[n-1].Raw, res.Root.Raw) {
		res.Chain = res.Chain[:n-1]
	}
	return res, nil
}

// requestDiff notes where the CA issued something other than what the
// pending request asked for.
func requestDiff(p *csr.Pending, leaf *x509.Certificate) []string {
	var notes []string
	if p.Subject != "" && p.Subject != leaf.Subject.String() {
		notes = append(notes, fmt.Sprintf("the CSR asked for the subject %q, the CA issued %q", p.Subject, leaf.Subject.String()))
	}
	if len(p.SANs) > 0 {
		have := map[string]bool{}
		for _, s := range sanStrings(leaf) {
			have[strings.ToLower(s)] = true
		}
		var missing []string
		for _, s := range p.SANs {
			if !have[strings.ToLower(s)] {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("the CSR asked for names the certificate lacks: %s", strings.Join(missing, ", ")))
		}
	}
	return notes
}

// sanStrings spells the certificate's SANs as csr.Pending.SANs does.
func sanStrings(c *x509.Certificate) []string {
	var out []string
	for _, d := range c.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP Address:"+ip.String())
	}
	for _, e := range c.EmailAddresses {
		out = append(out, "email:"+e)
	}
	for _, u := range c.URIs {
		out = append(out, "URI:"+u.String())
	}
	return out
}
