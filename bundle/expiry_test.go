package bundle

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
)

// validFor issues a server certificate for host valid from notBefore for
// lifetime.
func validFor(t testing.TB, iss *testpki.Issuer, host string, notBefore time.Time, lifetime time.Duration) *x509.Certificate {
	t.Helper()
	k := testpki.KeyP256(t)
	return testpki.Sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: host, Organization: []string{"Example Ltd"}},
		DNSNames:    []string{host, "alt." + host},
		NotBefore:   notBefore,
		NotAfter:    notBefore.Add(lifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, k.Public(), iss, nil)
}

func TestExpiryOfRules(t *testing.T) {
	root := testpki.Root(t, "Expiry Root")
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c90 := validFor(t, root, "ninety.example", start, 90*24*time.Hour) // expires 2026-05-30
	day := func(n float64) time.Time { return start.Add(time.Duration(n * 24 * float64(time.Hour))) }

	tests := []struct {
		name     string
		opts     ExpiryOptions
		wantDue  bool
		wantDays int
		wantExp  bool
		reason   string
	}{
		{"default 30 days, day 59", ExpiryOptions{Now: day(59)}, false, 31, false, "renewal due from 2026-04-30"},
		{"default 30 days, day 60", ExpiryOptions{Now: day(60)}, true, 30, false, "renew within 30 days of expiry"},
		{"14 days, day 70", ExpiryOptions{Now: day(70), Before: 14 * 24 * time.Hour}, false, 20, false, "renewal due from 2026-05-16"},
		{"14 days, day 77.5", ExpiryOptions{Now: day(77.5), Before: 14 * 24 * time.Hour}, true, 12, false, "expires in 12 days"},
		{"ACME 1/3, day 59.9", ExpiryOptions{Now: day(59.9), Fraction: ACMEFraction}, false, 30, false, "renew when 1/3 of the 90-day lifetime remains"},
		{"ACME 1/3, day 60", ExpiryOptions{Now: day(60), Fraction: ACMEFraction}, true, 30, false, "renew when 1/3 of the 90-day lifetime remains (30 days)"},
		{"both rules, the earlier wins", ExpiryOptions{Now: day(50), Before: 7 * 24 * time.Hour, Fraction: 0.5}, true, 40, false, "1/2 of the 90-day lifetime"},
		{"last day", ExpiryOptions{Now: day(89.5)}, true, 0, false, "expires in 12 hours"},
		{"expired half a day ago", ExpiryOptions{Now: day(90.5)}, true, -1, true, "expired 12 hours ago"},
		{"expired, fraction rule", ExpiryOptions{Now: day(200), Fraction: 0.01}, true, -110, true, "expired 110 days ago"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ExpiryOf(c90, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if e.NeedsRenewal != tc.wantDue || e.DaysLeft != tc.wantDays || e.Expired != tc.wantExp {
				t.Errorf("NeedsRenewal=%v DaysLeft=%d Expired=%v, want %v %d %v (%s)", e.NeedsRenewal, e.DaysLeft, e.Expired, tc.wantDue, tc.wantDays, tc.wantExp, e.Reason)
			}
			if !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("Reason %q does not contain %q", e.Reason, tc.reason)
			}
			if e.Lifetime != 90*24*time.Hour || e.Subject != "CN=ninety.example,O=Example Ltd" ||
				!slices.Equal(e.SANs, []string{"DNS:ninety.example", "DNS:alt.ninety.example"}) {
				t.Errorf("got lifetime %v subject %q SANs %q", e.Lifetime, e.Subject, e.SANs)
			}
		})
	}

	// RenewAt of the ACME rule is day 60 exactly.
	e, _ := ExpiryOf(c90, &ExpiryOptions{Now: start, Fraction: ACMEFraction})
	if !e.RenewAt.Equal(day(60)) {
		t.Errorf("RenewAt = %v, want %v", e.RenewAt, day(60))
	}
	if e.NotYetValid {
		t.Error("NotYetValid at NotBefore")
	}
	if e, _ := ExpiryOf(c90, &ExpiryOptions{Now: day(-1)}); !e.NotYetValid {
		t.Error("NotYetValid not set before NotBefore")
	}
}

