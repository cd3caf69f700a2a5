package stepca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	stepacme "github.com/smallstep/certificates/acme"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/certificates/ca"
	"github.com/smallstep/certificates/db"
	"go.step.sm/crypto/jose"
)

// Server is a real step-ca server (ca.New, as `step-ca` runs it) serving
// HTTPS on 127.0.0.1 at a free port, with a file database, one or more JWK
// provisioners and, on request, an ACME provisioner. It is what the
// submission tests talk to over the network.
type Server struct {
	// URL is the server's base URL, https://127.0.0.1:PORT.
	URL string
	// Root and Intermediate are the CA certificates; the intermediate
	// signs, and also issued the server's own TLS certificate.
	Root         *x509.Certificate
	Intermediate *x509.Certificate
	// RootFile and IntermediateFile are PEM copies.
	RootFile         string
	IntermediateFile string
	// Fingerprint is the hex SHA-256 of the root's DER, as `step
	// certificate fingerprint` prints it.
	Fingerprint string
	// Provisioners are the JWK provisioners: the first has a P-256 key
	// (ES256), then one per ServeOptions.ProvisionerKeys.
	Provisioners []Provisioner
	// ACMEDirectory is the directory URL of the ACME provisioner, when
	// ServeOptions.ACME is set.
	ACMEDirectory string

	ca   *ca.CA
	done chan error
	once sync.Once
}

// Provisioner is a JWK provisioner of a Server and its private key.
type Provisioner struct {
	// Name is the provisioner's name (the token issuer).
	Name string
	// KeyID is the key's RFC 7638 thumbprint, base64url, as step makes it.
	KeyID string
	// Key is the provisioner's private key.
	Key crypto.Signer
	// KeyFile is a PKCS#8 PEM copy of Key (0600).
	KeyFile string
	// EncryptedKeyFile holds Key as step keeps it: a JWE (compact form, the
	// provisioner's "encryptedKey" in ca.json) made by step's own code,
	// opened with ProvisionerPassword.
	EncryptedKeyFile string
}

// ProvisionerPassword encrypts every Provisioner.EncryptedKeyFile.
const ProvisionerPassword = "certwright-provisioner-password"

// ServeOptions tunes Serve. The zero value serves one ES256 JWK
// provisioner, no ACME, and step-ca's default validity (24h).
type ServeOptions struct {
	// Validity of issued certificates; zero means step-ca's default.
	Validity time.Duration
	// ProvisionerKeys adds a JWK provisioner for each key (RSA, Ed25519,
	// other curves), named "certwright-N" from 2 on.
	ProvisionerKeys []crypto.Signer
	// ACME adds an ACME provisioner named "acme" offering http-01.
	ACME bool
	// HTTP01Port is the port step-ca connects to for http-01 validation
	// instead of 80. It sets step-ca's process-wide
	// acme.InsecurePortHTTP01 (a setting step-ca has for tests), so only
	// one ACME server per test process should use it at a time.
	HTTP01Port int
}

