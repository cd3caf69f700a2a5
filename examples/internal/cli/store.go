package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/certwright/certwright/csr"
)

// DefaultStoreDir returns the pending-request store folder that newcsr
// uses when -store is not given: certwright/pending under the user's
// configuration folder (os.UserConfigDir). The error is os.UserConfigDir's,
// unchanged (no HOME, for example); callers say how to name a folder.
func DefaultStoreDir() (string, error) {
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cfg, "certwright", "pending"), nil
}

// StoreDir returns dir, or DefaultStoreDir when dir is empty, with an
// error that tells to name the folder with -store.
func StoreDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	d, err := DefaultStoreDir()
	if err != nil {
		return "", fmt.Errorf("no default pending store (%v); name it with -store DIR", err)
	}
	return d, nil
}

// StoreOptions say how OpenStore opens a pending-request store. The zero
// value opens (or creates) a store whose keys are not encrypted.
type StoreOptions struct {
	// PassphraseFile names a file whose first line is the passphrase of
	// the store's keys (see ReadFirstLine); empty means no passphrase.
	PassphraseFile string
	// MustExist refuses a folder that does not exist instead of creating
	// an empty store, for programs that finish a request made earlier: a
	// new empty store could only report that no key matches.
	MustExist bool
}

// OpenStore opens the pending-request store in dir (csr.OpenDir), after
// checking, with o.MustExist, that dir exists and reading the passphrase
// from o.PassphraseFile, in that order.
func OpenStore(dir string, o StoreOptions) (*csr.DirStore, error) {
	if o.MustExist {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("the pending store %s cannot be opened: %w (give the -store folder the CSR was made with)", dir, err)
		}
	}
	var do csr.DirOptions
	if o.PassphraseFile != "" {
		pass, err := ReadFirstLine(o.PassphraseFile, "passphrase")
		if err != nil {
			return nil, err
		}
		do.Passphrase = []byte(pass)
	}
	return csr.OpenDir(dir, &do)
}

// ReadFirstLine returns the first line of the file name, without its line
// ending ("\n" or "\r\n"): the way passphrase and PIN files are read. what
// names the secret in errors ("passphrase", "PIN"); an empty first line is
// an error, as no store or token has an empty secret. The secret itself
// never appears in an error.
func ReadFirstLine(name, what string) (string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("reading the %s: %w", what, err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("the %s file %s is empty (its first line is the %s)", what, name, what)
	}
	return line, nil
}
