package csr

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/certwright/certwright/internal/atomicfile"
)

// Names of the files and folders of a DirStore (see its documentation).
const (
	storeFormat   = "certwright-pending-store/1"
	entryFormat   = "certwright-pending/1"
	storeInfoName = "store.json"
	lockName      = "lock"
	pendingName   = "pending"
	archiveName   = "archive"
	keyName       = "key.pem"
	requestName   = "request.csr"
	metaName      = "meta.json"
	stampLayout   = "20060102T150405.000000000Z"
	maxStoreFile  = 1 << 20 // bound on every file the store reads
)

// DirOptions configures OpenDir. The zero value (and a nil pointer) opens
// or creates an unencrypted store using crypto/rand and time.Now.
type DirOptions struct {
	// Passphrase, when not empty, encrypts the keys at rest: each key.pem
	// is an encrypted PKCS#8 file ("ENCRYPTED PRIVATE KEY", PBES2 with
	// PBKDF2-HMAC-SHA256 and AES-256-CBC) that `openssl pkey -in key.pem`
	// decrypts with the same passphrase. Whether a store is encrypted is
	// decided when it is created, by the first OpenDir; afterwards OpenDir
	// fails with ErrPassphraseRequired when the passphrase is missing,
	// ErrIncorrectPassphrase when it is wrong, and refuses a passphrase for
	// a store created without one.
	Passphrase []byte
	// Iterations is the PBKDF2 iteration count for keys encrypted from now
	// on; 0 means 600,000. Reading accepts up to 10,000,000. Lower values
	// make a stolen store cheaper to attack; they are meant for tests.
	Iterations int
	// Rand is the source of salts and IVs; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock for Created and Completed; nil means time.Now.
	Now func() time.Time
	// LockTimeout bounds how long OpenDir waits for another process that
	// holds the store's lock; 0 means one minute. Put, Complete and
	// RemoveArchived wait as long as their context allows.
	LockTimeout time.Duration
}

// DirStore is the pending-request Store kept in a folder on the local
// disk. It is safe for use by several goroutines and several processes at
// once: writers take a file lock on the folder, and each entry appears and
// moves as a whole (a folder renamed into place), so readers never see a
// partial entry and need no lock.
//
// Put writes the entry's files into a temporary folder beside the final
// one, fsyncs each file and the folder, renames the folder into place and
// fsyncs its parent: once Put returns nil the entry survives a crash or a
// power loss. Nothing is overwritten. Complete renames the entry into the
// archive; only RemoveArchived deletes, and only archived entries.
//
// OpenDir finishes what crashed writers left: a temporary entry that is
// complete (its key, request and metadata all parse and agree) is moved
// into place, anything else with the temporary prefix is removed. Use
// OpenDir to get a DirStore; the zero value is not usable.
//
// The folder holds plain files that standard tools read:
//
//	store.json                       format version, whether keys are encrypted, a passphrase check
//	lock                             the lock file (flock(2); "lock.owner" where flock is missing)
//	pending/<id>/key.pem             PKCS#8 PEM, "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY", 0600
//	pending/<id>/request.csr         the CSR, PEM "CERTIFICATE REQUEST", 0644
//	pending/<id>/meta.json           id, subject, SANs, created, key URI, 0644
//	archive/<id>.<completed>/        the same files, moved there by Complete (meta.json gains "completed")
//
// <id> is the KeyID of the public key and <completed> the completion time
// as 20060102T150405.000000000Z (with "-2", "-3"... when one key is
// completed twice in the same nanosecond). Folders are 0700. Temporary
// names start with ".certwright-tmp-".
//
// Security: the folder permissions are the protection of an unencrypted
// store. With DirOptions.Passphrase, keys are encrypted (PBES2,
// PBKDF2-HMAC-SHA256, 600,000 iterations by default, AES-256-CBC), but the
// CSR and the metadata (subject, SANs, key URI, times) stay in clear. Where
// flock(2) is missing (Windows, Solaris, AIX, Plan 9, WASI) the lock is a
// file created exclusively, taken over when its owner process on this
// host is gone (not checkable on Plan 9 and WASI) or when it is older than
// two minutes; two
// processes taking over the same stale lock at the same moment is
// unlikely but not excluded there.
type DirStore struct {
	dir       string
	pass      []byte
	iter      int
	rand      io.Reader
	now       func() time.Time
	sem       chan struct{} // serialises this value's writers before the file lock
	swept     []string
	recovered []string

	cacheMu sync.Mutex
	cache   map[string]cachedKey // decrypted keys by ID, encrypted stores only
}

