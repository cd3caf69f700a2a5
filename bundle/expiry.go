package bundle

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
)

// DefaultRenewBefore is the renewal window used when ExpiryOptions sets no
// rule: a certificate needs renewal once 30 days or less remain, the
// window the usual monitoring tools warn at.
const DefaultRenewBefore = 30 * 24 * time.Hour

// DefaultMaxFiles bounds how many files CheckExpiry reads when
// ExpiryOptions.MaxFiles is zero.
const DefaultMaxFiles = 10000

// ACMEFraction is the ExpiryOptions.Fraction of the ACME clients (certbot,
// lego, Caddy): renew when less than a third of the lifetime remains, that
// is after two thirds of it (day 60 of a 90-day certificate).
const ACMEFraction = 1.0 / 3

// ExpiryOptions says when a certificate needs renewal and how CheckExpiry
// reads files. The zero value (and a nil pointer) uses the clock, the
// DefaultRenewBefore window, no password, and skips archive folders.
type ExpiryOptions struct {
	// Now is the moment the certificates are judged at; zero means
	// time.Now(). Set it to make a report reproducible.
	Now time.Time
	// Before asks for renewal when Before or less of the validity
	// remains (30 * 24 * time.Hour: "within 30 days of expiry").
	Before time.Duration
	// Fraction asks for renewal when Fraction or less of the lifetime
	// (NotAfter - NotBefore) remains; ACMEFraction is what ACME clients
	// use. It must be between 0 and 1.
	//
	// When both Before and Fraction are zero, Before is
	// DefaultRenewBefore. When both are set, whichever asks first wins.
	// An expired certificate always needs renewal.
	Fraction float64
	// Password opens .pfx, .p12 and .jks files (CheckExpiry only); files it
	// does not open are skipped with a note.
	Password string
	// Read holds the formats bounds; its Password is replaced by Password.
	// Nil means the formats defaults.
	Read *formats.ReadOptions
	// IncludeArchives makes CheckExpiry walk into folders named "archive"
	// (where Replace and certbot keep the certificates they replaced) and
	// hidden folders. By default they are skipped with a note, because the
	// old certificates in them are expected to expire.
	IncludeArchives bool
	// MaxFiles bounds the number of files CheckExpiry reads; 0 means
	// DefaultMaxFiles.
	MaxFiles int
}

// Expiry is the renewal status of one certificate.
type Expiry struct {
	// Certificate is the certificate judged.
	Certificate *x509.Certificate
	// File is the first file the certificate was found in, Files all of
	// them (a leaf is in both cert.pem and fullchain.pem of an Apache
	// folder). Both are empty for ExpiryOf.
	File  string
	Files []string
	// Subject is the subject in RFC 2253 form, SANs the subject
	// alternative names as OpenSSL prints them ("DNS:www.example.com",
	// "IP Address:192.0.2.1", "email:...", "URI:...").
	Subject string
	SANs    []string
	// NotBefore and NotAfter are the certificate's validity; Lifetime is
	// their difference.
	NotBefore, NotAfter time.Time
	Lifetime            time.Duration
	// Remaining is NotAfter minus the judging time: negative once expired.
	Remaining time.Duration
	// DaysLeft is Remaining in whole days, rounded down: 0 on the last
	// day, -1 on the day after expiry.
	DaysLeft int
	// Expired and NotYetValid compare the judging time with the validity.
	Expired, NotYetValid bool
	// CA is set for a CA certificate, reported only when its file held no
	// end-entity certificate (a root or intermediate file).
	CA bool
	// RenewAt is when the rule starts asking for renewal: NotAfter minus
	// Before, or minus Fraction of Lifetime, the earlier of the two.
	RenewAt time.Time
	// NeedsRenewal is true from RenewAt on.
	NeedsRenewal bool
	// Reason says in words why the certificate does or does not need
	// renewal.
	Reason string
}

// ExpiryReport is what CheckExpiry found.
type ExpiryReport struct {
	// Certificates lists each certificate once, soonest expiry first.
	Certificates []*Expiry
	// Notes say which files and folders were skipped and why (a key file,
	// a request, a file in no certificate format, a .pfx without its
	// password, an archive folder).
	Notes []string
	// FilesRead counts the files read.
	FilesRead int
}

// Due returns the certificates that need renewal, soonest expiry first.
func (r *ExpiryReport) Due() []*Expiry {
	var out []*Expiry
	for _, e := range r.Certificates {
		if e.NeedsRenewal {
			out = append(out, e)
		}
	}
	return out
}

// rule is ExpiryOptions checked, with the defaults applied.
type rule struct {
	now      time.Time
	before   time.Duration
	fraction float64
}

