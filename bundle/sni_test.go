package bundle

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/certwright/certwright/internal/testpki"
)

func TestTLSCertificate(t *testing.T) {
	b := testBundle(t)
	c, err := b.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf != b.Leaf || len(c.Certificate) != 2 || c.PrivateKey != b.Key {
		t.Fatalf("TLSCertificate: leaf set %v, %d certificates", c.Leaf == b.Leaf, len(c.Certificate))
	}
	bad := *b
	bad.Key = testBundle(t).Key
	if _, err := bad.TLSCertificate(); err == nil {
		t.Fatal("mismatched key accepted")
	}
}

func TestSNIChoosesByName(t *testing.T) {
	root := testpki.Root(t, "SNI Root")
	inter := root.Intermediate(t, "SNI Intermediate")
	mk := func(hosts ...string) *Bundle {
		leaf, key := inter.Leaf(t, nil, hosts...)
		return &Bundle{Key: key, Leaf: leaf, Intermediates: []*x509.Certificate{inter.Cert}, Root: root.Cert}
	}
	def := mk("default.example.net")
	www := mk("www.example.com")
	wild := mk("*.example.com")
	sni, err := NewSNI(def, www, wild)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]*Bundle{
		"www.example.com":     www,
		"WWW.Example.COM.":    www,
		"api.example.com":     wild,
		"a.b.example.com":     def, // a wildcard covers one label only
		"example.com":         def,
		"":                    def,
		"unknown.example":     def,
		"default.example.net": def,
	} {
		c, err := sni.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatal(err)
		}
		if c.Leaf != want.Leaf {
			t.Errorf("%q got %v, want %v", name, c.Leaf.DNSNames, want.Leaf.DNSNames)
		}
	}
}

// TestSNIHandshake serves two bundles on one loopback listener and checks
// that a client trusting only the root gets the right one for each name.
func TestSNIHandshake(t *testing.T) {
	root := testpki.Root(t, "SNI Root")
	inter := root.Intermediate(t, "SNI Intermediate")
	var bundles []*Bundle
	for _, h := range []string{"a.example.com", "b.example.com"} {
		leaf, key := inter.Leaf(t, nil, h)
		bundles = append(bundles, &Bundle{Key: key, Leaf: leaf, Intermediates: []*x509.Certificate{inter.Cert}, Root: root.Cert})
	}
	sni, err := NewSNI(bundles...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: sni.GetCertificate, Time: func() time.Time { return testpki.Now }})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	for _, host := range []string{"a.example.com", "b.example.com"} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host, Time: func() time.Time { return testpki.Now }})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		got := conn.ConnectionState().PeerCertificates
		conn.Close()
		if len(got) != 2 || got[0].DNSNames[0] != host {
			t.Errorf("%s: served %v", host, got[0].DNSNames)
		}
	}
}
