package pkcs12

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestPKCS12KDF checks the PKCS#12 key derivation against vectors from
// OpenSSL's test suite (test/recipes/... pkcs12 KDF: password "smeg").
func TestPKCS12KDF(t *testing.T) {
	salt, _ := hex.DecodeString("0a58cf64530d823f")
	got := pkcs12KDF(hashSHA1, bmpPassword("smeg"), salt, 1, kdfKey, 24)
	want, _ := hex.DecodeString("8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3")
	if !bytes.Equal(got, want) {
		t.Errorf("key = %x, want %x", got, want)
	}
}

func TestBMPPassword(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "0000"},
		{"ab", "006100620000"},
		{"世", "4e160000"},
		{"\U0001F600", "d83dde000000"}, // surrogate pair, as OpenSSL encodes it
	} {
		if got := hex.EncodeToString(bmpPassword(c.in)); got != c.want {
			t.Errorf("bmpPassword(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
