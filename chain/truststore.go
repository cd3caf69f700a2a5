package chain

// Distributing a chain's anchor: exporting a private root for clients and
// installing it into, or removing it from, the trust stores that clients
// read (Microsoft Q216339: a root that is not from a public CA must be
// installed on every client that should trust the certificates it issues).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

var (
	// ErrNotCA reports a certificate that cannot be a trust anchor: it is
	// not a CA (no basic constraints with cA true) and not a version 1
	// self-signed certificate.
	ErrNotCA = errors.New("certificate is not a CA certificate")
	// ErrBadName reports an entry name a trust store cannot take safely:
	// empty, longer than 128 bytes, starting with '-' or '.', or holding
	// characters other than ASCII letters, digits, '.', '_' and '-'.
	ErrBadName = errors.New("invalid trust store entry name")
	// ErrNameInUse reports that the store already holds a different
	// certificate under the name given to Install.
	ErrNameInUse = errors.New("name already used by a different certificate")
	// ErrNotInStore reports that Remove found nothing to remove: no entry
	// holds the certificate, or no entry has the name.
	ErrNotInStore = errors.New("not in the trust store")
	// ErrUnsupported reports a trust store this platform or machine cannot
	// manage: no known update tool, or an operating system without an
	// implementation.
	ErrUnsupported = errors.New("trust store not supported here")
)

// A TrustStore is a set of trust anchors that clients on this machine
// read: the operating system's store, an NSS database, a Java key store.
//
// Windows and macOS stores have no implementation in this package, because
// they cannot be tested here. Their commands, run as an administrator, are:
//
//	Windows (machine store):  certutil -addstore -f Root root.cer
//	                          certutil -delstore Root "<serial number or CN>"
//	PowerShell:               Import-Certificate -FilePath root.cer -CertStoreLocation Cert:\LocalMachine\Root
//	Windows (current user):   certutil -user -addstore -f Root root.cer
//	macOS (system keychain):  security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain root.pem
//	                          security delete-certificate -c "<CN>" /Library/Keychains/System.keychain
//	                          (or: security remove-trusted-cert -d root.pem)
//
// Group Policy (Computer Configuration > Windows Settings > Security
// Settings > Public Key Policies > Trusted Root Certification Authorities)
// distributes a root to the machines of a domain.
//
// # Security
//
// A trusted root can vouch for any name: whoever holds its key can
// impersonate every site to the clients that trust it. Keep the root's key
// offline, and prefer a root with name constraints limited to the
// organisation's domains. Install and the Plan methods refuse certificates
// that are not CAs (ErrNotCA) and entry names that a tool could read as an
// option or a path (ErrBadName). Programs run without a shell, with the
// context, their arguments as a list and the certificate on standard
// input; the Java store password reaches keytool through the environment
// (keytool -storepass:env), never the command line or an error. Tool
// output is bounded (64 MiB, 10,000 entries, 16 MiB per bundle file read).
// Contains and Remove by certificate compare whole certificates (DER),
// never names alone.
type TrustStore interface {
	// Install adds cert as a trusted root under name (see DefaultName and
	// ErrBadName). Installing a certificate the store already trusts
	// succeeds without adding a second entry; a name that holds a
	// different certificate fails with ErrNameInUse.
	Install(ctx context.Context, cert *x509.Certificate, name string) error
	// Remove removes every entry that holds cert, or, when cert is nil,
	// the entry called name. It fails with ErrNotInStore when there is
	// nothing to remove.
	Remove(ctx context.Context, cert *x509.Certificate, name string) error
	// Contains reports whether the store holds cert as a trust anchor.
	Contains(ctx context.Context, cert *x509.Certificate) (bool, error)
}

// Compile-time checks that the stores implement TrustStore.
var (
	_ TrustStore = (*SystemStore)(nil)
	_ TrustStore = (*NSSStore)(nil)
	_ TrustStore = (*JavaStore)(nil)
)

// Action is what was asked of a trust store.
type Action string

// The actions InstallAll and RemoveAll report.
const (
	ActionInstall Action = "install"
	ActionRemove  Action = "remove"
)

// StoreResult is the outcome of one action on one store.
type StoreResult struct {
	// Store describes the store: its String method when it has one (as
	// the stores of this package do), else its Go type.
	Store string
	// Action is what was asked.
	Action Action
	// Err is nil when the action succeeded.
	Err error
}

// InstallAll installs cert under name into each store in turn and reports
// each outcome, in the order of stores. A store that fails does not stop
// the others.
func InstallAll(ctx context.Context, stores []TrustStore, cert *x509.Certificate, name string) []StoreResult {
	res := make([]StoreResult, 0, len(stores))
	for _, s := range stores {
		res = append(res, StoreResult{Store: storeLabel(s), Action: ActionInstall, Err: s.Install(ctx, cert, name)})
	}
	return res
}

