// The SQL pending store: the Store that many machines share. Provisioning
// tools running on a fleet of hosts cannot share a folder, so SQLStore
// keeps the same entries as DirStore in a PostgreSQL table reached through
// database/sql. The package imports no database driver: the caller opens
// the *sql.DB with the driver of their choice (github.com/jackc/pgx/v5/stdlib,
// github.com/lib/pq...) and hands it to OpenSQL, which creates or migrates
// the tables. Keys are sealed with AES-256-GCM under a key-encryption key
// (KEK) the caller keeps outside the database (see kek.go).

package csr

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// sqlSchemaVersion is the newest schema version OpenSQL knows.
const sqlSchemaVersion = 1

// sqlMigrations[v-1] brings the tables from version v-1 to v. The
// statements are formatted with the quoted names of sqlNames.
var sqlMigrations = []struct {
	description string
	statements  []string
}{
	{"pending requests, pending key index, KEK registry", []string{
		`CREATE TABLE IF NOT EXISTS {requests} (
	seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key_id       text NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
	subject      text NOT NULL DEFAULT '',
	sans         jsonb NOT NULL DEFAULT '[]',
	key_uri      text NOT NULL DEFAULT '',
	csr          bytea,
	key_data     bytea,
	key_kek_id   text,
	created_at   timestamptz NOT NULL,
	completed_at timestamptz,
	CHECK (key_data IS NOT NULL OR key_uri <> ''),
	CHECK (key_kek_id IS NULL OR key_data IS NOT NULL)
)`,
		// At most one pending request per key: Put's conflict target.
		`CREATE UNIQUE INDEX IF NOT EXISTS {pending_index} ON {requests} (key_id) WHERE completed_at IS NULL`,
		`CREATE INDEX IF NOT EXISTS {archive_index} ON {requests} (key_id, completed_at) WHERE completed_at IS NOT NULL`,
		`CREATE TABLE IF NOT EXISTS {keks} (
	kek_id   text PRIMARY KEY,
	added_at timestamptz NOT NULL DEFAULT clock_timestamp()
)`,
	}},
}

// SQLOptions configures OpenSQL. The zero value is refused: a store that
// many machines share keeps its keys encrypted, so KEK is required unless
// AllowPlaintext says otherwise.
type SQLOptions struct {
	// KEK is the key-encryption key: exactly 32 random bytes (KEKSize),
	// kept outside the database (a secrets manager, a file only the
	// service account reads). Every key Put writes is sealed with it
	// (AES-256-GCM, the entry's KeyID as additional data). The first
	// OpenSQL with a KEK registers its ID in the store; afterwards OpenSQL
	// refuses a KEK the store does not know with ErrWrongKEK, so a
	// mistyped KEK can never seal keys the right one cannot open.
	KEK []byte
	// OldKEKs are earlier KEKs, for a rotation: keys sealed with them are
	// still read, and a new KEK in KEK is registered when one of these is
	// already known to the store. Rewrap reseals every key with KEK.
	OldKEKs [][]byte
	// AllowPlaintext, with KEK empty, stores keys unencrypted (PKCS#8 DER
	// in the key_data column), protected only by the database's access
	// control. It is refused on a store that has registered a KEK.
	AllowPlaintext bool
	// Schema is the PostgreSQL schema of the tables; OpenSQL creates it
	// when missing. Empty means the connection's current schema (the
	// first of its search_path, usually "public"), unqualified.
	Schema string
	// Table is the name of the requests table; the schema version table
	// and the KEK registry are Table+"_schema" and Table+"_keks". Empty
	// means "certwright_pending". Schema and Table are lower-case letters,
	// digits and underscores, starting with a letter or underscore.
	Table string
	// Rand is the source of GCM nonces; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock for Created and Completed. nil means the database
	// server's clock (clock_timestamp()), the same for every machine of
	// the fleet. Times are stored with microsecond precision.
	Now func() time.Time
}

