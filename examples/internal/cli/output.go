package cli

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/certwright/certwright/bundle"
)

// LeafFolder names the subfolder of -out that receives the files of leaf
// when one answer completes several requests: its first DNS name, else its
// common name ("*" spelled "wildcard", path separators and ".." replaced
// by "_"), else "serial-" and its serial number in hex. The name never
// leaves -out.
func LeafFolder(leaf *x509.Certificate) string {
	n := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		n = leaf.DNSNames[0]
	}
	n = strings.NewReplacer("*", "wildcard", "/", "_", `\`, "_", "..", "_").Replace(n)
	if n == "" {
		n = fmt.Sprintf("serial-%X", leaf.SerialNumber)
	}
	return n
}

// DescribeChain returns the quoted common names of b's chain, root
// included, joined by " -> ", for progress lines.
func DescribeChain(b *bundle.Bundle) string {
	var parts []string
	for _, c := range b.Chain(true) {
		parts = append(parts, fmt.Sprintf("%q", c.Subject.CommonName))
	}
	return strings.Join(parts, " -> ")
}
