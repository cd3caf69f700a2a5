// Command complete finishes a certificate request: it pairs the files a CA
// returned with the pending key by public key, builds the chain, writes the
// files a server needs, and only then archives the pending request.
//
//	go run ./examples/complete -store DIR -in FILE... [-password P]
//	    -server nginx|apache|haproxy|iis|iis-legacy|java|java-jks|k8s|pem -out DIR
//	    [-roots FILE] [-include-root] [-out-password P]
//
// -in takes one or more files (a leaf .cer and a chain .p7b, a .pfx, a PEM
// with the whole chain), in any format the formats package reads; repeat
// -in or list several files after one -in. -password opens .pfx/.jks
// responses. Without -roots the chain must end in a root of the system
// store (the embedded Mozilla set on machines without one); a private CA's
// root is given with -roots (any file holding it, even the response .p7b:
// only the self-signed certificates of that file are trusted).
//
// -out-password protects the .pfx (iis, iis-legacy) and the Java keystore
// (java, java-jks); it defaults to "changeit", the Java and Tomcat default,
// with a warning on stderr: pass your own for anything but a test.
//
// -store defaults to the folder examples/newcsr uses by default (certwright/pending
// under the user's configuration folder). For a store whose keys are
// encrypted, -passphrase-file names a file whose first line is the
// passphrase, as for newcsr.
//
// On success it prints each file written, one path per line, on stdout and
// exits 0. A pairing error (no pending key for the certificate), a chain
// error or a write error goes to stderr with exit status 1; the pending
// request then stays pending. Bad usage exits 2. When the response holds
// several certificates with pending keys, each is written into a subfolder
// of -out named after its host name.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/cli"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// defaultOutPassword is the password of .pfx and keystore outputs when
// -out-password is not given (go-pkcs12's DefaultPassword, keytool's usual).
const defaultOutPassword = "changeit"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ins, rest, err := cli.SplitMulti(args, "in")
	fs := flag.NewFlagSet("complete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeDir := fs.String("store", "", "pending-request store `folder` (where the CSR's key was kept; default: newcsr's default store)")
	passFile := fs.String("passphrase-file", "", "`file` whose first line is the pending store's passphrase")
	password := fs.String("password", "", "password of .pfx/.jks input files")
	serverName := fs.String("server", "", "server to write for: "+serverList())
	outDir := fs.String("out", "", "output `folder` (created 0700 when missing)")
	rootsFile := fs.String("roots", "", "`file` with the trusted root(s); default: the system roots")
	includeRoot := fs.Bool("include-root", false, "also write the root (appended to chains; ca.crt for k8s)")
	outPassword := fs.String("out-password", "", "password of the .pfx/keystore output (iis, iis-legacy, java, java-jks); default \""+defaultOutPassword+"\"")
	name := fs.String("name", "", "base name of single-file outputs (default: the certificate's host name)")
	friendly := fs.String("friendly-name", "", "friendly name / keystore alias (default: the certificate's host name)")
	overwrite := fs.Bool("overwrite", false, "replace existing certificate files (never key files)")
	overwriteKey := fs.Bool("overwrite-key", false, "also replace existing files that hold a private key")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: complete -store DIR -in FILE... [-password P] -server "+serverList()+" -out DIR [-roots FILE] [-include-root] [-out-password P]")
		fs.PrintDefaults()
	}
	if err != nil {
		return cli.Usagef(fs, "complete", "%v", err)
	}
	if err := fs.Parse(rest); err != nil {
		return cli.ExitUsage
	}
	ins = append(ins, fs.Args()...)
	if len(ins) == 0 || *serverName == "" || *outDir == "" {
		return cli.Usagef(fs, "complete", "-in, -server and -out are required")
	}
	server, err := bundle.ParseServer(*serverName)
	if err != nil {
		fmt.Fprintln(stderr, "complete:", err)
		return cli.ExitUsage
	}

	store, err := openStore(storeDir, *passFile)
	if err != nil {
		fmt.Fprintln(stderr, "complete:", err)
		return cli.ExitFailure
	}
	opts := &bundle.CompleteOptions{Password: *password}
	if *rootsFile != "" {
		roots, err := cli.ReadRoots(*rootsFile, *password)
		if err != nil {
			fmt.Fprintln(stderr, "complete:", err)
			return cli.ExitFailure
		}
		opts.Roots = roots
	}
	done, err := bundle.CompleteFiles(ctx, store, ins, opts)
	if err != nil {
		fmt.Fprintln(stderr, "complete:", err)
		return cli.ExitFailure
	}

	wo := &bundle.WriteOptions{
		IncludeRoot: *includeRoot, Name: *name, FriendlyName: *friendly,
		Overwrite: *overwrite, AllowKeyOverwrite: *overwriteKey,
	}
	if passwordServer(server) {
		wo.Password = *outPassword
		if wo.Password == "" {
			wo.Password = defaultOutPassword
			fmt.Fprintf(stderr, "complete: warning: no -out-password; the %s output is protected with the default password %q\n", server, defaultOutPassword)
		}
	}
	status := cli.ExitOK
	for _, c := range done {
		dir := *outDir
		if len(done) > 1 {
			dir = filepath.Join(*outDir, cli.LeafFolder(c.Bundle.Leaf))
		}
		for _, n := range c.Notes {
			fmt.Fprintln(stderr, "complete: note:", n)
		}
		written, err := c.WriteAndFinish(ctx, dir, server, wo)
		for _, p := range written {
			fmt.Fprintln(stdout, p)
		}
		if err != nil {
			fmt.Fprintln(stderr, "complete:", err)
			if !errors.Is(err, bundle.ErrNotWritten) {
				fmt.Fprintf(stderr, "complete: the request sha256:%s stays pending in %s\n", c.Pending.ID, *storeDir)
			}
			status = cli.ExitFailure
			continue
		}
		fmt.Fprintf(stderr, "complete: %s: chain %s; pending request sha256:%s archived\n",
			c.Bundle.Leaf.Subject, cli.DescribeChain(c.Bundle), c.Pending.ID)
	}
	return status
}

// openStore opens an existing pending store: dir, or newcsr's default
// when empty (dir is updated to the folder used). A missing folder is an
// error rather than a new empty store, which could only report that no key
// matches.
func openStore(dir *string, passFile string) (*csr.DirStore, error) {
	d, err := cli.StoreDir(*dir)
	if err != nil {
		return nil, err
	}
	*dir = d
	return cli.OpenStore(d, cli.StoreOptions{PassphraseFile: passFile, MustExist: true})
}

func serverList() string {
	var names []string
	for _, s := range bundle.Servers() {
		names = append(names, string(s))
	}
	return strings.Join(names, "|")
}

func passwordServer(s bundle.Server) bool {
	switch s {
	case bundle.IIS, bundle.IISLegacy, bundle.Java, bundle.JavaJKS:
		return true
	}
	return false
}
