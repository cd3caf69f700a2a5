// Command renew finds the certificates that need renewing, makes the
// renewal request, and serves the renewed certificate in place of the old
// one.
//
// Check what needs renewing (files and folders, walked; keys and other
// files are skipped with a note on stderr):
//
//	go run ./examples/renew -check FILE|DIR... [-days N | -fraction F] [-at RFC3339] [-password P]
//
// prints one line per certificate on stdout (status, days left, expiry,
// name, subject, SANs, file), names each certificate that needs renewal on
// stderr, and exits 1 when any does, 0 when none does. -days N (default 30)
// flags certificates expiring within N days; -fraction F flags those with F
// or less of their lifetime left (0.3333 as ACME clients); with both, either
// flags. -at judges at another moment than now. Flags and file names may
// be mixed in any order.
//
// Make the renewal request:
//
//	go run ./examples/renew -cert FILE -store DIR -out FILE|- [-reuse-key] [-key TYPE] [-key-file FILE]
//
// writes a CSR (PEM) with the certificate's subject and SANs, signed by a
// new key of the certificate's key type (-key TYPE to choose another:
// rsa2048, rsa3072, rsa4096, rsa8192, p256, p384, ed25519), or with
// -reuse-key by the certificate's existing key (from the store's archive,
// or the key file given with -key-file). The key is kept pending in the
// store before the CSR is written.
//
// Serve the CA's answer in place of the old certificate:
//
//	go run ./examples/renew -complete FILE... -store DIR -serve DIR [-server nginx] [-roots FILE] [-password P] [-out-password P]
//
// pairs the answer with the pending key, builds the chain (a new
// intermediate is detected and written with the leaf), copies the files
// served in DIR into DIR/archive/<time>/, replaces them, and only then
// archives the pending request. It prints the files written.
//
// The pending store's passphrase, for an encrypted store, is read from the
// CERTWRIGHT_STORE_PASSPHRASE environment variable. Exit status: 0 done
// (nothing to renew), 1 failure (or something to renew), 2 bad usage.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	check     bool
	files     []string // -check and -complete operands
	days      int
	fraction  float64
	at        string
	password  string
	cert      string
	store     string
	out       string
	reuse     bool
	keyType   string
	keyFile   string
	complete  bool
	serve     string
	server    string
	roots     string
	outPass   string
	daysGiven bool
}

const usage = `usage:
  renew -check FILE|DIR... [-days N | -fraction F] [-at RFC3339] [-password P]
  renew -cert FILE -store DIR -out FILE|- [-reuse-key] [-key TYPE] [-key-file FILE] [-password P]
  renew -complete FILE... -store DIR -serve DIR [-server nginx] [-roots FILE] [-password P] [-out-password P]
`

