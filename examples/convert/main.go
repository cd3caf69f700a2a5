// Command convert rewrites a certificate, key or keystore file into the
// format a server or a platform wants. The input format is detected by
// content (PEM, base64, DER, PKCS#7, PKCS#12, JKS).
//
//	convert -in FILE [-password P] -to pem|der|p7b|p7b-pem|pfx|pfx-legacy -out FILE
//	        [-out-password P | -no-password] [-name FRIENDLY] [-force]
//
// Targets:
//
//	pem         all certificates (input order), then the private keys
//	            (unencrypted PKCS#8), then any certificate requests
//	der         one certificate: DER holds exactly one, so with several
//	            certificates the leaf is written (the one paired with the
//	            private key, else the one that issued none of the others)
//	            and the others are listed on stderr as left out; with no
//	            certificate, a single key (PKCS#8) or request is written
//	p7b         certificates-only PKCS#7, DER
//	p7b-pem     certificates-only PKCS#7, PEM (BEGIN PKCS7)
//	pfx         PKCS#12 with the Modern profile (AES-256, PBKDF2, SHA-256)
//	pfx-legacy  PKCS#12 with the Legacy3DES profile (Windows Server 2016
//	            and older, Java 8)
//
// pfx and pfx-legacy need a private key and the certificate for it (paired
// by public key); the other certificates go in as the chain, ordered from
// the leaf's issuer upwards where the issuer links allow. They need
// -out-password, or -no-password for an unprotected file (no encryption,
// no MAC: anyone can read the key).
//
// The output is written atomically (a temporary file, fsync, rename), mode
// 0600 when it holds a private key and 0644 otherwise. An existing output
// file is not replaced unless -force is given. -out - writes to stdout.
//
// Exit status: 0 on success, 1 when the conversion fails (the reason goes
// to stderr), 2 for a usage error.
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "input file (any supported format, detected by content)")
	password := fs.String("password", "", "password of the input (PKCS#12, JKS, encrypted key)")
	to := fs.String("to", "", "output format: pem, der, p7b, p7b-pem, pfx, pfx-legacy")
	out := fs.String("out", "", "output file, or - for stdout")
	outPassword := fs.String("out-password", "", "password for a pfx/pfx-legacy output")
	noPassword := fs.Bool("no-password", false, "write a pfx without any protection (instead of -out-password)")
	name := fs.String("name", "", "friendly name (keytool alias) of the key in a pfx output")
	force := fs.Bool("force", false, "replace an existing output file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: convert -in FILE [-password P] -to pem|der|p7b|p7b-pem|pfx|pfx-legacy -out FILE [-out-password P | -no-password] [-name FRIENDLY] [-force]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cli.FlagStatus(err)
	}
	usage := func(msg string) int {
		return cli.Usagef(fs, "convert", "%s", msg)
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case *in == "":
		return usage("-in is required")
	case *out == "":
		return usage("-out is required")
	}
	pfx := *to == "pfx" || *to == "pfx-legacy"
	switch *to {
	case "pem", "der", "p7b", "p7b-pem", "pfx", "pfx-legacy":
	case "":
		return usage("-to is required")
	default:
		return usage(fmt.Sprintf("unknown -to %q", *to))
	}
	if pfx {
		if *outPassword == "" && !*noPassword {
			return usage("-to " + *to + " needs -out-password (or -no-password for an unprotected file)")
		}
		if *outPassword != "" && *noPassword {
			return usage("-out-password and -no-password exclude each other")
		}
	} else if *outPassword != "" || *noPassword || *name != "" {
		return usage("-out-password, -no-password and -name apply to -to pfx and pfx-legacy only")
	}

	c, err := formats.ReadFile(*in, &formats.ReadOptions{Password: *password})
	if err != nil {
		msg := err.Error()
		if errors.Is(err, formats.ErrIncorrectPassword) {
			msg += "; pass the input's password with -password"
		}
		fmt.Fprintf(stderr, "convert: %s\n", msg)
		return cli.ExitFailure
	}
	data, secret, err := convert(c, *to, *outPassword, *name, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "convert: %s: %v\n", *in, err)
		return cli.ExitFailure
	}
	if *out == "-" {
		if _, err := stdout.Write(data); err != nil {
			fmt.Fprintf(stderr, "convert: %v\n", err)
			return cli.ExitFailure
		}
		return 0
	}
	perm := fs0644
	if secret {
		perm = 0o600
	}
	if err := atomicfile.WriteFile(*out, data, perm, atomicfile.Options{NoOverwrite: !*force}); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			fmt.Fprintf(stderr, "convert: %s already exists; pass -force to replace it\n", *out)
		} else {
			fmt.Fprintf(stderr, "convert: writing %s: %v\n", *out, err)
		}
		return cli.ExitFailure
	}
	fmt.Fprintf(stderr, "convert: wrote %s (%s)\n", *out, *to)
	return 0
}

const fs0644 fs.FileMode = 0o644

