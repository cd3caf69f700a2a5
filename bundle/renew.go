package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
)

// RenewOptions tunes Renew. The zero value (and a nil pointer) makes a new
// key of the same type as the certificate's key, with crypto/rand, and
// runs the csr package's checks with warnings left as warnings.
type RenewOptions struct {
	// KeyType is the type of the new key; empty means the type of the
	// certificate's key (csr.KeyTypeFor: a key type GenerateKey no longer
	// makes, such as RSA 1024, becomes csr.DefaultKeyType). It must be
	// empty, or the key's own type, with ReuseKey.
	KeyType csr.KeyType
	// ReuseKey signs the request with the certificate's existing key
	// instead of a new one: Key when set, otherwise the key the store kept
	// in its archive when the certificate's request was completed (a store
	// with a FindArchived method, as csr.DirStore). Keeping the key keeps
	// an HPKP or DANE pin valid; a new key is the safer default.
	ReuseKey bool
	// Key is the certificate's private key (read from the server's key
	// file, say). Setting it implies ReuseKey; it must match the
	// certificate's public key.
	Key crypto.Signer
	// Rand is the source of randomness for the key and the signature; nil
	// means crypto/rand.
	Rand io.Reader
	// CSR tunes the request's checks and signature; nil means the zero
	// csr.Options.
	CSR *csr.Options
}

// Renewal is a certificate request for renewing a certificate, with its
// key already kept pending in the store.
type Renewal struct {
	// Certificate is the certificate being renewed.
	Certificate *x509.Certificate
	// Pending is the entry Renew put in the store: its ID (the key's
	// fingerprint), key, request, subject and SANs.
	Pending *csr.Pending
	// Request is the parsed certificate request; its DER is Pending.CSR.
	Request *x509.CertificateRequest
	// KeyType is the type of the request's key; ReusedKey says whether it
	// is the certificate's own key.
	KeyType   csr.KeyType
	ReusedKey bool
	// Warnings are the csr package's findings that did not stop the
	// request (a state abbreviation, a CN that is not a host name...).
	Warnings []csr.Finding
	// Notes say what else is worth knowing, such as a key type changed
	// because the old one is too weak.
	Notes []string
}

// PEM returns the request in PEM form, for the CA.
func (r *Renewal) PEM() []byte { return csr.EncodePEM(r.Pending.CSR) }

// archiveFinder is the optional Store method Renew uses to find a
// completed request's key for ReuseKey.
type archiveFinder interface {
	FindArchived(ctx context.Context, pub crypto.PublicKey) (*csr.Pending, error)
}

var _ archiveFinder = (*csr.DirStore)(nil)