// run is the whole program, with its arguments and outputs passed in so
// that tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("renew", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.check, "check", false, "report the certificates in the files and folders given, and which need renewal")
	fs.IntVar(&c.days, "days", 30, "with -check: renew certificates expiring within `N` days")
	fs.Float64Var(&c.fraction, "fraction", 0, "with -check: renew certificates with `F` or less of their lifetime left (0.3333 as ACME clients)")
	fs.StringVar(&c.at, "at", "", "with -check: judge at this `time` (RFC 3339) instead of now")
	fs.StringVar(&c.password, "password", "", "password of .pfx/.p12/.jks files read")
	fs.StringVar(&c.cert, "cert", "", "the certificate to renew (`file` in any format; a fullchain.pem gives its leaf)")
	fs.StringVar(&c.store, "store", "", "pending-request store `folder`")
	fs.StringVar(&c.out, "out", "", "`file` to write the renewal CSR to (PEM); - for standard output")
	fs.BoolVar(&c.reuse, "reuse-key", false, "sign with the certificate's existing key (from the store's archive, or -key-file) instead of a new key")
	fs.StringVar(&c.keyType, "key", "", "`type` of the new key: "+keyTypes()+" (default: the certificate's key type)")
	fs.StringVar(&c.keyFile, "key-file", "", "the certificate's private key `file`, for -reuse-key when the store does not have it")
	fs.BoolVar(&c.complete, "complete", false, "serve the CA's answer (the files given) in place of the old certificate")
	fs.StringVar(&c.serve, "serve", "", "with -complete: the `folder` the server reads its files from")
	fs.StringVar(&c.server, "server", "nginx", "with -complete: the server's file layout: "+serverList())
	fs.StringVar(&c.roots, "roots", "", "with -complete: `file` with the trusted root(s); default: the system roots")
	fs.StringVar(&c.outPass, "out-password", "", "with -complete: password of the .pfx/keystore written (iis, iis-legacy, java, java-jks)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	// Flags and operands may be mixed.
	files, err := cli.ParseInterleaved(fs, args, cli.InterleaveOptions{LiteralDoubleDash: true})
	if err != nil {
		return cli.FlagStatus(err)
	}
	c.files = files
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "days" {
			c.daysGiven = true
		}
	})
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "renew: "+format+"\n", a...)
		fmt.Fprint(stderr, usage)
		return cli.ExitUsage
	}

	modes := 0
	for _, m := range []bool{c.check, c.cert != "", c.complete} {
		if m {
			modes++
		}
	}
	switch {
	case modes != 1:
		return bad("give exactly one of -check, -cert or -complete")
	case c.check:
		if len(c.files) == 0 {
			return bad("-check needs at least one file or folder")
		}
		if c.days < 0 {
			return bad("-days must be 0 or more")
		}
		if c.fraction < 0 || c.fraction > 1 {
			return bad("-fraction must be between 0 and 1")
		}
		var at time.Time
		if c.at != "" {
			t, err := time.Parse(time.RFC3339, c.at)
			if err != nil {
				return bad("-at %q is not an RFC 3339 time such as 2026-06-01T12:00:00Z", c.at)
			}
			at = t
		}
		return check(c, at, stdout, stderr)
	case c.cert != "":
		if len(c.files) > 0 {
			return bad("unexpected argument %q", c.files[0])
		}
		if c.store == "" || c.out == "" {
			return bad("-cert needs -store DIR and -out FILE")
		}
		var kt csr.KeyType
		if c.keyType != "" {
			t, err := csr.ParseKeyType(c.keyType)
			if err != nil {
				return bad("%v", err)
			}
			kt = t
		}
		return request(c, kt, stdout, stderr)
	default:
		if len(c.files) == 0 || c.store == "" || c.serve == "" {
			return bad("-complete needs the CA's answer files, -store DIR and -serve DIR")
		}
		server, err := bundle.ParseServer(c.server)
		if err != nil {
			return bad("%v", err)
		}
		switch server {
		case bundle.IIS, bundle.IISLegacy, bundle.Java, bundle.JavaJKS:
			if c.outPass == "" {
				return bad("-server %s writes a password-protected file: give -out-password", server)
			}
		}
		return complete(c, server, stdout, stderr)
	}
}

