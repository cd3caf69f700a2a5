package cli

import (
	"crypto/x509"
	"fmt"

	"github.com/certwright/certwright/formats"
)

// ReadRoots returns the self-signed certificates of file (any format
// package formats reads; password opens a .pfx or .jks): the roots to
// trust for -roots. Other certificates in the file are ignored, so the
// CA's whole answer (a .p7b with the chain) may be given. A file without a
// self-signed certificate is an error that says how many it holds.
func ReadRoots(file, password string) ([]*x509.Certificate, error) {
	c, err := formats.ReadFile(file, &formats.ReadOptions{Password: password})
	if err != nil {
		return nil, fmt.Errorf("reading -roots: %w", err)
	}
	var roots []*x509.Certificate
	for _, cert := range c.Certificates {
		if string(cert.RawIssuer) == string(cert.RawSubject) && cert.CheckSignatureFrom(cert) == nil {
			roots = append(roots, cert)
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("-roots %s holds %d certificate(s) but no self-signed root", file, len(c.Certificates))
	}
	return roots, nil
}