// RemoveAll removes cert (or, when cert is nil, the entry called name)
// from each store in turn and reports each outcome, in the order of
// stores. A store that fails does not stop the others; ErrNotInStore is
// reported as an error like any other, so that callers decide whether
// "already absent" is a success.
func RemoveAll(ctx context.Context, stores []TrustStore, cert *x509.Certificate, name string) []StoreResult {
	res := make([]StoreResult, 0, len(stores))
	for _, s := range stores {
		res = append(res, StoreResult{Store: storeLabel(s), Action: ActionRemove, Err: s.Remove(ctx, cert, name)})
	}
	return res
}

func storeLabel(s TrustStore) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}

// CheckAnchor returns nil when cert can be installed as a trust anchor: a
// CA certificate (basic constraints with cA true), or a version 1
// self-signed certificate (old roots carry no extensions). Otherwise it
// returns an error wrapping ErrNotCA that names the certificate.
func CheckAnchor(cert *x509.Certificate) error {
	if cert == nil {
		return fmt.Errorf("chain: no certificate: %w", ErrNotCA)
	}
	if cert.BasicConstraintsValid && cert.IsCA {
		return nil
	}
	if cert.Version == 1 && bytes.Equal(cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(cert) == nil {
		return nil
	}
	return fmt.Errorf("chain: %q (issued by %q) is not a CA certificate, so clients would not accept it as a root: give the root CA certificate (self-signed, with basic constraints cA=true): %w",
		cert.Subject.String(), cert.Issuer.String(), ErrNotCA)
}

// IsSelfSigned reports whether cert's issuer is its own subject and its
// signature verifies with its own public key.
func IsSelfSigned(cert *x509.Certificate) bool {
	return cert != nil && bytes.Equal(cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(cert) == nil
}

// DefaultName returns the entry name used for cert when the caller gives
// none: the common name (or first organization) with characters other
// than letters, digits, '.', '_' and '-' replaced by '-', followed by '-'
// and the first 8 hex digits of the certificate's SHA-256 fingerprint, so
// that two roots with one name do not collide. For example
// "Example Root CA" gives "Example-Root-CA-1a2b3c4d".
func DefaultName(cert *x509.Certificate) string {
	base := cert.Subject.CommonName
	if base == "" && len(cert.Subject.Organization) > 0 {
		base = cert.Subject.Organization[0]
	}
	var b strings.Builder
	dash := true // drop leading separators
	for _, r := range base {
		if b.Len() >= 64 {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' && b.Len() > 0) {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-.")
	if s == "" {
		s = "root"
	}
	sum := sha256.Sum256(cert.Raw)
	return s + "-" + hex.EncodeToString(sum[:4])
}

// CheckName returns nil when name is usable as a file name, an NSS
// nickname and a Java alias without quoting or surprises, else an error
// wrapping ErrBadName saying why.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("chain: empty entry name: %w", ErrBadName)
	case len(name) > 128:
		return fmt.Errorf("chain: entry name of %d bytes (at most 128): %w", len(name), ErrBadName)
	case name[0] == '-' || name[0] == '.':
		return fmt.Errorf("chain: entry name %q starts with %q, which tools would read as an option or a hidden file: %w", name, name[:1], ErrBadName)
	}
	for _, r := range name {
		if !(r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')) {
			return fmt.Errorf("chain: entry name %q holds %q; use ASCII letters, digits, '.', '_' and '-' (chain.DefaultName makes one): %w", name, r, ErrBadName)
		}
	}
	return nil
}

func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

func describeAnchor(cert *x509.Certificate) string {
	return fmt.Sprintf("%q (SHA-256 %s)", cert.Subject.String(), fingerprint(cert))
}

// ExportOptions controls ExportRoot. The zero value writes the Java trust
// store with the password "changeit" and the AES-256/PBKDF2 profile, and
// refuses to replace existing files.
type ExportOptions struct {
	// Password protects the PKCS#12 trust store; "" means "changeit", the
	// password Java's own cacerts uses (a trust store holds no secret, the
	// password only guards its integrity).
	Password string
	// Legacy writes the trust store with 3DES and SHA-1 (go-pkcs12
	// LegacyDES) for Java 8 before update 301, which cannot read the
	// default AES-256/PBKDF2/SHA-256 profile.
	Legacy bool
	// Overwrite replaces existing files. Without it, ExportRoot fails with
	// atomicfile.ErrExists (wrapped) and leaves every file as it was.
	Overwrite bool
	// Rand is the source of the PKCS#12 salts; nil means crypto/rand.
	Rand io.Reader
}

// ExportedRoot names the files ExportRoot wrote.
type ExportedRoot struct {
	// PEM is <name>.pem: the certificate in PEM, for Linux, NSS, OpenSSL
	// and most servers.
	PEM string
	// DER is <name>.cer: the certificate in DER, which Windows opens and
	// imports with a double click, certutil -addstore and Group Policy.
	DER string
	// TrustStore is <name>-truststore.p12: a PKCS#12 trust store holding
	// only the certificate, marked trusted for Java (keytool lists it as a
	// trustedCertEntry with the alias name), for -Djavax.net.ssl.trustStore.
	TrustStore string
}

// ExportRoot writes root for clients into the folder dir as <name>.pem,
// <name>.cer (DER) and <name>-truststore.p12 (a Java trust store whose
// alias is name), each atomically with mode 0644. The folder must exist.
// An empty name means DefaultName(root). root must pass CheckAnchor.
//
// Each file is written atomically; the set is not: when a later file
// fails, the files this call created are removed again, but files it
// replaced (with Overwrite) stay replaced.
func ExportRoot(dir, name string, root *x509.Certificate, opts *ExportOptions) (*ExportedRoot, error) {
	if err := CheckAnchor(root); err != nil {
		return nil, err
	}
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	if name == "" {
		name = DefaultName(root)
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("chain: exporting the root: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("chain: exporting the root: %s is not a folder", dir)
	}
	p12, err := EncodeJavaTrustStore(root, name, o.Password, o.Legacy, o.Rand)
	if err != nil {
		return nil, err
	}
	out := &ExportedRoot{
		PEM:        filepath.Join(dir, name+".pem"),
		DER:        filepath.Join(dir, name+".cer"),
		TrustStore: filepath.Join(dir, name+"-truststore.p12"),
	}
	files := []struct {
		path string
		data []byte
	}{
		{out.PEM, formats.EncodeCertificatesPEM(root)},
		{out.DER, root.Raw},
		{out.TrustStore, p12},
	}
	var created []string
	for _, f := range files {
		if err := atomicfile.WriteFile(f.path, f.data, 0o644, atomicfile.Options{NoOverwrite: !o.Overwrite}); err != nil {
			if !o.Overwrite {
				for _, c := range created {
					os.Remove(c)
				}
			}
			if errors.Is(err, atomicfile.ErrExists) {
				return nil, fmt.Errorf("chain: exporting the root: %w (remove it, choose another name, or set Overwrite)", err)
			}
			return nil, fmt.Errorf("chain: exporting the root: %w", err)
		}
		created = append(created, f.path)
	}
	return out, nil
}

// EncodeJavaTrustStore returns a PKCS#12 trust store holding only cert,
// with the friendly name alias and Java's trusted-certificate attribute
// (OID 2.16.840.1.113894.746875.1.1), which keytool lists as a
// trustedCertEntry. An empty password means "changeit". legacy selects
// 3DES/SHA-1 for Java 8 before update 301, else AES-256/PBKDF2/SHA-256.
// A nil rand means crypto/rand.
func EncodeJavaTrustStore(cert *x509.Certificate, alias, password string, legacy bool, rnd io.Reader) ([]byte, error) {
	if password == "" {
		password = pkcs12.DefaultPassword
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	enc := pkcs12.Modern2023
	if legacy {
		enc = pkcs12.LegacyDES
	}
	out, err := enc.WithRand(rnd).EncodeTrustStoreEntries([]pkcs12.TrustStoreEntry{{Cert: cert, FriendlyName: alias}}, password)
	if err != nil {
		return nil, fmt.Errorf("chain: encoding the Java trust store: %w", err)
	}
	return out, nil
}

// Command is an external program a trust store runs, with its arguments
// as a list (never through a shell).
type Command struct {
	// Path is the program, found in PATH when it has no slash.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Env holds NAME=VALUE pairs added to the environment, used to pass
	// passwords without putting them on the command line.
	Env []string
	// Stdin is fed to the program's standard input; StdinName names it
	// in String (a file holding the same bytes).
	Stdin     []byte
	StdinName string
}

// String renders the command for a person to read or paste into a POSIX
// shell: arguments quoted where needed, values of Env hidden, and the
// standard input as a redirection from StdinName.
func (c Command) String() string {
	var parts []string
	for _, e := range c.Env {
		k, _, _ := strings.Cut(e, "=")
		parts = append(parts, k+"=(hidden)")
	}
	parts = append(parts, shellQuote(c.Path))
	for _, a := range c.Args {
		parts = append(parts, shellQuote(a))
	}
	if c.StdinName != "" {
		parts = append(parts, "<", shellQuote(c.StdinName))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CommandError is a program a trust store ran that failed: not found,
// killed by the context, or exiting with a non-zero status. It unwraps to
// the cause (exec.ErrNotFound, context.Canceled, an *exec.ExitError).
type CommandError struct {
	// Command is the command as Command.String renders it (no secrets).
	Command string
	// Stderr is the start of what the program wrote to standard error,
	// or when that is empty the end of its standard output (keytool
	// writes its errors there), with white space collapsed.
	Stderr string
	// Hint says what to do, when the cause is a known one.
	Hint string
	// Err is the cause: an *exec.ExitError, exec.ErrNotFound, or the
	// context's error.
	Err error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chain: %s: %v", e.Command, e.Err)
	if e.Stderr != "" {
		fmt.Fprintf(&b, ": %s", e.Stderr)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *CommandError) Unwrap() error { return e.Err }

// Bounds on what a tool's output may hold.
const (
	maxToolOutput = 64 << 20 // a listing of a large key store
	maxToolStderr = 4 << 10  // kept for error messages
	maxEntries    = 10000    // entries of a store examined one by one
	maxAnchorFile = 16 << 20 // a bundle or anchor file read by Contains
)

// cappedBuffer keeps the first max bytes written and counts the rest.
type cappedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room < 0 {
		room = 0
	}
	if len(p) > room {
		c.buf.Write(p[:room])
		c.dropped += len(p) - room
	} else {
		c.buf.Write(p)
	}
	return len(p), nil
}

// runTool runs c and returns its standard output. A failure is a
// *CommandError with the program's standard error and hint.
func runTool(ctx context.Context, c Command, hint string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	stdout := &cappedBuffer{max: maxToolOutput}
	stderr := &cappedBuffer{max: maxToolStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if err == nil && stdout.dropped > 0 {
		err = fmt.Errorf("output larger than %d bytes", maxToolOutput)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
			hint = ""
		}
		msg := stderr.buf.String()
		if strings.TrimSpace(msg) == "" {
			msg = stdout.buf.String()
			if len(msg) > maxToolStderr {
				msg = msg[len(msg)-maxToolStderr:]
			}
		}
		return stdout.buf.Bytes(), &CommandError{
			Command: c.String(),
			Stderr:  strings.Join(strings.Fields(msg), " "),
			Hint:    hint,
			Err:     err,
		}
	}
	return stdout.buf.Bytes(), nil
}

// pemCertificates returns the certificates of the PEM blocks in data,
// skipping anything else, at most maxEntries.
func pemCertificates(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for len(out) < maxEntries {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" && b.Type != "TRUSTED CERTIFICATE" {
			continue
		}
		// A TRUSTED CERTIFICATE block has OpenSSL trust settings after the
		// certificate; ParseCertificate wants the certificate alone.
		der := b.Bytes
		if b.Type == "TRUSTED CERTIFICATE" {
			if c, err := x509.ParseCertificate(der); err == nil {
				out = append(out, c)
				continue
			}
			if n, err := derLength(der); err == nil {
				der = der[:n]
			}
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// derLength returns the length of the DER element at the start of b.
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errors.New("short")
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return 0, errors.New("bad length")
		}
		l = 0
		for _, x := range b[2 : 2+n] {
			l = l<<8 | int(x)
		}
		hdr += n
	}
	if hdr+l > len(b) {
		return 0, errors.New("truncated")
	}
	return hdr + l, nil
}

func holds(certs []*x509.Certificate, cert *x509.Certificate) bool {
	for _, c := range certs {
		if bytes.Equal(c.Raw, cert.Raw) {
			return true
		}
	}
	return false
}

// A Planner describes, without reading or changing anything, what Install
// or Remove would do: the files written or removed and the commands run,
// one step per line, for a dry run. Install and Remove may skip steps
// already done.
type Planner interface {
	Plan(action Action, cert *x509.Certificate, name string) ([]string, error)
}

// Compile-time checks that the stores implement Planner.
var (
	_ Planner = (*SystemStore)(nil)
	_ Planner = (*NSSStore)(nil)
	_ Planner = (*JavaStore)(nil)
)

// SystemFlavor names the trust store layout and update tool of a Linux
// distribution family.
type SystemFlavor string

// The system store flavors.
const (
	// FlavorDebian is Debian, Ubuntu and derivatives: certificates in
	// /usr/local/share/ca-certificates/NAME.crt, then
	// update-ca-certificates (package ca-certificates) rebuilds
	// /etc/ssl/certs/ca-certificates.crt and runs its hooks (Java's
	// cacerts among them).
	FlavorDebian SystemFlavor = "debian"
	// FlavorRedHat is RHEL, Fedora, CentOS, Rocky, Alma, Amazon Linux
	// (and SUSE's compatible layout is not covered): certificates in
	// /etc/pki/ca-trust/source/anchors/NAME.crt, then
	// update-ca-trust extract rebuilds
	// /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem and the Java and
	// OpenSSL files beside it.
	FlavorRedHat SystemFlavor = "redhat"
)

// SystemStore is the operating system's trust store, which OpenSSL,
// GnuTLS, curl, Go programs, Python and (on Debian) Java read: a PEM file
// is copied into the distribution's folder for local anchors and the
// distribution's tool rebuilds the bundle. Installing needs root.
//
// The zero value detects the flavor by the tool found (in PATH, /usr/sbin
// or /sbin) and uses the distribution's own paths. Every path and the
// command can be changed, so that a test or an image build works on a
// folder tree instead of the running system; Debian's
// update-ca-certificates is then given the folders with its --certsdir,
// --localcertsdir, --etccertsdir, --certsconf and --hooksdir options.
// Red Hat's update-ca-trust has no such options: paths other than the
// defaults need a Command of the caller's that honours them.
//
// Implemented on Linux only; on other systems every method fails with
// ErrUnsupported (see TrustStore for the Windows and macOS commands).
type SystemStore struct {
	// Flavor selects the layout and tool; "" detects it.
	Flavor SystemFlavor
	// Root prefixes every default path below (like DESTDIR); "" means /.
	Root string
	// Command is the update tool; "" means update-ca-certificates
	// (Debian) or update-ca-trust (Red Hat), found in PATH, /usr/sbin or
	// /sbin.
	Command string
	// AnchorDir is where Install writes NAME.crt: Debian
	// /usr/local/share/ca-certificates, Red Hat
	// /etc/pki/ca-trust/source/anchors.
	AnchorDir string
	// BundleFile is the bundle the tool writes and Contains reads:
	// Debian EtcCertsDir/ca-certificates.crt, Red Hat
	// /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem.
	BundleFile string
	// CertsDir, CertsConf, EtcCertsDir and HooksDir are Debian's
	// /usr/share/ca-certificates, /etc/ca-certificates.conf,
	// /etc/ssl/certs and /etc/ca-certificates/update.d.
	CertsDir, CertsConf, EtcCertsDir, HooksDir string
}

// NSSStore is an NSS certificate database (cert9.db, "sql:" format), as
// Chrome and Chromium on Linux read from ~/.pki/nssdb and Firefox from its
// profile folder, managed with certutil from NSS (Debian package
// libnss3-tools). Firefox also reads the system store when its
// security.enterprise_roots.enabled setting is on.
//
// certutil prints a certificate by nickname only, so finding a certificate
// (Contains, Install's name check, Remove by certificate) runs certutil once
// for the listing and once per entry.
//
// The zero value manages the current user's ~/.pki/nssdb with "certutil"
// from PATH. The database must exist: create one with
// certutil -N -d sql:DIR --empty-password.
type NSSStore struct {
	// Dir is the database folder (holding cert9.db); "" means
	// $HOME/.pki/nssdb.
	Dir string
	// Certutil is the NSS certutil program; "" means "certutil" from PATH.
	// On Windows it must be set: Windows' own certutil.exe is a different
	// program.
	Certutil string
}

func (s *NSSStore) dir() (string, error) {
	if s.Dir != "" {
		return s.Dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("chain: NSS store: no Dir given and no home folder: %w", err)
	}
	return filepath.Join(home, ".pki", "nssdb"), nil
}

func (s *NSSStore) tool() (string, error) {
	if s.Certutil != "" {
		return s.Certutil, nil
	}
	if runtime.GOOS == "windows" {
		return "", fmt.Errorf("chain: NSS store: set NSSStore.Certutil to the NSS certutil program (Windows' certutil.exe is a different program): %w", ErrUnsupported)
	}
	return "certutil", nil
}

// String returns "nss sql:DIR".
func (s *NSSStore) String() string {
	d, err := s.dir()
	if err != nil {
		d = "~/.pki/nssdb"
	}
	return "nss sql:" + d
}

const nssHint = "install NSS certutil: Debian/Ubuntu package libnss3-tools, RHEL/Fedora nss-tools"

func (s *NSSStore) command(args ...string) (Command, error) {
	dir, err := s.dir()
	if err != nil {
		return Command{}, err
	}
	tool, err := s.tool()
	if err != nil {
		return Command{}, err
	}
	return Command{Path: tool, Args: append([]string{"-d", "sql:" + dir}, args...)}, nil
}

// InstallCommand returns the command Install runs for cert under name,
// with the certificate in PEM on standard input.
func (s *NSSStore) InstallCommand(cert *x509.Certificate, name string) (Command, error) {
	c, err := s.command("-A", "-t", "C,,", "-n", name, "-a")
	c.Stdin, c.StdinName = formats.EncodeCertificatesPEM(cert), name+".pem"
	return c, err
}

// RemoveCommand returns the command that deletes the entry nickname.
func (s *NSSStore) RemoveCommand(nickname string) (Command, error) {
	return s.command("-D", "-n", nickname)
}

type nssEntry struct {
	nickname string
	trust    string // "C,," etc.
}

// entries lists the database with certutil -L.
func (s *NSSStore) entries(ctx context.Context) ([]nssEntry, error) {
	c, err := s.command("-L")
	if err != nil {
		return nil, err
	}
	out, err := runTool(ctx, c, nssHint)
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && strings.Contains(ce.Stderr, "SEC_ERROR_BAD_DATABASE") {
			ce.Hint = "no NSS database there: create one with certutil -N -d sql:DIR --empty-password, or give the folder holding cert9.db"
		}
		return nil, err
	}
	es, err := parseNSSList(out)
	if err != nil {
		return nil, fmt.Errorf("chain: %s: %w", s, err)
	}
	return es, nil
}

// parseNSSList reads the output of certutil -L: a header line, a line of
// trust column names, a blank line, then "nickname<spaces>trust" per
// certificate. Lines of another shape are skipped.
func parseNSSList(out []byte) ([]nssEntry, error) {
	var es []nssEntry
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, " \r\t")
		if l == "" || strings.HasPrefix(l, "Certificate Nickname") || strings.HasPrefix(l, " ") {
			continue
		}
		i := strings.LastIndexAny(l, " \t")
		if i < 0 {
			continue
		}
		trust := l[i+1:]
		nick := strings.TrimSpace(l[:i])
		if strings.Count(trust, ",") != 2 || nick == "" || strings.ContainsFunc(nick, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			continue
		}
		if len(es) == maxEntries {
			return nil, fmt.Errorf("more than %d certificates", maxEntries)
		}
		es = append(es, nssEntry{nickname: nick, trust: trust})
	}
	return es, nil
}

// certsOfNickname returns the certificates stored under nickname.
func (s *NSSStore) certsOfNickname(ctx context.Context, nickname string) ([]*x509.Certificate, error) {
	c, err := s.command("-L", "-n", nickname, "-a")
	if err != nil {
		return nil, err
	}
	out, err := runTool(ctx, c, nssHint)
	if err != nil {
		return nil, err
	}
	return pemCertificates(out), nil
}

// find returns the entries holding cert.
func (s *NSSStore) find(ctx context.Context, cert *x509.Certificate) ([]nssEntry, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return nil, err
	}
	var found []nssEntry
	for _, e := range es {
		cs, err := s.certsOfNickname(ctx, e.nickname)
		if err != nil {
			return nil, err
		}
		if holds(cs, cert) {
			found = append(found, e)
		}
	}
	return found, nil
}

// Install adds cert to the database as trusted to issue server
// certificates (trust "C,,"), under the nickname name. When the database
// already holds the certificate, NSS keeps its existing nickname and only
// the trust is set.
func (s *NSSStore) Install(ctx context.Context, cert *x509.Certificate, name string) error {
	if err := CheckAnchor(cert); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	es, err := s.entries(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.nickname != name {
			continue
		}
		cs, err := s.certsOfNickname(ctx, name)
		if err != nil {
			return err
		}
		if !holds(cs, cert) {
			return fmt.Errorf("chain: %s: nickname %q holds %s, not %s: %w (remove it first or choose another name)",
				s, name, describeCerts(cs), describeAnchor(cert), ErrNameInUse)
		}
	}
	c, err := s.InstallCommand(cert, name)
	if err != nil {
		return err
	}
	_, err = runTool(ctx, c, nssHint)
	return err
}

// Remove deletes every entry holding cert, or, when cert is nil, the
// entry with the nickname name, unless that is a certificate with a
// private key (trust flag u), which is refused.
func (s *NSSStore) Remove(ctx context.Context, cert *x509.Certificate, name string) error {
	var nicks []string
	if cert != nil {
		found, err := s.find(ctx, cert)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("chain: %s holds no entry with %s: %w", s, describeAnchor(cert), ErrNotInStore)
		}
		for _, e := range found {
			nicks = append(nicks, e.nickname)
		}
	} else {
		if err := CheckName(name); err != nil {
			return err
		}
		es, err := s.entries(ctx)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.nickname == name {
				if strings.Contains(e.trust, "u") {
					return fmt.Errorf("chain: %s: nickname %q is a certificate with its private key (trust %q), not a root; it is not removed", s, name, e.trust)
				}
				nicks = append(nicks, name)
				break
			}
		}
		if len(nicks) == 0 {
			return fmt.Errorf("chain: %s has no nickname %q: %w", s, name, ErrNotInStore)
		}
	}
	for _, n := range nicks {
		c, err := s.RemoveCommand(n)
		if err != nil {
			return err
		}
		if _, err := runTool(ctx, c, nssHint); err != nil {
			return err
		}
	}
	if cert != nil {
		// certutil deletes by nickname; make sure the certificate itself
		// is gone (a nickname holds the certificates of one subject).
		if left, err := s.find(ctx, cert); err != nil {
			return err
		} else if len(left) > 0 {
			return fmt.Errorf("chain: %s still holds %s under %q after deleting it", s, describeAnchor(cert), left[0].nickname)
		}
	}
	return nil
}

