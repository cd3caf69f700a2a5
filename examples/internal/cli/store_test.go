package cli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testpki"
)

func TestReadFirstLine(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want, err string
	}{
		{name: "lf", content: "s3cret\nsecond\n", want: "s3cret"},
		{name: "crlf", content: "s3cret\r\nsecond\r\n", want: "s3cret"},
		{name: "no newline", content: "s3cret", want: "s3cret"},
		{name: "spaces kept", content: " s3 cret \n", want: " s3 cret "},
		{name: "empty", content: "", err: "the passphrase file %s is empty (its first line is the passphrase)"},
		{name: "empty first line", content: "\nsecond\n", err: "the passphrase file %s is empty (its first line is the passphrase)"},
		{name: "crlf only", content: "\r\n", err: "the passphrase file %s is empty (its first line is the passphrase)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(dir, tt.name)
			if err := os.WriteFile(name, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFirstLine(name, "passphrase")
			if tt.err != "" {
				if want := strings.Replace(tt.err, "%s", name, 1); err == nil || err.Error() != want {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	_, err := ReadFirstLine(filepath.Join(dir, "missing"), "PIN")
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "reading the PIN: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestStoreDir(t *testing.T) {
	if got, err := StoreDir("given"); got != "given" || err != nil {
		t.Errorf("StoreDir(given) = %q, %v", got, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	t.Setenv("HOME", "/home/u")
	want := "/home/u/.config/certwright/pending"
	if cfg, _ := os.UserConfigDir(); cfg == "/cfg" {
		want = "/cfg/certwright/pending"
	}
	if got, err := StoreDir(""); got != filepath.FromSlash(want) || err != nil {
		t.Errorf("StoreDir(\"\") = %q, %v; want %q", got, err, want)
	}
	if got, err := DefaultStoreDir(); got != filepath.FromSlash(want) || err != nil {
		t.Errorf("DefaultStoreDir() = %q, %v; want %q", got, err, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	if _, err := os.UserConfigDir(); err == nil {
		t.Skip("this platform has a configuration folder without HOME")
	}
	if _, err := StoreDir(""); err == nil || !strings.HasSuffix(err.Error(), "; name it with -store DIR") {
		t.Errorf("without HOME: %v", err)
	}
}

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, err := OpenStore(missing, StoreOptions{MustExist: true}); !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "the pending store "+missing+" cannot be opened") {
		t.Errorf("MustExist on a missing folder: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("MustExist created the folder: %v", err)
	}

	// A store made with a passphrase file opens with it and not without.
	passFile := filepath.Join(dir, "pass.txt")
	if err := os.WriteFile(passFile, []byte("correct horse\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	st, err := OpenStore(storeDir, StoreOptions{PassphraseFile: passFile})
	if err != nil {
		t.Fatal(err)
	}
	key := testpki.KeyP256(t)
	der, _, err := csr.Create(nil, &csr.Request{CN: "www.example.com"}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, &csr.Pending{Key: key, CSR: der}); err != nil {
		t.Fatal(err)
	}
	st, err = OpenStore(storeDir, StoreOptions{PassphraseFile: passFile, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := st.Find(ctx, key.Public()); err != nil || p.Key == nil {
		t.Fatalf("Find with the passphrase: %v", err)
	}
	other := filepath.Join(dir, "other.txt")
	if err := os.WriteFile(other, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = OpenStore(storeDir, StoreOptions{PassphraseFile: other})
	if err == nil {
		_, err = st.Find(ctx, key.Public())
	}
	if !errors.Is(err, csr.ErrIncorrectPassphrase) {
		t.Errorf("wrong passphrase: %v, want ErrIncorrectPassphrase", err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(storeDir, StoreOptions{PassphraseFile: empty}); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty passphrase file: %v", err)
	}
}
