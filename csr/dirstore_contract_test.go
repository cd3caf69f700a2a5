package csr_test

import (
	"path/filepath"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/csr/storetest"
)

// TestDirStoreContract runs the contract every Store keeps (the same
// checks SQLStore passes against PostgreSQL in
// examples/internal/pgstoretest), plaintext and encrypted.
func TestDirStoreContract(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) csr.Store {
			s, err := csr.OpenDir(filepath.Join(t.TempDir(), "store"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("passphrase", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) csr.Store {
			s, err := csr.OpenDir(filepath.Join(t.TempDir(), "store"), &csr.DirOptions{Passphrase: []byte("contract"), Iterations: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
