package formats

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
)

// decodePEM is pem.Decode with a fast path for the common block: BEGIN at
// the start of a line, no headers, base64 lines, a matching END line. It
// returns exactly what pem.Decode returns (a differential fuzz target
// checks this) and hands every other case to pem.Decode. Reading bundles of
// hundreds of certificates, pem.Decode's backward search for the BEGIN line
// and its copies cost about a fifth of the time.
func decodePEM(data []byte) (*pem.Block, []byte) {
	start := bytes.Index(data, pemBegin)
	if start < 0 || start > 0 && data[start-1] != '\n' {
		return pem.Decode(data)
	}
	p := data[start+len(pemBegin):]
	eol := bytes.IndexByte(p, '\n')
	if eol < 0 {
		return pem.Decode(data)
	}
	line := bytes.TrimRight(p[:eol], " \t\r")
	if len(line) < 5 || !bytes.HasSuffix(line, pemDashes) {
		return pem.Decode(data)
	}
	label := line[:len(line)-5]
	if bytes.Contains(label, pemDashes) {
		return pem.Decode(data)
	}
	body := p[eol+1:]
	endMarker := make([]byte, 0, len(label)+19)
	endMarker = append(append(append(endMarker, "-----END "...), label...), pemDashes...)
	end := bytes.Index(body, endMarker)
	if end <= 0 || body[end-1] != '\n' {
		return pem.Decode(data)
	}
	b64 := body[:end]
	if bytes.IndexByte(b64, ':') >= 0 || bytes.Contains(b64, pemDashes) {
		return pem.Decode(data) // headers, or another marker inside
	}
	after := body[end+len(endMarker):]
	var rest []byte
	if eol := bytes.IndexByte(after, '\n'); eol >= 0 {
		if len(bytes.TrimRight(after[:eol], " \t\r")) != 0 {
			return pem.Decode(data)
		}
		rest = after[eol+1:]
	} else {
		if len(bytes.TrimRight(after, " \t\r")) != 0 {
			return pem.Decode(data)
		}
		rest = after[len(after):]
	}
	// pem.Decode removes spaces and tabs, then lets base64 skip the line
	// ends; without spaces or tabs the text can go to base64 as it is.
	if bytes.IndexByte(b64, ' ') >= 0 || bytes.IndexByte(b64, '\t') >= 0 {
		return pem.Decode(data)
	}
	clean := b64
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return pem.Decode(data)
	}
	return &pem.Block{Type: string(label), Headers: map[string]string{}, Bytes: out[:n]}, rest
}

var pemDashes = []byte("-----")