// Renew makes the request that renews cert: the same subject fields and
// subject alternative names (csr.FromCertificate), signed by a new key or,
// with ReuseKey, by the certificate's key; and puts the key and the request
// in store as a pending request before it returns. Send Renewal.PEM() to
// the CA, then Complete its answer with the same store and Replace the
// served files.
//
// Renew stores nothing when it fails. With a new key, it fails when the
// certificate's names no longer pass the csr package's checks (the error
// is a *csr.CheckError). With ReuseKey it fails with an error wrapping
// ErrKeyNotFound when the key is neither given nor in the store's archive,
// ErrKeyMismatch when the given key is not the certificate's, and
// csr.ErrExists when a request for that key is already pending.
//
// Renew does not contact the CA, does not check whether cert needs
// renewing (see CheckExpiry) and does not verify cert's chain.
func Renew(ctx context.Context, store csr.Store, cert *x509.Certificate, opts *RenewOptions) (*Renewal, error) {
	if opts == nil {
		opts = &RenewOptions{}
	}
	if cert == nil {
		return nil, errors.New("bundle: Renew needs the certificate to renew")
	}
	if store == nil {
		return nil, errors.New("bundle: Renew needs a pending store to keep the key in (csr.OpenDir)")
	}
	r := &Renewal{Certificate: cert}
	var key crypto.Signer
	if opts.ReuseKey || opts.Key != nil {
		k, err := reuseKey(ctx, store, cert, opts.Key)
		if err != nil {
			return nil, err
		}
		kt, err := csr.KeyTypeOf(k.Public())
		if err != nil {
			return nil, fmt.Errorf("bundle: the key of %s cannot sign a request: %w", describe(cert), err)
		}
		if opts.KeyType != "" && opts.KeyType != kt {
			return nil, fmt.Errorf("bundle: RenewOptions.KeyType %q conflicts with ReuseKey: the key of %s is %s; leave KeyType empty, or renew with a new key", opts.KeyType, describe(cert), kt)
		}
		key, r.KeyType, r.ReusedKey = k, kt, true
	} else {
		kt := opts.KeyType
		if kt == "" {
			kt = csr.KeyTypeFor(cert)
			if old, err := csr.KeyTypeOf(cert.PublicKey); err != nil {
				r.Notes = append(r.Notes, fmt.Sprintf("the certificate's key is of a kind this library does not make (%T); the new key is %s", cert.PublicKey, kt))
			} else if old != kt {
				r.Notes = append(r.Notes, fmt.Sprintf("the certificate's key is %s, which is not made any more; the new key is %s", old, kt))
			}
		}
		k, err := csr.GenerateKey(opts.Rand, kt)
		if err != nil {
			return nil, fmt.Errorf("bundle: making the new key for %s: %w", describe(cert), err)
		}
		key, r.KeyType = k, kt
	}

	der, findings, err := csr.Create(opts.Rand, csr.FromCertificate(cert), key, opts.CSR)
	if err != nil {
		return nil, fmt.Errorf("bundle: the renewal request for %s cannot be made: %w", describe(cert), err)
	}
	r.Warnings = findings
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("bundle: the renewal request does not parse: %w", err)
	}
	r.Request = req
	p := &csr.Pending{Key: key, CSR: der}
	if err := store.Put(ctx, p); err != nil {
		if errors.Is(err, csr.ErrExists) {
			return nil, fmt.Errorf("bundle: a request for the key sha256:%s of %s is already pending; submit that request (or complete the CA's answer to it) instead of making another: %w", Fingerprint(key.Public()), describe(cert), err)
		}
		return nil, fmt.Errorf("bundle: keeping the renewal key pending: %w", err)
	}
	r.Pending = p
	return r, nil
}

// reuseKey returns the certificate's own key: given, or from the store's
// archive.
func reuseKey(ctx context.Context, store csr.Store, cert *x509.Certificate, given crypto.Signer) (crypto.Signer, error) {
	fp := Fingerprint(cert.PublicKey)
	if given != nil {
		if !publicKeyEqual(given.Public(), cert.PublicKey) {
			return nil, fmt.Errorf("bundle: %w: the key given to reuse has fingerprint sha256:%s, the certificate %s has sha256:%s; give the key file the server uses with this certificate",
				ErrKeyMismatch, Fingerprint(given.Public()), describe(cert), fp)
		}
		return given, nil
	}
	if p, err := store.Find(ctx, cert.PublicKey); err == nil && p != nil {
		return nil, fmt.Errorf("bundle: the key sha256:%s of %s is already pending (request made %s); submit that request instead of making another: %w",
			fp, describe(cert), p.Created.UTC().Format(time.RFC3339), csr.ErrExists)
	}
	af, ok := store.(archiveFinder)
	if !ok {
		return nil, fmt.Errorf("bundle: %w: the store (%T) keeps no archive to find the key sha256:%s of %s in; give the key with RenewOptions.Key (the server's key file)", ErrKeyNotFound, store, fp, describe(cert))
	}
	p, err := af.FindArchived(ctx, cert.PublicKey)
	if err != nil {
		if errors.Is(err, csr.ErrNotFound) {
			return nil, fmt.Errorf("bundle: %w: the key sha256:%s of %s is not in the store's archive (the request was made elsewhere); give the key with RenewOptions.Key (the server's key file), or renew with a new key: %v",
				ErrKeyNotFound, fp, describe(cert), err)
		}
		return nil, fmt.Errorf("bundle: looking for the key of %s in the store's archive: %w", describe(cert), err)
	}
	if p.Key == nil {
		return nil, fmt.Errorf("bundle: the key sha256:%s of %s is kept outside the store (%s) and cannot sign here; sign the renewal request where the key lives", fp, describe(cert), p.KeyURI)
	}
	return p.Key, nil
}

