// Package ber checks and normalises BER-encoded ASN.1 before it reaches
// parsers that only understand DER or that recurse without a bound.
//
// Both PKCS#7 libraries we use convert BER to DER recursively and have no
// depth limit, so a few MiB of "30 80 30 80 ..." overflow the goroutine
// stack, which kills the whole process. Check and ToDER walk the input with
// an explicit depth bound first and fail with ErrTooDeep instead.
package ber

import (
	"errors"
	"fmt"
)

// DefaultMaxDepth is the nesting bound used when a caller passes 0. Real
// certificates, PKCS#7 and PKCS#12 structures nest fewer than 20 levels.
const DefaultMaxDepth = 64

var (
	// ErrTooDeep reports ASN.1 nested deeper than the allowed bound.
	ErrTooDeep = errors.New("ASN.1 nesting too deep")
	// ErrMalformed reports input that is not a well-formed BER encoding.
	ErrMalformed = errors.New("malformed ASN.1")
)

// header is one parsed identifier + length.
type header struct {
	tag         []byte // identifier octets as encoded (1 to 4 bytes)
	constructed bool
	indefinite  bool
	length      int // content length when definite
	hdrLen      int // bytes of identifier + length octets
}

func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < 2 {
		return h, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	i := 1
	if b[0]&0x1f == 0x1f {
		for {
			if i >= len(b) || i > 4 {
				return h, fmt.Errorf("%w: bad high tag number", ErrMalformed)
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	h.tag = b[:i]
	h.constructed = b[0]&0x20 != 0
	if i >= len(b) {
		return h, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	l := b[i]
	i++
	switch {
	case l == 0x80:
		if !h.constructed {
			return h, fmt.Errorf("%w: indefinite length on a primitive", ErrMalformed)
		}
		h.indefinite = true
	case l < 0x80:
		h.length = int(l)
	default:
		n := int(l & 0x7f)
		if n > 4 {
			return h, fmt.Errorf("%w: length of %d octets", ErrMalformed, n)
		}
		if i+n > len(b) {
			return h, fmt.Errorf("%w: truncated length", ErrMalformed)
		}
		v := 0
		for _, c := range b[i : i+n] {
			v = v<<8 | int(c)
		}
		if v < 0 || v > 1<<31-1 {
			return h, fmt.Errorf("%w: length too large", ErrMalformed)
		}
		h.length = v
		i += n
	}
	h.hdrLen = i
	if !h.indefinite && h.length > len(b)-i {
		return h, fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrMalformed, h.length, len(b)-i)
	}
	return h, nil
}

// Check walks one complete top-level element at the start of b and reports
// ErrTooDeep when constructed elements nest deeper than maxDepth (0 means
// DefaultMaxDepth). It returns the number of bytes the element occupies. It
// does not look inside primitive contents such as OCTET STRING payloads.
func Check(b []byte, maxDepth int) (int, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return walk(b, 1, maxDepth, nil)
}

// walk parses one element at the start of b at nesting level depth. When out
// is non-nil the DER form of the element is appended to *out.
func walk(b []byte, depth, maxDepth int, out *[]byte) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("%w: more than %d levels", ErrTooDeep, maxDepth)
	}
	h, err := parseHeader(b)
	if err != nil {
		return 0, err
	}
	if !h.constructed {
		end := h.hdrLen + h.length
		if out != nil {
			*out = appendHeader(*out, h.tag, h.length)
			*out = append(*out, b[h.hdrLen:end]...)
		}
		return end, nil
	}
	var body []byte
	var bodyPtr *[]byte
	if out != nil {
		bodyPtr = &body
	}
	pos := h.hdrLen
	var limit int
	if h.indefinite {
		limit = len(b)
	} else {
		limit = h.hdrLen + h.length
	}
	for {
		if h.indefinite {
			if pos+2 <= len(b) && b[pos] == 0 && b[pos+1] == 0 {
				pos += 2
				break
			}
			if pos >= len(b) {
				return 0, fmt.Errorf("%w: missing end-of-contents", ErrMalformed)
			}
		} else if pos >= limit {
			break
		}
		n, err := walk(b[pos:limit], depth+1, maxDepth, bodyPtr)
		if err != nil {
			return 0, err
		}
		pos += n
	}
	if out != nil {
		tag := h.tag
		if len(tag) == 1 && isStringTag(tag[0]) {
			// A constructed string: DER wants one primitive string whose
			// contents are the chunks' contents concatenated.
			flat, err := flattenString(tag[0], body)
			if err != nil {
				return 0, err
			}
			prim := tag[0] &^ 0x20
			*out = appendHeader(*out, []byte{prim}, len(flat))
			*out = append(*out, flat...)
		} else {
			*out = appendHeader(*out, tag, len(body))
			*out = append(*out, body...)
		}
	}
	return pos, nil
}

// isStringTag reports universal constructed string types that DER encodes
// as primitives: BIT STRING, OCTET STRING and the character strings.
func isStringTag(t byte) bool {
	if t&0xc0 != 0 || t&0x20 == 0 {
		return false
	}
	switch t & 0x1f {
	case 3, 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

// flattenString concatenates the contents of the DER chunks in body.
func flattenString(tag byte, body []byte) ([]byte, error) {
	var flat []byte
	bitString := tag&0x1f == 3
	unused := byte(0)
	for pos := 0; pos < len(body); {
		h, err := parseHeader(body[pos:])
		if err != nil {
			return nil, err
		}
		if h.constructed || len(h.tag) != 1 || h.tag[0] != tag&^0x20 {
			return nil, fmt.Errorf("%w: constructed string holds a different type", ErrMalformed)
		}
		c := body[pos+h.hdrLen : pos+h.hdrLen+h.length]
		if bitString {
			if len(c) == 0 {
				return nil, fmt.Errorf("%w: empty BIT STRING chunk", ErrMalformed)
			}
			if unused != 0 {
				return nil, fmt.Errorf("%w: unused bits in a middle BIT STRING chunk", ErrMalformed)
			}
			unused = c[0]
			c = c[1:]
		}
		flat = append(flat, c...)
		pos += h.hdrLen + h.length
	}
	if bitString {
		flat = append([]byte{unused}, flat...)
	}
	return flat, nil
}

func appendHeader(out, tag []byte, n int) []byte {
	out = append(out, tag...)
	switch {
	case n < 0x80:
		return append(out, byte(n))
	case n <= 0xff:
		return append(out, 0x81, byte(n))
	case n <= 0xffff:
		return append(out, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// ToDER converts the single BER element in b to DER: indefinite lengths
// become definite, long-form lengths become minimal, and constructed strings
// become primitive. It fails with ErrTooDeep beyond maxDepth (0 means
// DefaultMaxDepth) and with ErrMalformed on bad input or trailing bytes. The
// work is linear in len(b) times the nesting depth.
func ToDER(b []byte, maxDepth int) ([]byte, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	out := make([]byte, 0, len(b))
	n, err := walk(b, 1, maxDepth, &out)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes after the element", ErrMalformed, len(b)-n)
	}
	return out, nil
}

// IsDER reports whether b is one element that already uses only definite
// lengths. It is a cheap test used to skip conversion.
func IsDER(b []byte) bool {
	der, err := ToDER(b, 0)
	if err != nil {
		return false
	}
	return len(der) == len(b) && string(der) == string(b)
}
