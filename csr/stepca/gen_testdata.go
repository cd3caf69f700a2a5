//go:build ignore

// gen_testdata writes the fuzz seeds: a root, an intermediate and a leaf
// from internal/testpki's pinned hierarchy. Run: go run gen_testdata.go
package main

import (
	"encoding/pem"
	"os"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

func main() {
	testing.Init()
	t := &testing.T{}
	root := testpki.Root(t, "Fuzz Seed Root")
	inter := root.Intermediate(t, "Fuzz Seed Intermediate")
	leaf, _ := inter.Leaf(t, nil, "www.example.com")
	for name, der := range map[string][]byte{"root.pem": root.Cert.Raw, "intermediate.pem": inter.Cert.Raw, "leaf.pem": leaf.Raw} {
		if err := os.WriteFile("testdata/"+name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			panic(err)
		}
	}
}