type cachedKey struct {
	file string // the key.pem content it was decrypted from
	key  crypto.Signer
}

var _ Store = (*DirStore)(nil)

// storeInfo is store.json.
type storeInfo struct {
	Format    string `json:"format"`
	Encrypted bool   `json:"encrypted"`
	// Check is an encrypted throwaway key; decrypting it verifies a
	// passphrase once at OpenDir instead of at the first key read.
	Check string `json:"passphrase_check,omitempty"`
}

// entryMeta is meta.json.
type entryMeta struct {
	Format       string     `json:"format"`
	ID           string     `json:"id"`
	Subject      string     `json:"subject,omitempty"`
	SANs         []string   `json:"sans,omitempty"`
	Created      time.Time  `json:"created"`
	Completed    *time.Time `json:"completed,omitempty"`
	KeyURI       string     `json:"key_uri,omitempty"`
	KeyFile      string     `json:"key_file,omitempty"`
	KeyEncrypted bool       `json:"key_encrypted,omitempty"`
	CSRFile      string     `json:"csr_file,omitempty"`
}

// OpenDir opens the pending store in the folder path, creating it (0700)
// when it does not exist. A new store is only made in a missing or empty
// folder, so that a mistyped path cannot scatter keys among other files. opts may be nil. Under the store's lock it
// creates or checks store.json (format, encryption, passphrase) and sweeps
// what interrupted writers left (see DirStore). A relative path is made
// absolute, so errors always name the folder in full.
func OpenDir(path string, opts *DirOptions) (*DirStore, error) {
	var o DirOptions
	if opts != nil {
		o = *opts
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("csr: pending store %s: %w", path, err)
	}
	s := &DirStore{
		dir:   abs,
		pass:  o.Passphrase,
		iter:  o.Iterations,
		rand:  o.Rand,
		now:   o.Now,
		sem:   make(chan struct{}, 1),
		cache: map[string]cachedKey{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.checkIterations(); err != nil {
		return nil, err
	}
	if err := checkForeignFolder(abs); err != nil {
		return nil, err
	}
	for _, d := range []string{abs, s.sub(pendingName), s.sub(archiveName)} {
		if err := mkdirDurable(d); err != nil {
			return nil, fmt.Errorf("csr: creating the pending store folder %s: %w", d, err)
		}
	}
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.loadInfo(); err != nil {
		return nil, err
	}
	if err := s.sweep(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkForeignFolder refuses to turn a folder that already holds other
// things (a home folder given by mistake) into a store: a new store is
// made in an empty or missing folder.
func checkForeignFolder(dir string) error {
	if _, err := os.Lstat(filepath.Join(dir, storeInfoName)); err == nil {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil // missing (created next) or unreadable (reported next)
	}
	for _, e := range ents {
		switch n := e.Name(); {
		case n == pendingName, n == archiveName, n == lockName, n == lockName+".owner",
			strings.HasPrefix(n, atomicfile.TempPrefix):
		default:
			return fmt.Errorf("csr: %s is not a pending store (it has no %s) and is not empty (it holds %q); give a new or empty folder for a new store", dir, storeInfoName, n)
		}
	}
	return nil
}

// mkdirDurable creates dir (0700) if missing and fsyncs its parent so that
// the new folder survives a power loss.
func mkdirDurable(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is a file, not a folder", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(dir))
}

// Path returns the store's folder (absolute).
func (s *DirStore) Path() string { return s.dir }

// Swept returns the temporary files and folders OpenDir removed: the
// leftovers of writers that crashed before their entry was complete. No
// confirmed entry is ever among them.
func (s *DirStore) Swept() []string { return append([]string(nil), s.swept...) }

// Recovered returns the IDs of entries OpenDir moved into place from the
// complete temporary folder of a Put that crashed just before its final
// rename (that Put never returned, so its caller may not know about them).
func (s *DirStore) Recovered() []string { return append([]string(nil), s.recovered...) }

func (s *DirStore) sub(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

func (s *DirStore) encrypted() bool { return len(s.pass) > 0 }

// lock serialises writers: first within this value, then across processes
// with the lock file.
func (s *DirStore) lock(ctx context.Context) (func(), error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("csr: waiting for the lock of the pending store %s: %w", s.dir, ctx.Err())
	}
	unlock, err := lockStore(ctx, s.sub(lockName))
	if err != nil {
		<-s.sem
		return nil, err
	}
	return func() { unlock(); <-s.sem }, nil
}

// loadInfo reads store.json, or writes it for a new store, and checks the
// passphrase against it. Called under the lock.
func (s *DirStore) loadInfo() error {
	name := s.sub(storeInfoName)
	data, err := readBounded(name)
	if errors.Is(err, fs.ErrNotExist) {
		info := storeInfo{Format: storeFormat, Encrypted: s.encrypted()}
		if info.Encrypted {
			if info.Check, err = s.passphraseCheck(); err != nil {
				return err
			}
		}
		data, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(name, append(data, '\n'), 0o644, atomicfile.Options{NoOverwrite: true}); err != nil {
			return fmt.Errorf("csr: creating %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("csr: reading %s: %w", name, err)
	}
	var info storeInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Format == "" {
		return fmt.Errorf("csr: %s is not a pending store description (%v); is %s a certwright pending store?", name, err, s.dir)
	}
	if info.Format != storeFormat {
		return fmt.Errorf("csr: %s has format %q; this version reads %q (a newer certwright wrote it?)", name, info.Format, storeFormat)
	}
	switch {
	case info.Encrypted && !s.encrypted():
		return fmt.Errorf("%w: %s was created with a passphrase; open it with DirOptions.Passphrase set to that passphrase", ErrPassphraseRequired, s.dir)
	case !info.Encrypted && s.encrypted():
		return fmt.Errorf("csr: pending store %s was created without a passphrase and keeps its keys unencrypted; open it without a passphrase, or use a new folder for an encrypted store", s.dir)
	case info.Encrypted:
		block, _ := pem.Decode([]byte(info.Check))
		if block == nil {
			return fmt.Errorf("csr: %s has no passphrase check; the file is damaged", name)
		}
		if _, err := s.decryptKey(block.Bytes, name); err != nil {
			return err
		}
	}
	return nil
}

// readBounded reads a file of at most maxStoreFile bytes.
func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStoreFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxStoreFile {
		return nil, fmt.Errorf("%s is larger than %d bytes; it is not a file this store wrote", name, maxStoreFile)
	}
	return data, nil
}

// Put records a new pending request (see Store.Put). It fills in p.ID,
// p.Created and, from p.CSR, p.Subject and p.SANs when they are empty.
// The key's public key, the CSR's public key and p.ID must all agree, and
// the CSR's signature must verify. Put fails with an error wrapping
// ErrExists, leaving the stored entry untouched, when a request for the
// same key is pending; a key whose earlier request was completed (a
// renewal that reuses the key) can be put again.
func (s *DirStore) Put(ctx context.Context, p *Pending) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("csr: Put of a nil *Pending")
	}
	files, meta, err := s.encodeEntry(p)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.writeEntry(meta.ID, files); err != nil {
		return err
	}
	p.ID, p.Created, p.Subject, p.SANs = meta.ID, meta.Created, meta.Subject, meta.SANs
	return nil
}

type entryFile struct {
	name string
	data []byte
	perm fs.FileMode
}

// encodeEntry checks p and returns the files of its entry (meta.json last)
// and its metadata. It does the expensive work (key encryption) so that
// Put can do it before taking the lock.
func (s *DirStore) encodeEntry(p *Pending) ([]entryFile, *entryMeta, error) {
	if p.Key == nil && p.KeyURI == "" {
		return nil, nil, errors.New("csr: a pending request needs its Key, or a KeyURI when the key is kept elsewhere")
	}
	if err := checkStorableKeyURI(p.KeyURI); err != nil {
		return nil, nil, err
	}
	meta := &entryMeta{Format: entryFormat, Subject: p.Subject, SANs: p.SANs, KeyURI: p.KeyURI, Created: p.Created}
	var keyID, csrID string
	var err error
	if p.Key != nil {
		if keyID, err = KeyID(p.Key.Public()); err != nil {
			return nil, nil, err
		}
	}
	var req *x509.CertificateRequest
	if len(p.CSR) > 0 {
		if req, err = x509.ParseCertificateRequest(p.CSR); err != nil {
			return nil, nil, fmt.Errorf("csr: Pending.CSR is not a DER certificate request: %w", err)
		}
		if err := req.CheckSignature(); err != nil {
			return nil, nil, fmt.Errorf("csr: the signature of Pending.CSR does not verify (%v); the request was damaged or signed by another key", err)
		}
		if csrID, err = KeyID(req.PublicKey); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case keyID != "" && csrID != "" && keyID != csrID:
		return nil, nil, fmt.Errorf("csr: the CSR's public key sha256:%s is not the public key of Pending.Key sha256:%s; storing them together would keep a key that cannot use the certificate", csrID, keyID)
	case keyID != "":
		meta.ID = keyID
	case csrID != "":
		meta.ID = csrID
	default:
		return nil, nil, errors.New("csr: a pending request with only a KeyURI needs its CSR, to know the public key")
	}
	if p.ID != "" {
		id, err := normalizeKeyID(p.ID)
		if err != nil {
			return nil, nil, err
		}
		if id != meta.ID {
			return nil, nil, fmt.Errorf("csr: Pending.ID %s is not the KeyID of the request's public key (sha256:%s); leave ID empty and Put fills it in", p.ID, meta.ID)
		}
	}
	if req != nil {
		if meta.Subject == "" {
			meta.Subject = req.Subject.String()
		}
		if len(meta.SANs) == 0 {
			meta.SANs = requestSANs(req)
		}
	}
	if meta.Created.IsZero() {
		meta.Created = s.now()
	}
	meta.Created = meta.Created.UTC()

	var files []entryFile
	if p.Key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(p.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("csr: a %T key cannot be stored, it does not export as PKCS#8 (%v); leave it where it is and set KeyURI with Key nil", p.Key, err)
		}
		block := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		if s.encrypted() {
			enc, err := s.encryptKey(der)
			if err != nil {
				return nil, nil, err
			}
			block = &pem.Block{Type: encryptedKeyPEMType, Bytes: enc}
			meta.KeyEncrypted = true
		}
		meta.KeyFile = keyName
		files = append(files, entryFile{keyName, pem.EncodeToMemory(block), 0o600})
	}
	if req != nil {
		meta.CSRFile = requestName
		files = append(files, entryFile{requestName, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: p.CSR}), 0o644})
	}
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files = append(files, entryFile{metaName, append(mj, '\n'), 0o644})
	return files, meta, nil
}

