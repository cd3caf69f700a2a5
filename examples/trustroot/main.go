// Command trustroot distributes a private root CA to the clients that must
// trust it (Microsoft Q216339: a root that is not from a public CA has to
// be installed on every client): it exports the root for other machines
// and installs it into, or removes it from, this machine's trust stores.
//
//	go run ./examples/trustroot -in FILE [-password P] [-name NAME]
//	    [-export DIR] [-install system,nss,java | -remove system,nss,java]
//	    [-nssdb DIR] [-keystore FILE] [-storepass P] [-dry-run]
//
// -in is any file package formats reads (PEM, DER, PKCS#7, PKCS#12, JKS;
// -password opens it when encrypted). The root is the self-signed CA
// certificate in it, or its only certificate; a certificate that is not a
// CA is refused.
//
// -export DIR (created when missing) writes NAME.pem (Linux, OpenSSL), NAME.cer (DER, for
// Windows: certutil -addstore -f Root NAME.cer) and NAME-truststore.p12 (a
// Java trust store with the alias NAME, protected by -password, default
// "changeit"); existing files are not replaced.
//
// -install and -remove take a comma list of stores:
//   - system: the operating system store (Debian/Ubuntu
//     update-ca-certificates, RHEL/Fedora update-ca-trust, detected by the
//     tool found); needs root. The environment variable
//     CERTWRIGHT_SYSTEM_ROOT prefixes every folder of the system store
//     (Debian only), for image builds and tests.
//   - nss: the NSS database -nssdb (default ~/.pki/nssdb, read by Chrome on
//     Linux; a Firefox profile folder works too), with certutil from
//     libnss3-tools.
//   - java: the key store -keystore (default the JDK's cacerts) with
//     -storepass (default "changeit"), with keytool.
//
// -remove with -in removes every entry holding the root; without -in it
// removes the entries called -name. -name defaults to the root's common
// name followed by the start of its SHA-256 fingerprint. -dry-run prints
// the commands on stdout and changes nothing.
//
// Exported file names and dry-run commands go to stdout, one result line
// per store to stderr. The exit status is 0 when everything asked
// succeeded (removing a root that is not there counts as success), 1 when
// the input is unusable or any store failed, 2 for bad usage.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const defaultPassword = "changeit"

