package hsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/certwright/certwright/csr"
)

// URI is the part of a PKCS#11 URI (RFC 7512) that names one private key:
// the module to load, the token, and the key's CKA_ID and CKA_LABEL.
//
//	pkcs11:token=web;id=%3c%1f%a2;object=www;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
//
// String never writes a PIN, so the string form is what goes into a
// pending store; ParseURI accepts pin-value and pin-source (RFC 7512
// query attributes) and keeps them in PINValue and PINSource for the
// resolver to use.
type URI struct {
	// Module is the path of the PKCS#11 module (the "module-path" query
	// attribute), for example /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// Token is the token label ("token").
	Token string
	// ID is the key's CKA_ID ("id"), raw bytes.
	ID []byte
	// Object is the key's CKA_LABEL ("object").
	Object string
	// PINValue and PINSource are the "pin-value" and "pin-source" query
	// attributes of a parsed URI. String leaves both out.
	PINValue  string
	PINSource string
}

// ErrBadURI is wrapped by ParseURI for a string that is not a PKCS#11 URI
// naming a private key this package can find.
var ErrBadURI = errors.New("hsm: not a usable PKCS#11 key URI")

// ParseURI reads a PKCS#11 URI naming a private key. It needs a token
// label, a module-path, and an id or an object (or both); "type" must be
// "private" when present. Attributes RFC 7512 defines but this package does
// not select by (serial, slot-id, manufacturer, model, library-*) are
// refused rather than ignored, so that a URI never silently matches a key
// on another token. Errors never repeat a pin-value.
func ParseURI(s string) (*URI, error) {
	shown := redact(s)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, "pkcs11") {
		return nil, fmt.Errorf("%w: %q does not start with \"pkcs11:\"", ErrBadURI, shown)
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	set := func(name, raw string, inQuery bool) error {
		v, err := unescape(raw)
		if err != nil {
			if name == "pin-value" {
				return fmt.Errorf("%w: %q: the pin-value is not validly percent-encoded", ErrBadURI, shown)
			}
			return fmt.Errorf("%w: %q: attribute %s: %v", ErrBadURI, shown, name, err)
		}
		if seen[name] {
			return fmt.Errorf("%w: %q: attribute %s is given twice", ErrBadURI, shown, name)
		}
		seen[name] = true
		switch {
		case name == "token" && !inQuery:
			u.Token = v
		case name == "object" && !inQuery:
			u.Object = v
		case name == "id" && !inQuery:
			u.ID = []byte(v)
		case name == "type" && !inQuery:
			if v != "private" {
				return fmt.Errorf("%w: %q: type=%s, but a key to sign with is type=private", ErrBadURI, shown, v)
			}
		case name == "module-path" && inQuery:
			u.Module = v
		case name == "pin-value" && inQuery:
			u.PINValue = v
		case name == "pin-source" && inQuery:
			u.PINSource = v
		default:
			where := "path"
			if inQuery {
				where = "query"
			}
			return fmt.Errorf("%w: %q: %s attribute %q is not supported here (path: token, id, object, type; query: module-path, pin-source, pin-value)", ErrBadURI, shown, where, name)
		}
		return nil
	}
	for _, a := range splitNonEmpty(path, ";") {
		name, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q: path attribute %q has no value", ErrBadURI, shown, a)
		}
		if err := set(strings.ToLower(name), v, false); err != nil {
			return nil, err
		}
	}
	for _, a := range splitNonEmpty(query, "&") {
		name, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q: query attribute %q has no value", ErrBadURI, shown, redact(a))
		}
		if err := set(strings.ToLower(name), v, true); err != nil {
			return nil, err
		}
	}
	switch {
	case u.Token == "":
		return nil, fmt.Errorf("%w: %q names no token (token=LABEL)", ErrBadURI, shown)
	case u.Module == "":
		return nil, fmt.Errorf("%w: %q names no module (?module-path=/path/to/module.so)", ErrBadURI, shown)
	case len(u.ID) == 0 && u.Object == "":
		return nil, fmt.Errorf("%w: %q names no key (id=... or object=...)", ErrBadURI, shown)
	}
	return u, nil
}

// String returns the URI in RFC 7512 form, without any PIN: path
// attributes token, id (every byte percent-encoded), object and
// type=private, then the module-path query attribute.
func (u *URI) String() string {
	var sb strings.Builder
	sb.WriteString("pkcs11:token=")
	sb.WriteString(escape(u.Token, false))
	if len(u.ID) > 0 {
		sb.WriteString(";id=")
		for _, b := range u.ID {
			fmt.Fprintf(&sb, "%%%02x", b)
		}
	}
	if u.Object != "" {
		sb.WriteString(";object=")
		sb.WriteString(escape(u.Object, false))
	}
	sb.WriteString(";type=private")
	if u.Module != "" {
		sb.WriteString("?module-path=")
		sb.WriteString(escape(u.Module, true))
	}
	return sb.String()
}

// StripPIN returns s with its pin-value and pin-source removed, in the form
// String writes, or an error when s is not a usable key URI.
func StripPIN(s string) (string, error) {
	u, err := ParseURI(s)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// escape percent-encodes everything but RFC 3986 unreserved characters
// (and "/" in query values, which RFC 7512 allows there).
func escape(s string, query bool) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', query && c == '/':
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated percent-encoding")
		}
		h, ok1 := fromHex(s[i+1])
		l, ok2 := fromHex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("invalid percent-encoding %q", s[i:i+3])
		}
		out = append(out, h<<4|l)
		i += 2
	}
	return string(out), nil
}

func fromHex(c byte) (byte, bool) {
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

// redact removes pin-value from a URI for messages (see
// csr.RedactKeyURI, which this delegates to).
func redact(s string) string { return csr.RedactKeyURI(s) }
