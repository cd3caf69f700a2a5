package pkcs12

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedPasswords are the passwords of the checked-in files (testdata/README.md).
var seedPasswords = map[string]string{
	"boringssl_windows.p12": "foo", "boringssl_nss.p12": "foo", "boringssl_no_encryption.p12": "foo",
	"boringssl_pbes2_sha256.p12": "foo", "boringssl_unicode_password.p12": "Hello, 世界",
	"gopkcs12_chain_3keys.p12": "password", "gopkcs12_windows_aes256.p12": "password",
	"gopkcs12_rfc9579-a1.p12": "1234", "gopkcs12_rfc9579-a4.p12": "1234",
	"gopkcs12_pbmac1-short-key-bypass.p12": "realpassword", "certigo_elliptic.p12": "password",
}

// FuzzDecode feeds mutated PKCS#12 files to Decode with small iteration
// bounds (so that each input costs at most a few milliseconds of KDF work):
// no panic, and every error is one of the package's classified sentinels.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*.p12")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, seedPasswords[filepath.Base(file)])
	}
	// The checked-in files use 2000 to 10,000 iterations, which the small
	// bound below refuses at the MAC; builder files with 1 iteration let
	// the fuzzer reach the safes, bags and keys cheaply.
	m := newMultiFixtureIter(f, "fuzz", 1)
	f.Add(m.pfx.build(f), "fuzz")
	m.pfx.mac = "none"
	f.Add(m.pfx.build(f), "fuzz")
	m.pfx.mac, m.pfx.berOuter = "pbmac1", true
	for i := range m.pfx.safes {
		m.pfx.safes[i].ber = true
	}
	f.Add(m.pfx.build(f), "fuzz")
	opts := Options{MaxIterations: 16, MaxTotalIterations: 256, MaxBags: 64}
	sentinels := []error{ErrIncorrectPassword, ErrTooManyIterations, ErrTooManyBags, ErrKeyTooLarge, ErrUnsupported, ErrMalformed}
	// Text that the package's own source contains (words such as
	// "password") may appear in an error whatever the password is; only a
	// password found in an error but nowhere in the source is a leak.
	vocabulary := packageSource(f)
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		d := newDecoder(password, opts)
		err := d.decode(data)
		if d.spent > opts.MaxTotalIterations {
			t.Fatalf("derived %d iterations, bound %d", d.spent, opts.MaxTotalIterations)
		}
		if err == nil {
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				if len(password) > 3 && strings.Contains(err.Error(), password) && !strings.Contains(vocabulary, password) {
					t.Fatalf("error contains the password: %v", err)
				}
				return
			}
		}
		t.Fatalf("unclassified error: %v", err)
	})
}

// packageSource returns the text of the package's non-test Go files.
func packageSource(tb testing.TB) string {
	tb.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		b.Write(src)
	}
	return b.String()
}
