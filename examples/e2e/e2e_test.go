package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/stepca"
	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testtool"
)

const host = "www.e2e.example.test"

// env is one CA, one pending store and a request waiting in it.
type env struct {
	ca       *stepca.CA
	store    *csr.DirStore
	storeDir string
	dir      string
	key      crypto.Signer
	csrDER   []byte
}

func newEnv(t *testing.T, keyType csr.KeyType) *env {
	t.Helper()
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	os.Mkdir(caDir, 0o700)
	ca, err := stepca.New(caDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ca: ca, dir: dir, storeDir: filepath.Join(dir, "pending")}
	e.store, err = csr.OpenDir(e.storeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.key, e.csrDER = e.newRequest(t, keyType, host, "e2e.example.test")
	return e
}

// newRequest makes a key and a CSR with all six subject fields and keeps
// the key pending.
func (e *env) newRequest(t *testing.T, keyType csr.KeyType, names ...string) (crypto.Signer, []byte) {
	t.Helper()
	key, err := csr.GenerateKey(rand.Reader, keyType)
	if err != nil {
		t.Fatal(err)
	}
	req := &csr.Request{CN: names[0], O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB", DNSNames: names}
	der, _, err := csr.Create(rand.Reader, req, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Put(context.Background(), &csr.Pending{Key: key, CSR: der}); err != nil {
		t.Fatal(err)
	}
	return key, der
}

func (e *env) sign(t *testing.T, der []byte) (*x509.Certificate, []*x509.Certificate, *x509.Certificate) {
	t.Helper()
	leaf, inters, root, err := e.ca.Sign(context.Background(), der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf, inters, root
}

func (e *env) opts() *bundle.CompleteOptions {
	return &bundle.CompleteOptions{Roots: []*x509.Certificate{e.ca.Root}, Password: "resp-pw"}
}

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func pemCerts(certs ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// base64CRLF is a .cer as Windows CAs save "Base-64 encoded X.509" without
// the BEGIN/END lines, with CRLF line ends.
func base64CRLF(der []byte) []byte {
	s := base64.StdEncoding.EncodeToString(der)
	var lines []string
	for len(s) > 64 {
		lines = append(lines, s[:64])
		s = s[64:]
	}
	lines = append(lines, s)
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func p7b(t *testing.T, certs ...*x509.Certificate) []byte {
	t.Helper()
	der, err := formats.EncodePKCS7(certs)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// responses writes the CA's answer in each form a CA hands it over.
func (e *env) responses(t *testing.T, leaf *x509.Certificate, inters []*x509.Certificate, root *x509.Certificate) map[string][]string {
	t.Helper()
	d := filepath.Join(e.dir, "response")
	os.MkdirAll(d, 0o700)
	rootFirst := append([]*x509.Certificate{root}, reverse(inters)...)
	out := map[string][]string{
		"cer-der+p7b-root-first": {
			write(t, filepath.Join(d, "certnew.cer"), leaf.Raw),
			write(t, filepath.Join(d, "certnew.p7b"), p7b(t, rootFirst...)),
		},
		"cer-base64+intermediate-cer": {
			write(t, filepath.Join(d, "certnew-b64.cer"), base64CRLF(leaf.Raw)),
			write(t, filepath.Join(d, "intermediate.cer"), base64CRLF(inters[0].Raw)),
		},
		"p7b-root-first-with-leaf": {
			write(t, filepath.Join(d, "all.p7b"), p7b(t, append(rootFirst, leaf)...)),
		},
	}
	// A .pfx answer carries the key: only when the key at hand is the leaf's.
	if pfx, err := formats.EncodePKCS12(e.key, leaf, inters, "resp-pw", nil); err == nil {
		out["pfx"] = []string{write(t, filepath.Join(d, "issued.pfx"), pfx)}
	}
	return out
}

func reverse(cs []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[len(cs)-1-i] = c
	}
	return out
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestCompleteEachResponseFormat: every form of the answer completes to
// the same bundle, with the subject the CSR asked for.
func TestCompleteEachResponseFormat(t *testing.T) {
	e := newEnv(t, csr.RSA2048)
	leaf, inters, root := e.sign(t, e.csrDER)
	for name, files := range e.responses(t, leaf, inters, root) {
		t.Run(name, func(t *testing.T) {
			done, err := bundle.CompleteFiles(context.Background(), e.store, files, e.opts())
			if err != nil {
				t.Fatal(err)
			}
			if len(done) != 1 {
				t.Fatalf("%d completed", len(done))
			}
			b := done[0].Bundle
			if !b.Leaf.Equal(leaf) || len(b.Intermediates) != 1 || !b.Intermediates[0].Equal(e.ca.Intermediate) || !b.Root.Equal(e.ca.Root) {
				t.Fatalf("bundle: %s, %d intermediates, root %v", b.Leaf.Subject, len(b.Intermediates), b.Root.Subject)
			}
			want := "CN=www.e2e.example.test,OU=Web,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB"
			if b.Leaf.Subject.String() != want {
				t.Errorf("subject %q, want %q", b.Leaf.Subject, want)
			}
			if len(done[0].Notes) != 0 {
				t.Errorf("notes: %v", done[0].Notes)
			}
		})
	}
}

// TestServersReadOutputs completes a step-ca answer and writes it for every
// server; each output is read by its consumer.
func TestServersReadOutputs(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	for _, kt := range []csr.KeyType{csr.RSA2048, csr.P256} {
		t.Run(string(kt), func(t *testing.T) {
			e := newEnv(t, kt)
			leaf, inters, root := e.sign(t, e.csrDER)
			files := e.responses(t, leaf, inters, root)["cer-der+p7b-root-first"]
			done, err := bundle.CompleteFiles(context.Background(), e.store, files, e.opts())
			if err != nil {
				t.Fatal(err)
			}
			c := done[0]
			rootFile := e.ca.RootFile
			out := func(s bundle.Server) string { return filepath.Join(e.dir, "out", string(s)) }
			wo := &bundle.WriteOptions{Password: "out-pw-123"}
			for _, s := range bundle.Servers() {
				if _, err := c.Write(out(s), s, wo); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			if err := c.Finish(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.Find(context.Background(), e.key.Public()); !errors.Is(err, csr.ErrNotFound) {
				t.Errorf("after Finish the request is still pending: %v", err)
			}
			if _, err := e.store.FindArchived(context.Background(), e.key.Public()); err != nil {
				t.Errorf("archived entry: %v", err)
			}

			verify := func(label, chainFile, leafFile string) {
				t.Helper()
				got := run(t, openssl, "verify", "-CAfile", rootFile, "-untrusted", chainFile, "-verify_hostname", host, "-purpose", "sslserver", leafFile)
				if !strings.HasSuffix(strings.TrimSpace(got), ": OK") {
					t.Errorf("%s: openssl verify: %s", label, got)
				}
			}
			keyMatches := func(label, keyFile, certFile string) {
				t.Helper()
				a := run(t, openssl, "pkey", "-in", keyFile, "-pubout")
				b := run(t, openssl, "x509", "-in", certFile, "-noout", "-pubkey")
				if a != b {
					t.Errorf("%s: openssl sees different public keys in %s and %s", label, keyFile, certFile)
				}
			}
			// nginx, pem: the chain file verifies, the key matches.
			nginx := out(bundle.Nginx)
			verify("nginx", filepath.Join(nginx, "fullchain.pem"), filepath.Join(nginx, "fullchain.pem"))
			keyMatches("nginx", filepath.Join(nginx, "privkey.pem"), filepath.Join(nginx, "fullchain.pem"))
			pemDir := out(bundle.PEM)
			verify("pem", filepath.Join(pemDir, host+".crt"), filepath.Join(pemDir, host+".crt"))
			keyMatches("pem", filepath.Join(pemDir, host+".key"), filepath.Join(pemDir, host+".crt"))
			// Apache: cert.pem against chain.pem, as SSLCertificateChainFile.
			ap := out(bundle.Apache)
			verify("apache", filepath.Join(ap, "chain.pem"), filepath.Join(ap, "cert.pem"))
			keyMatches("apache", filepath.Join(ap, "privkey.pem"), filepath.Join(ap, "cert.pem"))
			// HAProxy: one file holds both.
			hp := filepath.Join(out(bundle.HAProxy), host+".pem")
			verify("haproxy", hp, hp)
			keyMatches("haproxy", hp, hp)
			// Kubernetes: tls.crt verifies, tls.key matches.
			crtFile, keyFile := secretFiles(t, filepath.Join(out(bundle.Kubernetes), host+".yaml"))
			verify("k8s", crtFile, crtFile)
			keyMatches("k8s", keyFile, crtFile)
			// IIS: openssl reads the AES file, and the legacy one with -legacy.
			for _, tt := range []struct {
				s    bundle.Server
				args []string
				want string
			}{
				{bundle.IIS, nil, "PBES2, PBKDF2, AES-256-CBC"},
				{bundle.IISLegacy, []string{"-legacy"}, "pbeWithSHA1And3-KeyTripleDES-CBC"},
			} {
				f := filepath.Join(out(tt.s), host+".pfx")
				got := run(t, openssl, append([]string{"pkcs12", "-info", "-in", f, "-passin", "pass:out-pw-123", "-nodes"}, tt.args...)...)
				for _, w := range []string{tt.want, "friendlyName: " + host, "Certwright Quickstart Intermediate CA", "BEGIN PRIVATE KEY"} {
					if !strings.Contains(got, w) {
						t.Errorf("%s: openssl pkcs12 -info lacks %q", tt.s, w)
					}
				}
			}
			// Java: keytool lists the PKCS#12 and the JKS keystore.
			if keytool, err := exec.LookPath("keytool"); err == nil || testtool.InCI() {
				keytool = testtool.Require(t, "keytool")
				for _, tt := range []struct {
					s    bundle.Server
					file string
					typ  string
				}{{bundle.Java, host + ".p12", "PKCS12"}, {bundle.JavaJKS, host + ".jks", "JKS"}} {
					got := run(t, keytool, "-list", "-v", "-storetype", tt.typ, "-keystore", filepath.Join(out(tt.s), tt.file), "-storepass", "out-pw-123")
					for _, w := range []string{"Alias name: " + host, "PrivateKeyEntry", "Certificate chain length: 2", "OU=Web, O=Example Ltd, L=Leeds, ST=West Yorkshire, C=GB"} {
						if !strings.Contains(got, w) {
							t.Errorf("%s: keytool -list lacks %q:\n%s", tt.s, w, got)
						}
					}
				}
			}
		})
	}
}

// secretFiles extracts tls.crt and tls.key of a Secret manifest into files.
func secretFiles(t *testing.T, manifest string) (string, string) {
	t.Helper()
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var crt, key string
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		raw, _ := base64.StdEncoding.DecodeString(v)
		switch k {
		case "tls.crt":
			crt = write(t, manifest+".crt", raw)
		case "tls.key":
			key = write(t, manifest+".key", raw)
		}
	}
	if crt == "" || key == "" {
		t.Fatalf("manifest without tls.crt/tls.key:\n%s", data)
	}
	return crt, key
}

// TestNginxServesWrittenFiles runs the real nginx on the files written for
// it, and connects with a Go client that trusts only the step-ca root.
func TestNginxServesWrittenFiles(t *testing.T) {
	nginx := testtool.Require(t, "nginx")
	e := newEnv(t, csr.RSA2048)
	leaf, inters, root := e.sign(t, e.csrDER)
	files := e.responses(t, leaf, inters, root)["p7b-root-first-with-leaf"]
	done, err := bundle.CompleteFiles(context.Background(), e.store, files, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(e.dir, "nginx-files")
	if _, err := done[0].WriteAndFinish(context.Background(), outDir, bundle.Nginx, nil); err != nil {
		t.Fatal(err)
	}
	addr := startNginx(t, nginx, filepath.Join(outDir, "fullchain.pem"), filepath.Join(outDir, "privkey.pem"))

	pool := x509.NewCertPool()
	pool.AddCert(e.ca.Root)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host},
	}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET from nginx: %v", err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.String() != "certwright\n" {
		t.Fatalf("nginx answered %d %q", resp.StatusCode, body.String())
	}
	st := resp.TLS
	if len(st.PeerCertificates) != 2 || !st.PeerCertificates[0].Equal(leaf) || !st.PeerCertificates[1].Equal(e.ca.Intermediate) {
		t.Errorf("nginx sent %d certificates", len(st.PeerCertificates))
	}
	if len(st.VerifiedChains) != 1 || !st.VerifiedChains[0][2].Equal(e.ca.Root) {
		t.Errorf("verified chains: %v", st.VerifiedChains)
	}
	// The host name is checked: another name is refused.
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "other.example.test"})
	var hn x509.HostnameError
	if !errors.As(err, &hn) {
		t.Errorf("wrong host name: %v", err)
	}
}

// startNginx runs nginx in the foreground on a free loopback port with its
// pid file, logs and temporary folders in a test folder, and stops it at
// the end of the test.
func startNginx(t *testing.T, nginx, certFile, keyFile string) string {
	t.Helper()
	prefix := t.TempDir()
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		conf := filepath.Join(prefix, "nginx.conf")
		write(t, conf, []byte(fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]s ssl;
        server_name %[3]s;
        ssl_certificate %[4]s;
        ssl_certificate_key %[5]s;
        location / { default_type text/plain; return 200 "certwright\n"; }
    }
}
`, prefix, addr, host, certFile, keyFile)))
		cmd := exec.Command(nginx, "-e", filepath.Join(prefix, "error.log"), "-p", prefix, "-c", conf, "-g", "daemon off; master_process off;")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				logs, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
				if strings.Contains(string(logs), "Address already in use") {
					goto retry
				}
				t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), logs)
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				c.Close()
				t.Cleanup(func() {
					cmd.Process.Kill()
					<-exited
				})
				return addr
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Kill()
		<-exited
		t.Fatalf("nginx did not listen on %s within 10s:\n%s", addr, out.String())
	retry:
	}
	t.Fatal("no free port for nginx after 5 attempts")
	return ""
}

// TestWrongKey: a certificate issued for a CSR whose key is in another
// store gives ErrKeyNotFound naming both sides, and changes nothing.
func TestWrongKey(t *testing.T) {
	e := newEnv(t, csr.P256)
	// The CSR was made on "another machine": a second store.
	otherStore, err := csr.OpenDir(filepath.Join(e.dir, "other-machine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := csr.GenerateKey(rand.Reader, csr.P256)
	otherCSR, _, err := csr.Create(rand.Reader, &csr.Request{CN: host, DNSNames: []string{host}}, otherKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := otherStore.Put(context.Background(), &csr.Pending{Key: otherKey, CSR: otherCSR}); err != nil {
		t.Fatal(err)
	}
	leaf, inters, root := e.sign(t, otherCSR)
	files := e.responses(t, leaf, inters, root)["cer-der+p7b-root-first"]
	_, err = bundle.CompleteFiles(context.Background(), e.store, files, e.opts())
	if !errors.Is(err, bundle.ErrKeyNotFound) {
		t.Fatalf("err = %v, want ErrKeyNotFound", err)
	}
	pendingID, _ := csr.KeyID(e.key.Public())
	certID, _ := csr.KeyID(leaf.PublicKey)
	for _, want := range []string{leaf.Subject.String(), fmt.Sprintf("%X", leaf.SerialNumber), certID, pendingID, "certnew.cer", "another machine", "different CSR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if list, _ := e.store.List(context.Background()); len(list) != 1 {
		t.Errorf("%d pending after a failed completion", len(list))
	}
	// The machine that made the CSR completes it.
	if _, err := bundle.CompleteFiles(context.Background(), otherStore, files, e.opts()); err != nil {
		t.Fatal(err)
	}
}

// TestFailedWriteKeepsPending: a write that fails (a read-only folder, a
// folder path through a file, an existing key) archives nothing.
func TestFailedWriteKeepsPending(t *testing.T) {
	e := newEnv(t, csr.P256)
	leaf, inters, root := e.sign(t, e.csrDER)
	files := e.responses(t, leaf, inters, root)["pfx"]
	done, err := bundle.CompleteFiles(context.Background(), e.store, files, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	c := done[0]
	ctx := context.Background()
	var targets []string
	ro := filepath.Join(e.dir, "read-only")
	os.Mkdir(ro, 0o500)
	if os.Geteuid() != 0 {
		targets = append(targets, ro) // root writes anywhere
	}
	blocker := write(t, filepath.Join(e.dir, "blocker"), nil)
	targets = append(targets, filepath.Join(blocker, "out"))
	existing := filepath.Join(e.dir, "existing")
	os.Mkdir(existing, 0o700)
	write(t, filepath.Join(existing, "privkey.pem"), []byte("the old server's key"))
	targets = append(targets, existing)
	for _, dir := range targets {
		if _, err := c.WriteAndFinish(ctx, dir, bundle.Nginx, nil); err == nil {
			t.Fatalf("write into %s succeeded", dir)
		}
		p, err := e.store.Find(ctx, e.key.Public())
		if err != nil {
			t.Fatalf("after a failed write into %s the pending key is gone: %v", dir, err)
		}
		if !p.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(e.key.Public()) {
			t.Fatal("pending key changed")
		}
	}
	if got, _ := os.ReadFile(filepath.Join(existing, "privkey.pem")); string(got) != "the old server's key" {
		t.Fatal("the existing key was overwritten")
	}
	if err := c.Finish(ctx); !errors.Is(err, bundle.ErrNotWritten) {
		t.Fatalf("Finish after failed writes: %v", err)
	}
	// A successful write then archives it.
	if _, err := c.WriteAndFinish(ctx, filepath.Join(e.dir, "good"), bundle.Nginx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Find(ctx, e.key.Public()); !errors.Is(err, csr.ErrNotFound) {
		t.Fatalf("still pending after success: %v", err)
	}
}

// TestSeveralLeavesOneResponse: two requests answered in one file.
func TestSeveralLeavesOneResponse(t *testing.T) {
	e := newEnv(t, csr.P256)
	_, csr2 := e.newRequest(t, csr.RSA2048, "api.e2e.example.test")
	l1, inters, root := e.sign(t, e.csrDER)
	l2, _, _ := e.sign(t, csr2)
	f := write(t, filepath.Join(e.dir, "both.pem"), pemCerts(inters[0], l2, root, l1))
	done, err := bundle.CompleteFiles(context.Background(), e.store, []string{f}, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 {
		t.Fatalf("%d completed, want 2", len(done))
	}
	for _, c := range done {
		if _, err := c.WriteAndFinish(context.Background(), filepath.Join(e.dir, c.Bundle.Leaf.DNSNames[0]), bundle.PEM, nil); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := e.store.List(context.Background()); len(list) != 0 {
		t.Errorf("%d still pending", len(list))
	}
}
