package stepca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultMaxResponse bounds the bytes read from one CA answer when
// Client.MaxResponse is zero.
const DefaultMaxResponse = 1 << 20

// maxChain bounds the certificates accepted in one answer.
const maxChain = 16

// Client talks to a step-ca server's JSON API: sign, renew, roots and the
// root by fingerprint. It is a small client of its own so that programs
// using it do not link step-ca; it speaks only the endpoints listed here.
//
// A Client is safe for concurrent use if its fields are not changed.
type Client struct {
	// URL is the CA's base URL, such as https://ca.example.com:9000.
	URL string
	// RootCAs are the CA's root certificates, pinned: the server's TLS
	// certificate must chain to one of them. The system store is never
	// used by default. Nil is an error for every call except Root, which
	// bootstraps trust from a fingerprint.
	RootCAs *x509.CertPool
	// HTTPClient, when set, is used as given for Sign, Roots and Root (its
	// TLS settings then decide what is trusted; RootCAs is ignored), and its
	// *http.Transport (or a clone of http.DefaultTransport when nil) is
	// cloned for Renew to present the client certificate. Nil means a
	// client that trusts RootCAs only.
	HTTPClient *http.Client
	// MaxResponse bounds the bytes read from one answer; zero means
	// DefaultMaxResponse.
	MaxResponse int64
}

var (
	// ErrNoRoots is returned when a call needs the CA's pinned roots and
	// Client.RootCAs is nil.
	ErrNoRoots = errors.New("stepca: no pinned CA roots: set Client.RootCAs from the root file, or bootstrap with Client.Root and the root's SHA-256 fingerprint")
	// ErrFingerprintMismatch is returned by Root when the CA's root does
	// not have the expected fingerprint.
	ErrFingerprintMismatch = errors.New("stepca: the root's fingerprint does not match")
	// ErrKeyMismatch is returned when the issued certificate does not carry
	// the public key of the request or of the certificate being renewed.
	ErrKeyMismatch = errors.New("stepca: the issued certificate does not carry the requested public key")
	// ErrBadResponse is returned when an answer cannot be read as step-ca's
	// JSON, or its certificates are not a chain.
	ErrBadResponse = errors.New("stepca: malformed answer from the CA")
	// ErrRefused is wrapped by every *Error: the CA answered with an error
	// status.
	ErrRefused = errors.New("stepca: the CA refused the request")
)

// Error is the CA's error answer: the HTTP status and the message of
// step-ca's JSON error body ({"status": ..., "message": ...}). It wraps
// ErrRefused.
type Error struct {
	// Op is the request, such as "POST /1.0/sign".
	Op string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the CA's message, or the start of a non-JSON body.
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("stepca: %s: the CA answered %d %s: %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode), msg)
}

// Unwrap returns ErrRefused.
func (e *Error) Unwrap() error { return ErrRefused }

// Sign submits the DER certificate request csrDER with a one-time token
// (NewToken, or `step ca token`) to the CA's /1.0/sign endpoint. It returns
// the issued leaf and its chain: the intermediates in issuing order, the
// root excluded. The leaf is checked to carry the request's public key
// and each certificate to be signed by the next.
//
// Sign does not keep the request's key: put it in a csr.Store before
// calling, and complete the entry once the certificate is written.
func (c *Client) Sign(ctx context.Context, csrDER []byte, token string) (leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	req, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, nil, fmt.Errorf("stepca: the certificate request is not DER: %w", err)
	}
	if token == "" {
		return nil, nil, errors.New("stepca: no one-time token: make one with NewToken or `step ca token`")
	}
	hc, err := c.client(nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(struct {
		CSR string `json:"csr"`
		OTT string `json:"ott"`
	}{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})), token})
	if err != nil {
		return nil, nil, err
	}
	leaf, chain, err = c.signResponse(ctx, hc, "/1.0/sign", body)
	if err != nil {
		return nil, nil, err
	}
	if !sameKey(leaf.PublicKey, req.PublicKey) {
		return nil, nil, fmt.Errorf("%w: %s was issued for another key than the request's", ErrKeyMismatch, leaf.Subject)
	}
	return leaf, chain, nil
}

