package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/atomicfile"
)

// CheckRequest runs every check that comes before a key is made, and
// prints every problem at once on w: the key type (-key, parsed with
// csr.ParseKeyType, then given to keyCheck when not nil, for the types a
// token supports), the comma-separated names of -san (added to req), then
// the findings of csr.Check with opts. It returns the key type and whether
// the request may be made (no error, no error finding). It generates and
// stores nothing.
func CheckRequest(w io.Writer, req *csr.Request, keyType, sans string, opts *csr.Options, keyCheck func(csr.KeyType) error) (csr.KeyType, bool) {
	ok := true
	kt, err := csr.ParseKeyType(keyType)
	if err == nil && keyCheck != nil {
		err = keyCheck(kt)
	}
	if err != nil {
		fmt.Fprintf(w, "error: -key %s: %v\n", keyType, err)
		ok = false
	}
	if err := req.AddSANs(strings.Split(sans, ",")...); err != nil {
		fmt.Fprintf(w, "error: -san: %v\n", err)
		ok = false
	}
	findings := csr.Check(req, opts)
	for _, f := range findings {
		fmt.Fprintln(w, f)
	}
	if csr.FindingsError(findings) != nil {
		ok = false
	}
	return kt, ok
}

// WriteCSR writes a PEM certificate request to stdout when name is "-",
// else to the file name (0644, atomically; with noOverwrite an existing
// file is an error wrapping atomicfile.ErrExists). The error says where it
// was writing: "writing the CSR: ..." or "writing the CSR to NAME: ...".
func WriteCSR(stdout io.Writer, name string, pemBytes []byte, noOverwrite bool) error {
	if name == "-" {
		if _, err := stdout.Write(pemBytes); err != nil {
			return fmt.Errorf("writing the CSR: %w", err)
		}
		return nil
	}
	if err := atomicfile.WriteFile(name, pemBytes, 0o644, atomicfile.Options{NoOverwrite: noOverwrite}); err != nil {
		return fmt.Errorf("writing the CSR to %s: %w", name, err)
	}
	return nil
}