// ErrIncompleteChain reports a bundle that does not hold the issuer of its
// leaf, which Replace refuses to serve: writing the new leaf without its
// issuer would leave clients with no chain, or with the old one.
var ErrIncompleteChain = errors.New("the bundle does not hold the issuer of its leaf")

// ReplaceOptions tunes Replace. The zero value (and a nil pointer) writes
// with the zero WriteOptions' names and the clock's time.
type ReplaceOptions struct {
	// Write names the files and protects the containers as for
	// Bundle.Write (Name, IncludeRoot, Password, FriendlyName, SecretName,
	// Namespace, Rand). Its Overwrite and AllowKeyOverwrite are ignored:
	// Replace always replaces, after archiving what it replaces.
	Write WriteOptions
	// Now names the archive folder (archive/20260601T120000Z); zero means
	// time.Now().
	Now time.Time

	// hook, in tests, is called before each step and may fail it;
	// errSimulatedCrash makes Replace stop on the spot, as a crash would.
	hook func(step, name string) error
}

// errSimulatedCrash, returned by a test hook, stops Replace without any
// clean-up, leaving the folder as a crash at that point would.
var errSimulatedCrash = errors.New("simulated crash")

// IssuerChange describes a renewed certificate issued by another CA
// certificate than the one served before it (Microsoft KB 954755: the
// intermediates must be updated together with the certificate).
type IssuerChange struct {
	// Old is the issuer of the certificate served before, New the issuer
	// of the new one, in RFC 2253 form.
	Old, New string
	// OldIntermediate is the served chain's first CA certificate (nil when
	// the old files held none); NewIntermediate is the new leaf's issuer
	// in the bundle (an intermediate or the root).
	OldIntermediate, NewIntermediate *x509.Certificate
}

// Replaced is what Replace did.
type Replaced struct {
	// Written are the paths now served, in the order of Bundle.Write.
	Written []string
	// ArchiveDir is the folder the replaced files were copied to, empty
	// when no file was replaced; Archived the copies' paths.
	ArchiveDir string
	Archived   []string
	// Previous is the leaf served before, nil when none was found.
	Previous *x509.Certificate
	// IssuerChange is set when the new leaf's issuer differs from the
	// previous leaf's; the new chain was written with it.
	IssuerChange *IssuerChange
	// Stale lists other files in dir, outside server's layout, that still
	// hold the previous leaf or, when the issuer changed, its old issuer
	// (a chain.pem of an Apache layout when replacing for nginx, say). Replace leaves them alone; a
	// server still reading them would pair the new leaf with an old chain.
	Stale []string
	// Recovered says what Replace did to finish a replacement in the same
	// folder that an earlier process left half done.
	Recovered []string
}

const (
	stagePrefix = ".certwright-renew-"
	journalName = ".certwright-renew.json"
	lockName    = ".certwright-renew.lock"
	// staleLock is the age after which a lock file is taken to be left by
	// a crashed process: a Replace holds it for well under a second.
	staleLock = 2 * time.Minute
)

