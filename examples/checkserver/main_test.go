package main

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// serve starts a TLS server on 127.0.0.1 that sends certs.
func serve(t *testing.T, key crypto.Signer, certs ...*x509.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var tc tls.Certificate
	for _, c := range certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	tc.PrivateKey = key
	cfg := &tls.Config{Certificates: []tls.Certificate{tc}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				s := tls.Server(c, cfg)
				s.Handshake()
				s.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func writePEM(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckServer(t *testing.T) {
	root := testpki.Root(t, "Check Root")
	i1 := root.Intermediate(t, "Check I1")
	leaf, key := i1.Leaf(t, nil, "www.example.com")
	dir := t.TempDir()
	roots := writePEM(t, dir, "root.pem", root.Cert)
	good := serve(t, key, leaf, i1.Cert)
	withRoot := serve(t, key, leaf, i1.Cert, root.Cert)
	leafOnly := serve(t, key, leaf)

	var out, errb bytes.Buffer
	// Flags after the host.
	if code := run([]string{good, "-servername", "www.example.com", "-roots", roots}, &out, &errb); code != 0 {
		t.Fatalf("good server: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "no problems found") {
		t.Fatalf("%s", out.String())
	}
	// Flags before the host, JSON.
	out.Reset()
	errb.Reset()
	if code := run([]string{"-json", "-servername", "www.example.com", "-roots", roots, withRoot}, &out, &errb); code != 1 {
		t.Fatalf("root sent: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var v struct {
		Host     string `json:"host"`
		OK       bool   `json:"ok"`
		Problems []struct {
			Kind string `json:"kind"`
		} `json:"problems"`
		Served []struct {
			Subject string `json:"subject"`
		} `json:"served"`
		Chain []struct {
			Subject string `json:"subject"`
		} `json:"chain"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if v.OK || len(v.Problems) != 1 || v.Problems[0].Kind != "root-sent" || len(v.Served) != 3 || len(v.Chain) != 2 || v.Host != "www.example.com" {
		t.Fatalf("%s", out.String())
	}
	// Leaf only: missing intermediate, nothing to complete it from.
	out.Reset()
	if code := run([]string{leafOnly, "-servername", "www.example.com", "-roots", roots}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), "missing-intermediate") {
		t.Fatalf("leaf only: exit %d\n%s", code, out.String())
	}
	// Name mismatch when checking the address itself.
	out.Reset()
	if code := run([]string{good, "-roots", roots}, &out, &errb); code != 1 || !strings.Contains(out.String(), "host-mismatch") {
		t.Fatalf("mismatch: exit %d\n%s", code, out.String())
	}
}

func TestCheckServerSMTPPort(t *testing.T) {
	if startTLSFor("25") != "smtp" || startTLSFor("587") != "smtp" || startTLSFor("143") != "imap" || startTLSFor("110") != "pop3" || startTLSFor("443") != "" {
		t.Fatal("STARTTLS by port")
	}
}

func TestCheckServerUsageAndFailures(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{}, {"a", "b"}, {"-nosuchflag", "x"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	out.Reset()
	if code := run([]string{addr, "-json"}, &out, &errb); code != 1 || !strings.Contains(out.String(), `"ok":false`) {
		t.Fatalf("closed port: exit %d %s", code, out.String())
	}
	if code := run([]string{"x.invalid", "-roots", filepath.Join(t.TempDir(), "none.pem")}, &out, &errb); code != 1 {
		t.Fatalf("missing roots file: exit %d", code)
	}
}

// TestCheckServerOpenSSL diagnoses a chain served by openssl s_server,
// configured as admins often do it: the leaf with the root instead of
// the intermediate.
func TestCheckServerOpenSSL(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	root := testpki.Root(t, "S_server Root")
	i1 := root.Intermediate(t, "S_server I1")
	leaf, key := i1.Leaf(t, nil, "www.example.com")
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyF := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyF, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	leafF := writePEM(t, dir, "leaf.pem", leaf)
	extraF := writePEM(t, dir, "extra.pem", root.Cert)
	roots := writePEM(t, dir, "roots.pem", root.Cert)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(openssl, "s_server", "-accept", addr, "-cert", leafF, "-key", keyF, "-cert_chain", extraF, "-quiet")
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("openssl s_server did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var out, errb bytes.Buffer
	code := run([]string{"-json", addr, "-servername", "www.example.com", "-roots", roots}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	var v struct {
		Problems []struct {
			Kind string `json:"kind"`
		} `json:"problems"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range v.Problems {
		kinds = append(kinds, p.Kind)
	}
	if got := strings.Join(kinds, ","); got != "untrusted,missing-intermediate,root-sent" {
		t.Fatalf("problems %s (%s)", got, v.Error)
	}
}