// SQLStore is the pending-request Store kept in PostgreSQL, for a fleet
// of machines that share one store. It has DirStore's behaviour: Put never
// overwrites (one pending request per key, enforced by a unique index, so
// of several machines putting the same key exactly one succeeds and the
// others get ErrExists); Find searches pending requests only; Complete
// archives (sets completed_at in one conditional UPDATE, so of concurrent
// Completes of one request exactly one archives it and the others find it
// archived and return nil); only RemoveArchived deletes, and only archived
// requests. It is safe for concurrent use by many goroutines and many
// processes on many hosts.
//
// Use it with any database/sql driver for PostgreSQL 10 or newer; the
// library itself imports none:
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//
//	db, err := sql.Open("pgx", os.Getenv("PENDING_DSN"))
//	...
//	store, err := csr.OpenSQL(ctx, db, &csr.SQLOptions{KEK: kek}) // kek: 32 bytes from a secrets manager
//	...
//	err = store.Put(ctx, &csr.Pending{Key: key, CSR: der})
//	// ...the CA answers, the certificate is written...
//	p, err := store.Find(ctx, cert.PublicKey)
//	err = store.Complete(ctx, p.ID)
//
// OpenSQL creates the tables (or migrates them, under an advisory lock so
// that machines starting together do not race) and records the schema
// version in <table>_schema:
//
//	<table>          seq, key_id (KeyID), subject, sans (jsonb array of text),
//	                 key_uri, csr (DER), key_data (sealed PKCS#8), key_kek_id,
//	                 created_at, completed_at (NULL while pending)
//	<table>_schema   version, description, applied_at
//	<table>_keks     the IDs of the KEKs this store accepts
//
// Writes run in READ COMMITTED transactions whatever the server's default
// isolation, so racing writers wait for each other instead of failing to
// serialize. Once Put returns nil the request is committed; it is durable
// as the server's synchronous_commit setting makes commits (durable by
// default).
//
// Security: the private keys are sealed with AES-256-GCM under the KEK,
// with a random nonce and the entry's KeyID as additional authenticated
// data, so a key copied into another row does not open and a changed
// ciphertext is detected; every key read is also checked against its
// KeyID. The KEK never reaches the database; only its ID (16 hex digits
// of an HMAC-SHA256 of a fixed label under the KEK) is stored. The CSR and
// the metadata (subject, SANs, key URI, times) are in clear, and anyone
// who can write the tables can delete requests: grant the store's role
// only what it needs, and use TLS to the server (sslmode=verify-full).
// Entries with a KeyURI (hardware keys) store no key material.
type SQLStore struct {
	db       *sql.DB
	table    string // the unquoted requests table name
	requests string // quoted, possibly schema-qualified table names
	versions string
	keks     string
	lockName string           // advisory lock key text for migrations and KEK registration
	desc     string           // what errors call the store; no credentials
	kek      *kek             // seals new keys; nil for a plaintext store
	known    map[string]*kek  // opens keys, by KEK ID (kek and OldKEKs)
	rand     io.Reader        // nonces
	now      func() time.Time // nil: the server's clock
}

var _ Store = (*SQLStore)(nil)

var sqlIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

const defaultSQLTable = "certwright_pending"

