package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/atomicfile"
)

func TestCheckRequest(t *testing.T) {
	onlyP256 := func(kt csr.KeyType) error {
		if kt != csr.P256 {
			return errors.New("the token makes p256 keys only")
		}
		return nil
	}
	tests := []struct {
		name     string
		req      csr.Request
		key, san string
		keyCheck func(csr.KeyType) error
		ok       bool
		kt       csr.KeyType
		printed  []string // substrings, in order
		sans     []string
	}{
		{name: "good", req: csr.Request{CN: "www.example.com"}, key: "p256", san: "example.com", ok: true, kt: csr.P256,
			sans: []string{"example.com"}},
		{name: "default key type", req: csr.Request{CN: "www.example.com"}, ok: true, kt: csr.DefaultKeyType},
		{name: "bad key type", req: csr.Request{CN: "www.example.com"}, key: "rsa1024", printed: []string{"error: -key rsa1024: "}},
		{name: "key type refused by keyCheck", req: csr.Request{CN: "www.example.com"}, key: "rsa2048", keyCheck: onlyP256,
			printed: []string{"error: -key rsa2048: the token makes p256 keys only"}},
		{name: "bad san and bad key both reported", req: csr.Request{CN: "www.example.com"}, key: "rsa1024", san: "http://[::1",
			printed: []string{"error: -key rsa1024: ", "error: -san: "}},
		{name: "bad name is a finding", req: csr.Request{CN: "www.example.com"}, key: "p256", san: "a b", kt: csr.P256,
			printed: []string{`"a b"`}},
		{name: "error finding", req: csr.Request{CN: "www.example.com", C: "USA"}, key: "p256", kt: csr.P256, printed: []string{"USA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			req := tt.req
			kt, ok := CheckRequest(&w, &req, tt.key, tt.san, nil, tt.keyCheck)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v; printed:\n%s", ok, tt.ok, w.String())
			}
			if tt.ok && kt != tt.kt {
				t.Errorf("key type %q, want %q", kt, tt.kt)
			}
			rest := w.String()
			for _, p := range tt.printed {
				i := strings.Index(rest, p)
				if i < 0 {
					t.Fatalf("printed %q, want %q (in order)", w.String(), tt.printed)
				}
				rest = rest[i+len(p):]
			}
			if tt.ok && w.Len() != 0 && len(tt.printed) == 0 && strings.Contains(w.String(), "error") {
				t.Errorf("good request printed %q", w.String())
			}
			for _, s := range tt.sans {
				found := false
				for _, d := range req.DNSNames {
					found = found || d == s
				}
				if !found {
					t.Errorf("DNS names %q, want %q among them", req.DNSNames, s)
				}
			}
		})
	}
}

func TestWriteCSR(t *testing.T) {
	data := []byte("-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----\n")
	var out bytes.Buffer
	if err := WriteCSR(&out, "-", data, true); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("to stdout: %v, wrote %q", err, out.Bytes())
	}
	name := filepath.Join(t.TempDir(), "www.csr")
	if err := WriteCSR(&out, name, data, true); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("file: %v, %v", fi, err)
	}
	err = WriteCSR(&out, name, data, true)
	if !errors.Is(err, atomicfile.ErrExists) || !strings.HasPrefix(err.Error(), "writing the CSR to "+name+": ") {
		t.Errorf("second write with noOverwrite: %v", err)
	}
	if err := WriteCSR(&out, name, []byte("new"), false); err != nil {
		t.Errorf("overwrite allowed: %v", err)
	}
	if got, _ := os.ReadFile(name); string(got) != "new" {
		t.Errorf("file holds %q", got)
	}
	if err := WriteCSR(failWriter{}, "-", data, false); err == nil || err.Error() != "writing the CSR: closed" {
		t.Errorf("failing stdout: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }
