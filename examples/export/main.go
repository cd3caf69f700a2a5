// Command export writes a certificate, its key and its whole chain into one
// .pfx (PKCS#12), to move a site to another server or to install it on
// every server of a farm.
//
//	go run ./examples/export -in FILE... [-store DIR] -out FILE.pfx
//	    [-password P] [-out-password P] [-legacy] [-roots FILE]
//	    [-no-root] [-friendly-name NAME] [-overwrite]
//
// The key comes from the -in files (a loose key file beside certificate
// files, a HAProxy PEM, an existing .pfx or .jks) or, with -store, from
// the pending-request store the CSR was made with: pending or already
// completed (archived) entries are searched for the key of the certificate
// given with -in. Keys and certificates are paired by public key. The
// chain is built from the certificates given to the roots of -roots (only
// its self-signed certificates are trusted) or, without -roots, to the
// system roots.
//
// -password opens encrypted inputs and, unless -out-password is given,
// also protects the output; with neither, the output password is
// "changeit" (the Java and Tomcat default) and a warning is printed.
// -legacy writes the 3DES/SHA-1 profile that Windows Server 2016 and older
// import; the default is AES-256 (Windows Server 2019 and later, OpenSSL
// 1.1.1+, Java 12+). The root is included unless -no-root. For a store
// whose keys are encrypted, -passphrase-file names a file whose first line
// is the passphrase, as for newcsr.
//
// It prints the path written on stdout and exits 0; a pairing, chain or
// write error goes to stderr with exit status 1; bad usage exits 2.
package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const defaultOutPassword = "changeit"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ins, rest, err := cli.SplitMulti(args, "in")
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeDir := fs.String("store", "", "pending-request store `folder` to take the key from (pending or archived)")
	passFile := fs.String("passphrase-file", "", "`file` whose first line is the pending store's passphrase")
	out := fs.String("out", "", "output `file` (.pfx)")
	password := fs.String("password", "", "password of encrypted inputs; also of the output unless -out-password")
	outPassword := fs.String("out-password", "", "password of the output .pfx (default: -password, else \""+defaultOutPassword+"\")")
	legacy := fs.Bool("legacy", false, "3DES/SHA-1 profile for Windows Server 2016 and older (default AES-256)")
	rootsFile := fs.String("roots", "", "`file` with the trusted root(s); default: the system roots")
	noRoot := fs.Bool("no-root", false, "leave the root out of the .pfx")
	friendly := fs.String("friendly-name", "", "friendly name of the entry (default: the certificate's host name)")
	overwrite := fs.Bool("overwrite", false, "replace an existing output file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: export -in FILE... [-store DIR] -out FILE.pfx [-password P] [-out-password P] [-legacy] [-roots FILE] [-no-root]")
		fs.PrintDefaults()
	}
	if err != nil {
		return cli.Usagef(fs, "export", "%v", err)
	}
	if err := fs.Parse(rest); err != nil {
		return cli.ExitUsage
	}
	ins = append(ins, fs.Args()...)
	if len(ins) == 0 || *out == "" {
		return cli.Usagef(fs, "export", "-in and -out are required")
	}

	opts := &bundle.CompleteOptions{Password: *password}
	if *rootsFile != "" {
		roots, err := cli.ReadRoots(*rootsFile, *password)
		if err != nil {
			fmt.Fprintln(stderr, "export:", err)
			return cli.ExitFailure
		}
		opts.Roots = roots
	}
	if *storeDir != "" {
		keys, err := storeKeys(ctx, *storeDir, *passFile, ins, *password)
		if err != nil {
			fmt.Fprintln(stderr, "export:", err)
			return cli.ExitFailure
		}
		opts.Keys = keys
	}
	bundles, err := bundle.PairFiles(ctx, ins, opts)
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return cli.ExitFailure
	}
	if len(bundles) > 1 {
		var names []string
		for _, b := range bundles {
			names = append(names, fmt.Sprintf("%q", b.Leaf.Subject.String()))
		}
		fmt.Fprintf(stderr, "export: the input holds %d certificates with their keys (%s); a .pfx for moving a site holds one: give the files of one certificate\n", len(bundles), strings.Join(names, ", "))
		return cli.ExitFailure
	}
	b := bundles[0]
	pw := *outPassword
	if pw == "" {
		pw = *password
	}
	if pw == "" {
		pw = defaultOutPassword
		fmt.Fprintf(stderr, "export: warning: no -out-password or -password; the .pfx is protected with the default password %q\n", defaultOutPassword)
	}
	err = b.Export(*out, &bundle.ExportOptions{
		Password: pw, Legacy: *legacy, FriendlyName: *friendly,
		ExcludeRoot: *noRoot, AllowKeyOverwrite: *overwrite,
	})
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return cli.ExitFailure
	}
	fmt.Fprintln(stdout, *out)
	var chain []string
	for _, c := range b.Chain(!*noRoot) {
		chain = append(chain, fmt.Sprintf("%q", c.Subject.CommonName))
	}
	fmt.Fprintf(stderr, "export: %s with its key and chain %s\n", b.Leaf.Subject, strings.Join(chain, " -> "))
	return 0
}

// storeKeys looks up, in the store, the key of each end-entity certificate
// of the input files: pending first, then the archive of completed
// requests.
func storeKeys(ctx context.Context, dir, passFile string, files []string, password string) ([]crypto.Signer, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("the store %s cannot be opened: %w", dir, err)
	}
	st, err := cli.OpenStore(dir, cli.StoreOptions{PassphraseFile: passFile})
	if err != nil {
		return nil, err
	}
	var keys []crypto.Signer
	for _, f := range files {
		c, err := formats.ReadFile(f, &formats.ReadOptions{Password: password})
		if err != nil {
			return nil, err
		}
		for _, cert := range c.Certificates {
			if cert.BasicConstraintsValid && cert.IsCA {
				continue
			}
			p, err := st.Find(ctx, cert.PublicKey)
			if errors.Is(err, csr.ErrNotFound) {
				p, err = st.FindArchived(ctx, cert.PublicKey)
			}
			if errors.Is(err, csr.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if p.Key != nil {
				keys = append(keys, p.Key)
			}
		}
	}
	return keys, nil
}