// lockDir takes the folder's replacement lock: a file created atomically
// (it exists or not, on every platform and file system), holding who took
// it. A lock older than staleLock is broken. It returns the release
// function.
func lockDir(dir string) (func(), error) {
	p := filepath.Join(dir, lockName)
	host, _ := os.Hostname()
	info := []byte(fmt.Sprintf("pid %d on %s at %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339)))
	for attempt := 0; ; attempt++ {
		err := atomicfile.WriteFile(p, info, 0o600, atomicfile.Options{NoOverwrite: true})
		if err == nil {
			return func() { os.Remove(p) }, nil
		}
		if !errors.Is(err, atomicfile.ErrExists) {
			return nil, fmt.Errorf("bundle: taking the lock %s: %w", p, err)
		}
		fi, serr := os.Stat(p)
		if serr == nil && time.Since(fi.ModTime()) > staleLock && attempt == 0 {
			os.Remove(p) // left by a crashed process
			continue
		}
		held, _ := os.ReadFile(p)
		return nil, fmt.Errorf("bundle: another replacement is running in %s (lock %s taken by %s); run again when it is done, or remove the lock if no renewal is running",
			dir, p, strings.TrimSpace(string(held)))
	}
}

// journal records a replacement in progress, so that the next Replace or
// RecoverReplace can finish it after a crash.
type journal struct {
	Version int           `json:"version"`
	Phase   string        `json:"phase"`   // phasePrepare, phaseSwap or phaseRollback
	Archive string        `json:"archive"` // relative to the folder
	Files   []journalFile `json:"files"`
}

type journalFile struct {
	Name    string      `json:"name"`
	Staged  string      `json:"staged"`
	Existed bool        `json:"existed"`
	Mode    fs.FileMode `json:"mode"`
}

const (
	// phasePrepare: new files are being staged and old ones archived;
	// nothing served has changed. Recovery removes the staged files.
	phasePrepare = "prepare"
	// phaseSwap: the served files are being replaced from the staged
	// copies. Recovery rolls forward.
	phaseSwap = "swap"
	// phaseRollback: a failed swap is being undone from the archive.
	// Recovery rolls back.
	phaseRollback = "rollback"
)

// Replace serves a renewed bundle: it replaces the files server reads in
// dir (the same layout as Bundle.Write) with the bundle's, after copying
// the files it replaces into dir/archive/<time>/, so that the previous key
// and certificate stay at hand for a rollback.
//
// The steps: the bundle is checked (Check), and it must hold its leaf's
// issuer (ErrIncompleteChain), so that a new leaf is never served with the
// old chain; the previous leaf is read from the served files and, when it
// was issued by another CA certificate, IssuerChange says so (KB 954755);
// the new files are staged under temporary names in dir and read back;
// the files being replaced are copied into the archive (0700 folder, modes
// kept); then each served file is replaced by an atomic rename, and read
// back. A journal in dir (.certwright-renew.json) records the progress.
//
// No file holding a key is ever overwritten before its copy is safely in the
// archive. A failure before the first rename leaves the served files
// untouched; a failure during the renames is undone from the archive, so
// that the key and the certificate served always belong together once
// Replace returns. A crash leaves the journal, and the next Replace (or
// RecoverReplace) on dir finishes the replacement (rolls it forward when the
// renames had begun, discards it otherwise) before anything else. Between
// two renames, a server reading the files would see a mismatched pair for a
// moment: reload the server after Replace returns, not during it.
//
// Two Replace calls on the same folder exclude each other with a lock file
// (.certwright-renew.lock): the second fails at once, naming the holder. A
// lock left by a crash is broken after two minutes. Replace does not
// reload the server.
func (b *Bundle) Replace(dir string, server Server, opts *ReplaceOptions) (*Replaced, error) {
	if opts == nil {
		opts = &ReplaceOptions{}
	}
	hook := opts.hook
	if hook == nil {
		hook = func(string, string) error { return nil }
	}
	wo := opts.Write
	wo.Overwrite, wo.AllowKeyOverwrite = true, true
	if err := b.Check(); err != nil {
		return nil, err
	}
	if err := b.checkIssuerPresent(); err != nil {
		return nil, err
	}
	if wo.IncludeRoot && b.Root == nil {
		return nil, errors.New("bundle: IncludeRoot is set but the bundle has no root certificate; build the chain with the root known or leave IncludeRoot off")
	}
	if server.needsPassword() && wo.Password == "" {
		return nil, fmt.Errorf("bundle: %w for the %s output (ReplaceOptions.Write.Password); a key container with an empty password protects nothing", ErrPasswordRequired, server)
	}
	name, err := baseName(b, &wo)
	if err != nil {
		return nil, err
	}
	outs, err := b.layout(server, name, &wo)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bundle: creating the output folder: %w", err)
	}
	res := &Replaced{}
	unlock, err := lockDir(dir)
	if err != nil {
		return res, err
	}
	defer unlock()
	if res.Recovered, err = recoverReplace(dir); err != nil {
		return res, err
	}

	// What is served now.
	j := &journal{Version: 1, Phase: phasePrepare}
	var existing []*x509.Certificate
	for _, o := range outs {
		p := filepath.Join(dir, o.name)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			j.Files = append(j.Files, journalFile{Name: o.name})
			continue
		case err != nil:
			return res, fmt.Errorf("bundle: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return res, fmt.Errorf("bundle: %s is a symbolic link (a certbot live/ folder?); Replace writes regular files and keeps its own archive: point the server at a folder Replace owns", p)
		case !fi.Mode().IsRegular():
			return res, fmt.Errorf("bundle: %s is not a regular file", p)
		}
		j.Files = append(j.Files, journalFile{Name: o.name, Existed: true, Mode: fi.Mode().Perm()})
		if c, err := formats.ReadFile(p, &formats.ReadOptions{Password: wo.Password}); err == nil {
			existing = append(existing, c.Certificates...)
		}
	}
	res.Previous, res.IssuerChange = b.issuerChange(existing)
	if res.Previous != nil {
		res.Stale = staleFiles(dir, outs, res.Previous, res.IssuerChange != nil, wo.Password)
	}

	stamp := opts.Now
	if stamp.IsZero() {
		stamp = time.Now()
	}
	id := stamp.UTC().Format("20060102T150405Z")
	for i := range j.Files {
		j.Files[i].Staged = stagePrefix + id + "-" + j.Files[i].Name
	}
	anyExisted := false
	for _, f := range j.Files {
		anyExisted = anyExisted || f.Existed
	}
	if anyExisted {
		if j.Archive, err = newArchiveDir(dir, id); err != nil {
			return res, err
		}
	}
	err = hook("journal", "")
	if err == nil {
		err = writeJournal(dir, j, true)
	}
	if err != nil {
		if j.Archive != "" && !errors.Is(err, errSimulatedCrash) {
			os.Remove(filepath.Join(dir, j.Archive)) // empty: nothing was archived yet
		}
		return res, err
	}

	// Stage the new files and read them back; the served ones are untouched.
	discard := func(cause error) error {
		if errors.Is(cause, errSimulatedCrash) {
			return cause
		}
		if _, rerr := recoverReplace(dir); rerr != nil {
			return fmt.Errorf("%w; cleaning up also failed: %v", cause, rerr)
		}
		return cause
	}
	for i, o := range outs {
		sp := filepath.Join(dir, j.Files[i].Staged)
		if err := hook("stage", o.name); err != nil {
			return res, discard(err)
		}
		if err := atomicfile.WriteFile(sp, o.data, outPerm(o), atomicfile.Options{NoOverwrite: true}); err != nil {
			return res, discard(fmt.Errorf("bundle: staging %s: %w", sp, err))
		}
		data, err := os.ReadFile(sp)
		if err == nil {
			err = o.verify(data)
		}
		if err != nil {
			return res, discard(fmt.Errorf("bundle: the new %s does not read back correctly (served files untouched): %w", o.name, err))
		}
	}

	// Archive what will be replaced.
	if j.Archive != "" {
		ad := filepath.Join(dir, j.Archive)
		for _, f := range j.Files {
			if !f.Existed {
				continue
			}
			if err := hook("archive", f.Name); err != nil {
				return res, discard(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil {
				return res, discard(fmt.Errorf("bundle: reading %s to archive it: %w", f.Name, err))
			}
			ap := filepath.Join(ad, f.Name)
			if err := atomicfile.WriteFile(ap, data, f.Mode, atomicfile.Options{NoOverwrite: true}); err != nil {
				return res, discard(fmt.Errorf("bundle: archiving %s: %w", f.Name, err))
			}
			res.Archived = append(res.Archived, ap)
		}
		res.ArchiveDir = ad
	}

	// Swap: from here on a crash is rolled forward.
	j.Phase = phaseSwap
	if err := hook("journal-swap", ""); err != nil {
		return res, discard(err)
	}
	if err := writeJournal(dir, j, false); err != nil {
		return res, discard(err)
	}
	for _, o := range outs {
		if err := hook("swap", o.name); err != nil {
			return res, rollback(dir, j, err)
		}
		p := filepath.Join(dir, o.name)
		if err := atomicfile.WriteFile(p, o.data, outPerm(o), atomicfile.Options{}); err != nil {
			return res, rollback(dir, j, fmt.Errorf("bundle: replacing %s: %w", p, err))
		}
	}
	for _, o := range outs {
		p := filepath.Join(dir, o.name)
		if err := hook("verify", o.name); err != nil {
			return res, rollback(dir, j, err)
		}
		data, err := os.ReadFile(p)
		if err == nil {
			err = o.verify(data)
		}
		if err != nil {
			return res, rollback(dir, j, fmt.Errorf("bundle: %s was replaced but does not read back correctly: %w", p, err))
		}
		res.Written = append(res.Written, p)
	}
	if err := hook("finish", ""); errors.Is(err, errSimulatedCrash) {
		return res, err
	}
	if err := finishJournal(dir, j); err != nil {
		return res, fmt.Errorf("bundle: the new files are served, but cleaning up the journal failed (the next Replace finishes it): %w", err)
	}
	return res, nil
}

func outPerm(o output) fs.FileMode {
	if o.secret {
		return 0o600
	}
	return 0o644
}

// checkIssuerPresent refuses a bundle whose leaf's issuer is not in it.
func (b *Bundle) checkIssuerPresent() error {
	if len(b.Intermediates) > 0 || selfSigned(b.Leaf) {
		return nil // Check verified that Intermediates[0] issued the leaf
	}
	if b.Root != nil && bytes.Equal(b.Leaf.RawIssuer, b.Root.RawSubject) && b.Leaf.CheckSignatureFrom(b.Root) == nil {
		return nil
	}
	return fmt.Errorf("bundle: %w: %s was issued by %q, which the bundle does not hold; build the chain from the CA's answer (Complete, or chain.Build with the intermediates) before serving it, never with the chain served before",
		ErrIncompleteChain, describe(b.Leaf), b.Leaf.Issuer.String())
}

// issuerChange finds the previous leaf among the served certificates and
// compares its issuer with the new leaf's.
func (b *Bundle) issuerChange(existing []*x509.Certificate) (*x509.Certificate, *IssuerChange) {
	var prev *x509.Certificate
	for _, c := range existing {
		if !c.IsCA {
			prev = c
			break
		}
	}
	if prev == nil {
		return nil, nil
	}
	var oldInt *x509.Certificate
	for _, c := range existing {
		if c.IsCA && bytes.Equal(prev.RawIssuer, c.RawSubject) && prev.CheckSignatureFrom(c) == nil {
			oldInt = c
			break
		}
	}
	newInt := b.Root
	if len(b.Intermediates) > 0 {
		newInt = b.Intermediates[0]
	}
	changed := !bytes.Equal(prev.RawIssuer, b.Leaf.RawIssuer)
	if !changed && len(prev.AuthorityKeyId) > 0 && len(b.Leaf.AuthorityKeyId) > 0 {
		changed = !bytes.Equal(prev.AuthorityKeyId, b.Leaf.AuthorityKeyId)
	}
	if !changed && oldInt != nil && newInt != nil {
		// Same name and key identifier, but another certificate (a
		// re-issued intermediate): the served one must be replaced too.
		changed = !bytes.Equal(oldInt.Raw, newInt.Raw) && b.Leaf.CheckSignatureFrom(oldInt) != nil
	}
	if !changed {
		return prev, nil
	}
	return prev, &IssuerChange{Old: prev.Issuer.String(), New: b.Leaf.Issuer.String(), OldIntermediate: oldInt, NewIntermediate: newInt}
}

// maxStaleScan bounds the files staleFiles reads.
const maxStaleScan = 100

// staleFiles returns the files of dir, other than outs, that hold prev or,
// when the issuer changed, the certificate that issued prev.
func staleFiles(dir string, outs []output, prev *x509.Certificate, issuerChanged bool, password string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	skip := map[string]bool{}
	for _, o := range outs {
		skip[o.name] = true
	}
	var stale []string
	n := 0
	for _, e := range ents {
		if skip[e.Name()] || strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		if n++; n > maxStaleScan {
			break
		}
		p := filepath.Join(dir, e.Name())
		c, err := formats.ReadFile(p, &formats.ReadOptions{Password: password})
		if err != nil {
			continue
		}
		for _, cert := range c.Certificates {
			if cert.Equal(prev) || (issuerChanged && cert.IsCA && bytes.Equal(cert.RawSubject, prev.RawIssuer) && prev.CheckSignatureFrom(cert) == nil) {
				stale = append(stale, p)
				break
			}
		}
	}
	return stale
}

// newArchiveDir creates dir/archive/<id> (or <id>-2, ...) and returns it
// relative to dir.
func newArchiveDir(dir, id string) (string, error) {
	base := filepath.Join(dir, "archive")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("bundle: creating the archive folder: %w", err)
	}
	for n := 1; n <= 100; n++ {
		name := id
		if n > 1 {
			name = fmt.Sprintf("%s-%d", id, n)
		}
		err := os.Mkdir(filepath.Join(base, name), 0o700)
		if err == nil {
			if err := atomicfile.SyncDir(base); err != nil {
				return "", fmt.Errorf("bundle: %w", err)
			}
			return filepath.Join("archive", name), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("bundle: creating the archive folder: %w", err)
		}
	}
	return "", fmt.Errorf("bundle: 100 archive folders named %s already exist in %s", id, base)
}

func writeJournal(dir string, j *journal, create bool) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	p := filepath.Join(dir, journalName)
	if err := atomicfile.WriteFile(p, append(data, '\n'), 0o600, atomicfile.Options{NoOverwrite: create}); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return fmt.Errorf("bundle: %s exists: another Replace is running on this folder (or crashed just now); run again when it is done", p)
		}
		return fmt.Errorf("bundle: writing the journal %s: %w", p, err)
	}
	return nil
}