func (o *ExpiryOptions) rule() (rule, error) {
	var r rule
	if o == nil {
		o = &ExpiryOptions{}
	}
	if o.Before < 0 {
		return r, fmt.Errorf("bundle: ExpiryOptions.Before is negative (%v); give the window before expiry, e.g. 30*24*time.Hour", o.Before)
	}
	if math.IsNaN(o.Fraction) || o.Fraction < 0 || o.Fraction > 1 {
		return r, fmt.Errorf("bundle: ExpiryOptions.Fraction %v is not between 0 and 1; ACME clients use 1/3 (renew when a third of the lifetime remains)", o.Fraction)
	}
	r.now, r.before, r.fraction = o.Now, o.Before, o.Fraction
	if r.now.IsZero() {
		r.now = time.Now()
	}
	if r.before == 0 && r.fraction == 0 {
		r.before = DefaultRenewBefore
	}
	return r, nil
}

// ExpiryOf judges one certificate by the rule in opts (nil means the zero
// ExpiryOptions). It reads no file; File and Files are left empty. An error
// means opts is invalid.
func ExpiryOf(cert *x509.Certificate, opts *ExpiryOptions) (*Expiry, error) {
	if cert == nil {
		return nil, errors.New("bundle: ExpiryOf needs a certificate")
	}
	r, err := opts.rule()
	if err != nil {
		return nil, err
	}
	return r.judge(cert), nil
}

func (r rule) judge(c *x509.Certificate) *Expiry {
	e := &Expiry{
		Certificate: c,
		Subject:     c.Subject.String(),
		SANs:        csr.FromCertificate(c).SANs(),
		NotBefore:   c.NotBefore,
		NotAfter:    c.NotAfter,
		Lifetime:    c.NotAfter.Sub(c.NotBefore),
		Remaining:   c.NotAfter.Sub(r.now),
		CA:          c.IsCA,
	}
	e.DaysLeft = int(math.Floor(e.Remaining.Hours() / 24))
	e.Expired = r.now.After(c.NotAfter)
	e.NotYetValid = r.now.Before(c.NotBefore)

	// The renewal moment of each rule; the earlier one wins.
	var at time.Time
	var why string
	if r.before > 0 {
		at = c.NotAfter.Add(-r.before)
		why = fmt.Sprintf("renew within %s of expiry", days(r.before))
	}
	if r.fraction > 0 && e.Lifetime > 0 {
		window := time.Duration(float64(e.Lifetime) * r.fraction)
		fat := c.NotAfter.Add(-window)
		if at.IsZero() || fat.Before(at) {
			at = fat
			why = fmt.Sprintf("renew when %s of the %s lifetime remains (%s)", fractionText(r.fraction), strings.TrimSuffix(strings.Replace(days(e.Lifetime), " ", "-", 1), "s"), days(window))
		}
	}
	if at.IsZero() { // a fraction rule on a certificate with no lifetime
		at = c.NotAfter
		why = "renew at expiry"
	}
	e.RenewAt = at
	e.NeedsRenewal = !r.now.Before(at) || e.Expired

	switch {
	case e.Expired:
		e.Reason = fmt.Sprintf("expired %s ago, on %s", days(-e.Remaining), c.NotAfter.UTC().Format(time.RFC3339))
	case e.NeedsRenewal:
		e.Reason = fmt.Sprintf("expires in %s, on %s: %s", days(e.Remaining), c.NotAfter.UTC().Format(time.RFC3339), why)
	default:
		e.Reason = fmt.Sprintf("expires in %s; renewal due from %s (%s)", days(e.Remaining), at.UTC().Format(time.RFC3339), why)
	}
	return e
}

// days writes a duration as days, with hours when under two days.
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	n := int(d.Hours() / 24)
	return fmt.Sprintf("%d days", n)
}

func fractionText(f float64) string {
	for den := 2; den <= 10; den++ {
		num := math.Round(f * float64(den))
		if num >= 1 && math.Abs(num/float64(den)-f) < 1e-9 {
			return fmt.Sprintf("%d/%d", int(num), den)
		}
	}
	return fmt.Sprintf("%.4g%%", f*100)
}

