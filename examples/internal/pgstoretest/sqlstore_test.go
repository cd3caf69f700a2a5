package pgstoretest

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/csr/storetest"
)

// TestSQLStoreContract: SQLStore keeps the same contract as DirStore
// (csr/dirstore_contract_test.go runs the same checks on it).
func TestSQLStoreContract(t *testing.T) {
	db := openDB(t)
	t.Run("kek", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) csr.Store {
			return open(t, db, &csr.SQLOptions{Schema: freshSchema(t, db), KEK: newKEK(t)})
		})
	})
	t.Run("plaintext", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) csr.Store {
			return open(t, db, &csr.SQLOptions{Schema: freshSchema(t, db), AllowPlaintext: true})
		})
	})
	t.Run("serializable_default", func(t *testing.T) {
		// A server whose transactions default to SERIALIZABLE: racing
		// Puts and Completes must still behave, not fail to serialize.
		sdb := openDBParams(t, "default_transaction_isolation=serializable")
		var level string
		if err := sdb.QueryRow(`SHOW transaction_isolation`).Scan(&level); err != nil || level != "serializable" {
			t.Fatalf("isolation %q, %v", level, err)
		}
		storetest.Run(t, func(t *testing.T) csr.Store {
			return open(t, sdb, &csr.SQLOptions{Schema: freshSchema(t, db), KEK: newKEK(t)})
		})
	})
	t.Run("search_path", func(t *testing.T) {
		// No Schema option: the tables go in the connection's current
		// schema, here a fresh one named in the connection string.
		storetest.Run(t, func(t *testing.T) csr.Store {
			schema := freshSchema(t, db)
			if _, err := db.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
				t.Fatal(err)
			}
			pdb := openDBParams(t, "search_path="+schema)
			return open(t, pdb, &csr.SQLOptions{KEK: newKEK(t), Table: "requests"})
		})
	})
}

func TestSQLStoreOptions(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	schema := freshSchema(t, db)
	for _, tt := range []struct {
		name string
		opts *csr.SQLOptions
		want string
	}{
		{"nil options", nil, "SQLOptions.KEK is required"},
		{"no KEK", &csr.SQLOptions{Schema: schema}, "AllowPlaintext"},
		{"short KEK", &csr.SQLOptions{Schema: schema, KEK: make([]byte, 16)}, "is 16 bytes"},
		{"short old KEK", &csr.SQLOptions{Schema: schema, KEK: newKEK(t), OldKEKs: [][]byte{make([]byte, 31)}}, "OldKEKs[0] is 31 bytes"},
		{"old KEKs without KEK", &csr.SQLOptions{Schema: schema, AllowPlaintext: true, OldKEKs: [][]byte{newKEK(t)}}, "without a KEK"},
		{"quoted table", &csr.SQLOptions{Schema: schema, KEK: newKEK(t), Table: `x"; DROP TABLE y; --`}, "not a plain table name"},
		{"upper-case schema", &csr.SQLOptions{Schema: "Public", KEK: newKEK(t)}, "not a plain schema name"},
		{"long table", &csr.SQLOptions{Schema: schema, KEK: newKEK(t), Table: strings.Repeat("t", 49)}, "at most 48 bytes"},
	} {
		_, err := csr.OpenSQL(ctx, db, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: OpenSQL = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := csr.OpenSQL(ctx, nil, &csr.SQLOptions{AllowPlaintext: true}); err == nil {
		t.Error("OpenSQL(nil db) succeeded")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused options created schema %s (%d, %v)", schema, n, err)
	}
}

// TestSQLStoreWrongKEK: a KEK the store does not know is refused at
// OpenSQL, before it could seal anything; a key sealed with a KEK this
// store value does not have gives ErrWrongKEK when read; secrets never
// appear in the errors.
func TestSQLStoreWrongKEK(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	schema := freshSchema(t, db)
	right, wrong := newKEK(t), newKEK(t)
	s := open(t, db, &csr.SQLOptions{Schema: schema, KEK: right})
	p := mustPending(t, "a.example")
	if err := s.Put(ctx, p); err != nil {
		t.Fatal(err)
	}

	_, err := csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema, KEK: wrong})
	if !errors.Is(err, csr.ErrWrongKEK) || !errors.Is(err, csr.ErrIncorrectPassphrase) {
		t.Fatalf("OpenSQL with a wrong KEK = %v, want ErrWrongKEK wrapping ErrIncorrectPassphrase", err)
	}
	for _, secret := range [][]byte{right, wrong} {
		if strings.Contains(err.Error(), hex.EncodeToString(secret)) || bytes.Contains([]byte(err.Error()), secret) {
			t.Fatal("the error shows a KEK")
		}
	}
	for _, want := range []string{`"` + schema + `"."certwright_pending"`, "is not a KEK of", "OldKEKs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q lacks %q", err, want)
		}
	}
	_, err = csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema, AllowPlaintext: true})
	if !errors.Is(err, csr.ErrPassphraseRequired) {
		t.Fatalf("OpenSQL without a KEK of an encrypted store = %v, want ErrPassphraseRequired", err)
	}
	_, err = csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema, KEK: wrong, OldKEKs: [][]byte{newKEK(t)}})
	if !errors.Is(err, csr.ErrWrongKEK) {
		t.Fatalf("a rotation vouched for by an unknown old KEK = %v, want ErrWrongKEK", err)
	}

	// A rotation registers a second KEK; a store value given only the
	// first one then meets a key it cannot open.
	rotated := open(t, db, &csr.SQLOptions{Schema: schema, KEK: wrong, OldKEKs: [][]byte{right}})
	q := mustPending(t, "b.example")
	if err := rotated.Put(ctx, q); err != nil {
		t.Fatal(err)
	}
	old := open(t, db, &csr.SQLOptions{Schema: schema, KEK: right})
	_, err = old.Find(ctx, q.Key.Public())
	if !errors.Is(err, csr.ErrWrongKEK) || !errors.Is(err, csr.ErrIncorrectPassphrase) || !strings.Contains(err.Error(), "sha256:"+q.ID) {
		t.Fatalf("Find of a key sealed with another KEK = %v, want ErrWrongKEK naming the key", err)
	}
	list, err := old.List(ctx)
	if !errors.Is(err, csr.ErrWrongKEK) || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("List with one unreadable key = %d entries, %v; want the readable one and ErrWrongKEK", len(list), err)
	}
	if got, err := old.Find(ctx, p.Key.Public()); err != nil || !keyMatches(got) {
		t.Fatalf("the key sealed with the old KEK: %v", err)
	}
}