// Contains reports whether the database holds cert with the trust flag C
// (trusted to issue server certificates).
func (s *NSSStore) Contains(ctx context.Context, cert *x509.Certificate) (bool, error) {
	found, err := s.find(ctx, cert)
	if err != nil {
		return false, err
	}
	for _, e := range found {
		ssl, _, _ := strings.Cut(e.trust, ",")
		if strings.Contains(ssl, "C") {
			return true, nil
		}
	}
	return false, nil
}

func describeCerts(cs []*x509.Certificate) string {
	if len(cs) == 0 {
		return "no readable certificate"
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, describeAnchor(c))
	}
	return strings.Join(parts, ", ")
}

// JavaStore is a Java key store (PKCS#12 or JKS) managed with keytool:
// the JDK's cacerts, which every Java program trusts by default, or a trust
// store given to a program with -Djavax.net.ssl.trustStore.
//
// On Debian and Ubuntu the JDK's cacerts is /etc/ssl/certs/java/cacerts,
// which the ca-certificates-java hook of update-ca-certificates rebuilds
// from the system store: a root installed into the system store reaches
// Java there too, and one installed only with keytool is kept.
//
// The zero value manages the cacerts of the JDK that "keytool" in PATH
// belongs to, with the password "changeit".
type JavaStore struct {
	// Keystore is the key store file; "" means lib/security/cacerts of the
	// JDK holding Keytool (symbolic links resolved). A file that does not
	// exist is created by Install as PKCS#12.
	Keystore string
	// StorePass is the key store password; "" means "changeit". It is
	// passed to keytool in the environment, never on the command line.
	StorePass string
	// Keytool is the keytool program; "" means "keytool" from PATH.
	Keytool string
}

