// Command hsm makes certificate requests for keys that never leave a
// PKCS#11 token (a hardware security module, a smart card, SoftHSM2), and
// completes them when the CA answers.
//
// Making a request generates the key inside the token (sensitive and
// non-extractable: CKA_SENSITIVE=true, CKA_EXTRACTABLE=false, read back to
// be sure), signs the CSR with it there, keeps only the key's PKCS#11 URI
// (RFC 7512: module path, token label, key id and label; never the PIN) in
// the pending-request store, then writes the CSR:
//
//	go run ./examples/hsm -module /usr/lib/softhsm/libsofthsm2.so -token web \
//	    -pin-file pin.txt -cn www.example.com -san example.com -key p256 \
//	    -store DIR -out www.csr
//
// Completing pairs the CA's files with the pending request by public key,
// loads the key from the token named in the stored URI (logging in with
// -pin-file), checks that the token key signs for the certificate, and
// writes the certificate files (cert.pem, chain.pem, fullchain.pem; no key
// file: the key stays in the token), then archives the pending request:
//
//	go run ./examples/hsm -complete -store DIR -pin-file pin.txt \
//	    -in certnew.cer chain.p7b [-roots root.crt] -out DIR
//
// Flags for making a request:
//
//	-module PATH     the PKCS#11 module (SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so); required
//	-token LABEL     the token's label; required
//	-pin-file FILE   file whose first line is the token's user PIN; required
//	-cn, -o, -ou, -l, -st, -c, -san   the request, as for examples/newcsr (-cn or -san required)
//	-key TYPE        p256 (default), p384, rsa2048, rsa3072 or rsa4096
//	-label NAME      the key's label in the token (default: the CN, else the first SAN)
//	-store DIR       pending-request store (default: newcsr's, certwright/pending under the user's config folder)
//	-out FILE        where to write the CSR, PEM; - (default) for standard output; never overwritten
//	-strict          treat the request checks' warnings as errors
//
// Flags for -complete:
//
//	-in FILE...      the CA's answer, in any format examples/complete reads; required
//	-out DIR         folder for cert.pem, chain.pem, fullchain.pem (created 0700); required
//	-store DIR       pending-request store (default as above)
//	-pin-file FILE   the token's PIN (the stored URI has none)
//	-roots FILE      trusted root(s) (the self-signed certificates of FILE); default: the system roots
//	-include-root    append the root to chain.pem and fullchain.pem
//	-overwrite       replace existing certificate files
//	-password P      password of .pfx/.jks input files
//
// Exit status: 0 done, 1 a check or a step failed (the message says which
// and what was left behind), 2 bad usage. The program needs cgo to load a
// PKCS#11 module; built with CGO_ENABLED=0 it says so and exits 1.
//
// Servers use such a key by reference: a Go program with
// bundle.Bundle.TLSCertificate and the token's crypto.Signer, nginx or
// HAProxy through an OpenSSL PKCS#11 provider or engine with the key's URI,
// Apache mod_ssl with the URI in SSLCertificateKeyFile. The key URI printed
// carries no PIN; give the PIN to the server the way it expects.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
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
	"github.com/certwright/certwright/examples/internal/hsm"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program, with its arguments and outputs passed in so
// that tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-complete" || a == "--complete" || a == "-complete=true" || a == "--complete=true" {
			return runComplete(ctx, args, stdout, stderr)
		}
		if a == "--" {
			break
		}
	}
	return runRequest(ctx, args, stdout, stderr)
}

