// Command quickstart runs the whole certificate loop on a real CA, with no
// set-up: an embedded step-ca (github.com/smallstep/certificates) signs
// the request in-process.
//
//	go run ./examples/quickstart [-dir DIR]
//
// It makes a key and a CSR, keeps the key in a pending-request store,
// submits the CSR to step-ca, receives the answer as a CA hands it over
// (the certificate as a .cer, the chain as a .p7b with the root first),
// completes the request (pairing by public key, building the chain),
// writes nginx's fullchain.pem and privkey.pem, and verifies them: a Go TLS
// server loads the two files on 127.0.0.1 and a client that trusts only
// the CA's root connects and checks the host name. Everything goes into a
// new folder (-dir, or a temporary one), named in the progress lines.
//
// Progress goes to stderr; the paths of the nginx files go to stdout. The
// exit status is 0 when every step, including the TLS check, succeeded,
// 1 otherwise, 2 on bad usage.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/examples/internal/stepca"
	"github.com/certwright/certwright/formats"
)

const host = "quickstart.example.test"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "working `folder` to create (default: a new temporary folder)")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "quickstart: unexpected argument %q\n", fs.Arg(0))
		return cli.ExitUsage
	}
	if err := quickstart(ctx, *dir, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "quickstart: FAILED:", err)
		return cli.ExitFailure
	}
	return 0
}