const (
	javaHint       = "install a Java runtime: Debian/Ubuntu package default-jre-headless, RHEL/Fedora java-17-openjdk-headless"
	javaPassEnvVar = "CERTWRIGHT_KEYTOOL_STOREPASS"
)

func (s *JavaStore) tool() string {
	if s.Keytool != "" {
		return s.Keytool
	}
	return "keytool"
}

func (s *JavaStore) keystore() (string, error) {
	if s.Keystore != "" {
		return s.Keystore, nil
	}
	p, err := exec.LookPath(s.tool())
	if err != nil {
		return "", &CommandError{Command: s.tool(), Err: err, Hint: javaHint}
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	// <jdk>/bin/keytool -> <jdk>/lib/security/cacerts (Java 9+), or
	// <jdk>/jre/lib/security/cacerts (Java 8 JDK).
	jdk := filepath.Dir(filepath.Dir(p))
	for _, c := range []string{
		filepath.Join(jdk, "lib", "security", "cacerts"),
		filepath.Join(jdk, "jre", "lib", "security", "cacerts"),
	} {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("chain: Java store: no cacerts beside %s (looked in %s/lib/security and %s/jre/lib/security); set JavaStore.Keystore", p, jdk, jdk)
}

// String returns "java FILE".
func (s *JavaStore) String() string {
	ks, err := s.keystore()
	if err != nil {
		ks = "cacerts"
	}
	return "java " + ks
}

func (s *JavaStore) command(args ...string) (Command, error) {
	ks, err := s.keystore()
	if err != nil {
		return Command{}, err
	}
	pass := s.StorePass
	if pass == "" {
		pass = pkcs12.DefaultPassword
	}
	// English messages whatever the locale, so that listings parse.
	a := append([]string{"-J-Duser.language=en", "-J-Duser.country=US"}, args...)
	a = append(a, "-keystore", ks, "-storepass:env", javaPassEnvVar)
	return Command{Path: s.tool(), Args: a, Env: []string{javaPassEnvVar + "=" + pass}}, nil
}

// runKeytool runs c and names a wrong store password as such.
func runKeytool(ctx context.Context, c Command) ([]byte, error) {
	out, err := runTool(ctx, c, javaHint)
	var ce *CommandError
	if errors.As(err, &ce) && (strings.Contains(ce.Stderr, "password was incorrect") || strings.Contains(ce.Stderr, "Integrity check failed")) {
		ce.Hint = "wrong key store password: set the store password (Java's cacerts uses changeit)"
	}
	return out, err
}

// InstallCommand returns the command Install runs for cert under name,
// with the certificate in PEM on standard input.
func (s *JavaStore) InstallCommand(cert *x509.Certificate, name string) (Command, error) {
	c, err := s.command("-importcert", "-noprompt", "-trustcacerts", "-alias", name)
	c.Stdin, c.StdinName = formats.EncodeCertificatesPEM(cert), name+".pem"
	return c, err
}

// RemoveCommand returns the command that deletes the entry alias.
func (s *JavaStore) RemoveCommand(alias string) (Command, error) {
	return s.command("-delete", "-alias", alias)
}

type javaEntry struct {
	alias   string
	trusted bool // trustedCertEntry
	certs   []*x509.Certificate
}

// entries lists the key store with keytool -list -rfc.
func (s *JavaStore) entries(ctx context.Context) ([]javaEntry, error) {
	ks, err := s.keystore()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(ks); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // Install creates it
	}
	c, err := s.command("-list", "-rfc")
	if err != nil {
		return nil, err
	}
	out, err := runKeytool(ctx, c)
	if err != nil {
		return nil, err
	}
	es, err := parseKeytoolList(out)
	if err != nil {
		return nil, fmt.Errorf("chain: %s: %w", s, err)
	}
	return es, nil
}

// parseKeytoolList reads the output of keytool -list -rfc in English:
// per entry "Alias name: A", "Entry type: T" and the entry's certificates
// in PEM.
func parseKeytoolList(out []byte) ([]javaEntry, error) {
	var es []javaEntry
	var pemText strings.Builder
	flush := func() {
		if len(es) > 0 && pemText.Len() > 0 {
			es[len(es)-1].certs = append(es[len(es)-1].certs, pemCertificates([]byte(pemText.String()))...)
		}
		pemText.Reset()
	}
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.HasPrefix(l, "Alias name: "):
			flush()
			if len(es) == maxEntries {
				return nil, fmt.Errorf("more than %d entries", maxEntries)
			}
			es = append(es, javaEntry{alias: strings.TrimPrefix(l, "Alias name: ")})
		case strings.HasPrefix(l, "Entry type: ") && len(es) > 0:
			es[len(es)-1].trusted = strings.TrimPrefix(l, "Entry type: ") == "trustedCertEntry"
		case len(es) > 0:
			pemText.WriteString(l)
			pemText.WriteByte('\n')
		}
	}
	flush()
	return es, nil
}