// Serve creates a fresh hierarchy and configuration in dir and starts a
// step-ca server on a free loopback port. Close stops it.
func Serve(dir string, opts *ServeOptions) (*Server, error) {
	if opts == nil {
		opts = &ServeOptions{}
	}
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	root, err := caCert("Certwright Submit Root CA", rootKey.Public(), nil, rootKey, now, 1)
	if err != nil {
		return nil, err
	}
	intKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	inter, err := caCert("Certwright Submit Intermediate CA", intKey.Public(), root, rootKey, now, 0)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(root.Raw)
	s := &Server{
		Root: root, Intermediate: inter,
		RootFile:         filepath.Join(dir, "root.crt"),
		IntermediateFile: filepath.Join(dir, "intermediate.crt"),
		Fingerprint:      hex.EncodeToString(sum[:]),
	}
	intKeyDER, err := x509.MarshalPKCS8PrivateKey(intKey)
	if err != nil {
		return nil, err
	}
	intKeyFile := filepath.Join(dir, "intermediate.key")
	files := []struct {
		name, typ string
		der       []byte
		perm      os.FileMode
	}{
		{s.RootFile, "CERTIFICATE", root.Raw, 0o644},
		{s.IntermediateFile, "CERTIFICATE", inter.Raw, 0o644},
		{intKeyFile, "PRIVATE KEY", intKeyDER, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(f.name, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.perm); err != nil {
			return nil, fmt.Errorf("stepca: %w", err)
		}
	}

	first, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var claims *provisioner.Claims
	if opts.Validity > 0 {
		d := &provisioner.Duration{Duration: opts.Validity}
		claims = &provisioner.Claims{DefaultTLSDur: d, MaxTLSDur: d}
	}
	var provs provisioner.List
	for i, key := range append([]crypto.Signer{first}, opts.ProvisionerKeys...) {
		name := provisionerName
		if i > 0 {
			name = "certwright-" + strconv.Itoa(i+1)
		}
		alg, err := jwsAlgorithm(key.Public())
		if err != nil {
			return nil, err
		}
		jwk := &jose.JSONWebKey{Key: key.Public(), Algorithm: alg, Use: "sig"}
		thumb, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, err
		}
		jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		keyFile := filepath.Join(dir, "provisioner-"+strconv.Itoa(i+1)+".key")
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("stepca: %w", err)
		}
		priv := &jose.JSONWebKey{Key: key, KeyID: jwk.KeyID, Algorithm: alg, Use: "sig"}
		jwe, err := jose.EncryptJWK(priv, []byte(ProvisionerPassword))
		if err != nil {
			return nil, fmt.Errorf("stepca: encrypting the provisioner key: %w", err)
		}
		compact, err := jwe.CompactSerialize()
		if err != nil {
			return nil, err
		}
		encFile := filepath.Join(dir, "provisioner-"+strconv.Itoa(i+1)+".jwe")
		if err := os.WriteFile(encFile, []byte(compact+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("stepca: %w", err)
		}
		s.Provisioners = append(s.Provisioners, Provisioner{Name: name, KeyID: jwk.KeyID, Key: key, KeyFile: keyFile, EncryptedKeyFile: encFile})
		provs = append(provs, &provisioner.JWK{
			Type: "JWK", Name: name, Key: jwk, Claims: claims,
			Options: &provisioner.Options{X509: &provisioner.X509Options{Template: Template}},
		})
	}
	if opts.ACME {
		provs = append(provs, &provisioner.ACME{
			Type: "ACME", Name: "acme", Claims: claims,
			Challenges: []provisioner.ACMEChallenge{provisioner.HTTP_01},
		})
		if opts.HTTP01Port != 0 {
			stepacme.InsecurePortHTTP01 = opts.HTTP01Port
		}
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = "https://" + addr
	if opts.ACME {
		s.ACMEDirectory = s.URL + "/acme/acme/directory"
	}
	cfg := &config.Config{
		Root:             []string{s.RootFile},
		IntermediateCert: s.IntermediateFile,
		IntermediateKey:  intKeyFile,
		Address:          addr,
		DNSNames:         []string{"127.0.0.1", "localhost"},
		DB:               &db.Config{Type: "bbolt", DataSource: filepath.Join(dir, "db")},
		AuthorityConfig:  &config.AuthConfig{Provisioners: provs},
	}
	s.ca, err = ca.New(cfg, ca.WithQuiet(true))
	if err != nil {
		return nil, fmt.Errorf("stepca: starting step-ca: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.ca.Run() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("stepca: step-ca stopped: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("stepca: step-ca does not listen on %s", addr)
		}
	}
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.ca.Stop()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			err = errors.Join(err, errors.New("stepca: step-ca did not stop"))
		}
	})
	return err
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func jwsAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	case *rsa.PublicKey:
		return "RS256", nil
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("stepca: no JWS algorithm for %T", pub)
}
