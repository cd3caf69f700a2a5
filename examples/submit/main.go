// Command submit sends a certificate request to a CA and writes the
// certificate and its chain: to step-ca with a provisioner's one-time token,
// or to any ACME server with HTTP-01. It also renews a step-ca certificate
// with the certificate itself (mutual TLS).
//
//	go run ./examples/submit -ca https://ca.internal:9000 -root root.crt \
//	    -csr www.csr -provisioner admin@example.com -provisioner-key prov.key \
//	    -out www.crt
//	go run ./examples/submit -ca URL -fingerprint SHA256 -csr FILE -token-file FILE -out FILE
//	go run ./examples/submit -ca URL -root FILE -renew -cert FILE -key FILE -out FILE
//	go run ./examples/submit -acme DIRECTORY_URL -http01 :80 -accept-tos \
//	    [-root FILE] -csr FILE -out FILE
//
// The CA's root is pinned with -root (a file holding it; only its
// self-signed certificates are trusted) or bootstrapped with -fingerprint,
// the SHA-256 `step ca bootstrap` takes: the system store is never trusted
// for step-ca. For ACME, -root is optional and the system roots are used
// without it, as public ACME CAs need.
//
// The token comes from -token, -token-file (safer: command lines are
// visible to other users), or is minted here from -provisioner and
// -provisioner-key, bound to the request so that it cannot serve another
// one. The key file is step's encrypted JWK (the provisioner's
// "encryptedKey" from ca.json saved to a file, or the key file of `step
// crypto jwk create`; its kid is used) or a PEM or DER private key;
// -password-file opens an encrypted one.
//
// -out receives the leaf then its chain in PEM (0644, written atomically,
// never over an existing file unless -overwrite); -chain-out, when given,
// the intermediates alone. The request's key stays in the pending store
// where examples/newcsr put it: finish with
// `examples/complete -in OUT -roots root.crt`.
//
// For ACME, -http01 is the address to serve /.well-known/acme-challenge/
// on while the order is validated (port 80 of each name, as the CA
// connects there). -account-key is the ACME account's key; without it a new
// account is made with a throw-away key. -accept-tos agrees to the server's
// terms of service, which creating an account requires.
//
// If the certificate was issued but cannot be written, it is printed on
// stderr, as the CA does not send it twice.
//
// Exit codes: 0 the certificate was written; 1 the CA refused (its status
// and message are printed) or a file, network or trust step failed; 2 bad
// usage.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/csr/stepca"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type options struct {
	ca, root, fingerprint, csrFile           string
	token, tokenFile                         string
	provisioner, provisionerKey, kid, pwFile string
	out, chainOut                            string
	overwrite, renew                         bool
	cert, key                                string
	acmeURL, http01, accountKey, contact     string
	acceptTOS                                bool
	timeout                                  time.Duration
}

