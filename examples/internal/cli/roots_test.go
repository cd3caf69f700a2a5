package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
)

func TestReadRoots(t *testing.T) {
	dir := t.TempDir()
	root := testpki.Root(t, "Root A")
	other := testpki.Root(t, "Root B")
	inter := root.Intermediate(t, "Intermediate")
	leaf, _ := inter.Leaf(t, testpki.KeyP256(t).Public(), "www.example.com")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The CA's whole answer: only its self-signed certificates are roots.
	answer := write("answer.pem", formats.EncodeCertificatesPEM(leaf, inter.Cert, root.Cert, other.Cert))
	roots, err := ReadRoots(answer, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range roots {
		got = append(got, r.Subject.CommonName)
	}
	if strings.Join(got, ",") != "Root A,Root B" {
		t.Errorf("roots %q, want Root A, Root B", got)
	}

	noRoot := write("chain.pem", formats.EncodeCertificatesPEM(leaf, inter.Cert))
	if _, err := ReadRoots(noRoot, ""); err == nil || err.Error() != "-roots "+noRoot+" holds 2 certificate(s) but no self-signed root" {
		t.Errorf("no root: %v", err)
	}
	if _, err := ReadRoots(filepath.Join(dir, "missing.pem"), ""); err == nil || !strings.HasPrefix(err.Error(), "reading -roots: ") {
		t.Errorf("missing file: %v", err)
	}
}