// Renew asks the CA for a new certificate for cert's key, authenticating
// with cert itself over mutual TLS (POST /1.0/renew), as `step ca renew`
// does. cert.Certificate should hold the leaf and its intermediates; the
// certificate must not have expired (step-ca refuses expired certificates
// unless its provisioner allows renewal after expiry). The new certificate
// carries the same key and names; it is returned with its chain as by Sign.
func (c *Client) Renew(ctx context.Context, cert tls.Certificate) (leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, nil, errors.New("stepca: renewing needs the current certificate and its private key")
	}
	old, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("stepca: the certificate to renew: %w", err)
	}
	hc, err := c.client(&cert)
	if err != nil {
		return nil, nil, err
	}
	defer hc.CloseIdleConnections()
	leaf, chain, err = c.signResponse(ctx, hc, "/1.0/renew", nil)
	if err != nil {
		return nil, nil, err
	}
	if !sameKey(leaf.PublicKey, old.PublicKey) {
		return nil, nil, fmt.Errorf("%w: the renewal of %s was issued for another key", ErrKeyMismatch, old.Subject)
	}
	return leaf, chain, nil
}

// Roots returns the CA's root certificates (GET /1.0/roots), over a
// connection verified with the pinned RootCAs: use it to learn of a new root
// the CA added, not to establish trust.
func (c *Client) Roots(ctx context.Context) ([]*x509.Certificate, error) {
	hc, err := c.client(nil)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Crts []string `json:"crts"`
	}
	if err := c.do(ctx, hc, http.MethodGet, "/1.0/roots", nil, &resp); err != nil {
		return nil, err
	}
	if len(resp.Crts) == 0 || len(resp.Crts) > maxChain {
		return nil, fmt.Errorf("%w: GET /1.0/roots: %d roots", ErrBadResponse, len(resp.Crts))
	}
	roots := make([]*x509.Certificate, 0, len(resp.Crts))
	for i, p := range resp.Crts {
		r, err := parsePEM(p)
		if err != nil {
			return nil, fmt.Errorf("%w: GET /1.0/roots: root %d: %v", ErrBadResponse, i+1, err)
		}
		roots = append(roots, r)
	}
	return roots, nil
}