// requestSANs lists the SANs of a request as text, in the form OpenSSL
// prints them.
func requestSANs(r *x509.CertificateRequest) []string {
	var out []string
	for _, d := range r.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range r.IPAddresses {
		out = append(out, "IP Address:"+ip.String())
	}
	for _, e := range r.EmailAddresses {
		out = append(out, "email:"+e)
	}
	for _, u := range r.URIs {
		out = append(out, "URI:"+u.String())
	}
	return out
}

// writeEntry creates pending/<id> with files, all or nothing. Called
// under the lock.
func (s *DirStore) writeEntry(id string, files []entryFile) (err error) {
	final := s.sub(pendingName, id)
	if _, err := os.Lstat(final); err == nil {
		return s.existsError(id, final)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("csr: checking %s: %w", final, err)
	}
	tmp, err := os.MkdirTemp(s.sub(pendingName), atomicfile.TempPrefix+id+"-")
	if err != nil {
		return fmt.Errorf("csr: pending store %s: %w", s.dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp) // never confirmed, so nothing is lost
		}
	}()
	for _, f := range files {
		if err := writeNewFile(filepath.Join(tmp, f.name), f.data, f.perm); err != nil {
			return fmt.Errorf("csr: writing key sha256:%s into %s: %w", id, s.dir, err)
		}
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return fmt.Errorf("csr: syncing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
			return s.existsError(id, final)
		}
		return fmt.Errorf("csr: moving the new entry into place as %s: %w", final, err)
	}
	if err := atomicfile.SyncDir(s.sub(pendingName)); err != nil {
		// The entry is in place and complete; only its durability across a
		// power loss is in doubt. Report it without removing anything.
		return fmt.Errorf("csr: key sha256:%s was stored in %s but syncing the folder failed: %w", id, final, err)
	}
	return nil
}