// check reports the certificates in c.files.
func check(c config, at time.Time, stdout, stderr io.Writer) int {
	opts := &bundle.ExpiryOptions{Now: at, Password: c.password, Fraction: c.fraction}
	if c.daysGiven || c.fraction == 0 {
		opts.Before = time.Duration(c.days) * 24 * time.Hour
		if c.days == 0 {
			opts.Before = time.Nanosecond // expiring within 0 days: expired
		}
	}
	rep, err := bundle.CheckExpiry(context.Background(), c.files, opts)
	if err != nil {
		fmt.Fprintln(stderr, "renew:", err)
		return cli.ExitFailure
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(stderr, "renew: note:", n)
	}
	for _, e := range rep.Certificates {
		status := "ok"
		switch {
		case e.Expired:
			status = "EXPIRED"
		case e.NeedsRenewal:
			status = "RENEW"
		}
		sans := strings.Join(e.SANs, ",")
		if sans == "" {
			sans = "-"
		}
		fmt.Fprintf(stdout, "%-7s %5d days  %s  %s  subject=%q  sans=%s  file=%s\n",
			status, e.DaysLeft, e.NotAfter.UTC().Format(time.RFC3339), name(e.Certificate), e.Subject, sans, e.File)
	}
	due := rep.Due()
	if len(rep.Certificates) == 0 {
		fmt.Fprintf(stderr, "renew: no certificate found in %d file(s)\n", rep.FilesRead)
		return cli.ExitFailure
	}
	if len(due) == 0 {
		fmt.Fprintf(stderr, "renew: none of %d certificate(s) needs renewal\n", len(rep.Certificates))
		return 0
	}
	for _, e := range due {
		fmt.Fprintf(stderr, "renew: %s (%s) needs renewal: %s\n", name(e.Certificate), e.File, e.Reason)
	}
	fmt.Fprintf(stderr, "renew: %d of %d certificate(s) need renewal\n", len(due), len(rep.Certificates))
	return cli.ExitFailure
}