// Install imports cert under the alias name as a trusted certificate
// entry (keytool -importcert -trustcacerts). A key store that already
// trusts the certificate, under any alias, is left as it is.
func (s *JavaStore) Install(ctx context.Context, cert *x509.Certificate, name string) error {
	if err := CheckAnchor(cert); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	es, err := s.entries(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.trusted && holds(e.certs, cert) {
			return nil
		}
	}
	for _, e := range es {
		// Java aliases are case-insensitive in JKS and PKCS#12 stores.
		if strings.EqualFold(e.alias, name) {
			return fmt.Errorf("chain: %s: alias %q holds %s, not %s: %w (remove it first or choose another name)",
				s, e.alias, describeCerts(e.certs), describeAnchor(cert), ErrNameInUse)
		}
	}
	c, err := s.InstallCommand(cert, name)
	if err != nil {
		return err
	}
	_, err = runKeytool(ctx, c)
	return err
}

// Remove deletes every trusted certificate entry holding cert, or, when
// cert is nil, the trusted certificate entry with the alias name. Private
// key entries are never removed.
func (s *JavaStore) Remove(ctx context.Context, cert *x509.Certificate, name string) error {
	if cert == nil {
		if err := CheckName(name); err != nil {
			return err
		}
	}
	es, err := s.entries(ctx)
	if err != nil {
		return err
	}
	var aliases []string
	for _, e := range es {
		if cert != nil && e.trusted && holds(e.certs, cert) {
			aliases = append(aliases, e.alias)
		}
		if cert == nil && strings.EqualFold(e.alias, name) {
			if !e.trusted {
				return fmt.Errorf("chain: %s: alias %q is a private key entry, not a trusted certificate; it is not removed (use keytool -delete to remove a key)", s, e.alias)
			}
			aliases = append(aliases, e.alias)
		}
	}
	if len(aliases) == 0 {
		if cert != nil {
			return fmt.Errorf("chain: %s holds no trusted entry with %s: %w", s, describeAnchor(cert), ErrNotInStore)
		}
		return fmt.Errorf("chain: %s has no alias %q: %w", s, name, ErrNotInStore)
	}
	for _, a := range aliases {
		c, err := s.RemoveCommand(a)
		if err != nil {
			return err
		}
		if _, err := runKeytool(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Contains reports whether the key store holds cert as a trusted
// certificate entry.
func (s *JavaStore) Contains(ctx context.Context, cert *x509.Certificate) (bool, error) {
	es, err := s.entries(ctx)
	if err != nil {
		return false, err
	}
	for _, e := range es {
		if e.trusted && holds(e.certs, cert) {
			return true, nil
		}
	}
	return false, nil
}

// Plan lists the commands Install or Remove would run, without running
// any. A removal by certificate lists the database first, then deletes
// each nickname holding the certificate.
func (s *NSSStore) Plan(action Action, cert *x509.Certificate, name string) ([]string, error) {
	return planTool(action, cert, name, s.InstallCommand, s.RemoveCommand, func() (Command, error) { return s.command("-L") }, "nickname")
}

// Plan lists the commands Install or Remove would run, without running
// any. Each first lists the key store, to find the entries holding the
// certificate.
func (s *JavaStore) Plan(action Action, cert *x509.Certificate, name string) ([]string, error) {
	return planTool(action, cert, name, s.InstallCommand, s.RemoveCommand, func() (Command, error) { return s.command("-list", "-rfc") }, "alias")
}

func planTool(action Action, cert *x509.Certificate, name string,
	install func(*x509.Certificate, string) (Command, error), remove func(string) (Command, error),
	list func() (Command, error), what string) ([]string, error) {
	lc, err := list()
	if err != nil {
		return nil, err
	}
	switch action {
	case ActionInstall:
		if err := CheckAnchor(cert); err != nil {
			return nil, err
		}
		if err := CheckName(name); err != nil {
			return nil, err
		}
		ic, err := install(cert, name)
		if err != nil {
			return nil, err
		}
		return []string{lc.String(), ic.String()}, nil
	case ActionRemove:
		target := name
		if cert != nil {
			target = "<each " + what + " holding SHA-256 " + fingerprint(cert) + ">"
		} else if err := CheckName(name); err != nil {
			return nil, err
		}
		rc, err := remove(target)
		if err != nil {
			return nil, err
		}
		return []string{lc.String(), rc.String()}, nil
	}
	return nil, fmt.Errorf("chain: unknown action %q", action)
}