func TestExpiryOptionsInvalid(t *testing.T) {
	root := testpki.Root(t, "Expiry Root")
	c := validFor(t, root, "x.example", testpki.NotBefore, 90*24*time.Hour)
	for _, o := range []ExpiryOptions{{Before: -time.Hour}, {Fraction: 1.5}, {Fraction: -0.1}} {
		if _, err := ExpiryOf(c, &o); err == nil || !strings.HasPrefix(err.Error(), "bundle: ExpiryOptions.") {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
	if _, err := CheckExpiry(context.Background(), nil, nil); err == nil {
		t.Error("no paths: no error")
	}
	if _, err := CheckExpiry(context.Background(), []string{filepath.Join(t.TempDir(), "missing.pem")}, nil); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCheckExpiryFolder(t *testing.T) {
	root := testpki.Root(t, "Expiry Root")
	inter := root.Intermediate(t, "Expiry Intermediate")
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	soon := validFor(t, inter, "soon.example", now.Add(-80*24*time.Hour), 90*24*time.Hour)   // 10 days left
	later := validFor(t, inter, "later.example", now.Add(-10*24*time.Hour), 90*24*time.Hour) // 80 days left
	gone := validFor(t, inter, "gone.example", now.Add(-100*24*time.Hour), 90*24*time.Hour)  // expired
	pfxKey := testpki.KeyP256(t)                                                             // 20 days left
	pfxLeaf := testpki.Sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "pfx.example"}, DNSNames: []string{"pfx.example"},
		NotBefore: now.Add(-70 * 24 * time.Hour), NotAfter: now.Add(20 * 24 * time.Hour)}, pfxKey.Public(), inter, nil)

	dir := t.TempDir()
	write := func(rel string, data []byte) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPEM, err := formats.EncodeKeyPEM(testpki.KeyP256(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := formats.EncodePKCS12(pfxKey, pfxLeaf, []*x509.Certificate{inter.Cert}, "s3cret", nil)
	if err != nil {
		t.Fatal(err)
	}
	write("nginx/fullchain.pem", encodeCertsPEM([]*x509.Certificate{soon, inter.Cert}))
	write("nginx/privkey.pem", keyPEM)
	write("apache/cert.pem", encodeCertsPEM([]*x509.Certificate{later}))
	write("apache/fullchain.pem", encodeCertsPEM([]*x509.Certificate{later, inter.Cert}))
	write("apache/chain.pem", encodeCertsPEM([]*x509.Certificate{inter.Cert}))
	write("old/gone.der", gone.Raw)
	write("iis/site.pfx", pfx)
	write("notes.txt", []byte("not a certificate\n"))
	write("archive/20260101T000000Z/fullchain.pem", encodeCertsPEM([]*x509.Certificate{gone, inter.Cert}))
	if err := os.Symlink(filepath.Join(dir, "apache", "cert.pem"), filepath.Join(dir, "link.pem")); err != nil {
		t.Fatal(err)
	}

	rep, err := CheckExpiry(context.Background(), []string{dir}, &ExpiryOptions{Now: now, Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep.Certificates {
		got = append(got, e.Certificate.Subject.CommonName+"@"+strings.TrimPrefix(e.File, dir+"/"))
	}
	want := []string{"gone.example@old/gone.der", "soon.example@nginx/fullchain.pem", "pfx.example@iis/site.pfx",
		"later.example@apache/cert.pem", "Expiry Intermediate@apache/chain.pem"}
	if !slices.Equal(got, want) {
		t.Errorf("certificates:\n got %q\nwant %q", got, want)
	}
	var due []string
	for _, e := range rep.Due() {
		due = append(due, e.Certificate.Subject.CommonName)
	}
	if !slices.Equal(due, []string{"gone.example", "soon.example", "pfx.example"}) {
		t.Errorf("due = %q", due)
	}
	for _, e := range rep.Certificates {
		if e.Certificate.Subject.CommonName == "later.example" {
			files := []string{filepath.Join(dir, "apache/cert.pem"), filepath.Join(dir, "apache/fullchain.pem"), filepath.Join(dir, "link.pem")}
			if !slices.Equal(e.Files, files) {
				t.Errorf("later.example files = %q, want %q", e.Files, files)
			}
		}
		if e.Certificate.Subject.CommonName == "Expiry Intermediate" && !e.CA {
			t.Error("intermediate file not marked CA")
		}
	}
	notes := strings.Join(rep.Notes, "\n")
	for _, s := range []string{"privkey.pem: skipped: no certificate (1 private key(s))", "notes.txt: skipped: no certificate could be read", "archive: folder skipped"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	if rep.FilesRead != 9 {
		t.Errorf("FilesRead = %d, want 9", rep.FilesRead)
	}

	// Wrong password: the .pfx is skipped with a note naming the password.
	rep, err = CheckExpiry(context.Background(), []string{filepath.Join(dir, "iis")}, &ExpiryOptions{Now: now, Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Certificates) != 0 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "password") {
		t.Errorf("wrong password: %d certificates, notes %q", len(rep.Certificates), rep.Notes)
	}

	// Archives on request.
	rep, err = CheckExpiry(context.Background(), []string{filepath.Join(dir, "archive")}, &ExpiryOptions{Now: now})
	if err != nil || len(rep.Certificates) != 1 {
		t.Errorf("archive folder named directly: %v, %d certificates", err, len(rep.Certificates))
	}

	// Bounded walk.
	if _, err := CheckExpiry(context.Background(), []string{dir}, &ExpiryOptions{Now: now, MaxFiles: 3}); err == nil || !strings.Contains(err.Error(), "MaxFiles") {
		t.Errorf("MaxFiles: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CheckExpiry(ctx, []string{dir}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// benchFolder writes n nginx-style fullchain.pem files (leaf and
// intermediate) into subfolders of a new folder.
func benchFolder(b *testing.B, n int) string {
	root := testpki.Root(b, "Bench Root")
	inter := root.Intermediate(b, "Bench Intermediate")
	dir := b.TempDir()
	for i := range n {
		host := fmt.Sprintf("site%d.example", i)
		c := validFor(b, inter, host, testpki.NotBefore, time.Duration(30+i%90)*24*time.Hour)
		p := filepath.Join(dir, host)
		if err := os.MkdirAll(p, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "fullchain.pem"), encodeCertsPEM([]*x509.Certificate{c, inter.Cert}), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkCheckExpiry walks 200 server folders with CheckExpiry (content
// detection of every format, de-duplication, notes).
func BenchmarkCheckExpiry(b *testing.B) {
	dir := benchFolder(b, 200)
	opts := &ExpiryOptions{Now: testpki.Now}
	b.ResetTimer()
	for b.Loop() {
		rep, err := CheckExpiry(context.Background(), []string{dir}, opts)
		if err != nil || len(rep.Certificates) != 200 {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckExpiryStdlib is what a script does with the standard
// library alone: walk, pem.Decode the first block, x509.ParseCertificate,
// compare NotAfter. It reads PEM only and reports no notes.
func BenchmarkCheckExpiryStdlib(b *testing.B) {
	dir := benchFolder(b, 200)
	limit := testpki.Now.Add(30 * 24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			blk, _ := pem.Decode(data)
			if blk == nil {
				return nil
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return err
			}
			_ = c.NotAfter.Before(limit)
			n++
			return nil
		})
		if err != nil || n != 200 {
			b.Fatal(err, n)
		}
	}
}