func quickstart(ctx context.Context, dir string, stdout, stderr io.Writer) error {
	step := 0
	say := func(format string, args ...any) {
		step++
		fmt.Fprintf(stderr, "%d. "+format+"\n", append([]any{step}, args...)...)
	}
	detail := func(format string, args ...any) { fmt.Fprintf(stderr, "   "+format+"\n", args...) }

	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "certwright-quickstart-"); err != nil {
			return err
		}
	} else if err = os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return fmt.Errorf("%s is not empty; give a new folder with -dir", dir)
	}
	fmt.Fprintf(stderr, "certwright quickstart: working in %s\n", dir)
	caDir := filepath.Join(dir, "ca")
	storeDir := filepath.Join(dir, "pending")
	respDir := filepath.Join(dir, "response")
	nginxDir := filepath.Join(dir, "nginx")
	for _, d := range []string{caDir, respDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}

	// 1. The CA.
	start := time.Now()
	ca, err := stepca.New(caDir, nil)
	if err != nil {
		return err
	}
	say("Started an embedded step-ca in %v", time.Since(start).Round(time.Millisecond))
	detail("root:         %s (%s)", ca.RootFile, ca.Root.Subject.CommonName)
	detail("intermediate: %s (%s)", ca.IntermediateFile, ca.Intermediate.Subject.CommonName)

	// 2. Key and CSR, the key kept pending.
	key, err := csr.GenerateKey(rand.Reader, "rsa2048")
	if err != nil {
		return err
	}
	req := &csr.Request{CN: host, O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB", DNSNames: []string{host}}
	der, findings, err := csr.Create(rand.Reader, req, key, nil)
	if err != nil {
		return err
	}
	for _, f := range findings {
		detail("check: %s", f)
	}
	store, err := csr.OpenDir(storeDir, nil)
	if err != nil {
		return err
	}
	if err := store.Put(ctx, &csr.Pending{Key: key, CSR: der}); err != nil {
		return err
	}
	id, _ := csr.KeyID(key.Public())
	csrFile := filepath.Join(dir, "request.csr")
	if err := os.WriteFile(csrFile, csr.EncodePEM(der), 0o644); err != nil {
		return err
	}
	parsed, _ := x509.ParseCertificateRequest(der)
	say("Made an RSA 2048 key and a CSR for %s", parsed.Subject)
	detail("CSR:           %s", csrFile)
	detail("pending store: %s (key sha256:%s, kept until the certificate is written)", storeDir, id)

	// 3. Submit and receive, as files the way a CA hands them over.
	start = time.Now()
	leaf, inters, root, err := ca.Sign(ctx, der)
	if err != nil {
		return err
	}
	say("Submitted the CSR to step-ca; it issued serial %X in %v", leaf.SerialNumber, time.Since(start).Round(time.Millisecond))
	cerFile := filepath.Join(respDir, "certnew.cer")
	p7bFile := filepath.Join(respDir, "certnew.p7b")
	p7b, err := formats.EncodePKCS7(append([]*x509.Certificate{root}, inters...)) // root first, as AD CS does
	if err != nil {
		return err
	}
	if err := os.WriteFile(cerFile, leaf.Raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(p7bFile, p7b, 0o644); err != nil {
		return err
	}
	say("Received the answer")
	detail("certificate: %s (DER)", cerFile)
	detail("chain:       %s (PKCS#7, root first)", p7bFile)

	// 4. Complete.
	done, err := bundle.CompleteFiles(ctx, store, []string{cerFile, p7bFile}, &bundle.CompleteOptions{Roots: []*x509.Certificate{ca.Root}})
	if err != nil {
		return err
	}
	c := done[0]
	var names []string
	for _, x := range c.Bundle.Chain(true) {
		names = append(names, x.Subject.CommonName)
	}
	say("Completed the request: the certificate's public key matches pending key sha256:%s", c.Pending.ID)
	detail("chain: %s", strings.Join(names, " -> "))
	detail("subject kept by the CA: %s", c.Bundle.Leaf.Subject)
	for _, n := range c.Notes {
		detail("note: %s", n)
	}

	// 5. Write for nginx; only then is the pending request archived.
	written, err := c.WriteAndFinish(ctx, nginxDir, bundle.Nginx, nil)
	if err != nil {
		return err
	}
	say("Wrote the nginx files (read back and checked) and archived the pending request")
	for _, p := range written {
		fi, _ := os.Stat(p)
		detail("%s  %v", p, fi.Mode().Perm())
	}

	// 6. Verify with a TLS server on loopback and a client trusting only the root.
	proto, chainLen, err := verifyTLS(filepath.Join(nginxDir, "fullchain.pem"), filepath.Join(nginxDir, "privkey.pem"), ca.RootFile)
	if err != nil {
		return err
	}
	say("Verified: a TLS server on 127.0.0.1 serving those two files, a client trusting only %s", filepath.Base(ca.RootFile))
	detail("host name %s accepted, %s, %d certificates sent (leaf + intermediate, no root)", host, proto, chainLen)
	detail("host name wrong.example.test refused, as it must be")

	fmt.Fprintf(stderr, "\nDone. In nginx:\n    ssl_certificate     %s;\n    ssl_certificate_key %s;\n",
		filepath.Join(nginxDir, "fullchain.pem"), filepath.Join(nginxDir, "privkey.pem"))
	for _, p := range written {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// verifyTLS loads the written files the way any Go server would, serves
// them on a loopback port, and connects with a client that trusts only the
// root file: once with the right host name (must succeed) and once with a
// wrong one (must fail).
func verifyTLS(chainFile, keyFile, rootFile string) (string, int, error) {
	cert, err := tls.LoadX509KeyPair(chainFile, keyFile)
	if err != nil {
		return "", 0, fmt.Errorf("loading the written files: %w", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return "", 0, err
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				conn.(*tls.Conn).Handshake()
				conn.Close()
			}()
		}
	}()
	rootPEM, err := os.ReadFile(rootFile)
	if err != nil {
		return "", 0, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		return "", 0, fmt.Errorf("%s holds no certificate", rootFile)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host})
	if err != nil {
		return "", 0, fmt.Errorf("TLS client with host name %s: %w", host, err)
	}
	st := conn.ConnectionState()
	conn.Close()
	_, err = tls.DialWithDialer(dialer, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "wrong.example.test"})
	var hn x509.HostnameError
	if err == nil || !errors.As(err, &hn) {
		return "", 0, fmt.Errorf("a client asking for wrong.example.test was not refused for the host name: %v", err)
	}
	return tls.VersionName(st.Version), len(st.PeerCertificates), nil
}
