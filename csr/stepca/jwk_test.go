package stepca

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The .jwe files were made by go.step.sm/crypto/jose (EncryptJWK, the code
// `step` uses) with the password below; the .key files hold the same keys
// in PKCS#8 (see testdata/README.md).
const vectorPassword = "provisioner-pw"

func readTestKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

func TestDecryptJWK(t *testing.T) {
	for _, tc := range []struct{ file, keyFile, kid string }{
		{"p256.jwe", "p256.key", "kid-p256"},
		{"p256.jwe.json", "p256.key", "kid-p256"},
		{"rsa2048.jwe", "rsa2048.key", "kid-rsa2048"},
		{"ed25519.jwe", "ed25519.key", "kid-ed25519"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !IsEncryptedJWK(data) {
				t.Fatal("not recognised as an encrypted JWK")
			}
			key, kid, err := DecryptJWK(data, []byte(vectorPassword))
			if err != nil {
				t.Fatal(err)
			}
			want := readTestKey(t, tc.keyFile)
			if kid != tc.kid || !want.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key) {
				t.Fatalf("kid %q, key %T differs", kid, key)
			}
		})
	}
}

func TestDecryptJWKErrors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "p256.jwe"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecryptJWK(data, []byte("wrong")); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("wrong password: %v", err)
	}
	parts := strings.Split(strings.TrimSpace(string(data)), ".")
	header := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) }
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"iterations", header(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":100000000,"p2s":"gaFIH1iRcct1hnfw_TOHwA"}`) + "." + strings.Join(parts[1:], "."), "100000000 PBKDF2 iterations"},
		{"algorithm", header(`{"alg":"dir","enc":"A256GCM"}`) + "." + strings.Join(parts[1:], "."), "only PBES2-HS256+A128KW/A256GCM"},
		{"four parts", strings.Join(parts[:4], "."), "five dot-separated parts"},
		{"JSON", `{"kty":"EC"}`, "not an encrypted key"},
		{"bad base64", parts[0] + ".!!." + strings.Join(parts[2:], "."), "not base64url"},
		{"large", strings.Repeat("a", maxJWKSize+1), "larger than"},
	} {
		if _, _, err := DecryptJWK([]byte(tc.data), []byte(vectorPassword)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestUnwrapKeyRFC3394 checks AES key unwrap with RFC 3394 section 4.1.
func TestUnwrapKeyRFC3394(t *testing.T) {
	kek, _ := hex.DecodeString("000102030405060708090A0B0C0D0E0F")
	wrapped, _ := hex.DecodeString("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
	got, err := unwrapKey(kek, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != "00112233445566778899aabbccddeeff" {
		t.Fatalf("unwrapped %x", got)
	}
	wrapped[3] ^= 1
	if _, err := unwrapKey(kek, wrapped); !errors.Is(err, ErrIncorrectPassword) {
		t.Fatalf("damaged: %v", err)
	}
}

// FuzzParsePrivateJWK feeds arbitrary JSON to the JWK reader, seeded with
// the decrypted test vectors: no panic, and a key it returns signs.
func FuzzParsePrivateJWK(f *testing.F) {
	for _, name := range []string{"p256.jwe", "rsa2048.jwe", "ed25519.jwe"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		plain, err := decryptJWE(data, []byte(vectorPassword))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, _, err := parsePrivateJWK(data)
		if err != nil {
			return
		}
		if _, err := algorithm(key.Public()); err != nil && !errors.Is(err, ErrUnsupportedKey) {
			t.Fatal(err)
		}
	})
}
