//go:build cgo && !nopkcs11

package hsm

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/certwright/certwright/csr"
	"go.step.sm/crypto/kms/apiv1"
	"go.step.sm/crypto/kms/pkcs11"
)

// Resolver opens PKCS#11 tokens and keeps them open (logged in) until
// Close, so that the signers it returns keep working. It implements
// csr.KeyResolver: Signer loads the key a URI names. Tokens are opened on
// first use, one session pool per module and token label, with the PIN from
// the URI (pin-value, pin-source) or else from PIN.
//
// The zero value is ready to use for URIs that carry their PIN source;
// set PIN for the usual case of URIs kept without one. A Resolver is safe
// for use by several goroutines; its signers too (crypto11 keeps a pool of
// sessions).
type Resolver struct {
	// PIN returns the user PIN of the token labelled token in module. It
	// is called once for each token the Resolver opens, unless the URI
	// carries a pin-value or pin-source. Nil means such URIs fail. An empty
	// PIN opens the token without logging in (only for tokens that need no
	// login).
	PIN func(module, token string) (string, error)

	mu     sync.Mutex
	tokens map[tokenKey]*pkcs11.PKCS11
	closed bool
}

type tokenKey struct{ module, token string }

var _ csr.KeyResolver = (*Resolver)(nil)

// Signer returns the token's signer for the private key uri names (see
// ParseURI). The private key stays in the token; each Sign is a C_Sign
// there. It does not check that the key is the one a pending request was
// made for: csr.ResolveKey (which bundle.Complete uses) does.
func (r *Resolver) Signer(ctx context.Context, uri string) (crypto.Signer, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	k, err := r.open(ctx, u)
	if err != nil {
		return nil, err
	}
	s, err := k.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: stepKeyName(u)})
	if err != nil {
		return nil, fmt.Errorf("hsm: no private key %s in token %q: %v", describeKey(u), u.Token, err)
	}
	return s, nil
}

// GenerateKey makes a new key pair inside the token, with the private key
// sensitive and non-extractable (CKA_SENSITIVE=true, CKA_EXTRACTABLE=false),
// checks with Inspect that the token keeps that promise, and returns the
// token's signer and the key's URI (without PIN: ready for
// csr.Pending.KeyURI). A key with the same id and label already in the
// token is an error; nothing is replaced. When the check fails the new key
// is deleted and the error wraps ErrExtractable.
func (r *Resolver) GenerateKey(ctx context.Context, req KeyRequest) (crypto.Signer, *URI, error) {
	kt, err := checkRequest(&req)
	if err != nil {
		return nil, nil, err
	}
	id := req.ID
	if len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return nil, nil, fmt.Errorf("hsm: making a key id: %w", err)
		}
	}
	u := &URI{Module: req.Module, Token: req.Token, ID: id, Object: req.Label}
	k, err := r.open(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	ckr := &apiv1.CreateKeyRequest{Name: stepKeyName(u)}
	switch kt {
	case csr.P256:
		ckr.SignatureAlgorithm = apiv1.ECDSAWithSHA256
	case csr.P384:
		ckr.SignatureAlgorithm = apiv1.ECDSAWithSHA384
	case csr.RSA2048, csr.RSA3072, csr.RSA4096:
		ckr.SignatureAlgorithm = apiv1.SHA256WithRSA
		ckr.Bits = map[csr.KeyType]int{csr.RSA2048: 2048, csr.RSA3072: 3072, csr.RSA4096: 4096}[kt]
	}
	if _, err := k.CreateKey(ckr); err != nil {
		var exists apiv1.AlreadyExistsError
		if errors.As(err, &exists) {
			return nil, nil, fmt.Errorf("hsm: token %q already holds a key %s; choose another label or id", u.Token, describeKey(u))
		}
		return nil, nil, fmt.Errorf("hsm: generating a %s key %s in token %q: %v", kt, describeKey(u), u.Token, err)
	}
	info, err := r.inspect(ctx, u)
	if err == nil && !info.StaysInToken() {
		err = fmt.Errorf("%w: %s", ErrExtractable, info)
	}
	if err != nil {
		if derr := k.DeleteKey(stepKeyName(u)); derr != nil {
			return nil, nil, fmt.Errorf("hsm: the key %s made in token %q could not be checked (%w) nor deleted (%v): delete it by hand", describeKey(u), u.Token, err, derr)
		}
		return nil, nil, fmt.Errorf("hsm: the key %s made in token %q was deleted: %w", describeKey(u), u.Token, err)
	}
	s, err := k.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: stepKeyName(u)})
	if err != nil {
		return nil, nil, fmt.Errorf("hsm: the key %s was made in token %q but cannot be loaded: %v", describeKey(u), u.Token, err)
	}
	return s, u, nil
}

// Inspect reads the protection attributes of the private key uri names
// (see KeyInfo), and asks the token for the private value itself, which a
// key that stays in the token refuses.
func (r *Resolver) Inspect(ctx context.Context, uri string) (*KeyInfo, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if _, err := r.open(ctx, u); err != nil {
		return nil, err
	}
	return r.inspect(ctx, u)
}

