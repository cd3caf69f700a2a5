package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certwright/certwright/csr"
	submit "github.com/certwright/certwright/csr/stepca"
	"github.com/certwright/certwright/examples/internal/stepca"
)

// submitEnv is a step-ca server on loopback (HTTPS, file database, JWK
// provisioners with ES256, RS256, EdDSA and ES384 keys, an ACME
// provisioner) and the HTTP-01 solver it validates against.
type submitEnv struct {
	srv    *stepca.Server
	solver *submit.HTTP01
	roots  *x509.CertPool
}

// newSubmitEnv starts a step-ca server for the test, stopped at its end.
// With withACME, the server has an ACME provisioner that validates HTTP-01
// against the solver's loopback port (step-ca's process-wide test setting,
// so tests using it do not run in parallel).
func newSubmitEnv(t *testing.T, withACME bool) *submitEnv {
	t.Helper()
	solver := new(submit.HTTP01)
	port := 0
	if withACME {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle(submit.HTTP01Path, solver)
		hs := &http.Server{Handler: mux}
		go hs.Serve(ln)
		t.Cleanup(func() { hs.Close() })
		port = ln.Addr().(*net.TCPAddr).Port
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	srv, err := stepca.Serve(t.TempDir(), &stepca.ServeOptions{
		ProvisionerKeys: []crypto.Signer{rsaKey, edKey, p384},
		ACME:            withACME,
		HTTP01Port:      port,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	roots := x509.NewCertPool()
	roots.AddCert(srv.Root)
	return &submitEnv{srv: srv, solver: solver, roots: roots}
}

func (e *submitEnv) client() *submit.Client {
	return &submit.Client{URL: e.srv.URL, RootCAs: e.roots}
}

// request makes a key and a request with a full subject.
func submitRequest(t *testing.T, kt csr.KeyType, req *csr.Request) (crypto.Signer, []byte) {
	t.Helper()
	key, err := csr.GenerateKey(nil, kt)
	if err != nil {
		t.Fatal(err)
	}
	der, _, err := csr.Create(nil, req, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

var fullRequest = &csr.Request{CN: "app.example.com", O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB",
	DNSNames: []string{"app.example.com", "api.example.com"}, IPAddresses: []net.IP{net.ParseIP("192.0.2.7").To4()}}

// TestSubmitSign signs a request with a token minted by NewToken for each
// provisioner key type, the key decrypted by DecryptJWK from the JWE step's
// code wrote (the key ID left to NewToken's RFC 7638 thumbprint,
// which must equal go-jose's for step-ca to find the provisioner), over
// HTTPS to a real step-ca.
func TestSubmitSign(t *testing.T) {
	e := newSubmitEnv(t, false)
	c := e.client()
	for _, p := range e.srv.Provisioners {
		t.Run(fmt.Sprintf("%s/%T", p.Name, p.Key), func(t *testing.T) {
			// The key as step keeps it: encrypted by step's own code.
			enc, err := os.ReadFile(p.EncryptedKeyFile)
			if err != nil {
				t.Fatal(err)
			}
			provKey, kid, err := submit.DecryptJWK(enc, []byte(stepca.ProvisionerPassword))
			if err != nil {
				t.Fatal(err)
			}
			if kid != p.KeyID || !provKey.(interface{ Equal(crypto.PrivateKey) bool }).Equal(p.Key) {
				t.Fatalf("decrypted kid %q, want %q, or another key", kid, p.KeyID)
			}
			key, der := submitRequest(t, csr.P256, fullRequest)
			tok, err := submit.NewToken(&submit.Token{Provisioner: p.Name, Key: provKey, CA: e.srv.URL, CSR: der})
			if err != nil {
				t.Fatal(err)
			}
			leaf, chain, err := c.Sign(context.Background(), der, tok)
			if err != nil {
				t.Fatal(err)
			}
			if got := leaf.Subject.String(); got != "CN=app.example.com,OU=Web,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB" {
				t.Errorf("subject %q", got)
			}
			if !reflect.DeepEqual(leaf.DNSNames, []string{"app.example.com", "api.example.com"}) || len(leaf.IPAddresses) != 1 {
				t.Errorf("SANs %v %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
				t.Error("leaf key")
			}
			if len(chain) != 1 || !chain[0].Equal(e.srv.Intermediate) {
				t.Fatalf("chain of %d, want the intermediate", len(chain))
			}
			// A one-time token is one time.
			_, _, err = c.Sign(context.Background(), der, tok)
			var ce *submit.Error
			if !errors.As(err, &ce) || !errors.Is(err, submit.ErrRefused) || ce.StatusCode != http.StatusUnauthorized {
				t.Fatalf("reused token: %v", err)
			}
			t.Logf("reused token: %v", err)
		})
	}
}

// TestSubmitRefused checks that the CA's refusals come back as *Error with
// step-ca's status and message.
func TestSubmitRefused(t *testing.T) {
	e := newSubmitEnv(t, false)
	c := e.client()
	p := e.srv.Provisioners[0]
	_, der := submitRequest(t, csr.P256, fullRequest)
	_, other := submitRequest(t, csr.P256, fullRequest)
	wrongKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name   string
		tok    submit.Token
		status int
		msg    string
	}{
		// Signed by another key under the provisioner's key ID.
		{"wrong key", submit.Token{Provisioner: p.Name, KeyID: p.KeyID, Key: wrongKey, CSR: der}, http.StatusUnauthorized, ""},
		{"unknown provisioner", submit.Token{Provisioner: "nobody", Key: p.Key, CSR: der}, http.StatusUnauthorized, ""},
		{"bound to another request", submit.Token{Provisioner: p.Name, Key: p.Key, CSR: other}, http.StatusForbidden, "fingerprint does not match"},
		{"other names", submit.Token{Provisioner: p.Name, Key: p.Key, Subject: "app.example.com", SANs: []string{"app.example.com"}}, http.StatusForbidden, ""},
		{"expired", submit.Token{Provisioner: p.Name, Key: p.Key, CSR: der, Now: time.Now().Add(-time.Hour)}, http.StatusUnauthorized, ""},
		{"other audience", submit.Token{Provisioner: p.Name, Key: p.Key, CSR: der, CA: "https://ca.example.net"}, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tok.CA == "" {
				tc.tok.CA = e.srv.URL
			}
			tok, err := submit.NewToken(&tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Sign(context.Background(), der, tok)
			var ce *submit.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *stepca.Error", err)
			}
			if ce.StatusCode != tc.status || ce.Message == "" || !strings.Contains(ce.Message, tc.msg) || ce.Op != "POST /1.0/sign" {
				t.Errorf("got %d %q, want %d with %q", ce.StatusCode, ce.Message, tc.status, tc.msg)
			}
			if strings.Contains(err.Error(), tok) {
				t.Error("the error shows the token")
			}
			t.Log(err)
		})
	}
}

// TestSubmitTrust: the roots endpoint, bootstrap by fingerprint, and the
// pinned root being enforced (no roots, the wrong root, a wrong
// fingerprint).
func TestSubmitTrust(t *testing.T) {
	e := newSubmitEnv(t, false)
	ctx := context.Background()
	roots, err := e.client().Roots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || !roots[0].Equal(e.srv.Root) {
		t.Fatalf("roots: %d", len(roots))
	}

	boot := &submit.Client{URL: e.srv.URL}
	if _, err := boot.Roots(ctx); !errors.Is(err, submit.ErrNoRoots) {
		t.Fatalf("no roots: %v", err)
	}
	fp := strings.ToUpper(e.srv.Fingerprint[:2]) + ":" + e.srv.Fingerprint[2:]
	root, err := boot.Root(ctx, fp)
	if err != nil {
		t.Fatal(err)
	}
	if !root.Equal(e.srv.Root) {
		t.Fatal("bootstrapped another root")
	}
	zero := strings.Repeat("00", 32)
	_, err = boot.Root(ctx, zero)
	var ce *submit.Error
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown fingerprint: %v", err)
	}
	if _, err := boot.Root(ctx, "abc"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("short fingerprint: %v", err)
	}

	// A different CA's root must not be accepted for this server.
	other := x509.NewCertPool()
	other.AddCert(testRootCert(t))
	if _, err := (&submit.Client{URL: e.srv.URL, RootCAs: other}).Roots(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("wrong pinned root: %v", err)
	}
}

func testRootCert(t *testing.T) *x509.Certificate {
	t.Helper()
	ca, err := stepca.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ca.Root
}

// TestSubmitRenew renews over mutual TLS with the current certificate: the
// new certificate has the same key and names, a new serial, and the chain.
func TestSubmitRenew(t *testing.T) {
	e := newSubmitEnv(t, false)
	c := e.client()
	ctx := context.Background()
	p := e.srv.Provisioners[0]
	key, der := submitRequest(t, csr.RSA2048, fullRequest)
	tok, err := submit.NewToken(&submit.Token{Provisioner: p.Name, Key: p.Key, CA: e.srv.URL, CSR: der})
	if err != nil {
		t.Fatal(err)
	}
	leaf, chain, err := c.Sign(ctx, der, tok)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw, chain[0].Raw}, PrivateKey: key}
	renewed, rchain, err := c.Renew(ctx, cert)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.SerialNumber.Cmp(leaf.SerialNumber) == 0 || !reflect.DeepEqual(renewed.DNSNames, leaf.DNSNames) ||
		renewed.Subject.String() != leaf.Subject.String() || !renewed.PublicKey.(*rsa.PublicKey).Equal(key.Public()) {
		t.Errorf("renewed: serial %v subject %q names %v", renewed.SerialNumber, renewed.Subject, renewed.DNSNames)
	}
	if len(rchain) != 1 || !rchain[0].Equal(e.srv.Intermediate) {
		t.Errorf("renewed chain of %d", len(rchain))
	}

	// Without a client certificate step-ca cannot know what to renew.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	self := selfSigned(t, stranger)
	_, _, err = c.Renew(ctx, tls.Certificate{Certificate: [][]byte{self.Raw}, PrivateKey: stranger})
	if err == nil {
		t.Fatal("renewed a certificate the CA did not issue")
	}
	t.Log(err)
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"app.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestSubmitACME orders a certificate from step-ca's ACME provisioner for a
// DNS name and an IP address, proving both with HTTP-01 through the
// HTTP01 handler (step-ca connects to it on loopback: its test setting
// acme.InsecurePortHTTP01 replaces port 80), and finalizes with our own
// request.
func TestSubmitACME(t *testing.T) {
	e := newSubmitEnv(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	accountKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	client := &acme.Client{
		Key:          accountKey,
		DirectoryURL: e.srv.ACMEDirectory,
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots}}},
	}
	if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatal(err)
	}
	key, der := submitRequest(t, csr.P256, &csr.Request{CN: "localhost", DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1").To4()}})
	leaf, chain, err := submit.ACMEIssue(ctx, client, der, nil, e.solver)
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) || !reflect.DeepEqual(leaf.DNSNames, []string{"localhost"}) ||
		len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("leaf %q %v %v", leaf.Subject, leaf.DNSNames, leaf.IPAddresses)
	}
	if len(chain) != 1 || !chain[0].Equal(e.srv.Intermediate) {
		t.Errorf("chain of %d", len(chain))
	}

	// A common name outside the SANs is refused before ordering (step-ca
	// would only say "The CSR is unacceptable" at finalization).
	_, der = submitRequest(t, csr.P256, &csr.Request{CN: "localhost", IPAddresses: []net.IP{net.ParseIP("127.0.0.1").To4()}})
	if _, _, err = submit.ACMEIssue(ctx, client, der, nil, e.solver); err == nil || !strings.Contains(err.Error(), "common name \"localhost\" is not among its SANs") {
		t.Fatalf("CN outside the SANs: %v", err)
	}

	// A name whose HTTP-01 answer is not served fails with step-ca's
	// reason and the hint about port 80.
	_, der = submitRequest(t, csr.P256, &csr.Request{CN: "localhost", DNSNames: []string{"localhost"}})
	_, _, err = submit.ACMEIssue(ctx, client, der, nil, new(submit.HTTP01))
	if err == nil || !strings.Contains(err.Error(), "validation of \"localhost\" failed") {
		t.Fatalf("unserved challenge: %v", err)
	}
	t.Log(err)
}