// convert encodes c as the target format. It reports whether the output
// holds a private key.
func convert(c *formats.Contents, to, outPassword, name string, stderr io.Writer) ([]byte, bool, error) {
	switch to {
	case "pem":
		var b bytes.Buffer
		b.Write(formats.EncodeCertificatesPEM(c.Certificates...))
		for _, k := range c.Keys {
			kp, err := formats.EncodeKeyPEM(k, nil)
			if err != nil {
				return nil, false, err
			}
			b.Write(kp)
		}
		for _, r := range c.CSRs {
			b.Write(formats.EncodeCSRPEM(r))
		}
		return b.Bytes(), len(c.Keys) > 0, nil
	case "der":
		switch {
		case len(c.Certificates) > 0:
			leaf := pickLeaf(c)
			if len(c.Certificates) > 1 {
				fmt.Fprintf(stderr, "convert: DER holds one certificate: writing the leaf %q; left out:\n", leaf.Subject.String())
				for _, cert := range c.Certificates {
					if cert != leaf {
						fmt.Fprintf(stderr, "  %s\n", cert.Subject.String())
					}
				}
				fmt.Fprintln(stderr, "convert: use -to pem or -to p7b to keep them all")
			}
			if len(c.Keys) > 0 {
				fmt.Fprintln(stderr, "convert: the private key is not written to a DER certificate file")
			}
			return leaf.Raw, false, nil
		case len(c.Keys) == 1:
			der, _, err := formats.EncodeKeyDER(c.Keys[0], nil)
			return der, true, err
		case len(c.Keys) == 0 && len(c.CSRs) == 1:
			return c.CSRs[0].Raw, false, nil
		}
		return nil, false, fmt.Errorf("DER holds one item, and the input has %d keys and %d requests but no certificate; use -to pem", len(c.Keys), len(c.CSRs))
	case "p7b", "p7b-pem":
		if len(c.Certificates) == 0 {
			return nil, false, errors.New("no certificates to put in a PKCS#7")
		}
		if len(c.Keys) > 0 {
			fmt.Fprintln(stderr, "convert: PKCS#7 holds certificates only: the private key is left out")
		}
		if to == "p7b" {
			der, err := formats.EncodePKCS7(c.Certificates)
			return der, false, err
		}
		p, err := formats.EncodePKCS7PEM(c.Certificates)
		return p, false, err
	case "pfx", "pfx-legacy":
		if len(c.Pairs) == 0 {
			return nil, false, noPairError(c)
		}
		pair := c.Pairs[0]
		if len(c.Pairs) > 1 {
			fmt.Fprintf(stderr, "convert: %d key/certificate pairs; writing the first, %q\n", len(c.Pairs), pair.Certificate.Subject.String())
		}
		profile := formats.Modern
		if to == "pfx-legacy" {
			profile = formats.Legacy3DES
		}
		if outPassword == "" {
			profile = formats.Passwordless
		}
		chain := orderChain(pair.Certificate, c.Certificates)
		out, err := formats.EncodePKCS12(pair.Key, pair.Certificate, chain, outPassword, &formats.PKCS12Options{Profile: profile, FriendlyName: name})
		return out, true, err
	}
	return nil, false, fmt.Errorf("unknown target %q", to)
}

func noPairError(c *formats.Contents) error {
	switch {
	case len(c.Keys) == 0:
		return fmt.Errorf("a pfx needs a private key and the input has none (%d certificates); read the key and certificate from a PEM that holds both", len(c.Certificates))
	case len(c.Certificates) == 0:
		return errors.New("a pfx needs the certificate for the private key and the input has none")
	}
	var keys string
	for _, k := range c.Keys {
		der, _ := x509.MarshalPKIXPublicKey(k.Public())
		keys += fmt.Sprintf(" %x", sha256Sum(der))
	}
	return fmt.Errorf("no certificate matches a private key by public key (key SPKI SHA-256:%s)", keys)
}

// pickLeaf returns the certificate paired with a key, else the first
// certificate that issued none of the others.
func pickLeaf(c *formats.Contents) *x509.Certificate {
	if len(c.Pairs) > 0 {
		return c.Pairs[0].Certificate
	}
	for _, cand := range c.Certificates {
		issuer := false
		for _, other := range c.Certificates {
			if other != cand && bytes.Equal(other.RawIssuer, cand.RawSubject) && other.CheckSignatureFrom(cand) == nil {
				issuer = true
				break
			}
		}
		if !issuer {
			return cand
		}
	}
	return c.Certificates[0]
}

// orderChain returns all certificates but leaf, following issuer links up
// from leaf first, then the rest in input order.
func orderChain(leaf *x509.Certificate, all []*x509.Certificate) []*x509.Certificate {
	used := map[*x509.Certificate]bool{leaf: true}
	var out []*x509.Certificate
	for cur := leaf; ; {
		var next *x509.Certificate
		for _, cand := range all {
			if !used[cand] && bytes.Equal(cur.RawIssuer, cand.RawSubject) && cur.CheckSignatureFrom(cand) == nil {
				next = cand
				break
			}
		}
		if next == nil {
			break
		}
		used[next] = true
		out = append(out, next)
		cur = next
	}
	for _, c := range all {
		if !used[c] {
			out = append(out, c)
		}
	}
	return out
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
