// Package pgstoretest tests csr.SQLStore against a real PostgreSQL
// server, with the pgx driver the library itself does not import. The
// server comes from CERTWRIGHT_PG_DSN (eval "$(.ci/postgres)" starts a
// throwaway one on loopback); without it the tests skip, and under CI=true
// they fail. Each test works in a schema of its own, dropped afterwards.
package pgstoretest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testtool"
)

// dsn returns the test server's connection string, or skips the test
// (fails it under CI) when there is none.
func dsn(t testing.TB) string {
	t.Helper()
	d := os.Getenv("CERTWRIGHT_PG_DSN")
	if d == "" {
		const how = `start a throwaway server with: eval "$(.ci/postgres)" (needs the Debian package postgresql)`
		if testtool.InCI() {
			t.Fatal("CERTWRIGHT_PG_DSN is not set; .ci/run must " + how)
		}
		t.Skip("CERTWRIGHT_PG_DSN is not set, so csr.SQLStore is not tested against PostgreSQL; " + how)
	}
	return d
}

// openDB opens a connection pool to the test server, one "machine".
func openDB(t testing.TB) *sql.DB {
	t.Helper()
	return openDBParams(t, "")
}

// openDBParams opens a pool whose connections set the run-time
// parameters params ("name=value&...", added to the DSN's query).
func openDBParams(t testing.TB, params string) *sql.DB {
	t.Helper()
	d := dsn(t)
	if params != "" {
		sep := "?"
		if strings.Contains(d, "?") {
			sep = "&"
		}
		d += sep + params
	}
	db, err := sql.Open("pgx", d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("cannot reach the PostgreSQL server of CERTWRIGHT_PG_DSN: %v", err)
	}
	return db
}

// freshSchema returns the name of a schema no other test uses, dropped
// with everything in it when the test ends.
func freshSchema(t testing.TB, db *sql.DB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "certwright_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS "` + name + `" CASCADE`); err != nil {
			t.Errorf("dropping test schema %s: %v", name, err)
		}
	})
	return name
}

// newKEK returns a random key-encryption key.
func newKEK(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, csr.KEKSize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t testing.TB, db *sql.DB, opts *csr.SQLOptions) *csr.SQLStore {
	t.Helper()
	s, err := csr.OpenSQL(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newPending makes a P-256 key and a CSR for host.
func newPending(host string) (*csr.Pending, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: host},
		DNSNames: []string{host},
	}, key)
	if err != nil {
		return nil, err
	}
	return &csr.Pending{Key: key, CSR: der}, nil
}

func mustPending(t testing.TB, host string) *csr.Pending {
	t.Helper()
	p, err := newPending(host)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// keyMatches reports whether p's key is the key of its ID and of its CSR.
func keyMatches(p *csr.Pending) bool {
	if p.Key == nil {
		return false
	}
	id, err := csr.KeyID(p.Key.Public())
	if err != nil || id != p.ID {
		return false
	}
	req, err := x509.ParseCertificateRequest(p.CSR)
	if err != nil {
		return false
	}
	pub, ok := req.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(p.Key.Public())
}
