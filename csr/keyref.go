package csr

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
)

// KeyResolver loads a private key that is kept outside the pending store:
// a pending entry made for a key in a hardware token or a KMS holds only a
// reference to it (Pending.KeyURI, for example a PKCS#11 URI as RFC 7512
// defines it) and no Key. A resolver turns that reference back into a
// crypto.Signer whose private half never leaves where it is kept.
//
// This package holds no implementation: talking to a PKCS#11 module needs
// cgo, and the library stays pure Go. The examples module has one for
// PKCS#11 tokens (examples/internal/hsm), and bundle.CompleteOptions takes
// one to complete such requests.
type KeyResolver interface {
	// Signer returns the key uri refers to. The context bounds the I/O
	// (opening the module or the connection, logging in). Secrets needed to
	// use the key (a PIN) are the resolver's business: the URI stored in a
	// pending entry should not carry them (see RedactKeyURI).
	Signer(ctx context.Context, uri string) (crypto.Signer, error)
}

// KeyResolverFunc adapts a function to KeyResolver.
type KeyResolverFunc func(ctx context.Context, uri string) (crypto.Signer, error)

// Signer calls f(ctx, uri).
func (f KeyResolverFunc) Signer(ctx context.Context, uri string) (crypto.Signer, error) {
	return f(ctx, uri)
}

var _ KeyResolver = KeyResolverFunc(nil)

// ErrNoKeyResolver is wrapped by ResolveKey when a pending entry's key is
// kept outside the store (Key nil, KeyURI set) and no KeyResolver was
// given to load it.
var ErrNoKeyResolver = errors.New("csr: the key is kept outside the pending store and no key resolver was given")

// ErrKeyURIMismatch is wrapped by ResolveKey when the key a resolver
// returned for a pending entry's KeyURI is not the entry's key (its public
// key differs from the one the entry and its CSR were made for): the URI
// now names another object, or the token holds several keys with the same
// label.
var ErrKeyURIMismatch = errors.New("csr: the key found at the key URI is not the pending request's key")

// ResolveKey returns the private key of the pending entry p: p.Key when it
// is set (r is then not used and may be nil), otherwise the key r loads
// from p.KeyURI. A resolved key is checked to be the entry's key: its KeyID
// must equal p.ID, or, when p.ID is empty, the public key of p.CSR. The
// result is never a key that merely shares a label with the one the
// request was made for.
//
// Errors name the URI with its PIN removed (RedactKeyURI) and wrap
// ErrNoKeyResolver, ErrKeyURIMismatch or the resolver's error.
func ResolveKey(ctx context.Context, p *Pending, r KeyResolver) (crypto.Signer, error) {
	if p == nil {
		return nil, errors.New("csr: ResolveKey of a nil pending entry")
	}
	if p.Key != nil {
		return p.Key, nil
	}
	if p.KeyURI == "" {
		return nil, fmt.Errorf("csr: the pending request sha256:%s has neither a key nor a key URI; the store entry is damaged", p.ID)
	}
	uri := RedactKeyURI(p.KeyURI)
	if r == nil {
		return nil, fmt.Errorf("%w: the key of the pending request sha256:%s is at %s; pass a KeyResolver for that kind of key (for PKCS#11 tokens, a resolver that opens the module and logs in with the PIN)", ErrNoKeyResolver, p.ID, uri)
	}
	want := p.ID
	if want == "" {
		if len(p.CSR) == 0 {
			return nil, fmt.Errorf("csr: the pending request for %s has no ID and no CSR, so the key found there cannot be checked", uri)
		}
		req, err := Parse(p.CSR)
		if err != nil {
			return nil, fmt.Errorf("csr: the pending request for %s: %w", uri, err)
		}
		if want, err = KeyID(req.PublicKey); err != nil {
			return nil, err
		}
	}
	want, err := normalizeKeyID(want)
	if err != nil {
		return nil, err
	}
	key, err := r.Signer(ctx, p.KeyURI)
	if err != nil {
		return nil, fmt.Errorf("csr: loading the key of the pending request sha256:%s from %s: %w", want, uri, err)
	}
	if key == nil {
		return nil, fmt.Errorf("csr: the key resolver returned no key and no error for %s", uri)
	}
	got, err := KeyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("csr: the key at %s: %w", uri, err)
	}
	if got != want {
		return nil, fmt.Errorf("%w: %s holds the key sha256:%s, the request was made for sha256:%s; check that the URI's id and object name one key (a key re-made under the same label is a different key: make a new request for it)", ErrKeyURIMismatch, uri, got, want)
	}
	return key, nil
}

// RedactKeyURI returns uri without the secrets RFC 7512 lets a PKCS#11 URI
// carry: every "pin-value" attribute, in the path (";"-separated) or the
// query ("&"-separated) part, is removed whole. "pin-source" (the name of
// a file holding the PIN) is kept: it is a reference, not the secret. It
// does not parse or validate the rest of the URI, so it also serves for
// other schemes, and it returns uri unchanged when there is nothing to
// remove. Use it before a key URI goes into an error, a log or a pending
// store.
func RedactKeyURI(uri string) string {
	prefix, rest := "", uri
	if i := strings.IndexByte(uri, ':'); i >= 0 && !strings.ContainsAny(uri[:i], "=;?&") {
		prefix, rest = uri[:i+1], uri[i+1:]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	out := prefix + dropPinValue(path, ";")
	if hasQuery {
		if q := dropPinValue(query, "&"); q != "" {
			out += "?" + q
		}
	}
	return out
}

// dropPinValue removes the sep-separated attributes named pin-value (in
// any case, and with the name percent-encoded) from s, and the pieces
// without "=" that follow one: the rest of a PIN holding an unencoded
// separator.
func dropPinValue(s, sep string) string {
	parts := strings.Split(s, sep)
	kept := parts[:0]
	dropping := false
	for _, a := range parts {
		name, _, hasValue := strings.Cut(a, "=")
		switch {
		case isPinValue(name):
			dropping = true
			continue
		case dropping && !hasValue:
			continue
		}
		dropping = false
		kept = append(kept, a)
	}
	return strings.Join(kept, sep)
}

// isPinValue reports whether an attribute name is "pin-value", ignoring case
// and percent-encoding.
func isPinValue(name string) bool {
	var sb strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '%' && i+2 < len(name) {
			if v, ok := unhex2(name[i+1], name[i+2]); ok {
				sb.WriteByte(v)
				i += 2
				continue
			}
		}
		sb.WriteByte(c)
	}
	return strings.EqualFold(strings.TrimSpace(sb.String()), "pin-value")
}

func unhex2(a, b byte) (byte, bool) {
	h, ok1 := unhex(a)
	l, ok2 := unhex(b)
	return h<<4 | l, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ErrSecretInKeyURI is returned (wrapped) by the stores' Put when
// Pending.KeyURI carries a PIN (a pin-value attribute). A store keeps the
// reference for weeks, on disk or in a database: the PIN must come from the
// KeyResolver at completion time instead.
var ErrSecretInKeyURI = errors.New("csr: key URI carries a PIN")

// checkStorableKeyURI refuses a key URI that would put a secret at rest.
func checkStorableKeyURI(uri string) error {
	if uri == "" || RedactKeyURI(uri) == uri {
		return nil
	}
	return fmt.Errorf("%w (pin-value): a pending store must not keep it; store csr.RedactKeyURI(uri) and give the PIN to the KeyResolver when completing", ErrSecretInKeyURI)
}