// run is the whole program, with its arguments and outputs passed in so
// that tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.ca, "ca", "", "step-ca base `URL` (https://host:port)")
	fs.StringVar(&o.root, "root", "", "`file` holding the CA's root (pinned; only self-signed certificates are trusted)")
	fs.StringVar(&o.fingerprint, "fingerprint", "", "SHA-256 `fingerprint` of the step-ca root, to fetch and pin it (step ca bootstrap)")
	fs.StringVar(&o.csrFile, "csr", "", "certificate request `file` (PEM, DER or base64)")
	fs.StringVar(&o.token, "token", "", "one-time `token` from `step ca token` (prefer -token-file)")
	fs.StringVar(&o.tokenFile, "token-file", "", "`file` holding the one-time token")
	fs.StringVar(&o.provisioner, "provisioner", "", "JWK provisioner `name`, to mint the token here")
	fs.StringVar(&o.provisionerKey, "provisioner-key", "", "the provisioner's private key `file`: step's encrypted JWK, PEM or DER")
	fs.StringVar(&o.kid, "kid", "", "the provisioner key's `ID` (default: the JWK's kid, else the key's RFC 7638 thumbprint)")
	fs.StringVar(&o.pwFile, "password-file", "", "`file` whose first line is the password of -provisioner-key or -key")
	fs.StringVar(&o.out, "out", "", "output `file`: the certificate then its chain, PEM")
	fs.StringVar(&o.chainOut, "chain-out", "", "also write the intermediates alone to this `file`")
	fs.BoolVar(&o.overwrite, "overwrite", false, "replace existing -out and -chain-out files")
	fs.BoolVar(&o.renew, "renew", false, "renew -cert with its key -key over mutual TLS (step-ca)")
	fs.StringVar(&o.cert, "cert", "", "certificate `file` to renew, with its chain")
	fs.StringVar(&o.key, "key", "", "private key `file` of -cert")
	fs.StringVar(&o.acmeURL, "acme", "", "ACME directory `URL`")
	fs.StringVar(&o.http01, "http01", "", "`address` to answer HTTP-01 challenges on (port 80 of the names)")
	fs.StringVar(&o.accountKey, "account-key", "", "ACME account key `file` (default: a new account with a throw-away key)")
	fs.StringVar(&o.contact, "contact", "", "ACME account contact `e-mail`")
	fs.BoolVar(&o.acceptTOS, "accept-tos", false, "agree to the ACME server's terms of service (needed to create an account)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this `duration`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: submit -ca URL (-root FILE | -fingerprint SHA256) -csr FILE
           (-token T | -token-file FILE | -provisioner NAME -provisioner-key FILE [-kid KID]) -out FILE [-chain-out FILE]
       submit -ca URL (-root FILE | -fingerprint SHA256) -renew -cert FILE -key FILE -out FILE [-chain-out FILE]
       submit -acme DIRECTORY_URL -http01 ADDR [-accept-tos] [-account-key FILE] [-root FILE] -csr FILE -out FILE [-chain-out FILE]`)
		fs.PrintDefaults()
	}
	if status, ok := cli.ParseNoOperands(fs, args, "submit", ""); !ok {
		return status
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	leaf, chain, err := submit(ctx, &o, stderr)
	if err == nil {
		if err = writeOutputs(&o, leaf, chain, stdout); err != nil {
			// The CA will not send this certificate again: keep it.
			fmt.Fprintln(stderr, "submit: the issued certificate and chain follow; save them before anything else")
			stderr.Write(pemCerts(append([]*x509.Certificate{leaf}, chain...)))
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "submit:", err)
		var ue usageError
		if errors.As(err, &ue) {
			fs.Usage()
			return cli.ExitUsage
		}
		return cli.ExitFailure
	}
	return 0
}

// submit checks the flags and gets the certificate.
func submit(ctx context.Context, o *options, stderr io.Writer) (*x509.Certificate, []*x509.Certificate, error) {
	if o.out == "" {
		return nil, nil, usageError{"-out is required"}
	}
	if o.acmeURL != "" {
		if o.ca != "" || o.renew || o.fingerprint != "" || o.token != "" || o.tokenFile != "" || o.provisioner != "" {
			return nil, nil, usageError{"-acme does not combine with -ca, -fingerprint, -renew, -token, -token-file or -provisioner"}
		}
		return issueACME(ctx, o, stderr)
	}
	if o.ca == "" {
		return nil, nil, usageError{"-ca (step-ca) or -acme (ACME) is required"}
	}
	if (o.root == "") == (o.fingerprint == "") {
		return nil, nil, usageError{"give exactly one of -root FILE and -fingerprint SHA256 to pin the CA's root"}
	}
	if o.renew {
		if o.cert == "" || o.key == "" {
			return nil, nil, usageError{"-renew needs -cert and -key"}
		}
		if o.csrFile != "" || o.token != "" || o.tokenFile != "" || o.provisioner != "" {
			return nil, nil, usageError{"-renew takes no -csr or token: the certificate itself authenticates"}
		}
	} else {
		if o.csrFile == "" {
			return nil, nil, usageError{"-csr is required"}
		}
		n := 0
		for _, s := range []string{o.token, o.tokenFile, o.provisioner} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			return nil, nil, usageError{"give exactly one of -token, -token-file and -provisioner"}
		}
		if (o.provisioner == "") != (o.provisionerKey == "") {
			return nil, nil, usageError{"-provisioner and -provisioner-key go together"}
		}
	}
	client := &stepca.Client{URL: o.ca}
	if o.root != "" {
		pool, err := rootPool(o.root)
		if err != nil {
			return nil, nil, err
		}
		client.RootCAs = pool
	} else {
		root, err := client.Root(ctx, o.fingerprint)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stderr, "submit: pinned the root %q (SHA-256 %s)\n", root.Subject, o.fingerprint)
		client.RootCAs = x509.NewCertPool()
		client.RootCAs.AddCert(root)
	}
	if o.renew {
		cert, err := loadTLSCertificate(o)
		if err != nil {
			return nil, nil, err
		}
		return client.Renew(ctx, cert)
	}
	req, err := readCSR(o.csrFile)
	if err != nil {
		return nil, nil, err
	}
	token := o.token
	switch {
	case o.tokenFile != "":
		data, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, nil, err
		}
		token = strings.TrimSpace(string(data))
		if token == "" {
			return nil, nil, fmt.Errorf("%s: empty token file", o.tokenFile)
		}
	case o.provisioner != "":
		key, kid, err := readProvisionerKey(o.provisionerKey, o.pwFile)
		if err != nil {
			return nil, nil, err
		}
		if o.kid != "" {
			kid = o.kid
		}
		token, err = stepca.NewToken(&stepca.Token{Provisioner: o.provisioner, KeyID: kid, Key: key, CA: o.ca, CSR: req.Raw})
		if err != nil {
			return nil, nil, err
		}
	}
	leaf, chain, err := client.Sign(ctx, req.Raw, token)
	var ce *stepca.Error
	if errors.As(err, &ce) && ce.StatusCode == http.StatusUnauthorized {
		err = fmt.Errorf("%w\n(a token is refused when it was used before, has expired, or names another provisioner, key ID or CA address)", err)
	}
	return leaf, chain, err
}

// issueACME orders the certificate from an ACME server.
func issueACME(ctx context.Context, o *options, stderr io.Writer) (*x509.Certificate, []*x509.Certificate, error) {
	if o.csrFile == "" || o.http01 == "" {
		return nil, nil, usageError{"-acme needs -csr and -http01"}
	}
	req, err := readCSR(o.csrFile)
	if err != nil {
		return nil, nil, err
	}
	hc := &http.Client{}
	if o.root != "" {
		pool, err := rootPool(o.root)
		if err != nil {
			return nil, nil, err
		}
		hc.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	var key crypto.Signer
	if o.accountKey != "" {
		if key, err = readKey(o.accountKey, o.pwFile); err != nil {
			return nil, nil, err
		}
	} else if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, nil, err
	}
	client := &acme.Client{Key: key, DirectoryURL: o.acmeURL, HTTPClient: hc, UserAgent: "certwright-submit"}
	dir, err := client.Discover(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("ACME directory %s: %w", o.acmeURL, err)
	}
	acct := &acme.Account{}
	if o.contact != "" {
		acct.Contact = []string{"mailto:" + o.contact}
	}
	if _, err := client.GetReg(ctx, ""); errors.Is(err, acme.ErrNoAccount) {
		if !o.acceptTOS {
			terms := dir.Terms
			if terms == "" {
				terms = "(the server publishes none)"
			}
			return nil, nil, usageError{"a new ACME account must agree to the server's terms of service " + terms + ": read them and pass -accept-tos"}
		}
		if _, err := client.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
			return nil, nil, fmt.Errorf("ACME account: %w", err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("ACME account: %w", err)
	}

	solver := new(stepca.HTTP01)
	ln, err := net.Listen("tcp", o.http01)
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP-01 listener: %w (port 80 needs root or CAP_NET_BIND_SERVICE)", err)
	}
	mux := http.NewServeMux()
	mux.Handle(stepca.HTTP01Path, solver)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(stderr, "submit: answering HTTP-01 on %s\n", ln.Addr())
	return stepca.ACMEIssue(ctx, client, req.Raw, nil, solver)
}

// rootPool reads a file and trusts its self-signed certificates only.
func rootPool(name string) (*x509.CertPool, error) {
	c, err := formats.ReadFile(name, nil)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for _, cert := range c.Certificates {
		if cert.IsCA && cert.CheckSignatureFrom(cert) == nil {
			pool.AddCert(cert)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no self-signed root certificate among its %d certificates: give the CA's root (step ca root), or -fingerprint", name, len(c.Certificates))
	}
	return pool, nil
}

func readCSR(name string) (*x509.CertificateRequest, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	req, err := csr.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%s: the request's signature does not verify: %w", name, err)
	}
	return req, nil
}

// readPassword returns the first line of a password file.
func readPassword(name string) (string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	pw, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSuffix(pw, "\r"), nil
}

// readProvisionerKey reads step's encrypted JWK (the provisioner's
// "encryptedKey" of ca.json saved to a file, or `step crypto jwk create`'s
// key file) or any private key file formats reads. It returns the JWK's
// key ID, if any.
func readProvisionerKey(name, pwFile string) (crypto.Signer, string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, "", err
	}
	if !stepca.IsEncryptedJWK(data) {
		key, err := readKey(name, pwFile)
		return key, "", err
	}
	if pwFile == "" {
		return nil, "", usageError{name + " is step's encrypted key (JWE): give its password with -password-file"}
	}
	pw, err := readPassword(pwFile)
	if err != nil {
		return nil, "", err
	}
	key, kid, err := stepca.DecryptJWK(data, []byte(pw))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	return key, kid, nil
}

// readKey reads exactly one private key.
func readKey(name, pwFile string) (crypto.Signer, error) {
	opts := &formats.ReadOptions{}
	if pwFile != "" {
		pw, err := readPassword(pwFile)
		if err != nil {
			return nil, err
		}
		opts.Password = pw
	}
	c, err := formats.ReadFile(name, opts)
	if err != nil {
		return nil, err
	}
	if len(c.Keys) != 1 {
		return nil, fmt.Errorf("%s: %d private keys found (formats: %s), want exactly one", name, len(c.Keys), strings.Join(c.Formats, ", "))
	}
	return c.Keys[0], nil
}

// loadTLSCertificate pairs -cert (leaf and chain) with -key.
func loadTLSCertificate(o *options) (tls.Certificate, error) {
	key, err := readKey(o.key, o.pwFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := formats.ReadFile(o.cert, nil)
	if err != nil {
		return tls.Certificate{}, err
	}
	var leaf *x509.Certificate
	for _, cert := range c.Certificates {
		if k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(key.Public()) {
			leaf = cert
			break
		}
	}
	if leaf == nil {
		return tls.Certificate{}, fmt.Errorf("%s: no certificate carries the public key of %s", o.cert, o.key)
	}
	out := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, cert := range c.Certificates {
		if cert != leaf && cert.CheckSignatureFrom(cert) != nil {
			out.Certificate = append(out.Certificate, cert.Raw)
		}
	}
	if time.Now().After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("%s: the certificate expired on %s: step-ca renews only valid certificates; submit a new request", o.cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return out, nil
}

// writeOutputs writes -out (leaf and chain) and -chain-out, then lists them.
func writeOutputs(o *options, leaf *x509.Certificate, chain []*x509.Certificate, stdout io.Writer) error {
	full := pemCerts(append([]*x509.Certificate{leaf}, chain...))
	files := []struct {
		name string
		data []byte
	}{{o.out, full}}
	if o.chainOut != "" {
		files = append(files, struct {
			name string
			data []byte
		}{o.chainOut, pemCerts(chain)})
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(f.name, f.data, 0o644, atomicfile.Options{NoOverwrite: !o.overwrite}); err != nil {
			if errors.Is(err, atomicfile.ErrExists) {
				return fmt.Errorf("%s exists: choose another name or pass -overwrite", f.name)
			}
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		fmt.Fprintln(stdout, f.name)
	}
	return nil
}

func pemCerts(certs []*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}