func runRequest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hsm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	module := fs.String("module", "", "PKCS#11 module `path` (SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so)")
	token := fs.String("token", "", "token `label`")
	pinFile := fs.String("pin-file", "", "`file` whose first line is the token's user PIN")
	var req csr.Request
	fs.StringVar(&req.CN, "cn", "", "common name: the main host name (it is added to the SANs)")
	fs.StringVar(&req.O, "o", "", "organization")
	fs.StringVar(&req.OU, "ou", "", "organizational unit (public CAs drop it)")
	fs.StringVar(&req.L, "l", "", "locality: the city, written out")
	fs.StringVar(&req.ST, "st", "", "state or province, written out")
	fs.StringVar(&req.C, "c", "", "country: the 2-letter ISO 3166 code")
	san := fs.String("san", "", "subject alternative names, comma-separated")
	keyType := fs.String("key", string(csr.P256), "key type: p256, p384, rsa2048, rsa3072 or rsa4096")
	label := fs.String("label", "", "the key's label in the token (default: the CN, else the first SAN)")
	storeDir := fs.String("store", "", "pending-request store `folder` (default: certwright/pending under the user's config folder)")
	out := fs.String("out", "-", "`file` to write the CSR to, PEM; - for standard output")
	strict := fs.Bool("strict", false, "treat the checks' warnings as errors")
	fs.Bool("complete", false, "complete a request instead (see -complete -h)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hsm -module PATH -token LABEL -pin-file FILE -cn HOST [-o ORG] [-ou UNIT] [-l CITY] [-st STATE] [-c CC] [-san NAMES] [-key TYPE] [-label NAME] [-store DIR] [-out FILE] [-strict]")
		fmt.Fprintln(stderr, "       hsm -complete -in FILE... -out DIR [-store DIR] [-pin-file FILE] [-roots FILE] [-include-root] [-overwrite] [-password P]")
		fs.PrintDefaults()
	}
	if status, ok := cli.ParseNoOperands(fs, args, "hsm", "; put all names in flags (SANs go in -san, comma-separated)"); !ok {
		return status
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"-module", *module}, {"-token", *token}, {"-pin-file", *pinFile}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if req.CN == "" && strings.TrimSpace(*san) == "" {
		missing = append(missing, "-cn or -san")
	}
	if len(missing) > 0 {
		return cli.Usagef(fs, "hsm", "%s required", strings.Join(missing, ", "))
	}
	fail := cli.Failer(stderr, "hsm")

	// Everything that can be checked is checked before a key is made in
	// the token.
	opts := &csr.Options{Strict: *strict}
	kt, ok := cli.CheckRequest(stderr, &req, *keyType, *san, opts, func(kt csr.KeyType) error {
		_, err := hsm.CheckKeyType(kt)
		return err
	})
	if !ok {
		return fail("the request was not made: fix the errors above (no key was generated)")
	}
	pin, err := cli.ReadFirstLine(*pinFile, "PIN")
	if err != nil {
		return fail("%v", err)
	}
	if *out != "-" {
		if _, err := os.Lstat(*out); err == nil {
			return fail("%s already exists; the CSR is never written over a file (choose another -out)", *out)
		}
	}
	dir, err := cli.StoreDir(*storeDir)
	if err != nil {
		return fail("%v", err)
	}
	store, err := cli.OpenStore(dir, cli.StoreOptions{})
	if err != nil {
		return fail("%v", err)
	}
	keyLabel := *label
	if keyLabel == "" {
		keyLabel = req.CN
		if keyLabel == "" && len(req.DNSNames) > 0 {
			keyLabel = req.DNSNames[0]
		}
		if keyLabel == "" {
			keyLabel = "certwright"
		}
	}

	r := &hsm.Resolver{PIN: func(string, string) (string, error) { return pin, nil }}
	defer r.Close()
	signer, u, err := r.GenerateKey(ctx, hsm.KeyRequest{Module: *module, Token: *token, Label: keyLabel, Type: kt})
	if err != nil {
		return fail("%v", err)
	}
	uri := u.String()
	fmt.Fprintf(stderr, "hsm: %s key generated in token %q: %s\n", kt, *token, uri)
	if info, err := r.Inspect(ctx, uri); err == nil {
		fmt.Fprintf(stderr, "hsm: the token reports %s\n", info)
	}
	// A key that no request or store refers to is useless: delete it
	// when the request cannot be kept.
	undo := func(cause error) int {
		if derr := r.DeleteKey(ctx, uri); derr != nil {
			return fail("%v; the new key could not be deleted either (%v): delete %s from the token by hand", cause, derr, uri)
		}
		return fail("%v; the new key was deleted from the token, nothing was kept", cause)
	}
	der, _, err := csr.Create(nil, &req, signer, opts)
	if err != nil {
		return undo(err)
	}
	// The reference goes into the store before the CSR leaves the
	// program, as newcsr does with a key.
	p := &csr.Pending{KeyURI: uri, CSR: der}
	if err := store.Put(ctx, p); err != nil {
		return undo(fmt.Errorf("keeping the request: %w (the CSR was not written)", err))
	}
	fmt.Fprintf(stderr, "hsm: pending request sha256:%s kept in %s with the key's URI only (no key file, no PIN)\n", p.ID, store.Path())
	fmt.Fprintf(stderr, "hsm: subject %s\n", p.Subject)
	fmt.Fprintf(stderr, "hsm: SANs %s\n", strings.Join(p.SANs, ", "))

	if err := cli.WriteCSR(stdout, *out, csr.EncodePEM(der), true); err != nil {
		return fail("%v (a copy is in the store as sha256:%s)", err, p.ID)
	}
	if *out == "-" {
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "hsm: CSR written to %s; send it to the CA, then run hsm -complete with its answer\n", *out)
	return 0
}