// finishJournal removes the staged files, then the journal.
func finishJournal(dir string, j *journal) error {
	for _, f := range j.Files {
		if err := os.Remove(filepath.Join(dir, f.Staged)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// rollback undoes a failed swap from the archive and returns cause, or
// cause with the rollback's own failure.
func rollback(dir string, j *journal, cause error) error {
	if errors.Is(cause, errSimulatedCrash) {
		return cause
	}
	j.Phase = phaseRollback
	if err := writeJournal(dir, j, false); err != nil {
		// The journal still says swap: the next Replace rolls forward,
		// which is as consistent as rolling back.
		return fmt.Errorf("%w; undoing it failed too (%v): run Replace or RecoverReplace on %s again to finish the replacement", cause, err, dir)
	}
	if err := restore(dir, j); err != nil {
		return fmt.Errorf("%w; restoring the previous files from %s failed too (%v): run RecoverReplace on %s again", cause, j.Archive, err, dir)
	}
	if err := finishJournal(dir, j); err != nil {
		return fmt.Errorf("%w; the previous files were restored, but removing the journal failed: %v", cause, err)
	}
	return fmt.Errorf("%w (the previous files were restored; copies stay in %s)", cause, filepath.Join(dir, j.Archive))
}

// restore puts the archived files back and removes the new ones that did
// not exist before.
func restore(dir string, j *journal) error {
	for _, f := range j.Files {
		p := filepath.Join(dir, f.Name)
		if !f.Existed {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, j.Archive, f.Name))
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(p, data, f.Mode, atomicfile.Options{}); err != nil {
			return err
		}
	}
	return atomicfile.SyncDir(dir)
}

// dropUnusedArchive removes the archive copies of a replacement that never
// began its renames: each copy equal to the file still served, then the
// folder when it is empty. Nothing is lost, the data is still served.
func dropUnusedArchive(dir string, j *journal) {
	if j.Archive == "" {
		return
	}
	ad := filepath.Join(dir, j.Archive)
	for _, f := range j.Files {
		if !f.Existed {
			continue
		}
		cp := filepath.Join(ad, f.Name)
		a, err1 := os.ReadFile(cp)
		s, err2 := os.ReadFile(filepath.Join(dir, f.Name))
		if err1 == nil && err2 == nil && bytes.Equal(a, s) {
			os.Remove(cp)
		}
	}
	if os.Remove(ad) == nil {
		atomicfile.SyncDir(filepath.Dir(ad))
	}
}

// rollForward serves every staged file.
func rollForward(dir string, j *journal) error {
	for _, f := range j.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Staged))
		if err != nil {
			return err
		}
		perm := fs.FileMode(0o644)
		if fi, err := os.Stat(filepath.Join(dir, f.Staged)); err == nil {
			perm = fi.Mode().Perm()
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.Name), data, perm, atomicfile.Options{}); err != nil {
			return err
		}
	}
	return nil
}

