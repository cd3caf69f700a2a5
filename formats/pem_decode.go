package formats

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
)

// pemDecoder is pem.Decode with a fast path for the common block: BEGIN at
// the start of a line, no headers, base64 lines, a matching END line. It
// returns what pem.Decode returns (the differential fuzz target
// FuzzDecodePEM checks this) and hands every other case to pem.Decode. Reading
// bundles of hundreds of certificates, pem.Decode's backward search for
// the BEGIN line, its copies and one allocation per block cost about a
// fifth of the time; the fast path decodes the base64 of all blocks into
// a few shared buffers instead.
type pemDecoder struct {
	// slab receives the decoded bytes of fast-path blocks other than
	// private keys. Each block's Bytes is a slice of it with its capacity
	// capped, so appending to one block never writes over the next.
	// Certificates parsed from the blocks keep the slab alive.
	slab []byte
	// text is the base64 of the current block without its line ends.
	text []byte
	// block is what next returns on the fast path; it is overwritten by
	// the following call (its Bytes are not).
	block pem.Block
}

// slabMax bounds the size of one slab, so that a few certificates kept
// from a large input do not keep much more than themselves alive.
const slabMax = 256 << 10

// next returns the next PEM block of data and the rest of data, as
// pem.Decode does, except that a fast-path block has nil Headers (instead
// of an empty map) and is valid only until the next call.
func (d *pemDecoder) next(data []byte) (*pem.Block, []byte) {
	label, b64, rest, ok := scanPEM(data)
	if !ok {
		return pem.Decode(data)
	}
	// pem.Decode removes spaces and tabs, then lets base64 skip the line
	// ends. Removing the line ends here gives the same result for text
	// without spaces and tabs (base64 refuses those, and then pem.Decode
	// decides) and lets base64 take eight characters at a time.
	text := d.text[:0]
	for len(b64) > 0 {
		line := b64
		if i := bytes.IndexByte(b64, '\n'); i >= 0 {
			line, b64 = b64[:i], b64[i+1:]
		} else {
			b64 = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		text = append(text, line...)
	}
	d.text = text
	need := base64.StdEncoding.DecodedLen(len(text))
	if bytes.Contains(label, []byte("PRIVATE")) {
		// A private key gets a buffer of its own: in the slab, its
		// bytes would live as long as any certificate read beside it.
		out := make([]byte, need)
		n, err := base64.StdEncoding.Decode(out, text)
		if err != nil {
			return pem.Decode(data)
		}
		d.block = pem.Block{Type: pemLabel(label), Bytes: out[:n:n]}
		return &d.block, rest
	}
	if cap(d.slab)-len(d.slab) < need {
		size := min(base64.StdEncoding.DecodedLen(len(data)), slabMax)
		d.slab = make([]byte, 0, max(size, need))
	}
	at := len(d.slab)
	out := d.slab[at : at+need]
	n, err := base64.StdEncoding.Decode(out, text)
	if err != nil {
		return pem.Decode(data)
	}
	d.slab = d.slab[:at+n]
	d.block = pem.Block{Type: pemLabel(label), Bytes: out[:n:n]}
	return &d.block, rest
}

// pemLabel returns label as a string, without allocating for the common
// labels.
func pemLabel(label []byte) string {
	switch string(label) {
	case "CERTIFICATE":
		return "CERTIFICATE"
	case "PRIVATE KEY":
		return "PRIVATE KEY"
	}
	return string(label)
}

// scanPEM finds the first block of data when it has the shape the fast
// path takes: a BEGIN line at the start of a line, text, and the matching
// END line followed only by white space up to the line end; the text must
// then be base64 with line ends only, which next checks by decoding it. It returns the label, the base64 text
// (line ends included) and the rest after the END line. It reports false
// for everything else, which pem.Decode must decide.
func scanPEM(data []byte) (label, b64, rest []byte, ok bool) {
	start := bytes.Index(data, pemBegin)
	if start < 0 || start > 0 && data[start-1] != '\n' {
		return nil, nil, nil, false
	}
	p := data[start+len(pemBegin):]
	eol := bytes.IndexByte(p, '\n')
	if eol < 0 {
		return nil, nil, nil, false
	}
	line := bytes.TrimRight(p[:eol], " \t\r")
	if len(line) < 5 || !bytes.HasSuffix(line, pemDashes) {
		return nil, nil, nil, false
	}
	label = line[:len(line)-5]
	if bytes.Contains(label, pemDashes) {
		return nil, nil, nil, false
	}
	body := p[eol+1:]
	// The first END line must be the block's: with any other, the text up
	// to the block's END line would hold "-----", which pem.Decode decides.
	end := bytes.Index(body, pemEnd)
	if end < 0 {
		return nil, nil, nil, false
	}
	if m := body[end+len(pemEnd):]; len(m) < len(label)+5 || !bytes.Equal(m[:len(label)], label) || !bytes.Equal(m[len(label):len(label)+5], pemDashes) {
		return nil, nil, nil, false
	}
	if end <= 0 || body[end-1] != '\n' {
		return nil, nil, nil, false
	}
	// Headers (a colon), spaces, tabs and other markers (dashes) in the
	// text are not looked for here: base64 refuses them, and next hands
	// the block to pem.Decode when base64 fails.
	b64 = body[:end]
	after := body[end+len(pemEnd)+len(label)+5:]
	if eol := bytes.IndexByte(after, '\n'); eol >= 0 {
		if len(bytes.TrimRight(after[:eol], " \t\r")) != 0 {
			return nil, nil, nil, false
		}
		rest = after[eol+1:]
	} else {
		if len(bytes.TrimRight(after, " \t\r")) != 0 {
			return nil, nil, nil, false
		}
		rest = after[len(after):]
	}
	return label, b64, rest, true
}

// countPEMBegins returns bytes.Count(data, pemBegin), faster: that
// restarts its search at every dash of every marker line, this skips a
// run of dashes at once (a BEGIN marker can only start five dashes before
// the end of a run).
func countPEMBegins(data []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(data, '-')
		if i < 0 {
			return n
		}
		data = data[i:]
		run := 1
		for run < len(data) && data[run] == '-' {
			run++
		}
		if run >= 5 && bytes.HasPrefix(data[run-5:], pemBegin) {
			n++
			data = data[run-5+len(pemBegin):]
			continue
		}
		data = data[run:]
	}
}

var (
	pemDashes = []byte("-----")
	pemEnd    = []byte("-----END ")
)