// Root fetches the CA's root certificate by its SHA-256 fingerprint (GET
// /root/{sha256}), as `step ca bootstrap` does, for a client that knows only
// the fingerprint. The fingerprint is hex, upper or lower case, colons
// allowed. Before the root is known the TLS connection cannot be verified,
// so Root checks afterwards that the root has exactly that fingerprint
// (else ErrFingerprintMismatch) and that the certificate the server
// presented chains to it for the URL's host name. Root does not change
// the Client: put the root in Client.RootCAs for the other calls.
//
// Root uses its own HTTP client; Client.HTTPClient's transport settings are
// not applied, as the pinned fingerprint replaces them.
func (c *Client) Root(ctx context.Context, fingerprint string) (*x509.Certificate, error) {
	want, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(fingerprint), ":", ""))
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("stepca: the root fingerprint %q is not 64 hex digits of SHA-256 (step shows it as \"X.509 Root Fingerprint\")", fingerprint)
	}
	base, err := baseURL(c.URL)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(base)
	var peer []*x509.Certificate
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The root is not known yet: the chain is verified below,
			// against the root whose fingerprint the caller pinned.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				peer = cs.PeerCertificates
				return nil
			},
		},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var resp struct {
		CA string `json:"ca"`
	}
	op := "/root/" + hex.EncodeToString(want)
	if err := c.do(ctx, hc, http.MethodGet, op, nil, &resp); err != nil {
		return nil, err
	}
	root, err := parsePEM(resp.CA)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrBadResponse, op, err)
	}
	if got := sha256.Sum256(root.Raw); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("%w: asked for %x, the CA sent %q with %x", ErrFingerprintMismatch, want, root.Subject, got)
	}
	if len(peer) == 0 {
		return nil, errors.New("stepca: the CA presented no TLS certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	inter := x509.NewCertPool()
	for _, p := range peer[1:min(len(peer), maxChain)] {
		inter.AddCert(p)
	}
	if _, err := peer[0].Verify(x509.VerifyOptions{DNSName: u.Hostname(), Roots: pool, Intermediates: inter}); err != nil {
		return nil, fmt.Errorf("%w: the server's TLS certificate %q does not chain to the root with that fingerprint: %v", ErrFingerprintMismatch, peer[0].Subject, err)
	}
	return root, nil
}

// client returns the HTTP client for a call, presenting cert when set.
func (c *Client) client(cert *tls.Certificate) (*http.Client, error) {
	if c.HTTPClient != nil && cert == nil {
		return c.HTTPClient, nil
	}
	var tr *http.Transport
	if c.HTTPClient != nil {
		switch t := c.HTTPClient.Transport.(type) {
		case nil:
			tr = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			tr = t.Clone()
		default:
			return nil, fmt.Errorf("stepca: renewing needs an *http.Transport to present the certificate; Client.HTTPClient has a %T", t)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if c.RootCAs != nil {
			tr.TLSClientConfig.RootCAs = c.RootCAs
		}
	} else {
		if c.RootCAs == nil {
			return nil, ErrNoRoots
		}
		tr = &http.Transport{
			Proxy:             http.ProxyFromEnvironment,
			ForceAttemptHTTP2: true,
			TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: c.RootCAs},
		}
	}
	if cert != nil {
		// Always present the certificate: the default selection sends none
		// when the server's acceptable CAs name the root and not the
		// intermediate that issued it.
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	hc := &http.Client{Transport: tr}
	if c.HTTPClient != nil {
		hc.Timeout = c.HTTPClient.Timeout
		hc.CheckRedirect = c.HTTPClient.CheckRedirect
	}
	return hc, nil
}

// signResponse posts body to path and reads step-ca's SignResponse.
func (c *Client) signResponse(ctx context.Context, hc *http.Client, path string, body []byte) (*x509.Certificate, []*x509.Certificate, error) {
	var resp struct {
		Crt       string   `json:"crt"`
		CA        string   `json:"ca"`
		CertChain []string `json:"certChain"`
	}
	if err := c.do(ctx, hc, http.MethodPost, path, body, &resp); err != nil {
		return nil, nil, err
	}
	leaf, chain, err := parseSignResponse(resp.Crt, resp.CA, resp.CertChain)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: POST %s: %v", ErrBadResponse, path, err)
	}
	return leaf, chain, nil
}

// parseSignResponse reads the crt, ca and certChain members: certChain
// (leaf first) when present, else crt and ca. The root, if the CA sent it,
// is dropped; every certificate must be signed by the next.
func parseSignResponse(crt, ca string, certChain []string) (*x509.Certificate, []*x509.Certificate, error) {
	pems := certChain
	if len(pems) == 0 {
		pems = []string{crt}
		if ca != "" {
			pems = append(pems, ca)
		}
	}
	if len(pems) > maxChain {
		return nil, nil, fmt.Errorf("%d certificates in the chain (at most %d)", len(pems), maxChain)
	}
	certs := make([]*x509.Certificate, 0, len(pems))
	for i, p := range pems {
		cert, err := parsePEM(p)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %d: %v", i+1, err)
		}
		certs = append(certs, cert)
	}
	if crt != "" && len(certChain) > 0 {
		first, err := parsePEM(crt)
		if err != nil {
			return nil, nil, fmt.Errorf("crt: %v", err)
		}
		if !first.Equal(certs[0]) {
			return nil, nil, errors.New("crt is not the first certificate of certChain")
		}
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, nil, fmt.Errorf("%q is not signed by the next certificate %q: %v", certs[i].Subject, certs[i+1].Subject, err)
		}
	}
	if n := len(certs); n > 1 && bytes.Equal(certs[n-1].RawSubject, certs[n-1].RawIssuer) && certs[n-1].CheckSignatureFrom(certs[n-1]) == nil {
		certs = certs[:n-1]
	}
	return certs[0], certs[1:], nil
}

// parsePEM reads exactly one PEM certificate.
func parsePEM(s string) (*x509.Certificate, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("data after the PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// do sends one request and decodes the JSON answer into out, or returns
// the CA's *Error.
func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, body []byte, out any) error {
	base, err := baseURL(c.URL)
	if err != nil {
		return err
	}
	op := method + " " + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return fmt.Errorf("stepca: %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("stepca: %s: %w", op, err)
	}
	defer resp.Body.Close()
	limit := c.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("stepca: %s: reading the answer: %w", op, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%w: %s: the answer is larger than %d bytes", ErrBadResponse, op, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return responseError(op, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadResponse, op, err)
	}
	return nil
}

// responseError makes the *Error of a failed answer from step-ca's JSON
// error body, or from the start of any other body.
func responseError(op string, status int, data []byte) *Error {
	var body struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	e := &Error{Op: op, StatusCode: status}
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		e.Message = body.Message
		return e
	}
	text := strings.ToValidUTF8(strings.TrimSpace(string(data)), "?")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	e.Message = text
	return e
}

// sameKey reports whether two public keys are equal.
func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
