//go:build cgo && !nopkcs11

package hsm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	mp11 "github.com/miekg/pkcs11"
)

// withModule runs fn with a raw PKCS#11 handle on module. The module is
// normally already initialized by an open token of the Resolver (crypto11
// shares the library's state per process); it is finalized again only when
// this call initialized it.
func withModule(module string, fn func(p *mp11.Ctx) error) error {
	p := mp11.New(module)
	if p == nil {
		return fmt.Errorf("hsm: the PKCS#11 module %s cannot be loaded", module)
	}
	defer p.Destroy()
	err := p.Initialize()
	switch {
	case err == nil:
		defer p.Finalize()
	case isCKR(err, mp11.CKR_CRYPTOKI_ALREADY_INITIALIZED):
	default:
		return fmt.Errorf("hsm: initializing %s: %w", module, err)
	}
	return fn(p)
}

func isCKR(err error, code uint) bool {
	var e mp11.Error
	return errors.As(err, &e) && uint(e) == code
}

// findSlot returns the slot of the token labelled label.
func findSlot(p *mp11.Ctx, module, label string) (uint, error) {
	slots, err := p.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("hsm: listing the slots of %s: %w", module, err)
	}
	var labels []string
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil {
			continue
		}
		l := strings.TrimRight(ti.Label, " \x00")
		if l == label {
			return s, nil
		}
		labels = append(labels, fmt.Sprintf("%q", l))
	}
	return 0, fmt.Errorf("hsm: %s has no token labelled %q (tokens: %s)", module, label, strings.Join(labels, ", "))
}

// tokenExists checks that module has a token labelled label.
func tokenExists(module, label string) error {
	return withModule(module, func(p *mp11.Ctx) error {
		_, err := findSlot(p, module, label)
		return err
	})
}

// inspect reads the attributes of u's private key. The token must be open
// (and logged in) through r: private objects are only visible to a
// logged-in application, and PKCS#11 login is per application and token.
func (r *Resolver) inspect(ctx context.Context, u *URI) (*KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var info *KeyInfo
	err := withModule(u.Module, func(p *mp11.Ctx) error {
		slot, err := findSlot(p, u.Module, u.Token)
		if err != nil {
			return err
		}
		sh, err := p.OpenSession(slot, mp11.CKF_SERIAL_SESSION)
		if err != nil {
			return fmt.Errorf("hsm: opening a session on token %q: %w", u.Token, err)
		}
		defer p.CloseSession(sh)
		tmpl := []*mp11.Attribute{mp11.NewAttribute(mp11.CKA_CLASS, mp11.CKO_PRIVATE_KEY)}
		if len(u.ID) > 0 {
			tmpl = append(tmpl, mp11.NewAttribute(mp11.CKA_ID, u.ID))
		}
		if u.Object != "" {
			tmpl = append(tmpl, mp11.NewAttribute(mp11.CKA_LABEL, u.Object))
		}
		if err := p.FindObjectsInit(sh, tmpl); err != nil {
			return fmt.Errorf("hsm: searching token %q: %w", u.Token, err)
		}
		objs, _, err := p.FindObjects(sh, 2)
		_ = p.FindObjectsFinal(sh)
		if err != nil {
			return fmt.Errorf("hsm: searching token %q: %w", u.Token, err)
		}
		switch len(objs) {
		case 0:
			return fmt.Errorf("hsm: token %q has no private key %s (or the session is not logged in)", u.Token, describeKey(u))
		case 2:
			return fmt.Errorf("hsm: token %q has several private keys %s; give the URI both id and object", u.Token, describeKey(u))
		}
		h := objs[0]
		attrs, err := p.GetAttributeValue(sh, h, []*mp11.Attribute{
			mp11.NewAttribute(mp11.CKA_KEY_TYPE, nil),
			mp11.NewAttribute(mp11.CKA_SENSITIVE, nil),
			mp11.NewAttribute(mp11.CKA_EXTRACTABLE, nil),
			mp11.NewAttribute(mp11.CKA_ALWAYS_SENSITIVE, nil),
			mp11.NewAttribute(mp11.CKA_NEVER_EXTRACTABLE, nil),
			mp11.NewAttribute(mp11.CKA_LOCAL, nil),
		})
		if err != nil {
			return fmt.Errorf("hsm: reading the attributes of the key %s: %w", describeKey(u), err)
		}
		info = &KeyInfo{}
		var secret uint
		for _, a := range attrs {
			switch a.Type {
			case mp11.CKA_KEY_TYPE:
				switch ulong(a.Value) {
				case mp11.CKK_EC:
					info.KeyType, secret = "EC", mp11.CKA_VALUE
				case mp11.CKK_RSA:
					info.KeyType, secret = "RSA", mp11.CKA_PRIVATE_EXPONENT
				default:
					info.KeyType = fmt.Sprintf("0x%x", ulong(a.Value))
				}
			case mp11.CKA_SENSITIVE:
				info.Sensitive = boolean(a.Value)
			case mp11.CKA_EXTRACTABLE:
				info.Extractable = boolean(a.Value)
			case mp11.CKA_ALWAYS_SENSITIVE:
				info.AlwaysSensitive = boolean(a.Value)
			case mp11.CKA_NEVER_EXTRACTABLE:
				info.NeverExtractable = boolean(a.Value)
			case mp11.CKA_LOCAL:
				info.Local = boolean(a.Value)
			}
		}
		if secret == 0 {
			info.SecretReadErr = errors.New("not asked: unknown key type")
			return nil
		}
		v, err := p.GetAttributeValue(sh, h, []*mp11.Attribute{mp11.NewAttribute(secret, nil)})
		switch {
		case err != nil:
			info.SecretReadErr = err
		case len(v) == 1 && len(v[0].Value) == 0:
			info.SecretReadErr = errors.New("empty value returned")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// boolean decodes a CK_BBOOL.
func boolean(b []byte) bool { return len(b) == 1 && b[0] != 0 }

// ulong decodes a CK_ULONG in the platform's byte order.
func ulong(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}
