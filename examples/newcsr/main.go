// Command newcsr makes a private key and a certificate signing request
// (CSR), the IIS "Create Certificate Request" wizard as a command: it
// checks the names first, keeps the key in a pending-request store, then
// writes the CSR to send to the CA.
//
//	go run ./examples/newcsr -cn www.example.com -o "Example Ltd" -l Leeds \
//	    -st "West Yorkshire" -c GB -san example.com -out www.csr
//
// The key is put into the store before the CSR is written, so a CSR never
// exists without its key. When a check fails (for example -c USA or -key
// rsa1024) nothing is generated or stored and newcsr exits with 1 and the
// checks' messages. Exit codes: 0 done, 1 a check or a step failed, 2 bad
// usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program, with its arguments and outputs passed in so
// that tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("newcsr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var req csr.Request
	fs.StringVar(&req.CN, "cn", "", "common name: the main host name (it is added to the SANs)")
	fs.StringVar(&req.O, "o", "", "organization: the legal name of the organisation")
	fs.StringVar(&req.OU, "ou", "", "organizational unit (public CAs drop it)")
	fs.StringVar(&req.L, "l", "", "locality: the city, written out")
	fs.StringVar(&req.ST, "st", "", "state or province, written out (\"Washington\", not \"WA\")")
	fs.StringVar(&req.C, "c", "", "country: the 2-letter ISO 3166 code (\"GB\", \"US\")")
	san := fs.String("san", "", "subject alternative names, comma-separated; IP addresses, e-mail addresses and URIs are recognised")
	keyType := fs.String("key", string(csr.DefaultKeyType), "key type: rsa2048, rsa3072, rsa4096, rsa8192, p256, p384 or ed25519")
	storeDir := fs.String("store", "", "pending-request store folder (default: certwright/pending under the user's config folder)")
	out := fs.String("out", "-", "file to write the CSR to, in PEM; - for standard output")
	strict := fs.Bool("strict", false, "treat the checks' warnings as errors")
	passFile := fs.String("passphrase-file", "", "file whose first line is the passphrase that encrypts the keys in the store")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: newcsr -cn HOST [-o ORG] [-ou UNIT] [-l CITY] [-st STATE] [-c CC] [-san NAMES] [-key TYPE] [-store DIR] [-out FILE] [-strict] [-passphrase-file FILE]\n\n")
		fs.PrintDefaults()
	}
	if status, ok := cli.ParseNoOperands(fs, args, "newcsr", "; put all names in flags (SANs go in -san, comma-separated)"); !ok {
		return status
	}
	fail := cli.Failer(stderr, "newcsr")

	// Check everything before anything is generated or stored, and report
	// all problems at once.
	opts := &csr.Options{Strict: *strict}
	kt, ok := cli.CheckRequest(stderr, &req, *keyType, *san, opts, nil)
	if !ok {
		return fail("the request was not made: fix the errors above (no key was generated or stored)")
	}

	dir := *storeDir
	if dir == "" {
		d, err := cli.DefaultStoreDir()
		if err != nil {
			return fail("no folder for the pending store (%v); name one with -store DIR", err)
		}
		dir = d
	}
	store, err := cli.OpenStore(dir, cli.StoreOptions{PassphraseFile: *passFile})
	if err != nil {
		return fail("%v", err)
	}

	key, err := csr.GenerateKey(nil, kt)
	if err != nil {
		return fail("%v", err)
	}
	der, _, err := csr.Create(nil, &req, key, opts)
	if err != nil {
		return fail("%v", err)
	}
	// The key goes into the store before the CSR leaves the program: a
	// CSR whose key is lost makes the certificate bought for it worthless.
	p := &csr.Pending{Key: key, CSR: der}
	if err := store.Put(context.Background(), p); err != nil {
		return fail("keeping the key: %v (the CSR was not written)", err)
	}
	fmt.Fprintf(stderr, "newcsr: %s key kept in the pending store %s as sha256:%s\n", kt, store.Path(), p.ID)
	fmt.Fprintf(stderr, "newcsr: subject %s\n", p.Subject)
	fmt.Fprintf(stderr, "newcsr: SANs %s\n", strings.Join(p.SANs, ", "))

	if err := cli.WriteCSR(stdout, *out, csr.EncodePEM(der), false); err != nil {
		return fail("%v (the key and a copy of the CSR are in the store as sha256:%s)", err, p.ID)
	}
	if *out == "-" {
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "newcsr: CSR written to %s; send it to the CA\n", *out)
	return 0
}