// RecoverReplace finishes a Replace on dir that a crash interrupted, as
// recorded by its journal: it discards the staged files when the served
// ones had not been touched yet, serves them all when the renames had
// begun, and restores the archived files when an undo had begun. It returns
// what it did, nothing when there was no journal. Replace calls it first;
// call it at start-up to repair a folder before a server reads it.
func RecoverReplace(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, journalName)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return recoverReplace(dir)
}

// recoverReplace is RecoverReplace with the folder's lock held.
func recoverReplace(dir string) ([]string, error) {
	p := filepath.Join(dir, journalName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bundle: reading the journal: %w", err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil || j.Version != 1 || !j.valid() {
		return nil, fmt.Errorf("bundle: the journal %s of an interrupted replacement is damaged; compare the served files with the newest folder in %s and remove the journal by hand", p, filepath.Join(dir, "archive"))
	}
	var did []string
	switch j.Phase {
	case phasePrepare:
		dropUnusedArchive(dir, &j)
		did = append(did, "discarded an interrupted replacement that had not touched the served files")
	case phaseSwap:
		if err := rollForward(dir, &j); err != nil {
			return nil, fmt.Errorf("bundle: finishing the interrupted replacement in %s: %w; the previous files are in %s", dir, err, filepath.Join(dir, j.Archive))
		}
		did = append(did, fmt.Sprintf("finished an interrupted replacement: served %s (the previous files are in %s)", j.names(), filepath.Join(dir, j.Archive)))
	case phaseRollback:
		if err := restore(dir, &j); err != nil {
			return nil, fmt.Errorf("bundle: undoing the interrupted replacement in %s: %w; the previous files are in %s", dir, err, filepath.Join(dir, j.Archive))
		}
		did = append(did, fmt.Sprintf("undid an interrupted replacement: restored %s from %s", j.names(), filepath.Join(dir, j.Archive)))
	}
	if err := finishJournal(dir, &j); err != nil {
		return did, fmt.Errorf("bundle: cleaning up the journal %s: %w", p, err)
	}
	return did, nil
}