var storeNames = []string{"system", "nss", "java"}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trustroot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "`file` holding the root (PEM, DER, PKCS#7, PKCS#12, JKS)")
	exportDir := fs.String("export", "", "write NAME.pem, NAME.cer and NAME-truststore.p12 into `folder`")
	password := fs.String("password", "", "password of an encrypted -in, and of the exported trust store (default \""+defaultPassword+"\")")
	install := fs.String("install", "", "install into the `stores` (comma list of system, nss, java)")
	remove := fs.String("remove", "", "remove from the `stores` (comma list of system, nss, java)")
	nssdb := fs.String("nssdb", "", "NSS database `folder` (default ~/.pki/nssdb)")
	keystore := fs.String("keystore", "", "Java key store `file` (default the JDK's cacerts)")
	storepass := fs.String("storepass", "", "Java key store password (default \""+defaultPassword+"\")")
	name := fs.String("name", "", "entry `name` in the stores and base name of exported files (default: CN and fingerprint)")
	dryRun := fs.Bool("dry-run", false, "print the commands without running them")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trustroot -in FILE [-export DIR] [-install system,nss,java | -remove system,nss,java] [-name NAME] [-nssdb DIR] [-keystore FILE] [-storepass P] [-password P] [-dry-run]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int {
		return cli.Usagef(fs, "trustroot", format, a...)
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *install != "" && *remove != "" {
		return usage("-install and -remove cannot be combined")
	}
	if *exportDir == "" && *install == "" && *remove == "" {
		return usage("nothing to do: give -export, -install or -remove")
	}
	if *in == "" && (*exportDir != "" || *install != "" || *name == "") {
		return usage("-in is required (only -remove with -name works without it)")
	}
	if *name != "" {
		if err := chain.CheckName(*name); err != nil {
			return usage("-name: %v", err)
		}
	}
	action, list := chain.ActionInstall, *install
	if *remove != "" {
		action, list = chain.ActionRemove, *remove
	}
	var kinds []string
	if list != "" {
		seen := map[string]bool{}
		for _, k := range strings.Split(list, ",") {
			k = strings.TrimSpace(k)
			if !contains(storeNames, k) {
				return usage("unknown store %q (want %s)", k, strings.Join(storeNames, ", "))
			}
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}

	var root *x509.Certificate
	if *in != "" {
		var err error
		root, err = readRoot(*in, *password)
		if err != nil {
			fmt.Fprintln(stderr, "trustroot:", err)
			return cli.ExitFailure
		}
		if !chain.IsSelfSigned(root) {
			fmt.Fprintf(stderr, "trustroot: note: %q is not self-signed; clients will trust it as an anchor in its own right\n", root.Subject.String())
		}
		if *name == "" {
			*name = chain.DefaultName(root)
		}
	}

	if *exportDir != "" {
		if *dryRun {
			for _, ext := range []string{".pem", ".cer", "-truststore.p12"} {
				fmt.Fprintf(stdout, "write %s%c%s%s (mode 0644)\n", strings.TrimRight(*exportDir, "/"), os.PathSeparator, *name, ext)
			}
		} else {
			pw := *password
			if pw == "" {
				pw = defaultPassword
			}
			if err := os.MkdirAll(*exportDir, 0o755); err != nil {
				fmt.Fprintln(stderr, "trustroot:", err)
				return cli.ExitFailure
			}
			out, err := chain.ExportRoot(*exportDir, *name, root, &chain.ExportOptions{Password: pw})
			if err != nil {
				fmt.Fprintln(stderr, "trustroot:", err)
				return cli.ExitFailure
			}
			fmt.Fprintln(stdout, out.PEM)
			fmt.Fprintln(stdout, out.DER)
			fmt.Fprintln(stdout, out.TrustStore)
		}
	}
	if len(kinds) == 0 {
		return 0
	}

	stores := make([]chain.TrustStore, 0, len(kinds))
	for _, k := range kinds {
		switch k {
		case "system":
			stores = append(stores, &chain.SystemStore{Root: os.Getenv("CERTWRIGHT_SYSTEM_ROOT")})
		case "nss":
			stores = append(stores, &chain.NSSStore{Dir: *nssdb})
		case "java":
			stores = append(stores, &chain.JavaStore{Keystore: *keystore, StorePass: *storepass})
		}
	}

	if *dryRun {
		code := 0
		for _, s := range stores {
			fmt.Fprintf(stdout, "# %v\n", s)
			steps, err := s.(chain.Planner).Plan(action, root, *name)
			if err != nil {
				fmt.Fprintf(stderr, "trustroot: %v: %v\n", s, err)
				code = 1
				continue
			}
			for _, st := range steps {
				fmt.Fprintln(stdout, st)
			}
		}
		return code
	}

	ctx := context.Background()
	var results []chain.StoreResult
	if action == chain.ActionInstall {
		results = chain.InstallAll(ctx, stores, root, *name)
	} else {
		results = chain.RemoveAll(ctx, stores, root, *name)
	}
	code := 0
	what := *name
	if root != nil {
		what = fmt.Sprintf("%q", root.Subject.String())
	}
	for _, r := range results {
		switch {
		case r.Err == nil && action == chain.ActionInstall:
			fmt.Fprintf(stderr, "trustroot: %s: installed %s as %s\n", r.Store, what, *name)
		case r.Err == nil:
			fmt.Fprintf(stderr, "trustroot: %s: removed %s\n", r.Store, what)
		case action == chain.ActionRemove && errors.Is(r.Err, chain.ErrNotInStore):
			fmt.Fprintf(stderr, "trustroot: %s: %s was not there\n", r.Store, what)
		default:
			fmt.Fprintf(stderr, "trustroot: %s: %s failed: %v\n", r.Store, r.Action, r.Err)
			code = 1
		}
	}
	return code
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readRoot returns the root in the file: its self-signed CA certificate,
// or its only certificate, which must be a CA.
func readRoot(file, password string) (*x509.Certificate, error) {
	c, err := formats.ReadFile(file, &formats.ReadOptions{Password: password})
	if err != nil {
		return nil, err
	}
	if len(c.Certificates) == 0 {
		return nil, fmt.Errorf("%s holds no certificate (read as %s): give the root CA's certificate file", file, strings.Join(c.Formats, ", "))
	}
	var roots []*x509.Certificate
	for _, cert := range c.Certificates {
		if chain.IsSelfSigned(cert) && chain.CheckAnchor(cert) == nil {
			roots = append(roots, cert)
		}
	}
	switch {
	case len(roots) == 1:
		return roots[0], nil
	case len(roots) > 1:
		var names []string
		for _, r := range roots {
			names = append(names, fmt.Sprintf("%q", r.Subject.String()))
		}
		return nil, fmt.Errorf("%s holds %d self-signed root CAs (%s): give a file with the one to distribute", file, len(roots), strings.Join(names, ", "))
	case len(c.Certificates) == 1:
		if err := chain.CheckAnchor(c.Certificates[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return c.Certificates[0], nil
	}
	var names []string
	for _, cert := range c.Certificates {
		names = append(names, fmt.Sprintf("%q", cert.Subject.String()))
	}
	return nil, fmt.Errorf("%s holds %d certificates (%s) and no self-signed CA among them: give the root CA's own file", file, len(c.Certificates), strings.Join(names, ", "))
}
