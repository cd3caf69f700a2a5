package chain_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testpki"
)

// tlsCert makes the tls.Certificate a test server sends: certs as given.
func tlsCert(key crypto.Signer, certs ...*x509.Certificate) tls.Certificate {
	var tc tls.Certificate
	for _, c := range certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	tc.PrivateKey = key
	return tc
}

// serve runs a TLS server on 127.0.0.1 that, before the handshake, plays
// the plain-text STARTTLS script (nil for none).
func serve(t *testing.T, cert tls.Certificate, script func(c net.Conn, r *bufio.Reader) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if script != nil && !script(c, bufio.NewReader(c)) {
					return
				}
				tc := tls.Server(c, cfg)
				tc.Handshake()
				tc.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func expect(r *bufio.Reader, prefix string) bool {
	l, err := r.ReadString('\n')
	return err == nil && strings.HasPrefix(strings.ToUpper(l), prefix)
}

func TestCheckServer(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.i2.Leaf(t, nil, "www.example.com")
	// The server forgets I1: the classic KB 954755 case.
	addr := serve(t, tlsCert(key, leaf, p.i2.Cert), nil)
	pool := chain.NewPool(nil)
	pool.Add(p.i1.Cert)
	d, err := chain.CheckServer(context.Background(), addr, &chain.CheckOptions{
		ServerName: "www.example.com",
		Options:    &chain.Options{Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(d.Served); !slices.Equal(got, []string{"www.example.com", "I2"}) {
		t.Fatalf("served %v", got)
	}
	if got := kinds(d); !slices.Equal(got, []string{"missing-intermediate"}) {
		t.Fatalf("problems %v\n%s", got, d)
	}
	if got := names(d.Chain); !slices.Equal(got, []string{"www.example.com", "I2", "I1"}) {
		t.Fatalf("chain %v", got)
	}
	// The address as the host: SNI is skipped for an IP, and the leaf does
	// not name 127.0.0.1.
	d, err = chain.CheckServer(context.Background(), addr, &chain.CheckOptions{
		Options: &chain.Options{Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Has(chain.ProblemHostMismatch) {
		t.Fatalf("%s", d)
	}
}

func TestCheckServerStartTLS(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.i2.Leaf(t, nil, "mail.example.com")
	cert := tlsCert(key, leaf, p.i2.Cert, p.i1.Cert)
	scripts := map[string]func(c net.Conn, r *bufio.Reader) bool{
		"smtp": func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("220-mail.example.com ESMTP\r\n220 ready\r\n"))
			if !expect(r, "EHLO") {
				return false
			}
			c.Write([]byte("250-mail.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n"))
			if !expect(r, "STARTTLS") {
				return false
			}
			c.Write([]byte("220 go ahead\r\n"))
			return true
		},
		"imap": func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("* OK IMAP4rev1 ready\r\n"))
			if !expect(r, "A1 STARTTLS") {
				return false
			}
			c.Write([]byte("a1 OK begin TLS\r\n"))
			return true
		},
		"pop3": func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("+OK POP3 ready\r\n"))
			if !expect(r, "STLS") {
				return false
			}
			c.Write([]byte("+OK begin TLS\r\n"))
			return true
		},
	}
	for proto, script := range scripts {
		t.Run(proto, func(t *testing.T) {
			addr := serve(t, cert, script)
			d, err := chain.CheckServer(context.Background(), addr, &chain.CheckOptions{
				ServerName: "mail.example.com", StartTLS: proto,
				Options: &chain.Options{Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !d.OK() || len(d.Served) != 3 {
				t.Fatalf("%s", d)
			}
		})
	}
	// A server that does not offer STARTTLS.
	addr := serve(t, cert, func(c net.Conn, r *bufio.Reader) bool {
		c.Write([]byte("220 ready\r\n"))
		expect(r, "EHLO")
		c.Write([]byte("250 mail.example.com\r\n"))
		return false
	})
	_, err := chain.CheckServer(context.Background(), addr, &chain.CheckOptions{StartTLS: "smtp", Timeout: 5 * time.Second})
	if !errors.Is(err, chain.ErrStartTLS) {
		t.Fatalf("err %v, want ErrStartTLS", err)
	}
}

func TestCheckServerConnectionFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := chain.CheckServer(context.Background(), addr, &chain.CheckOptions{Timeout: 2 * time.Second}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err %v", err)
	}
	if _, err := chain.CheckServer(context.Background(), "", nil); err == nil {
		t.Fatal("empty address accepted")
	}
	if _, err := chain.CheckServer(context.Background(), "x", &chain.CheckOptions{StartTLS: "ftp"}); err == nil {
		t.Fatal("unknown STARTTLS protocol accepted")
	}
}
