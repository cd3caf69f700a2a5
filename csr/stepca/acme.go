package stepca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// HTTP01Path is where ACME servers fetch HTTP-01 answers (RFC 8555
// section 8.3): mount an HTTP01 handler there, on port 80 of every name.
const HTTP01Path = "/.well-known/acme-challenge/"

// maxAuthorizations bounds the authorizations of one order.
const maxAuthorizations = 100

// HTTP01 answers ACME HTTP-01 challenges while ACMEIssue runs. It is an
// http.Handler: mount it at HTTP01Path (with or without http.StripPrefix)
// on the server that answers on port 80 of the names being validated. It
// answers GET and HEAD for the tokens of challenges in progress with their
// key authorisation, and 404 for anything else. The zero value is ready to
// use and safe for concurrent use.
type HTTP01 struct {
	mu     sync.Mutex
	tokens map[string]string
}

var _ http.Handler = (*HTTP01)(nil)

// ServeHTTP answers a challenge request.
func (h *HTTP01) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token := strings.TrimPrefix(r.URL.Path, HTTP01Path)
	token = strings.TrimPrefix(token, "/")
	h.mu.Lock()
	answer, ok := h.tokens[token]
	h.mu.Unlock()
	if !ok || token == "" || strings.Contains(token, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(answer))
}

func (h *HTTP01) set(token, answer string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tokens == nil {
		h.tokens = make(map[string]string)
	}
	h.tokens[token] = answer
}

func (h *HTTP01) remove(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.tokens, token)
}

// ErrNoHTTP01 is returned by ACMEIssue when the server offers no HTTP-01
// challenge for an identifier.
var ErrNoHTTP01 = errors.New("stepca: the ACME server offers no http-01 challenge")

// ACMEIssue gets a certificate for the DER request csrDER from an ACME
// server (RFC 8555): it places an order for ids (nil means the request's
// DNS names and IP addresses), proves control of each with HTTP-01 through
// solver, finalizes the order with this very request (so the key made and
// kept by the csr package is the one certified), and downloads the
// certificate. The request's common name, if any, must be one of its SANs,
// as ACME CAs require. It returns the leaf and its chain: the intermediates in
// issuing order, the root excluded. The leaf is checked to carry the
// request's public key.
//
// client must have its Key set and its account registered
// (client.Register); its DirectoryURL names the server, and its
// HTTPClient decides which TLS roots are trusted. solver must be reachable
// by the server at http://NAME/.well-known/acme-challenge/ for every name.
// Each validation is awaited until the server reports it valid or failed
// (the first failed attempt ends the wait, with the server's reason), for
// at most about five minutes or until ctx ends.
//
// ACMEIssue does not register accounts, does not do DNS-01 or TLS-ALPN-01,
// and does not revoke.
func ACMEIssue(ctx context.Context, client *acme.Client, csrDER []byte, ids []acme.AuthzID, solver *HTTP01) (leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	if client == nil || solver == nil {
		return nil, nil, errors.New("stepca: ACMEIssue needs an ACME client and an HTTP01 solver")
	}
	req, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, nil, fmt.Errorf("stepca: the certificate request is not DER: %w", err)
	}
	if cn := req.Subject.CommonName; cn != "" && !slices.ContainsFunc(RequestNames(req), func(n string) bool { return strings.EqualFold(n, cn) }) {
		return nil, nil, fmt.Errorf("stepca: the request's common name %q is not among its SANs; ACME CAs refuse such a request at finalization (\"badCSR\"): add it as a SAN or leave the CN empty", cn)
	}
	if ids == nil {
		ids = append(ids, acme.DomainIDs(req.DNSNames...)...)
		for _, ip := range req.IPAddresses {
			ids = append(ids, acme.AuthzID{Type: "ip", Value: ip.String()})
		}
	}
	if len(ids) == 0 {
		return nil, nil, errors.New("stepca: the request has no DNS name or IP address for ACME to validate")
	}
	order, err := client.AuthorizeOrder(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("stepca: ACME order: %w", err)
	}
	if len(order.AuthzURLs) > maxAuthorizations {
		return nil, nil, fmt.Errorf("stepca: ACME order has %d authorizations (at most %d)", len(order.AuthzURLs), maxAuthorizations)
	}
	for _, u := range order.AuthzURLs {
		if err := authorize(ctx, client, u, solver); err != nil {
			return nil, nil, err
		}
	}
	uri := order.URI
	order, err = client.WaitOrder(ctx, uri)
	if err != nil {
		return nil, nil, fmt.Errorf("stepca: ACME order %s: %w", uri, err)
	}
	ders, _, err := client.CreateOrderCert(ctx, order.FinalizeURL, csrDER, true)
	if err != nil {
		return nil, nil, fmt.Errorf("stepca: ACME finalize: %w", err)
	}
	if len(ders) == 0 || len(ders) > maxChain {
		return nil, nil, fmt.Errorf("%w: ACME certificate: %d certificates", ErrBadResponse, len(ders))
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, d := range ders {
		cert, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: ACME certificate %d: %v", ErrBadResponse, i+1, err)
		}
		certs = append(certs, cert)
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, nil, fmt.Errorf("%w: ACME certificate %q is not signed by the next certificate %q: %v", ErrBadResponse, certs[i].Subject, certs[i+1].Subject, err)
		}
	}
	if n := len(certs); n > 1 && certs[n-1].CheckSignatureFrom(certs[n-1]) == nil {
		certs = certs[:n-1]
	}
	if !sameKey(certs[0].PublicKey, req.PublicKey) {
		return nil, nil, fmt.Errorf("%w: the ACME certificate %s was issued for another key than the request's", ErrKeyMismatch, certs[0].Subject)
	}
	return certs[0], certs[1:], nil
}