// OpenSQL opens the pending store kept in the PostgreSQL database db,
// creating its tables (and opts.Schema) when they do not exist and
// migrating older ones. db is opened by the caller with any PostgreSQL
// driver and stays theirs to close. opts is required (see SQLOptions):
// OpenSQL refuses a missing KEK unless AllowPlaintext is set, a KEK that
// is not KEKSize bytes, and a KEK the store does not know (ErrWrongKEK;
// during a rotation put a known one in OldKEKs). Tables written by a newer
// version of this package are refused, not modified.
func OpenSQL(ctx context.Context, db *sql.DB, opts *SQLOptions) (*SQLStore, error) {
	if db == nil {
		return nil, errors.New("csr: OpenSQL needs an open *sql.DB (sql.Open with a PostgreSQL driver such as pgx)")
	}
	s, err := newSQLStore(db, opts)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newSQLStore checks the options and prepares the store without touching
// the database.
func newSQLStore(db *sql.DB, opts *SQLOptions) (*SQLStore, error) {
	var o SQLOptions
	if opts != nil {
		o = *opts
	}
	table := o.Table
	if table == "" {
		table = defaultSQLTable
	}
	// The longest derived name, table+"_pending_key_id", must fit
	// PostgreSQL's 63-byte identifiers.
	if !sqlIdent.MatchString(table) || len(table) > 48 {
		return nil, fmt.Errorf("csr: SQLOptions.Table %q is not a plain table name (lower-case letters, digits and _, starting with a letter or _, at most 48 bytes)", o.Table)
	}
	if o.Schema != "" && (!sqlIdent.MatchString(o.Schema) || len(o.Schema) > 63) {
		return nil, fmt.Errorf("csr: SQLOptions.Schema %q is not a plain schema name (lower-case letters, digits and _, starting with a letter or _, at most 63 bytes)", o.Schema)
	}
	q := func(name string) string {
		if o.Schema != "" {
			return `"` + o.Schema + `"."` + name + `"`
		}
		return `"` + name + `"`
	}
	s := &SQLStore{
		db:       db,
		table:    table,
		requests: q(table),
		versions: q(table + "_schema"),
		keks:     q(table + "_keks"),
		lockName: "certwright csr.SQLStore " + o.Schema + "." + table,
		desc:     "PostgreSQL table " + q(table),
		known:    map[string]*kek{},
		rand:     o.Rand,
		now:      o.Now,
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if len(o.KEK) == 0 {
		if !o.AllowPlaintext {
			return nil, errors.New("csr: SQLOptions.KEK is required: a shared store keeps its private keys encrypted with a 32-byte key-encryption key kept outside the database (set AllowPlaintext to store them unencrypted instead)")
		}
		if len(o.OldKEKs) > 0 {
			return nil, errors.New("csr: SQLOptions.OldKEKs without a KEK; give the new KEK too (a store cannot go back from encrypted to plaintext)")
		}
	} else {
		k, err := newKEK(o.KEK, "SQLOptions.KEK")
		if err != nil {
			return nil, err
		}
		s.kek = k
		s.known[k.id] = k
	}
	for i, old := range o.OldKEKs {
		k, err := newKEK(old, fmt.Sprintf("SQLOptions.OldKEKs[%d]", i))
		if err != nil {
			return nil, err
		}
		s.known[k.id] = k
	}
	return s, nil
}

// sql formats a statement with the store's table names.
func (s *SQLStore) sql(stmt string) string {
	return strings.NewReplacer(
		"{requests}", s.requests,
		"{schema}", s.versions,
		"{keks}", s.keks,
		"{pending_index}", `"`+s.table+`_pending_key_id"`,
		"{archive_index}", `"`+s.table+`_archived_key_id"`,
	).Replace(stmt)
}

// migrate creates or upgrades the tables and registers the KEK, in one
// transaction under an advisory lock.
func (s *SQLStore) migrate(ctx context.Context) (err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("csr: opening the pending store (%s): %w", s.desc, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	// CREATE ... IF NOT EXISTS is not safe against itself running
	// concurrently; machines starting together take turns.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.lockName); err != nil {
		return fmt.Errorf("csr: locking the pending store schema (%s): %w; is the database PostgreSQL?", s.desc, err)
	}
	var database, schema sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&database, &schema); err != nil {
		return fmt.Errorf("csr: opening the pending store (%s): %w", s.desc, err)
	}
	if !strings.Contains(s.requests, `"."`) {
		if !schema.Valid {
			return fmt.Errorf("csr: the connection has no current schema (its search_path names none that exists); set SQLOptions.Schema")
		}
		s.desc = fmt.Sprintf("PostgreSQL table %q.%s", schema.String, s.requests)
	}
	s.desc += fmt.Sprintf(" in database %q", database.String)
	if strings.Contains(s.requests, `"."`) {
		schemaName := s.requests[:strings.Index(s.requests, `"."`)+1]
		if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schemaName); err != nil {
			return fmt.Errorf("csr: creating schema %s for the pending store: %w", schemaName, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.sql(`CREATE TABLE IF NOT EXISTS {schema} (
	version     integer PRIMARY KEY,
	description text NOT NULL,
	applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
)`)); err != nil {
		return fmt.Errorf("csr: creating the schema version table of %s: %w", s.desc, err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, s.sql(`SELECT COALESCE(max(version), 0) FROM {schema}`)).Scan(&version); err != nil {
		return fmt.Errorf("csr: reading the schema version of %s: %w", s.desc, err)
	}
	if version > sqlSchemaVersion {
		return fmt.Errorf("csr: %s has schema version %d; this version of certwright knows up to %d (a newer certwright created it?); upgrade certwright on this machine", s.desc, version, sqlSchemaVersion)
	}
	for v := version + 1; v <= sqlSchemaVersion; v++ {
		m := sqlMigrations[v-1]
		for _, stmt := range m.statements {
			if _, err := tx.ExecContext(ctx, s.sql(stmt)); err != nil {
				return fmt.Errorf("csr: migrating %s to schema version %d (%s): %w", s.desc, v, m.description, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {schema} (version, description) VALUES ($1, $2)`), v, m.description); err != nil {
			return fmt.Errorf("csr: recording schema version %d of %s: %w", v, s.desc, err)
		}
	}
	if err := s.registerKEK(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("csr: opening the pending store (%s): %w", s.desc, err)
	}
	return nil
}

// registerKEK checks the configured KEKs against the store's registry and
// registers a new one. Called in migrate's transaction.
func (s *SQLStore) registerKEK(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, s.sql(`SELECT kek_id FROM {keks} ORDER BY added_at, kek_id`))
	if err != nil {
		return fmt.Errorf("csr: reading the KEK registry of %s: %w", s.desc, err)
	}
	var registered []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("csr: reading the KEK registry of %s: %w", s.desc, err)
		}
		registered = append(registered, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("csr: reading the KEK registry of %s: %w", s.desc, err)
	}
	if s.kek == nil {
		if len(registered) > 0 {
			return fmt.Errorf("%w: %s keeps its keys encrypted (KEK IDs %s); open it with SQLOptions.KEK", ErrPassphraseRequired, s.desc, strings.Join(registered, ", "))
		}
		return nil
	}
	isRegistered := map[string]bool{}
	for _, id := range registered {
		isRegistered[id] = true
	}
	var oldKnown bool
	for id := range s.known {
		if id == s.kek.id {
			continue
		}
		if !isRegistered[id] {
			return fmt.Errorf("%w: an SQLOptions.OldKEKs entry (KEK ID %s) is not a KEK of %s, which knows KEK IDs %s; leave out keys the store never used", ErrWrongKEK, id, s.desc, strings.Join(registered, ", "))
		}
		oldKnown = true
	}
	switch {
	case isRegistered[s.kek.id]:
		return nil
	case len(registered) > 0 && !oldKnown:
		return fmt.Errorf("%w: SQLOptions.KEK (KEK ID %s) is not a KEK of %s, which knows KEK IDs %s; give the KEK the store was created with (to rotate to a new KEK, give the new one in KEK and a known one in OldKEKs)", ErrWrongKEK, s.kek.id, s.desc, strings.Join(registered, ", "))
	}
	// A new store, or a rotation vouched for by a known KEK.
	if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {keks} (kek_id) VALUES ($1) ON CONFLICT DO NOTHING`), s.kek.id); err != nil {
		return fmt.Errorf("csr: registering KEK ID %s in %s: %w", s.kek.id, s.desc, err)
	}
	return nil
}

// sqlRow is a row as it is written and read.
type sqlRow struct {
	keyID     string
	subject   string
	sans      string // JSON array
	keyURI    string
	csr       []byte
	keyData   []byte
	kekID     sql.NullString
	created   sql.NullTime
	completed sql.NullTime
}

// encodeRow checks p as DirStore's Put does and returns its row, with
// the key sealed. created is left NULL when p.Created is zero and the
// store uses the server's clock.
func (s *SQLStore) encodeRow(p *Pending) (*sqlRow, error) {
	if p.Key == nil && p.KeyURI == "" {
		return nil, errors.New("csr: a pending request needs its Key, or a KeyURI when the key is kept elsewhere")
	}
	if err := checkStorableKeyURI(p.KeyURI); err != nil {
		return nil, err
	}
	var keyID, csrID string
	var err error
	if p.Key != nil {
		if keyID, err = KeyID(p.Key.Public()); err != nil {
			return nil, err
		}
	}
	var req *x509.CertificateRequest
	if len(p.CSR) > 0 {
		if req, err = x509.ParseCertificateRequest(p.CSR); err != nil {
			return nil, fmt.Errorf("csr: Pending.CSR is not a DER certificate request: %w", err)
		}
		if err := req.CheckSignature(); err != nil {
			return nil, fmt.Errorf("csr: the signature of Pending.CSR does not verify (%v); the request was damaged or signed by another key", err)
		}
		if csrID, err = KeyID(req.PublicKey); err != nil {
			return nil, err
		}
	}
	r := &sqlRow{subject: p.Subject, keyURI: p.KeyURI, csr: p.CSR}
	switch {
	case keyID != "" && csrID != "" && keyID != csrID:
		return nil, fmt.Errorf("csr: the CSR's public key sha256:%s is not the public key of Pending.Key sha256:%s; storing them together would keep a key that cannot use the certificate", csrID, keyID)
	case keyID != "":
		r.keyID = keyID
	case csrID != "":
		r.keyID = csrID
	default:
		return nil, errors.New("csr: a pending request with only a KeyURI needs its CSR, to know the public key")
	}
	if p.ID != "" {
		id, err := normalizeKeyID(p.ID)
		if err != nil {
			return nil, err
		}
		if id != r.keyID {
			return nil, fmt.Errorf("csr: Pending.ID %s is not the KeyID of the request's public key (sha256:%s); leave ID empty and Put fills it in", p.ID, r.keyID)
		}
	}
	sans := p.SANs
	if req != nil {
		if r.subject == "" {
			r.subject = req.Subject.String()
		}
		if len(sans) == 0 {
			sans = requestSANs(req)
		}
	}
	if sans == nil {
		sans = []string{}
	}
	j, err := json.Marshal(sans)
	if err != nil {
		return nil, err
	}
	r.sans = string(j)
	switch {
	case !p.Created.IsZero():
		r.created = sql.NullTime{Time: p.Created.UTC().Truncate(time.Microsecond), Valid: true}
	case s.now != nil:
		r.created = sql.NullTime{Time: s.now().UTC().Truncate(time.Microsecond), Valid: true}
	}
	if p.Key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(p.Key)
		if err != nil {
			return nil, fmt.Errorf("csr: a %T key cannot be stored, it does not export as PKCS#8 (%v); leave it where it is and set KeyURI with Key nil", p.Key, err)
		}
		r.keyData = der
		if s.kek != nil {
			if r.keyData, err = s.kek.seal(s.rand, r.keyID, der); err != nil {
				return nil, err
			}
			r.kekID = sql.NullString{String: s.kek.id, Valid: true}
		}
	}
	return r, nil
}

// Put records a new pending request (see Store.Put) in one INSERT that
// does nothing when a request for the key is pending, so concurrent Puts
// of one key from many machines leave exactly one entry. It fills in
// p.ID, p.Created (microsecond precision, the store's clock when zero)
// and, from p.CSR, p.Subject and p.SANs when they are empty. The key's
// public key, the CSR's public key and p.ID must agree and the CSR's
// signature must verify. A key whose earlier request was completed can be
// put again (a renewal reusing the key). If the connection fails while
// the commit is under way, Put returns an error although the request may
// be stored; a retry then fails with ErrExists naming it, and Find
// returns it.
func (s *SQLStore) Put(ctx context.Context, p *Pending) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("csr: Put of a nil *Pending")
	}
	r, err := s.encodeRow(p)
	if err != nil {
		return err
	}
	var created time.Time
	var exists bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.sql(`INSERT INTO {requests}
	(key_id, subject, sans, key_uri, csr, key_data, key_kek_id, created_at)
	VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, $7, COALESCE($8::timestamptz, clock_timestamp()))
	ON CONFLICT (key_id) WHERE completed_at IS NULL DO NOTHING
	RETURNING created_at`),
			r.keyID, r.subject, r.sans, r.keyURI, nullBytes(r.csr), nullBytes(r.keyData), r.kekID, r.created).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			exists = true
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("csr: storing key sha256:%s in %s: %w", r.keyID, s.desc, err)
	}
	if exists {
		return s.existsError(ctx, r.keyID)
	}
	var sans []string
	if err := json.Unmarshal([]byte(r.sans), &sans); err != nil {
		return err
	}
	if len(sans) == 0 {
		sans = nil
	}
	p.ID, p.Created, p.Subject, p.SANs = r.keyID, created.UTC(), r.subject, sans
	return nil
}

