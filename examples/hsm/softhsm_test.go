//go:build cgo && !nopkcs11

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/hsm"
	"github.com/certwright/certwright/examples/internal/hsm/hsmtest"
	"github.com/certwright/certwright/examples/internal/stepca"
	"github.com/certwright/certwright/internal/testtool"
)

func TestMain(m *testing.M) {
	code := m.Run()
	hsmtest.Cleanup()
	os.Exit(code)
}

// TestRequestAndComplete runs the program against SoftHSM2 and a real
// step-ca, for P-256 and RSA 2048: the key is generated in the token, the
// CSR verifies with openssl, the store keeps only the key's URI, step-ca
// signs the CSR, -complete writes the certificate files without a key and
// archives the request, and a TLS server with those files and the token's
// key completes a handshake on 127.0.0.1.
func TestRequestAndComplete(t *testing.T) {
	tok := hsmtest.SoftHSM(t)
	openssl := testtool.Require(t, "openssl")
	ctx := context.Background()
	dir := t.TempDir()
	ca, err := stepca.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	pinFile := filepath.Join(dir, "pin.txt")
	if err := os.WriteFile(pinFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kt := range []string{"p256", "rsa2048"} {
		t.Run(kt, func(t *testing.T) {
			work := filepath.Join(dir, kt)
			store := filepath.Join(work, "pending")
			csrFile := filepath.Join(work, "www.csr")
			host := kt + ".hsm.example.com"
			os.MkdirAll(work, 0o700)
			code, stdout, stderr := runHSM(t, "-module", tok.Module, "-token", tok.Label, "-pin-file", pinFile,
				"-cn", host, "-o", "Example Ltd", "-c", "GB", "-san", "www."+host, "-key", kt, "-store", store, "-out", csrFile)
			if code != 0 {
				t.Fatalf("request: exit %d\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout with -out FILE: %q", stdout)
			}
			for _, w := range []string{"key generated in token", "CKA_EXTRACTABLE=false", "CKA_SENSITIVE=true", "private value refused", "URI only (no key file, no PIN)", "CSR written to " + csrFile} {
				if !strings.Contains(stderr, w) {
					t.Errorf("request stderr does not say %q:\n%s", w, stderr)
				}
			}
			if out, err := exec.Command(openssl, "req", "-in", csrFile, "-noout", "-verify").CombinedOutput(); err != nil || !strings.Contains(string(out), "verify OK") {
				t.Fatalf("openssl req -verify: %v\n%s", err, out)
			}
			pemBytes, _ := os.ReadFile(csrFile)
			req, err := csr.Parse(pemBytes)
			if err != nil {
				t.Fatal(err)
			}

			// Only the URI (and the CSR) in the store: no key, no PIN.
			id, _ := csr.KeyID(req.PublicKey)
			entry := filepath.Join(store, "pending", id)
			if _, err := os.Stat(filepath.Join(entry, "key.pem")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("key.pem in the store: %v", err)
			}
			var meta struct {
				KeyURI string `json:"key_uri"`
			}
			b, _ := os.ReadFile(filepath.Join(entry, "meta.json"))
			if err := json.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			u, err := hsm.ParseURI(meta.KeyURI)
			if err != nil || u.Module != tok.Module || u.Token != tok.Label || u.Object != host || strings.Contains(meta.KeyURI, "pin") {
				t.Fatalf("stored key URI %q: %+v, %v", meta.KeyURI, u, err)
			}
			noSecrets(t, work, tok.PIN)

			// step-ca signs; its answer is a leaf file and a chain file.
			leaf, inters, root, err := ca.Sign(ctx, req.Raw)
			if err != nil {
				t.Fatal(err)
			}
			leafFile := writePEM(t, filepath.Join(work, "certnew.cer"), leaf)
			chainFile := writePEM(t, filepath.Join(work, "chain.pem"), inters...)
			out := filepath.Join(work, "out")

			// Without the PIN the token cannot be opened: exit 1, still pending.
			code, _, stderr = runHSM(t, "-complete", "-store", store, "-in", leafFile, chainFile, "-roots", ca.RootFile, "-out", out)
			if code != 1 || !strings.Contains(stderr, "no -pin-file was given") || !strings.Contains(stderr, "stays pending") {
				t.Fatalf("complete without PIN: exit %d\n%s", code, stderr)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Fatal("a failed completion created the output folder")
			}

			code, stdout, stderr = runHSM(t, "-complete", "-store", store, "-pin-file", pinFile, "-in", leafFile, chainFile, "-roots", ca.RootFile, "-out", out)
			if code != 0 {
				t.Fatalf("complete: exit %d\n%s", code, stderr)
			}
			want := strings.Join([]string{filepath.Join(out, "cert.pem"), filepath.Join(out, "chain.pem"), filepath.Join(out, "fullchain.pem")}, "\n") + "\n"
			if stdout != want {
				t.Fatalf("complete stdout:\n%s\nwant:\n%s", stdout, want)
			}
			for _, w := range []string{"the key stays in the token: " + meta.KeyURI, "signed a test message in the token", "archived", "Certwright Quickstart Intermediate CA"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("complete stderr does not say %q:\n%s", w, stderr)
				}
			}
			if entries, _ := os.ReadDir(filepath.Join(store, "pending")); len(entries) != 0 {
				t.Errorf("still pending after completion: %v", entries)
			}
			noSecrets(t, work, tok.PIN)
			if out, err := exec.Command(openssl, "verify", "-CAfile", ca.RootFile, "-untrusted", filepath.Join(out, "chain.pem"), filepath.Join(out, "cert.pem")).CombinedOutput(); err != nil {
				t.Fatalf("openssl verify of the written files: %v\n%s", err, out)
			}

			// Serve the written chain with the token's key.
			r := &hsm.Resolver{PIN: tok.PINFunc()}
			defer r.Close()
			key, err := r.Signer(ctx, meta.KeyURI)
			if err != nil {
				t.Fatal(err)
			}
			full, _ := os.ReadFile(filepath.Join(out, "fullchain.pem"))
			var cert tls.Certificate
			for rest := full; ; {
				var blk *pem.Block
				blk, rest = pem.Decode(rest)
				if blk == nil {
					break
				}
				cert.Certificate = append(cert.Certificate, blk.Bytes)
			}
			cert.PrivateKey = key
			handshake(t, cert, root, host)
		})
	}
}

func writePEM(t *testing.T, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// noSecrets fails when a file under dir holds the PIN or a private key.
func noSecrets(t *testing.T, dir, pin string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "pin.txt" {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(pin)) {
			t.Errorf("%s holds the PIN", p)
		}
		if bytes.Contains(b, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds a private key", p)
		}
		return nil
	})
}

func handshake(t *testing.T, cert tls.Certificate, root *x509.Certificate, host string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer conn.Close()
		srvErr <- tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	}()
	pool := x509.NewCertPool()
	pool.AddCert(root)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	conn.Close()
	if err := <-srvErr; err != nil {
		t.Fatalf("server side: %v", err)
	}
}