// CheckExpiry reads the named files, and every file under the named
// folders, with the formats package (PEM, DER, PKCS#7, PKCS#12 and JKS with
// ExpiryOptions.Password), and judges each certificate found by the rule in
// opts (nil means the zero ExpiryOptions).
//
// Each certificate is reported once, however many files hold it. In a file
// with an end-entity certificate (a fullchain.pem), only the end-entity
// certificates are reported: the intermediates beside it are renewed by
// their CA, not by the server's owner. A file holding only CA certificates
// (a root or an intermediate file) reports them, with Expiry.CA set.
//
// Files without certificates (a private key, a request, a configuration
// file, a .pfx whose password is wrong) are skipped with a note, as are
// folders named "archive" and hidden folders unless
// ExpiryOptions.IncludeArchives. Symbolic links to files are followed, links
// to folders are not. A named path that does not exist is an error; so is
// a walk over more than ExpiryOptions.MaxFiles files. ctx stops the walk.
//
// CheckExpiry does not check chains, trust, host names or revocation.
func CheckExpiry(ctx context.Context, paths []string, opts *ExpiryOptions) (*ExpiryReport, error) {
	r, err := opts.rule()
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &ExpiryOptions{}
	}
	if len(paths) == 0 {
		return nil, errors.New("bundle: CheckExpiry needs at least one file or folder")
	}
	var ro formats.ReadOptions
	if opts.Read != nil {
		ro = *opts.Read
	}
	ro.Password = opts.Password
	maxFiles := opts.MaxFiles
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}

	w := &expiryWalk{ctx: ctx, rule: r, read: &ro, max: maxFiles, archives: opts.IncludeArchives,
		report: &ExpiryReport{}, seen: map[[32]byte]*Expiry{}}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w (give a certificate file or a folder of them)", err)
		}
		if fi.IsDir() {
			err = w.walk(p)
		} else {
			err = w.file(p)
		}
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(w.report.Certificates, func(i, j int) bool {
		a, b := w.report.Certificates[i], w.report.Certificates[j]
		if !a.NotAfter.Equal(b.NotAfter) {
			return a.NotAfter.Before(b.NotAfter)
		}
		return a.File < b.File
	})
	return w.report, nil
}

type expiryWalk struct {
	ctx      context.Context
	rule     rule
	read     *formats.ReadOptions
	max      int
	archives bool
	report   *ExpiryReport
	seen     map[[32]byte]*Expiry
}

func (w *expiryWalk) note(format string, args ...any) {
	w.report.Notes = append(w.report.Notes, fmt.Sprintf(format, args...))
}

func (w *expiryWalk) walk(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := w.ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if p == root {
				return fmt.Errorf("bundle: %w", err)
			}
			w.note("%s: skipped: %v", p, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && !w.archives && (name == "archive" || strings.HasPrefix(name, ".")) {
				w.note("%s: folder skipped (archived or hidden certificates are expected to expire; set IncludeArchives to read it)", p)
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, atomicfile.TempPrefix) || strings.HasPrefix(name, stagePrefix) || name == journalName || name == lockName {
			return nil // a writer's temporary file or journal
		}
		if d.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			if err != nil {
				w.note("%s: skipped: broken symbolic link: %v", p, err)
				return nil
			}
			if fi.IsDir() {
				w.note("%s: skipped: symbolic link to a folder (not followed; name the folder itself)", p)
				return nil
			}
		} else if !d.Type().IsRegular() {
			w.note("%s: skipped: not a regular file", p)
			return nil
		}
		return w.file(p)
	})
}

func (w *expiryWalk) file(p string) error {
	if w.report.FilesRead >= w.max {
		return fmt.Errorf("bundle: more than %d files to read (ExpiryOptions.MaxFiles); name the folders that hold certificates, or raise the bound", w.max)
	}
	w.report.FilesRead++
	c, err := formats.ReadFile(p, w.read)
	if err != nil {
		switch {
		case errors.Is(err, formats.ErrIncorrectPassword):
			w.note("%s: skipped: the password does not open it (give the .pfx/.jks password)", p)
		default:
			w.note("%s: skipped: no certificate could be read (%v)", p, err)
		}
		return nil
	}
	if len(c.Certificates) == 0 {
		var what []string
		if len(c.Keys) > 0 {
			what = append(what, fmt.Sprintf("%d private key(s)", len(c.Keys)))
		}
		if len(c.CSRs) > 0 {
			what = append(what, fmt.Sprintf("%d certificate request(s)", len(c.CSRs)))
		}
		if len(what) == 0 {
			what = append(what, "nothing recognised")
		}
		w.note("%s: skipped: no certificate (%s)", p, strings.Join(what, ", "))
		return nil
	}
	var ends []*x509.Certificate
	for _, cert := range c.Certificates {
		if !cert.IsCA {
			ends = append(ends, cert)
		}
	}
	if len(ends) == 0 {
		ends = c.Certificates // a root or intermediate file
	}
	for _, cert := range ends {
		sum := sha256.Sum256(cert.Raw)
		if e, ok := w.seen[sum]; ok {
			e.Files = append(e.Files, p)
			continue
		}
		e := w.rule.judge(cert)
		e.File, e.Files = p, []string{p}
		w.seen[sum] = e
		w.report.Certificates = append(w.report.Certificates, e)
	}
	return nil
}