// authorize proves control of one authorization's identifier with HTTP-01.
func authorize(ctx context.Context, client *acme.Client, authzURL string, solver *HTTP01) error {
	z, err := client.GetAuthorization(ctx, authzURL)
	if err != nil {
		return fmt.Errorf("stepca: ACME authorization %s: %w", authzURL, err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	var chal *acme.Challenge
	var offered []string
	for _, c := range z.Challenges {
		offered = append(offered, c.Type)
		if c.Type == "http-01" {
			chal = c
		}
	}
	if chal == nil {
		return fmt.Errorf("%w for %s %q (offered: %s)", ErrNoHTTP01, z.Identifier.Type, z.Identifier.Value, strings.Join(offered, ", "))
	}
	answer, err := client.HTTP01ChallengeResponse(chal.Token)
	if err != nil {
		return fmt.Errorf("stepca: ACME http-01 answer: %w", err)
	}
	solver.set(chal.Token, answer)
	defer solver.remove(chal.Token)
	if _, err := client.Accept(ctx, chal); err != nil {
		return fmt.Errorf("stepca: ACME accepting the http-01 challenge for %q: %w", z.Identifier.Value, err)
	}
	return waitAuthorization(ctx, client, z, chal.URI)
}

// pollInterval is the pause between two looks at an authorization.
const pollInterval = time.Second

// maxPolls bounds the looks at one authorization (about five minutes).
const maxPolls = 300

// waitAuthorization waits until the authorization is valid. It stops at
// the first failed validation attempt the server reports on the challenge,
// even while the server keeps the challenge pending (step-ca does, for a
// client to try again), so that a missing answer fails at once with the
// server's reason instead of waiting for the context.
func waitAuthorization(ctx context.Context, client *acme.Client, z *acme.Authorization, chalURL string) error {
	fail := func(err error) error {
		return fmt.Errorf("stepca: ACME http-01 validation of %q failed (is %s served on port 80 of that name?): %w", z.Identifier.Value, HTTP01Path, err)
	}
	for i := 0; i < maxPolls; i++ {
		a, err := client.GetAuthorization(ctx, z.URI)
		if err != nil {
			return fail(err)
		}
		switch a.Status {
		case acme.StatusValid:
			return nil
		case acme.StatusInvalid, acme.StatusDeactivated, acme.StatusExpired, acme.StatusRevoked:
			for _, c := range a.Challenges {
				if c.URI == chalURL && c.Error != nil {
					return fail(c.Error)
				}
			}
			return fail(fmt.Errorf("authorization %s", a.Status))
		}
		c, err := client.GetChallenge(ctx, chalURL)
		if err != nil {
			return fail(err)
		}
		if c.Status == acme.StatusInvalid || c.Error != nil {
			if c.Error == nil {
				return fail(errors.New("challenge invalid"))
			}
			return fail(c.Error)
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(pollInterval):
		}
	}
	return fail(fmt.Errorf("still pending after %d looks", maxPolls))
}