func runComplete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ins, rest, err := cli.SplitMulti(args, "in")
	fs := flag.NewFlagSet("hsm -complete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("complete", true, "complete a request (this mode)")
	storeDir := fs.String("store", "", "pending-request store `folder` (default: certwright/pending under the user's config folder)")
	pinFile := fs.String("pin-file", "", "`file` whose first line is the token's user PIN")
	outDir := fs.String("out", "", "output `folder` for cert.pem, chain.pem, fullchain.pem")
	rootsFile := fs.String("roots", "", "`file` with the trusted root(s); default: the system roots")
	includeRoot := fs.Bool("include-root", false, "append the root to chain.pem and fullchain.pem")
	overwrite := fs.Bool("overwrite", false, "replace existing certificate files")
	password := fs.String("password", "", "password of .pfx/.jks input files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hsm -complete -in FILE... -out DIR [-store DIR] [-pin-file FILE] [-roots FILE] [-include-root] [-overwrite] [-password P]")
		fs.PrintDefaults()
	}
	if err != nil {
		return cli.Usagef(fs, "hsm", "%v", err)
	}
	if err := fs.Parse(rest); err != nil {
		return cli.FlagStatus(err)
	}
	ins = append(ins, fs.Args()...)
	if len(ins) == 0 || *outDir == "" {
		return cli.Usagef(fs, "hsm", "-complete needs -in and -out")
	}
	fail := cli.Failer(stderr, "hsm")

	dir, err := cli.StoreDir(*storeDir)
	if err != nil {
		return fail("%v", err)
	}
	store, err := cli.OpenStore(dir, cli.StoreOptions{MustExist: true})
	if err != nil {
		return fail("%v", err)
	}
	r := &hsm.Resolver{PIN: func(_, token string) (string, error) {
		if *pinFile == "" {
			return "", fmt.Errorf("the key is in token %q and no -pin-file was given", token)
		}
		return cli.ReadFirstLine(*pinFile, "PIN")
	}}
	defer r.Close()
	opts := &bundle.CompleteOptions{Password: *password, KeyResolver: r}
	if *rootsFile != "" {
		roots, err := cli.ReadRoots(*rootsFile, *password)
		if err != nil {
			return fail("%v", err)
		}
		opts.Roots = roots
	}
	done, err := bundle.CompleteFiles(ctx, store, ins, opts)
	if err != nil {
		return fail("%v (the request stays pending)", err)
	}
	status := cli.ExitOK
	for _, c := range done {
		leaf := c.Bundle.Leaf
		if c.Pending.KeyURI == "" || c.Pending.Key != nil {
			fmt.Fprintf(stderr, "hsm: the key of %q is in the pending store, not in a token; complete it with examples/complete (it stays pending)\n", leaf.Subject)
			status = cli.ExitFailure
			continue
		}
		for _, n := range c.Notes {
			fmt.Fprintln(stderr, "hsm: note:", n)
		}
		if err := signCheck(c.Bundle.Key, leaf); err != nil {
			fmt.Fprintf(stderr, "hsm: %q: the token key does not sign for the certificate: %v (the request stays pending)\n", leaf.Subject, err)
			status = cli.ExitFailure
			continue
		}
		dest := *outDir
		if len(done) > 1 {
			dest = filepath.Join(*outDir, cli.LeafFolder(leaf))
		}
		written, err := c.WriteCertificates(dest, &bundle.WriteOptions{IncludeRoot: *includeRoot, Overwrite: *overwrite})
		for _, p := range written {
			fmt.Fprintln(stdout, p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "hsm: %v (the request sha256:%s stays pending)\n", err, c.Pending.ID)
			status = cli.ExitFailure
			continue
		}
		if err := c.Finish(ctx); err != nil {
			fmt.Fprintf(stderr, "hsm: %v\n", err)
			status = cli.ExitFailure
			continue
		}
		fmt.Fprintf(stderr, "hsm: %s: chain %s\n", leaf.Subject, cli.DescribeChain(c.Bundle))
		fmt.Fprintf(stderr, "hsm: the key stays in the token: %s\n", c.Pending.KeyURI)
		if info, err := r.Inspect(ctx, c.Pending.KeyURI); err == nil {
			fmt.Fprintf(stderr, "hsm: the token reports %s\n", info)
		}
		fmt.Fprintf(stderr, "hsm: signed a test message in the token and verified it with the certificate; pending request sha256:%s archived\n", c.Pending.ID)
	}
	return status
}

// signCheck signs a digest with key and verifies it with the certificate's
// public key: the proof that the token holds the certified key and that it
// can be used.
func signCheck(key crypto.Signer, leaf *x509.Certificate) error {
	digest := sha256.Sum256([]byte("certwright hsm check"))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("signing in the token: %w", err)
	}
	switch pub := leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			return errors.New("the signature does not verify")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			return fmt.Errorf("the signature does not verify: %w", err)
		}
	default:
		return fmt.Errorf("unexpected %T public key", pub)
	}
	return nil
}