// TestSQLStoreRotation: a new KEK is introduced with the old one in
// OldKEKs, Rewrap reseals every key, and the old KEK is then refused.
func TestSQLStoreRotation(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	schema := freshSchema(t, db)
	k1, k2 := newKEK(t), newKEK(t)
	s1 := open(t, db, &csr.SQLOptions{Schema: schema, KEK: k1})
	a, b := mustPending(t, "a.example"), mustPending(t, "b.example")
	for _, p := range []*csr.Pending{a, b} {
		if err := s1.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.Complete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, db, &csr.SQLOptions{Schema: schema, KEK: k2, OldKEKs: [][]byte{k1}})
	c := mustPending(t, "c.example")
	if err := s2.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	n, err := s2.Rewrap(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Rewrap = %d, %v; want the 2 keys sealed with the old KEK (one archived)", n, err)
	}
	if n, err := s2.Rewrap(ctx); err != nil || n != 0 {
		t.Fatalf("second Rewrap = %d, %v; want 0", n, err)
	}
	if _, err := csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema, KEK: k1}); !errors.Is(err, csr.ErrWrongKEK) {
		t.Fatalf("OpenSQL with the retired KEK = %v, want ErrWrongKEK", err)
	}
	s3 := open(t, db, &csr.SQLOptions{Schema: schema, KEK: k2})
	for _, p := range []*csr.Pending{a, c} {
		if got, err := s3.Find(ctx, p.Key.Public()); err != nil || !keyMatches(got) {
			t.Fatalf("after the rotation, Find %s: %v", p.ID, err)
		}
	}
	if got, err := s3.FindArchived(ctx, b.Key.Public()); err != nil || !keyMatches(got) {
		t.Fatalf("after the rotation, FindArchived: %v", err)
	}

	// A plaintext store gets encrypted the same way.
	schema2 := freshSchema(t, db)
	plain := open(t, db, &csr.SQLOptions{Schema: schema2, AllowPlaintext: true})
	d := mustPending(t, "d.example")
	if err := plain.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	enc := open(t, db, &csr.SQLOptions{Schema: schema2, KEK: k1})
	if n, err := enc.Rewrap(ctx); err != nil || n != 1 {
		t.Fatalf("Rewrap of a plaintext store = %d, %v", n, err)
	}
	if _, err := csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema2, AllowPlaintext: true}); !errors.Is(err, csr.ErrPassphraseRequired) {
		t.Fatalf("plaintext OpenSQL of the now encrypted store = %v", err)
	}
	if got, err := enc.Find(ctx, d.Key.Public()); err != nil || !keyMatches(got) {
		t.Fatalf("Find after encrypting: %v", err)
	}
}