// nullBytes makes an empty byte slice NULL for every driver.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// inTx runs f in a READ COMMITTED transaction and commits it, whatever
// the server's default isolation. The writes are made for its semantics:
// an UPDATE, DELETE or INSERT ... ON CONFLICT that meets a row a
// concurrent transaction changed waits for it and re-checks its condition
// on the new row, where SERIALIZABLE would fail with a serialization
// error.
func (s *SQLStore) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *SQLStore) existsError(ctx context.Context, id string) error {
	detail := ""
	var created time.Time
	var subject string
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT created_at, subject FROM {requests} WHERE key_id = $1 AND completed_at IS NULL`), id).Scan(&created, &subject)
	if err == nil {
		detail = fmt.Sprintf(", created %s", created.UTC().Format(time.RFC3339))
		if subject != "" {
			detail += fmt.Sprintf(" for %q", subject)
		}
	}
	return fmt.Errorf("%w: key sha256:%s in %s%s; it was left untouched. Complete it once its certificate is written, or make the new request with a new key", ErrExists, id, s.desc, detail)
}

const sqlColumns = `key_id, subject, sans::text, key_uri, csr, key_data, key_kek_id, created_at, completed_at`

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanRow(sc scanner) (*sqlRow, error) {
	var r sqlRow
	err := sc.Scan(&r.keyID, &r.subject, &r.sans, &r.keyURI, &r.csr, &r.keyData, &r.kekID, &r.created, &r.completed)
	return &r, err
}

// decode turns a row into a Pending, opening the key and checking that
// the key and the CSR are those of the row's key ID.
func (s *SQLStore) decode(r *sqlRow) (*Pending, error) {
	p := &Pending{ID: r.keyID, KeyURI: r.keyURI, Subject: r.subject, Created: r.created.Time.UTC()}
	if r.completed.Valid {
		p.Completed = r.completed.Time.UTC()
	}
	if err := json.Unmarshal([]byte(r.sans), &p.SANs); err != nil {
		return nil, fmt.Errorf("csr: the SANs of key sha256:%s in %s are not a JSON array of strings: %w", r.keyID, s.desc, err)
	}
	if len(p.SANs) == 0 {
		p.SANs = nil
	}
	if len(r.keyData) > 0 {
		k, err := s.openKey(r)
		if err != nil {
			return nil, err
		}
		p.Key = k
	} else if r.keyURI == "" {
		return nil, fmt.Errorf("csr: the row of key sha256:%s in %s has neither a key nor a key URI", r.keyID, s.desc)
	}
	if len(r.csr) > 0 {
		req, err := x509.ParseCertificateRequest(r.csr)
		if err != nil {
			return nil, fmt.Errorf("csr: the CSR of key sha256:%s in %s: %w", r.keyID, s.desc, err)
		}
		if got, err := KeyID(req.PublicKey); err != nil || got != r.keyID {
			return nil, fmt.Errorf("csr: the CSR stored for key sha256:%s in %s is a request for public key sha256:%s; the row was altered", r.keyID, s.desc, got)
		}
		p.CSR = r.csr
	}
	return p, nil
}

// openKey decrypts (when sealed) and parses the key of a row.
func (s *SQLStore) openKey(r *sqlRow) (crypto.Signer, error) {
	der := r.keyData
	if r.kekID.Valid {
		k := s.known[r.kekID.String]
		switch {
		case k == nil && s.kek == nil:
			return nil, fmt.Errorf("%w: the key of sha256:%s in %s is encrypted (KEK ID %s); open the store with SQLOptions.KEK", ErrPassphraseRequired, r.keyID, s.desc, r.kekID.String)
		case k == nil:
			return nil, fmt.Errorf("%w: the key of sha256:%s in %s was sealed with KEK ID %s, and SQLOptions.KEK has ID %s; give that KEK (in SQLOptions.OldKEKs while rotating)", ErrWrongKEK, r.keyID, s.desc, r.kekID.String, s.kek.id)
		}
		var err error
		if der, err = k.open(r.keyID, r.keyData); err != nil {
			return nil, fmt.Errorf("csr: the key of sha256:%s in %s: %w under KEK ID %s: the row was altered, or its key was moved from another row", r.keyID, s.desc, err, k.id)
		}
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("csr: the key of sha256:%s in %s is not PKCS#8: %w", r.keyID, s.desc, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("csr: the key of sha256:%s in %s is a %T, which cannot sign", r.keyID, s.desc, key)
	}
	if got, err := KeyID(signer.Public()); err != nil || got != r.keyID {
		return nil, fmt.Errorf("csr: the row of key sha256:%s in %s holds the key of sha256:%s; the row was altered", r.keyID, s.desc, got)
	}
	return signer, nil
}

// Find returns the pending request for the public key pub (see
// Store.Find). The error for a key that is not pending names the table,
// says how many requests were searched and whether the key was archived.
func (s *SQLStore) Find(ctx context.Context, pub crypto.PublicKey) (*Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	r, err := scanRow(s.db.QueryRowContext(ctx, s.sql(`SELECT `+sqlColumns+` FROM {requests} WHERE key_id = $1 AND completed_at IS NULL`), id))
	if err == nil {
		return s.decode(r)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("csr: finding key sha256:%s in %s: %w", id, s.desc, err)
	}
	var pending int
	var archived sql.NullTime
	if err := s.db.QueryRowContext(ctx, s.sql(`SELECT
	(SELECT count(*) FROM {requests} WHERE completed_at IS NULL),
	(SELECT max(completed_at) FROM {requests} WHERE key_id = $1 AND completed_at IS NOT NULL)`), id).Scan(&pending, &archived); err != nil {
		return nil, fmt.Errorf("%w for public key sha256:%s in %s (counting the pending requests failed: %v)", ErrNotFound, id, s.desc, err)
	}
	hint := "; was the request made with another store (database, schema or table), or is this the certificate of another key?"
	if archived.Valid {
		hint = fmt.Sprintf("; its request was completed and archived at %s (FindArchived returns it)", archived.Time.UTC().Format(time.RFC3339Nano))
	}
	return nil, fmt.Errorf("%w for public key sha256:%s in %s (searched %d pending requests)%s", ErrNotFound, id, s.desc, pending, hint)
}

// query runs a SELECT of whole rows and decodes them. Like DirStore.List,
// a row that cannot be decoded does not hide the others: it returns what
// it could read with an error naming each unreadable row.
func (s *SQLStore) query(ctx context.Context, what, where string, args ...any) ([]*Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT `+sqlColumns+` FROM {requests} WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("csr: listing %s in %s: %w", what, s.desc, err)
	}
	defer rows.Close()
	var out []*Pending
	var errs []error
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return out, fmt.Errorf("csr: listing %s in %s: %w", what, s.desc, err)
		}
		p, err := s.decode(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("csr: listing %s in %s: %w", what, s.desc, err)
	}
	sortEntries(out)
	return out, errors.Join(errs...)
}

// List returns the pending requests, oldest first (see Store.List). An
// entry that cannot be read (a key sealed with an unknown KEK, an altered
// row) does not hide the others: List returns all it could read together
// with an error naming each unreadable entry.
func (s *SQLStore) List(ctx context.Context) ([]*Pending, error) {
	return s.query(ctx, "the pending requests", `completed_at IS NULL`)
}

// Archived returns the completed requests, oldest completion first, with
// their keys. Like List, it returns what it could read together with an
// error naming each unreadable entry.
func (s *SQLStore) Archived(ctx context.Context) ([]*Pending, error) {
	return s.query(ctx, "the archived requests", `completed_at IS NOT NULL`)
}

// FindArchived returns the most recently completed archived request for
// the public key pub, or an error wrapping ErrNotFound.
func (s *SQLStore) FindArchived(ctx context.Context, pub crypto.PublicKey) (*Pending, error) {
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	ps, err := s.query(ctx, "the archived requests of key sha256:"+id, `key_id = $1 AND completed_at IS NOT NULL`, id)
	if len(ps) > 0 {
		return ps[len(ps)-1], nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w in the archive for public key sha256:%s in %s", ErrNotFound, id, s.desc)
}

// Complete archives the pending request id (see Store.Complete) by
// setting its completed_at in one conditional UPDATE, which PostgreSQL
// runs under the row's lock: of several concurrent Completes of the same
// request, on any machines, exactly one archives it. Completing a
// request that is already archived returns nil and changes nothing, so a
// retry after a crash or a lost connection is safe; an ID never put
// gives ErrNotFound. id is KeyID's string, optionally with a "sha256:"
// prefix.
func (s *SQLStore) Complete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := normalizeKeyID(id)
	if err != nil {
		return err
	}
	var completed sql.NullTime
	if s.now != nil {
		completed = sql.NullTime{Time: s.now().UTC().Truncate(time.Microsecond), Valid: true}
	}
	var n int64
	var pending int
	var archived bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.sql(`UPDATE {requests} SET completed_at = COALESCE($2::timestamptz, clock_timestamp())
	WHERE key_id = $1 AND completed_at IS NULL`), id, completed)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return tx.QueryRowContext(ctx, s.sql(`SELECT
	(SELECT count(*) FROM {requests} WHERE completed_at IS NULL),
	EXISTS (SELECT 1 FROM {requests} WHERE key_id = $1 AND completed_at IS NOT NULL)`), id).Scan(&pending, &archived)
	})
	if err != nil {
		return fmt.Errorf("csr: archiving key sha256:%s in %s: %w", id, s.desc, err)
	}
	if n > 0 || archived {
		return nil // archived now, or earlier: Complete is idempotent
	}
	return fmt.Errorf("%w with key sha256:%s in %s (searched %d pending requests and the archive); nothing was changed", ErrNotFound, id, s.desc, pending)
}

// RemoveArchived deletes every archived copy of key id and returns how
// many it deleted, or an error wrapping ErrNotFound when there is none. It
// never touches a pending request.
func (s *SQLStore) RemoveArchived(ctx context.Context, id string) (int, error) {
	id, err := normalizeKeyID(id)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {requests} WHERE key_id = $1 AND completed_at IS NOT NULL`), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("csr: removing the archived requests of key sha256:%s from %s: %w", id, s.desc, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w in the archive with key sha256:%s in %s; nothing was removed", ErrNotFound, id, s.desc)
	}
	return int(n), nil
}

