// Command chain builds the chain a server must send for a certificate:
// the leaf first, then each issuer in order, root left out. It reads any
// file the formats package reads (PEM, DER, base64, PKCS#7 .p7b, PKCS#12
// without a password, JKS...), in any order, with duplicates and noise,
// completes missing intermediates from a pool (and AIA with -aia), checks
// the result with crypto/x509 and writes it as PEM.
//
//	chain -in FILE... [-roots FILE] [-pool FILE] [-at RFC3339] [-host NAME]
//	      [-include-root] [-aia] [-out FILE|-] [-explain]
//
// -in may be repeated, and file names after the flags are inputs too. The
// leaf is the certificate no other input certificate issued, or the one
// matching the private key when the inputs hold exactly one key. With
// -roots only the roots in that file are trusted; without, the system root
// store, else the Mozilla set built into the program. -pool adds candidate
// intermediates (for example cfssl_trust's int-bundle.crt). -host checks
// the leaf against a host name and requires the serverAuth usage;
// without it any extended key usage is accepted. -at validates at another
// time than now. -explain prints what was reordered, dropped, added and
// rejected to stderr.
//
// Exit status: 0 when a valid chain was written, 1 when none was found or
// a file could not be read or written (the reason on stderr), 2 for a
// usage error.
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// files is a repeatable flag.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func readCerts(names []string) ([]*x509.Certificate, *formats.Contents, error) {
	var all []*x509.Certificate
	merged := &formats.Contents{}
	for _, n := range names {
		c, err := formats.ReadFile(n, nil)
		if err != nil {
			if errors.Is(err, formats.ErrIncorrectPassword) {
				err = fmt.Errorf("%w (password-protected files are not supported here; convert the file first)", err)
			}
			return nil, nil, err
		}
		all = append(all, c.Certificates...)
		merged.Keys = append(merged.Keys, c.Keys...)
		for _, note := range c.Notes {
			merged.Notes = append(merged.Notes, n+": "+note)
		}
	}
	return all, merged, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in, rootFiles, poolFiles files
	fs.Var(&in, "in", "input `FILE` with the leaf and any other certificates (repeatable)")
	fs.Var(&rootFiles, "roots", "trust only the roots in `FILE` (repeatable; default: system store, else built-in Mozilla set)")
	fs.Var(&poolFiles, "pool", "candidate intermediates in `FILE` (repeatable)")
	at := fs.String("at", "", "validate at this `RFC3339` time instead of now")
	host := fs.String("host", "", "check the leaf against host `NAME` (and require serverAuth)")
	includeRoot := fs.Bool("include-root", false, "append the root to the output")
	aia := fs.Bool("aia", false, "download missing issuers from AIA caIssuers URLs")
	out := fs.String("out", "-", "write the chain to `FILE` (- for stdout)")
	explain := fs.Bool("explain", false, "print the report to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: chain -in FILE... [-roots FILE] [-pool FILE] [-at RFC3339] [-host NAME] [-include-root] [-aia] [-out FILE|-] [-explain]")
		fs.PrintDefaults()
	}
	pos, err := cli.ParseInterleaved(fs, args, cli.InterleaveOptions{})
	if err != nil {
		return cli.FlagStatus(err)
	}
	in = append(in, pos...)
	if len(in) == 0 {
		return cli.Usagef(fs, "chain", "no input: give -in FILE")
	}
	o := &chain.Options{DNSName: *host, IncludeRoot: *includeRoot, FetchAIA: *aia}
	if *host == "" {
		o.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "chain: -at %q is not an RFC 3339 time (like 2026-06-01T12:00:00Z)\n", *at)
			return cli.ExitUsage
		}
		o.CurrentTime = t
	}

	certs, contents, err := readCerts(in)
	if err != nil {
		fmt.Fprintf(stderr, "chain: %v\n", err)
		return cli.ExitFailure
	}
	if len(certs) == 0 {
		fmt.Fprintf(stderr, "chain: no certificates in %s\n", strings.Join(in, ", "))
		return cli.ExitFailure
	}
	if len(contents.Keys) == 1 {
		o.Key = contents.Keys[0].Public()
	}
	if len(rootFiles) > 0 {
		roots, _, err := readCerts(rootFiles)
		if err != nil {
			fmt.Fprintf(stderr, "chain: -roots: %v\n", err)
			return cli.ExitFailure
		}
		if len(roots) == 0 {
			fmt.Fprintf(stderr, "chain: -roots: no certificates in %s\n", strings.Join(rootFiles, ", "))
			return cli.ExitFailure
		}
		o.Roots = chain.NewRoots(roots...)
	}
	if len(poolFiles) > 0 {
		pc, _, err := readCerts(poolFiles)
		if err != nil {
			fmt.Fprintf(stderr, "chain: -pool: %v\n", err)
			return cli.ExitFailure
		}
		o.Pool = chain.NewPool(nil)
		if _, err := o.Pool.Add(pc...); err != nil {
			fmt.Fprintf(stderr, "chain: -pool: %v\n", err)
			return cli.ExitFailure
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := chain.Build(ctx, certs, o)
	if err != nil {
		var nc *chain.NoChainError
		if !errors.As(err, &nc) {
			fmt.Fprintf(stderr, "%v\n", err)
			return cli.ExitFailure
		}
		if *explain {
			fmt.Fprintf(stderr, "chain: no valid chain for %q: %s\n", nc.Leaf, nc.Reason)
			for _, a := range nc.Rejected {
				fmt.Fprintf(stderr, "rejected %s: %s\n", pathNames(a.Chain), a.Reason)
			}
			for _, n := range nc.Notes {
				fmt.Fprintf(stderr, "note: %s\n", n)
			}
		} else {
			fmt.Fprintf(stderr, "%v\n", err)
		}
		if len(nc.Rejected) == 0 && !*aia {
			fmt.Fprintln(stderr, "chain: to complete missing intermediates, give -pool FILE or -aia")
		}
		return cli.ExitFailure
	}
	var buf bytes.Buffer
	for _, c := range res.Chain {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if *out == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			fmt.Fprintf(stderr, "chain: writing the chain: %v\n", err)
			return cli.ExitFailure
		}
	} else if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o644, atomicfile.Options{}); err != nil {
		fmt.Fprintf(stderr, "chain: writing %s: %v\n", *out, err)
		return cli.ExitFailure
	}
	if *explain {
		for _, n := range contents.Notes {
			fmt.Fprintf(stderr, "read %s\n", n)
		}
		fmt.Fprint(stderr, res.Report.String())
	}
	return 0
}

func pathNames(cs []*x509.Certificate) string {
	var ns []string
	for _, c := range cs {
		n := c.Subject.CommonName
		if n == "" {
			n = c.Subject.String()
		}
		ns = append(ns, fmt.Sprintf("%q", n))
	}
	return strings.Join(ns, " -> ")
}
