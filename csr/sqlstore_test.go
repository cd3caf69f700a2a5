package csr

// The parts of SQLStore that need no database: options, the KEK and the
// sealed-key format. The store itself is tested against PostgreSQL in
// examples/internal/pgstoretest (the library imports no driver).

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

func testKEK(b byte) []byte { return bytes.Repeat([]byte{b}, KEKSize) }

func TestErrWrongKEKIsIncorrectPassphrase(t *testing.T) {
	if !errors.Is(ErrWrongKEK, ErrIncorrectPassphrase) {
		t.Fatal("ErrWrongKEK does not wrap ErrIncorrectPassphrase")
	}
	if errors.Is(ErrIncorrectPassphrase, ErrWrongKEK) {
		t.Fatal("ErrIncorrectPassphrase is ErrWrongKEK")
	}
	if ErrWrongKEK.Error() != "csr: wrong key-encryption key" {
		t.Fatalf("ErrWrongKEK = %q", ErrWrongKEK)
	}
}

// TestSealedKeyFormat reads a sealed key with nothing but crypto/cipher
// and the format kek.go documents, so a key can be recovered from a
// database dump without this package.
func TestSealedKeyFormat(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	id, _ := KeyID(key.Public())
	k, err := newKEK(testKEK(7), "SQLOptions.KEK")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.seal(rand.Reader, id, der)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(testKEK(7))
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, sealed[:12], sealed[12:], []byte("certwright-sqlstore-key/1 "+id))
	if err != nil || !bytes.Equal(plain, der) {
		t.Fatalf("the documented format does not open the sealed key: %v", err)
	}
	if again, _ := k.seal(rand.Reader, id, der); bytes.Equal(again[:12], sealed[:12]) {
		t.Fatal("two seals used the same nonce")
	}
	if got, err := k.open(id, sealed); err != nil || !bytes.Equal(got, der) {
		t.Fatalf("open: %v", err)
	}

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherID, _ := KeyID(other.Public())
	if _, err := k.open(otherID, sealed); !errors.Is(err, errSealedDamaged) {
		t.Fatalf("a sealed key opened under another key ID (a swapped row): %v", err)
	}
	wrong, _ := newKEK(testKEK(8), "SQLOptions.KEK")
	if _, err := wrong.open(id, sealed); !errors.Is(err, errSealedDamaged) {
		t.Fatalf("a sealed key opened under another KEK: %v", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[20] ^= 1
	if _, err := k.open(id, flipped); !errors.Is(err, errSealedDamaged) {
		t.Fatalf("a changed ciphertext opened: %v", err)
	}
	if _, err := k.open(id, sealed[:27]); err == nil || !strings.Contains(err.Error(), "shorter than a nonce and a tag") {
		t.Fatalf("a truncated value: %v", err)
	}
}

// TestKEKID: the ID is HMAC-SHA256(KEK, label) as OpenSSL computes it,
// and different KEKs get different IDs.
func TestKEKID(t *testing.T) {
	id := kekID(testKEK(1))
	if len(id) != 16 || id == kekID(testKEK(2)) {
		t.Fatalf("kekID = %q", id)
	}
	openssl := testtool.Require(t, "openssl")
	cmd := exec.Command(openssl, "mac", "-digest", "SHA256", "-macopt", "hexkey:"+hex.EncodeToString(testKEK(1)), "HMAC")
	cmd.Stdin = strings.NewReader(kekIDLabel)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl mac: %v", err)
	}
	if got := strings.ToLower(strings.TrimSpace(string(out))); got[:16] != id {
		t.Fatalf("kekID = %s, openssl HMAC = %s", id, got)
	}
}

func TestSQLOptionsChecked(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts *SQLOptions
		want string
	}{
		{"nil", nil, "SQLOptions.KEK is required"},
		{"no KEK", &SQLOptions{}, "set AllowPlaintext"},
		{"short KEK", &SQLOptions{KEK: make([]byte, 31)}, "SQLOptions.KEK is 31 bytes"},
		{"long KEK", &SQLOptions{KEK: make([]byte, 64)}, "exactly 32 random bytes"},
		{"bad old KEK", &SQLOptions{KEK: testKEK(1), OldKEKs: [][]byte{nil}}, "SQLOptions.OldKEKs[0] is 0 bytes"},
		{"old KEKs, no KEK", &SQLOptions{AllowPlaintext: true, OldKEKs: [][]byte{testKEK(1)}}, "without a KEK"},
		{"table with a quote", &SQLOptions{KEK: testKEK(1), Table: `a"b`}, "not a plain table name"},
		{"table with a dot", &SQLOptions{KEK: testKEK(1), Table: "public.t"}, "not a plain table name"},
		{"table too long", &SQLOptions{KEK: testKEK(1), Table: strings.Repeat("a", 49)}, "at most 48 bytes"},
		{"table starting with a digit", &SQLOptions{KEK: testKEK(1), Table: "1t"}, "not a plain table name"},
		{"schema with a space", &SQLOptions{KEK: testKEK(1), Schema: "my schema"}, "not a plain schema name"},
	} {
		_, err := newSQLStore(nil, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	s, err := newSQLStore(nil, &SQLOptions{KEK: testKEK(1), OldKEKs: [][]byte{testKEK(2)}, Schema: "fleet", Table: "pending_v2"})
	if err != nil {
		t.Fatal(err)
	}
	if s.requests != `"fleet"."pending_v2"` || s.keks != `"fleet"."pending_v2_keks"` || s.versions != `"fleet"."pending_v2_schema"` {
		t.Fatalf("table names %s %s %s", s.requests, s.keks, s.versions)
	}
	if got := s.sql("CREATE UNIQUE INDEX IF NOT EXISTS {pending_index} ON {requests}"); got != `CREATE UNIQUE INDEX IF NOT EXISTS "pending_v2_pending_key_id" ON "fleet"."pending_v2"` {
		t.Fatalf("sql = %s", got)
	}
	if len(s.known) != 2 || s.kek.id != kekID(testKEK(1)) {
		t.Fatalf("KEKs: %d known, current %s", len(s.known), s.kek.id)
	}
	plain, err := newSQLStore(nil, &SQLOptions{AllowPlaintext: true})
	if err != nil || plain.kek != nil || plain.requests != `"certwright_pending"` {
		t.Fatalf("plaintext store: %v", err)
	}
	if _, err := OpenSQL(t.Context(), nil, &SQLOptions{AllowPlaintext: true}); err == nil || !strings.Contains(err.Error(), "*sql.DB") {
		t.Fatalf("OpenSQL(nil) = %v", err)
	}
}