// Rewrap reseals with SQLOptions.KEK every key (pending and archived)
// that is sealed with an older KEK or stored in plaintext, each in its
// own transaction holding the row's lock, and returns how many it
// resealed. When every key is sealed with the current KEK afterwards, the
// other KEK IDs are dropped from the store's registry, so that OpenSQL
// refuses the old KEKs from then on. To rotate: give every machine the
// new KEK in KEK and the old one in OldKEKs, call Rewrap once, then drop
// OldKEKs. Rows that cannot be opened are reported and left as they are.
func (s *SQLStore) Rewrap(ctx context.Context) (int, error) {
	if s.kek == nil {
		return 0, fmt.Errorf("csr: Rewrap of %s needs SQLOptions.KEK, the key to seal with", s.desc)
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT seq FROM {requests}
	WHERE key_data IS NOT NULL AND (key_kek_id IS NULL OR key_kek_id <> $1) ORDER BY seq`), s.kek.id)
	if err != nil {
		return 0, fmt.Errorf("csr: listing the keys to reseal in %s: %w", s.desc, err)
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return 0, fmt.Errorf("csr: listing the keys to reseal in %s: %w", s.desc, err)
		}
		seqs = append(seqs, seq)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("csr: listing the keys to reseal in %s: %w", s.desc, err)
	}
	n := 0
	var errs []error
	for _, seq := range seqs {
		done, err := s.rewrapRow(ctx, seq)
		if err != nil {
			if ctx.Err() != nil {
				return n, err
			}
			errs = append(errs, err)
		}
		if done {
			n++
		}
	}
	if len(errs) > 0 {
		return n, errors.Join(errs...)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {keks} k WHERE k.kek_id <> $1
	AND NOT EXISTS (SELECT 1 FROM {requests} r WHERE r.key_kek_id = k.kek_id)`), s.kek.id)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("csr: resealed %d keys in %s but could not retire the old KEK IDs: %w", n, s.desc, err)
	}
	return n, nil
}

// rewrapRow reseals the key of row seq if it still needs it.
func (s *SQLStore) rewrapRow(ctx context.Context, seq int64) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return false, fmt.Errorf("csr: resealing in %s: %w", s.desc, err)
	}
	defer func() {
		if err != nil || !done {
			tx.Rollback()
		}
	}()
	r, err := scanRow(tx.QueryRowContext(ctx, s.sql(`SELECT `+sqlColumns+` FROM {requests} WHERE seq = $1 FOR UPDATE`), seq))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // removed meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("csr: resealing in %s: %w", s.desc, err)
	}
	if len(r.keyData) == 0 || r.kekID.String == s.kek.id {
		return false, nil // resealed meanwhile
	}
	key, err := s.openKey(r)
	if err != nil {
		return false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return false, err
	}
	sealed, err := s.kek.seal(s.rand, r.keyID, der)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {requests} SET key_data = $2, key_kek_id = $3 WHERE seq = $1`), seq, sealed, s.kek.id); err != nil {
		return false, fmt.Errorf("csr: resealing the key of sha256:%s in %s: %w", r.keyID, s.desc, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("csr: resealing the key of sha256:%s in %s: %w", r.keyID, s.desc, err)
	}
	return true, nil
}