// DeleteKey deletes the key pair uri names from its token. It is for a key
// that was never used, such as one made for a request that could not be
// kept in the pending store: deleting a key whose certificate is in use
// makes that certificate worthless.
func (r *Resolver) DeleteKey(ctx context.Context, uri string) error {
	u, err := ParseURI(uri)
	if err != nil {
		return err
	}
	k, err := r.open(ctx, u)
	if err != nil {
		return err
	}
	if err := k.DeleteKey(stepKeyName(u)); err != nil {
		return fmt.Errorf("hsm: deleting the key %s from token %q: %v", describeKey(u), u.Token, err)
	}
	return nil
}

// Close logs out of every token the Resolver opened and releases the
// modules. Signers it returned stop working. Close is safe to call twice.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for key, k := range r.tokens {
		if err := k.Close(); err != nil {
			errs = append(errs, fmt.Errorf("hsm: closing token %q: %v", key.token, err))
		}
		delete(r.tokens, key)
	}
	return errors.Join(errs...)
}

// open returns the open token of u, opening it (and logging in) the first
// time.
func (r *Resolver) open(ctx context.Context, u *URI) (*pkcs11.PKCS11, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("hsm: the Resolver is closed")
	}
	key := tokenKey{u.Module, u.Token}
	if k := r.tokens[key]; k != nil {
		return k, nil
	}
	if strings.ContainsRune(u.Module, os.PathSeparator) {
		if _, err := os.Stat(u.Module); err != nil {
			return nil, fmt.Errorf("hsm: the PKCS#11 module %s cannot be loaded: %v (for SoftHSM2 on Debian: apt-get install softhsm2, module /usr/lib/softhsm/libsofthsm2.so)", u.Module, err)
		}
	}
	// crypto11 finalizes the module when opening a token fails, which
	// would break the tokens already open through it: check the label
	// first when there are some.
	for other := range r.tokens {
		if other.module == u.Module {
			if err := tokenExists(u.Module, u.Token); err != nil {
				return nil, err
			}
			break
		}
	}
	pin, err := r.pin(u)
	if err != nil {
		return nil, err
	}
	kmsURI := "pkcs11:module-path=" + url.QueryEscape(u.Module) + ";token=" + url.QueryEscape(u.Token)
	k, err := pkcs11.New(ctx, apiv1.Options{Type: apiv1.PKCS11, URI: kmsURI, Pin: pin})
	if err != nil {
		msg := err.Error()
		hint := ""
		switch {
		case strings.Contains(msg, "CKR_PIN_INCORRECT"):
			hint = " (the PIN is wrong)"
		case strings.Contains(msg, "could not find PKCS#11 token"):
			hint = " (no token with that label: `softhsm2-util --show-slots` lists them; SOFTHSM2_CONF selects SoftHSM2's token folder)"
		}
		return nil, fmt.Errorf("hsm: opening token %q with %s: %s%s", u.Token, u.Module, msg, hint)
	}
	if r.tokens == nil {
		r.tokens = map[tokenKey]*pkcs11.PKCS11{}
	}
	r.tokens[key] = k
	return k, nil
}

// pin returns the PIN for u's token: its pin-value, the first line of its
// pin-source file, or r.PIN's answer.
func (r *Resolver) pin(u *URI) (string, error) {
	switch {
	case u.PINValue != "":
		return u.PINValue, nil
	case u.PINSource != "":
		path := strings.TrimPrefix(u.PINSource, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("hsm: reading the PIN of token %q from its pin-source: %w", u.Token, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	case r.PIN != nil:
		p, err := r.PIN(u.Module, u.Token)
		if err != nil {
			return "", fmt.Errorf("hsm: getting the PIN of token %q: %w", u.Token, err)
		}
		return p, nil
	}
	return "", fmt.Errorf("hsm: no PIN for token %q: the key URI carries none (as it should) and Resolver.PIN is not set", u.Token)
}

// stepKeyName is the key name go.step.sm/crypto/kms/pkcs11 looks up: the
// id in hex (prefixed so that it is always read as hex) and the label.
func stepKeyName(u *URI) string {
	var parts []string
	if len(u.ID) > 0 {
		parts = append(parts, "id=0x"+hex.EncodeToString(u.ID))
	}
	if u.Object != "" {
		parts = append(parts, "object="+url.QueryEscape(u.Object))
	}
	return "pkcs11:" + strings.Join(parts, ";")
}

// describeKey names a key in messages: its label and id.
func describeKey(u *URI) string {
	var parts []string
	if u.Object != "" {
		parts = append(parts, fmt.Sprintf("labelled %q", u.Object))
	}
	if len(u.ID) > 0 {
		parts = append(parts, "id "+hex.EncodeToString(u.ID))
	}
	return strings.Join(parts, " with ")
}