// name is what a person calls a certificate: its first DNS name, else its
// common name, else its subject.
func name(c *x509.Certificate) string {
	switch {
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

func openStore(dir string) (*csr.DirStore, error) {
	var o csr.DirOptions
	if pp := os.Getenv("CERTWRIGHT_STORE_PASSPHRASE"); pp != "" {
		o.Passphrase = []byte(pp)
	}
	return csr.OpenDir(dir, &o)
}

// request makes the renewal CSR for c.cert.
func request(c config, kt csr.KeyType, stdout, stderr io.Writer) int {
	fail := cli.Failer(stderr, "renew")
	cert, err := readLeaf(c.cert, c.password)
	if err != nil {
		return fail("%v", err)
	}
	opts := &bundle.RenewOptions{KeyType: kt, ReuseKey: c.reuse}
	if c.keyFile != "" {
		if !c.reuse {
			return fail("-key-file is the key to reuse: give -reuse-key with it")
		}
		k, err := formats.ReadFile(c.keyFile, &formats.ReadOptions{Password: c.password})
		if err != nil {
			return fail("%v", err)
		}
		if len(k.Keys) == 0 {
			return fail("%s holds no private key", c.keyFile)
		}
		var key crypto.Signer = k.Keys[0]
		for _, cand := range k.Keys {
			if bundle.Fingerprint(cand.Public()) == bundle.Fingerprint(cert.PublicKey) {
				key = cand
			}
		}
		opts.Key = key
	}
	store, err := openStore(c.store)
	if err != nil {
		return fail("%v", err)
	}
	e, _ := bundle.ExpiryOf(cert, nil)
	fmt.Fprintf(stderr, "renew: renewing %s (%s)\n", name(cert), e.Reason)
	r, err := bundle.Renew(context.Background(), store, cert, opts)
	if err != nil {
		return fail("%v", err)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(stderr, "renew: note:", n)
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(stderr, "renew: warning:", w)
	}
	how := "new " + string(r.KeyType) + " key"
	if r.ReusedKey {
		how = "the certificate's own " + string(r.KeyType) + " key"
	}
	fmt.Fprintf(stderr, "renew: %s kept pending in %s as sha256:%s\n", how, store.Path(), r.Pending.ID)
	if err := cli.WriteCSR(stdout, c.out, r.PEM(), false); err != nil {
		return fail("%v (the key stays pending)", err)
	}
	if c.out == "-" {
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "renew: CSR written to %s; send it to the CA, then serve its answer with -complete\n", c.out)
	return 0
}

// readLeaf reads the certificate to renew: the only certificate of the
// file, or its only end-entity certificate.
func readLeaf(file, password string) (*x509.Certificate, error) {
	c, err := formats.ReadFile(file, &formats.ReadOptions{Password: password})
	if err != nil {
		return nil, err
	}
	var leaves []*x509.Certificate
	for _, cert := range c.Certificates {
		if !cert.IsCA {
			leaves = append(leaves, cert)
		}
	}
	switch {
	case len(c.Certificates) == 1:
		return c.Certificates[0], nil
	case len(leaves) == 1:
		return leaves[0], nil
	case len(c.Certificates) == 0:
		return nil, fmt.Errorf("%s holds no certificate (%d key(s), %d request(s)); give the certificate the CA issued", file, len(c.Keys), len(c.CSRs))
	}
	var names []string
	for _, l := range c.Certificates {
		names = append(names, fmt.Sprintf("%q", l.Subject.String()))
	}
	return nil, fmt.Errorf("%s holds %d certificates (%s) and it is not clear which to renew; give a file with that certificate only", file, len(c.Certificates), strings.Join(names, ", "))
}

// complete serves the CA's answer in place of the old files.
func complete(c config, server bundle.Server, stdout, stderr io.Writer) int {
	fail := cli.Failer(stderr, "renew")
	ctx := context.Background()
	store, err := openStore(c.store)
	if err != nil {
		return fail("%v", err)
	}
	opts := &bundle.CompleteOptions{Password: c.password}
	if c.roots != "" {
		r, err := formats.ReadFile(c.roots, &formats.ReadOptions{Password: c.password})
		if err != nil {
			return fail("%v", err)
		}
		for _, cert := range r.Certificates {
			if cert.IsCA && cert.CheckSignatureFrom(cert) == nil {
				opts.Roots = append(opts.Roots, cert)
			}
		}
		if len(opts.Roots) == 0 {
			return fail("%s holds no self-signed root certificate", c.roots)
		}
	}
	done, err := bundle.CompleteFiles(ctx, store, c.files, opts)
	if err != nil {
		return fail("%v", err)
	}
	if len(done) != 1 {
		return fail("the answer holds %d certificates with pending keys; -complete serves one into -serve: give the files of one certificate", len(done))
	}
	d := done[0]
	for _, n := range d.Notes {
		fmt.Fprintln(stderr, "renew: note:", n)
	}
	ro := &bundle.ReplaceOptions{Write: bundle.WriteOptions{Password: c.outPass}}
	res, err := d.ReplaceAndFinish(ctx, c.serve, server, ro)
	if res != nil {
		for _, r := range res.Recovered {
			fmt.Fprintln(stderr, "renew: note:", r)
		}
	}
	if err != nil {
		if res != nil && len(res.Written) > 0 {
			// Every file was replaced; only archiving the request failed.
			for _, p := range res.Written {
				fmt.Fprintln(stdout, p)
			}
		}
		return fail("%v (the request sha256:%s stays pending)", err, d.Pending.ID)
	}
	if ic := res.IssuerChange; ic != nil {
		fmt.Fprintf(stderr, "renew: the issuer changed from %q to %q: the new intermediate was written with the certificate (KB 954755)\n", ic.Old, ic.New)
	}
	for _, p := range res.Stale {
		fmt.Fprintf(stderr, "renew: warning: %s still holds the previous certificate or its old issuer and was not replaced (not part of the %s layout); remove it, or make sure the server does not read it\n", p, server)
	}
	if res.ArchiveDir != "" {
		fmt.Fprintf(stderr, "renew: the previous files are in %s\n", res.ArchiveDir)
	}
	for _, p := range res.Written {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintln(stderr, "renew: done; reload the server to serve the new certificate")
	return 0
}

func keyTypes() string {
	var n []string
	for _, k := range csr.KeyTypes() {
		n = append(n, string(k))
	}
	return strings.Join(n, ", ")
}

func serverList() string {
	var n []string
	for _, s := range bundle.Servers() {
		n = append(n, string(s))
	}
	return strings.Join(n, "|")
}