// TestSQLStoreAtRest: what the table holds. Sealed keys are not the
// PKCS#8 bytes, a sealed key moved to another row does not open there,
// and a plaintext store holds plain PKCS#8.
func TestSQLStoreAtRest(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	schema := freshSchema(t, db)
	s := open(t, db, &csr.SQLOptions{Schema: schema, KEK: newKEK(t)})
	a, b := mustPending(t, "a.example"), mustPending(t, "b.example")
	for _, p := range []*csr.Pending{a, b} {
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	table := `"` + schema + `"."certwright_pending"`
	var sealed []byte
	var kekID string
	if err := db.QueryRow(`SELECT key_data, key_kek_id FROM `+table+` WHERE key_id = $1`, a.ID).Scan(&sealed, &kekID); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(a.Key)
	if bytes.Contains(sealed, der[len(der)/2:]) || len(sealed) != len(der)+12+16 || len(kekID) != 16 {
		t.Fatalf("the key is not sealed as documented: %d bytes for %d of PKCS#8, KEK ID %q", len(sealed), len(der), kekID)
	}
	// Swap the sealed keys of the two rows.
	if _, err := db.Exec(`UPDATE `+table+` r SET key_data = o.key_data FROM `+table+` o
		WHERE (r.key_id, o.key_id) IN (($1, $2), ($2, $1))`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Find(ctx, a.Key.Public())
	if err == nil || errors.Is(err, csr.ErrWrongKEK) || !strings.Contains(err.Error(), "moved from another row") {
		t.Fatalf("Find of a row holding another row's sealed key = %v, want an alteration error", err)
	}
	list, err := s.List(ctx)
	if err == nil || len(list) != 0 || !strings.Contains(err.Error(), "sha256:"+a.ID) || !strings.Contains(err.Error(), "sha256:"+b.ID) {
		t.Fatalf("List of two altered rows = %d entries, %v", len(list), err)
	}

	schema2 := freshSchema(t, db)
	plain := open(t, db, &csr.SQLOptions{Schema: schema2, AllowPlaintext: true})
	if err := plain.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	var kek sql.NullString
	if err := db.QueryRow(`SELECT key_data, key_kek_id FROM "`+schema2+`"."certwright_pending"`).Scan(&stored, &kek); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, der) || kek.Valid {
		t.Fatal("a plaintext store does not hold the PKCS#8 DER")
	}
}

// TestSQLStoreSchema: the schema version table, idempotent and
// concurrent OpenSQL, and refusal of a newer schema.
func TestSQLStoreSchema(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t, openDB(t))
	kek := newKEK(t)
	// Machines starting together create the tables once.
	const machines = 8
	var wg sync.WaitGroup
	errs := make(chan error, machines)
	for range machines {
		db := openDB(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema, KEK: kek})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent OpenSQL: %v", err)
		}
	}
	db := openDB(t)
	versions := `"` + schema + `"."certwright_pending_schema"`
	var n, v int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM `+versions).Scan(&n, &v); err != nil || n != 1 || v != 1 {
		t.Fatalf("schema versions: %d rows, version %d, %v; want one row, version 1", n, v, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM "` + schema + `"."certwright_pending_keks"`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("KEK registry: %d rows, %v", n, err)
	}
	if _, err := db.Exec(`INSERT INTO ` + versions + ` (version, description) VALUES (2, 'from the future')`); err != nil {
		t.Fatal(err)
	}
	_, err := csr.OpenSQL(ctx, db, &csr.SQLOptions{Schema: schema, KEK: kek})
	if err == nil || !strings.Contains(err.Error(), "schema version 2") || !strings.Contains(err.Error(), "upgrade certwright") {
		t.Fatalf("OpenSQL of a newer schema = %v", err)
	}
}