// valid checks that the journal names only plain files in the folder.
func (j *journal) valid() bool {
	plain := func(n string) bool {
		return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, `/\`) && !strings.ContainsRune(n, 0)
	}
	switch j.Phase {
	case phasePrepare, phaseSwap, phaseRollback:
	default:
		return false
	}
	if j.Archive != "" {
		parts := strings.Split(filepath.ToSlash(j.Archive), "/")
		if len(parts) != 2 || parts[0] != "archive" || !plain(parts[1]) {
			return false
		}
	}
	for _, f := range j.Files {
		if !plain(f.Name) || !plain(f.Staged) || !strings.HasPrefix(f.Staged, stagePrefix) || (f.Existed && j.Archive == "") {
			return false
		}
	}
	return len(j.Files) > 0
}

func (j *journal) names() string {
	var n []string
	for _, f := range j.Files {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// ReplaceAndFinish serves the completed certificate with Replace and, only
// when every file was replaced and read back, archives the pending request
// (as WriteAndFinish does for a first certificate). On an error the
// pending request stays pending and the files served before are kept.
func (c *Completed) ReplaceAndFinish(ctx context.Context, dir string, server Server, opts *ReplaceOptions) (*Replaced, error) {
	res, err := c.Bundle.Replace(dir, server, opts)
	if err != nil {
		return res, err
	}
	c.written = append(c.written, res.Written...)
	return res, c.Finish(ctx)
}
