// Command renewcsr makes the certificate signing request (CSR) for renewing
// a certificate: the same subject and subject alternative names, with a new
// key of the same type (kept in the pending-request store before the CSR is
// written) or, with -reuse-key, with the key already in the store.
//
//	go run ./examples/renewcsr -cert www.cer -out www-renewal.csr
//	go run ./examples/renewcsr -cert www.pem -reuse-key -store ./pending -out -
//
// The certificate may be in any format the formats package reads (PEM,
// DER, base64, PKCS#7; a PKCS#12 file without a password). Exit codes: 0
// done, 1 a check or a step failed, 2 bad usage.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program, with its arguments and outputs passed in so
// that tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("renewcsr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	certFile := fs.String("cert", "", "the certificate to renew (PEM, DER, base64 or PKCS#7)")
	storeDir := fs.String("store", "", "pending-request store folder (default: certwright/pending under the user's config folder)")
	out := fs.String("out", "-", "file to write the CSR to, in PEM; - for standard output")
	reuse := fs.Bool("reuse-key", false, "sign with the certificate's existing key, found in the store, instead of a new key")
	passFile := fs.String("passphrase-file", "", "file whose first line is the passphrase of an encrypted store")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: renewcsr -cert FILE [-store DIR] [-out FILE] [-reuse-key] [-passphrase-file FILE]\n\n")
		fs.PrintDefaults()
	}
	if status, ok := cli.ParseNoOperands(fs, args, "renewcsr", ""); !ok {
		return status
	}
	if *certFile == "" {
		return cli.Usagef(fs, "renewcsr", "-cert FILE is required: the certificate to renew")
	}
	fail := cli.Failer(stderr, "renewcsr")

	cert, err := readCertificate(*certFile)
	if err != nil {
		return fail("%v", err)
	}
	req := csr.FromCertificate(cert)
	fmt.Fprintf(stderr, "renewcsr: renewing %s (expires %s)\n", cert.Subject, cert.NotAfter.UTC().Format("2006-01-02"))

	// The old names are checked against today's rules before any key is
	// made; a failure here means the CA would refuse the renewal as it is.
	findings := csr.Check(req, nil)
	for _, f := range findings {
		fmt.Fprintln(stderr, f)
	}
	if csr.FindingsError(findings) != nil {
		return fail("the certificate's names fail the checks above; make a new request with newcsr instead (no key was generated or stored)")
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
	ctx := context.Background()

	var key crypto.Signer
	if *reuse {
		p, err := store.Find(ctx, cert.PublicKey)
		if errors.Is(err, csr.ErrNotFound) {
			// A certificate that was completed has its key in the archive.
			if a, aerr := store.FindArchived(ctx, cert.PublicKey); aerr == nil {
				p, err = a, nil
			}
		}
		if err != nil {
			return fail("-reuse-key: the certificate's key is not in the store: %v; renew without -reuse-key to make a new key", err)
		}
		if p.Key == nil {
			return fail("-reuse-key: the store only references the key (%s); sign the request where the key is", p.KeyURI)
		}
		key = p.Key
		fmt.Fprintf(stderr, "renewcsr: reusing the key kept as sha256:%s\n", p.ID)
	} else {
		kt := csr.KeyTypeFor(cert)
		if key, err = csr.GenerateKey(nil, kt); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(stderr, "renewcsr: new %s key\n", kt)
	}

	der, _, err := csr.Create(nil, req, key, nil)
	if err != nil {
		return fail("%v", err)
	}
	// Keep the key (and this request) before the CSR leaves the program.
	p := &csr.Pending{Key: key, CSR: der}
	switch err := store.Put(ctx, p); {
	case err == nil:
		fmt.Fprintf(stderr, "renewcsr: key kept in the pending store %s as sha256:%s\n", store.Path(), p.ID)
	case *reuse && errors.Is(err, csr.ErrExists):
		// The reused key is still pending from an earlier request: it is
		// kept already, under the same ID.
		id, _ := csr.KeyID(key.Public())
		fmt.Fprintf(stderr, "renewcsr: the key is already pending in %s as sha256:%s (with its earlier request)\n", store.Path(), id)
	default:
		return fail("keeping the key: %v (the CSR was not written)", err)
	}

	if err := cli.WriteCSR(stdout, *out, csr.EncodePEM(der), false); err != nil {
		return fail("%v", err)
	}
	if *out == "-" {
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "renewcsr: CSR written to %s; send it to the CA\n", *out)
	return 0
}

// readCertificate reads the certificate to renew from name, in any format
// the formats package knows. A file with a chain gives its end-entity
// certificate.
func readCertificate(name string) (*x509.Certificate, error) {
	c, err := formats.ReadFile(name, nil)
	if err != nil {
		return nil, err
	}
	if len(c.Certificates) == 0 {
		what := "nothing"
		if len(c.CSRs) > 0 {
			what = "a certificate request"
		} else if len(c.Keys) > 0 {
			what = "only a private key"
		}
		return nil, fmt.Errorf("%s holds %s, not a certificate; pass the certificate the CA issued", name, what)
	}
	if len(c.Certificates) == 1 {
		return c.Certificates[0], nil
	}
	var leaves []*x509.Certificate
	for _, cert := range c.Certificates {
		if !cert.IsCA {
			leaves = append(leaves, cert)
		}
	}
	if len(leaves) == 1 {
		return leaves[0], nil
	}
	var subjects []string
	for _, cert := range c.Certificates {
		subjects = append(subjects, fmt.Sprintf("%q", cert.Subject.String()))
	}
	return nil, fmt.Errorf("%s holds %d certificates (%s) and renewcsr cannot tell which one to renew; pass a file with only that certificate",
		name, len(c.Certificates), strings.Join(subjects, ", "))
}