// writeNewFile creates name (which must not exist) with exactly the mode
// perm, writes data and fsyncs it.
func writeNewFile(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm&0o600)
	if err != nil {
		return err
	}
	// Set the mode exactly, whatever the umask, before any data is written
	// (the file was created no wider than 0600).
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *DirStore) existsError(id, final string) error {
	detail := ""
	if m, err := readMeta(filepath.Join(final, metaName)); err == nil {
		detail = fmt.Sprintf(", created %s", m.Created.Format(time.RFC3339))
		if m.Subject != "" {
			detail += fmt.Sprintf(" for %q", m.Subject)
		}
	}
	return fmt.Errorf("%w: key sha256:%s in %s%s; it was left untouched. Complete it once its certificate is written, or make the new request with a new key", ErrExists, id, final, detail)
}

func readMeta(name string) (*entryMeta, error) {
	data, err := readBounded(name)
	if err != nil {
		return nil, err
	}
	var m entryMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m.Format != entryFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", name, m.Format, entryFormat)
	}
	return &m, nil
}

// readEntry reads the entry in folder dir, which must be the entry of key
// id, and checks that its files agree with each other.
func (s *DirStore) readEntry(dir, id string) (*Pending, error) {
	m, err := readMeta(filepath.Join(dir, metaName))
	if err != nil {
		return nil, err
	}
	if m.ID != id {
		return nil, fmt.Errorf("csr: %s says key sha256:%s but its folder is for sha256:%s; the entry was moved by hand", filepath.Join(dir, metaName), m.ID, id)
	}
	p := &Pending{ID: id, KeyURI: m.KeyURI, Subject: m.Subject, SANs: m.SANs, Created: m.Created}
	if m.Completed != nil {
		p.Completed = *m.Completed
	}
	if m.KeyFile != "" {
		if m.KeyFile != keyName {
			return nil, fmt.Errorf("csr: %s names key file %q; this version writes %q", filepath.Join(dir, metaName), m.KeyFile, keyName)
		}
		name := filepath.Join(dir, keyName)
		if p.Key, err = s.readKey(name, id); err != nil {
			return nil, err
		}
	} else if m.KeyURI == "" {
		return nil, fmt.Errorf("csr: %s has neither a key file nor a key URI", filepath.Join(dir, metaName))
	}
	if m.CSRFile != "" {
		if m.CSRFile != requestName {
			return nil, fmt.Errorf("csr: %s names request file %q; this version writes %q", filepath.Join(dir, metaName), m.CSRFile, requestName)
		}
		name := filepath.Join(dir, requestName)
		data, err := readBounded(name)
		if err != nil {
			return nil, fmt.Errorf("csr: reading the request of key sha256:%s: %w", id, err)
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("csr: %s holds no PEM CERTIFICATE REQUEST", name)
		}
		req, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("csr: %s: %w", name, err)
		}
		if got, err := KeyID(req.PublicKey); err != nil || got != id {
			return nil, fmt.Errorf("csr: %s is a request for public key sha256:%s, not sha256:%s", name, got, id)
		}
		p.CSR = block.Bytes
	}
	return p, nil
}

// readKey reads and, when encrypted, decrypts a key file, and checks that
// it is the key of id.
func (s *DirStore) readKey(name, id string) (crypto.Signer, error) {
	data, err := readBounded(name)
	if err != nil {
		return nil, fmt.Errorf("csr: reading the key of sha256:%s: %w", id, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("csr: %s holds no PEM block; the key file is damaged", name)
	}
	var der []byte
	switch block.Type {
	case "PRIVATE KEY":
		der = block.Bytes
	case encryptedKeyPEMType:
		if !s.encrypted() {
			return nil, fmt.Errorf("%w: %s is encrypted; open the store with DirOptions.Passphrase", ErrPassphraseRequired, name)
		}
		s.cacheMu.Lock()
		c, ok := s.cache[id]
		s.cacheMu.Unlock()
		if ok && c.file == string(data) {
			return c.key, nil
		}
		if der, err = s.decryptKey(block.Bytes, name); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("csr: %s holds a %q PEM block, not a PKCS#8 private key", name, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("csr: %s: %w", name, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("csr: %s holds a %T key, which cannot sign", name, k)
	}
	if got, err := KeyID(signer.Public()); err != nil || got != id {
		return nil, fmt.Errorf("csr: %s holds the key of sha256:%s, not sha256:%s; the entry was altered", name, got, id)
	}
	if block.Type == encryptedKeyPEMType {
		s.cacheMu.Lock()
		s.cache[id] = cachedKey{file: string(data), key: signer}
		s.cacheMu.Unlock()
	}
	return signer, nil
}

// Find returns the pending request for the public key pub (see
// Store.Find). The error for a key that is not pending says how many
// requests were searched and whether the key was archived by Complete.
func (s *DirStore) Find(ctx context.Context, pub crypto.PublicKey) (*Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	entry := s.sub(pendingName, id)
	p, err := s.readEntry(entry, id)
	if err == nil {
		return p, nil
	}
	if err = damaged(entry, err); !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ids, _ := s.pendingIDs()
	hint := "; was the request made with another store folder, or is this the certificate of another key?"
	if names, _ := s.archivedNames(id); len(names) > 0 {
		hint = fmt.Sprintf("; its request was completed and archived as %s (FindArchived returns it)", s.sub(archiveName, names[len(names)-1]))
	}
	return nil, fmt.Errorf("%w for public key sha256:%s in %s (searched %d pending requests)%s", ErrNotFound, id, s.dir, len(ids), hint)
}

// damaged turns a "file does not exist" error from reading the entry
// folder dir into a damage report when the folder itself exists: a file
// of the entry is missing. Other errors, and the error of a folder that
// is gone (moved to the archive meanwhile), are returned as they are.
func damaged(dir string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Lstat(dir); serr == nil {
			return fmt.Errorf("csr: the entry %s is damaged, a file is missing: %v", dir, err)
		}
	}
	return err
}

// pendingIDs lists the IDs of the pending entries, sorted.
func (s *DirStore) pendingIDs() ([]string, error) {
	ents, err := os.ReadDir(s.sub(pendingName))
	if err != nil {
		return nil, fmt.Errorf("csr: listing %s: %w", s.sub(pendingName), err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && isKeyID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

func isKeyID(name string) bool {
	id, err := normalizeKeyID(name)
	return err == nil && id == name
}

// List returns the pending requests, oldest first (see Store.List). An
// entry that cannot be read does not hide the others: List returns all it
// could read together with an error naming each unreadable entry. An
// entry completed while List runs is left out. On an encrypted store each
// key costs one key derivation the first time this DirStore reads it.
func (s *DirStore) List(ctx context.Context) ([]*Pending, error) {
	ids, err := s.pendingIDs()
	if err != nil {
		return nil, err
	}
	var out []*Pending
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		p, err := s.readEntry(s.sub(pendingName, id), id)
		err = damaged(s.sub(pendingName, id), err)
		switch {
		case err == nil:
			out = append(out, p)
		case errors.Is(err, fs.ErrNotExist):
			// Completed (moved to the archive) since ReadDir.
		default:
			errs = append(errs, fmt.Errorf("csr: pending entry %s: %w", s.sub(pendingName, id), err))
		}
	}
	sortEntries(out)
	return out, errors.Join(errs...)
}

func sortEntries(ps []*Pending) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if !a.Completed.Equal(b.Completed) {
			return a.Completed.Before(b.Completed)
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
}

// Complete archives the pending request id (see Store.Complete): its
// folder is renamed to archive/<id>.<time>, both folders are fsynced, and
// the completion time is recorded in its meta.json. It is exactly-once per
// Put: the rename either happened or not, so a retry after a crash or an
// error either archives the entry or finds it archived and returns nil.
// id is KeyID's string, optionally with a "sha256:" prefix.
func (s *DirStore) Complete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := normalizeKeyID(id)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	src := s.sub(pendingName, id)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		if names, _ := s.archivedNames(id); len(names) > 0 {
			return nil // archived earlier: Complete is idempotent
		}
		ids, _ := s.pendingIDs()
		return fmt.Errorf("%w with key sha256:%s in %s (searched %d pending requests and the archive); nothing was changed", ErrNotFound, id, s.dir, len(ids))
	} else if err != nil {
		return fmt.Errorf("csr: %s: %w", src, err)
	}
	completed := s.now().UTC()
	base := id + "." + completed.Format(stampLayout)
	var dst string
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		dst = s.sub(archiveName, name)
		_, err := os.Lstat(dst)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("csr: archiving key sha256:%s: %w", id, err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("csr: archiving key sha256:%s (%s to %s): %w", id, src, dst, err)
	}
	if err := errors.Join(atomicfile.SyncDir(s.sub(archiveName)), atomicfile.SyncDir(s.sub(pendingName))); err != nil {
		return fmt.Errorf("csr: archived key sha256:%s as %s but syncing the folders failed: %w", id, dst, err)
	}
	metaPath := filepath.Join(dst, metaName)
	m, err := readMeta(metaPath)
	if err != nil {
		return fmt.Errorf("csr: archived key sha256:%s as %s but could not record the completion time: %w", id, dst, err)
	}
	m.Completed = &completed
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(metaPath, append(mj, '\n'), 0o644, atomicfile.Options{}); err != nil {
		return fmt.Errorf("csr: archived key sha256:%s as %s but could not record the completion time: %w", id, dst, err)
	}
	return nil
}

// archivedNames lists the archive folder names of key id, oldest first.
func (s *DirStore) archivedNames(id string) ([]string, error) {
	ents, err := os.ReadDir(s.sub(archiveName))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if eid, _, ok := splitArchiveName(e.Name()); ok && e.IsDir() && (id == "" || eid == id) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// splitArchiveName splits "<id>.<stamp>[-n]" into the ID and the time.
func splitArchiveName(name string) (id string, completed time.Time, ok bool) {
	id, rest, found := strings.Cut(name, ".")
	if !found || !isKeyID(id) {
		return "", time.Time{}, false
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		rest = rest[:i]
	}
	t, err := time.Parse(stampLayout, rest)
	if err != nil {
		return "", time.Time{}, false
	}
	return id, t, true
}

// Archived returns the completed requests kept in the archive, oldest
// completion first, with their keys, e.g. to export a certificate and its
// key again. Like List, it returns what it could read together with an
// error naming each unreadable entry.
func (s *DirStore) Archived(ctx context.Context) ([]*Pending, error) {
	return s.readArchived(ctx, "")
}

func (s *DirStore) readArchived(ctx context.Context, id string) ([]*Pending, error) {
	names, err := s.archivedNames(id)
	if err != nil {
		return nil, fmt.Errorf("csr: listing %s: %w", s.sub(archiveName), err)
	}
	var out []*Pending
	var errs []error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		eid, completed, _ := splitArchiveName(name)
		p, err := s.readEntry(s.sub(archiveName, name), eid)
		err = damaged(s.sub(archiveName, name), err)
		switch {
		case err == nil:
			if p.Completed.IsZero() {
				// Crashed between the rename and the meta.json update.
				p.Completed = completed
			}
			out = append(out, p)
		case errors.Is(err, fs.ErrNotExist):
			// Removed by RemoveArchived since ReadDir.
		default:
			errs = append(errs, fmt.Errorf("csr: archived entry %s: %w", s.sub(archiveName, name), err))
		}
	}
	sortEntries(out)
	return out, errors.Join(errs...)
}

// FindArchived returns the most recently completed archived request for
// the public key pub, or an error wrapping ErrNotFound.
func (s *DirStore) FindArchived(ctx context.Context, pub crypto.PublicKey) (*Pending, error) {
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	ps, err := s.readArchived(ctx, id)
	if len(ps) > 0 {
		return ps[len(ps)-1], nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w in the archive for public key sha256:%s in %s", ErrNotFound, id, s.dir)
}

// RemoveArchived deletes every archived copy of key id and returns how
// many it deleted, or an error wrapping ErrNotFound when there is none. It
// never touches a pending entry: a key is only deleted after Complete
// said its certificate was safely written. Each folder is first renamed to
// a temporary name, so a crash leaves either the whole entry or a
// leftover that OpenDir sweeps.
func (s *DirStore) RemoveArchived(ctx context.Context, id string) (int, error) {
	id, err := normalizeKeyID(id)
	if err != nil {
		return 0, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	names, err := s.archivedNames(id)
	if err != nil {
		return 0, fmt.Errorf("csr: listing %s: %w", s.sub(archiveName), err)
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%w in the archive with key sha256:%s in %s; nothing was removed", ErrNotFound, id, s.dir)
	}
	for i, name := range names {
		aside := s.sub(archiveName, atomicfile.TempPrefix+"removed-"+name)
		if err := os.Rename(s.sub(archiveName, name), aside); err != nil {
			return i, fmt.Errorf("csr: removing archived entry %s: %w", s.sub(archiveName, name), err)
		}
		if err := atomicfile.SyncDir(s.sub(archiveName)); err != nil {
			return i, err
		}
		if err := os.RemoveAll(aside); err != nil {
			return i, fmt.Errorf("csr: removing archived entry %s: %w", aside, err)
		}
	}
	return len(names), atomicfile.SyncDir(s.sub(archiveName))
}

// sweep removes what crashed writers left and promotes complete temporary
// entries (see DirStore). Called by OpenDir under the lock.
func (s *DirStore) sweep() error {
	removed, err := atomicfile.SweepTemp(s.dir)
	s.swept = append(s.swept, removed...)
	if err != nil {
		return fmt.Errorf("csr: sweeping %s: %w", s.dir, err)
	}
	pending := s.sub(pendingName)
	ents, err := os.ReadDir(pending)
	if err != nil {
		return fmt.Errorf("csr: sweeping %s: %w", pending, err)
	}
	promoted := false
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			continue
		}
		tmp := filepath.Join(pending, e.Name())
		if e.IsDir() {
			if id, ok := s.completeTemp(tmp); ok {
				// Never delete a complete key: if it cannot be moved into
				// place, leave it and say so.
				if err := os.Rename(tmp, filepath.Join(pending, id)); err != nil {
					return fmt.Errorf("csr: recovering the complete entry %s of key sha256:%s: %w", tmp, id, err)
				}
				s.recovered = append(s.recovered, id)
				promoted = true
				continue
			}
		}
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("csr: sweeping %s: %w", tmp, err)
		}
		s.swept = append(s.swept, tmp)
	}
	archive := s.sub(archiveName)
	ents, err = os.ReadDir(archive)
	if err != nil {
		return fmt.Errorf("csr: sweeping %s: %w", archive, err)
	}
	for _, e := range ents {
		p := filepath.Join(archive, e.Name())
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("csr: sweeping %s: %w", p, err)
			}
			s.swept = append(s.swept, p)
		} else if e.IsDir() {
			// Complete rewrites meta.json in the archived folder.
			removed, err := atomicfile.SweepTemp(p)
			s.swept = append(s.swept, removed...)
			if err != nil {
				return fmt.Errorf("csr: sweeping %s: %w", p, err)
			}
		}
	}
	if len(s.swept) > 0 || promoted {
		return errors.Join(atomicfile.SyncDir(pending), atomicfile.SyncDir(archive))
	}
	return nil
}

// completeTemp reports whether the temporary folder tmp holds a complete,
// consistent entry whose key is not pending yet, and its ID.
func (s *DirStore) completeTemp(tmp string) (string, bool) {
	m, err := readMeta(filepath.Join(tmp, metaName))
	if err != nil || !isKeyID(m.ID) || !strings.HasPrefix(filepath.Base(tmp), atomicfile.TempPrefix+m.ID+"-") {
		return "", false
	}
	if _, err := os.Lstat(s.sub(pendingName, m.ID)); err == nil {
		return "", false
	}
	if _, err := s.readEntry(tmp, m.ID); err != nil {
		return "", false
	}
	return m.ID, true
}
