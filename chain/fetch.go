package chain

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/certwright/certwright/internal/ber"
	"github.com/smallstep/pkcs7"
)

// Fetcher downloads the document at an AIA caIssuers URL.
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

var _ Fetcher = (*HTTPFetcher)(nil)

// Defaults of HTTPFetcher.
const (
	DefaultFetchTimeout      = 10 * time.Second
	DefaultMaxResponseBytes  = 1 << 20
	DefaultMaxRedirects      = 3
	DefaultFetchCacheEntries = 256
	// maxIssuerCerts bounds the certificates taken from one response.
	maxIssuerCerts = 64
)

// HTTPFetcher is the default Fetcher: plain HTTP(S) GET with a timeout, a
// response size cap, a redirect cap and an in-memory cache. It refuses
// schemes other than http and https and, unless AllowPrivate is set,
// addresses that are loopback, private, link-local, unspecified or
// multicast; the address is checked when the connection is made, after
// name resolution, so a name that resolves to an internal address is
// refused too. It uses no proxy, so that the check applies to the real
// peer.
//
// The zero value is ready to use; share one HTTPFetcher to share its
// cache. It is safe for concurrent use.
type HTTPFetcher struct {
	// Timeout bounds one fetch, redirects included; 0 means
	// DefaultFetchTimeout.
	Timeout time.Duration
	// MaxResponseBytes caps a response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxRedirects caps redirects followed; 0 means DefaultMaxRedirects,
	// a negative value follows none.
	MaxRedirects int
	// AllowPrivate permits loopback, private and link-local addresses
	// (for tests and closed networks).
	AllowPrivate bool
	// CacheEntries caps the cache; 0 means DefaultFetchCacheEntries, a
	// negative value disables caching.
	CacheEntries int

	once   sync.Once
	client *http.Client
	mu     sync.Mutex
	cache  map[string][]byte
}

func (f *HTTPFetcher) init() {
	f.once.Do(func() {
		d := &net.Dialer{Timeout: f.timeout(), Control: f.control}
		tr := &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   f.timeout(),
			ResponseHeaderTimeout: f.timeout(),
			MaxIdleConns:          4,
			IdleConnTimeout:       30 * time.Second,
		}
		f.client = &http.Client{
			Transport: tr,
			Timeout:   f.timeout(),
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				maxR := f.MaxRedirects
				if maxR == 0 {
					maxR = DefaultMaxRedirects
				}
				if len(via) > maxR || maxR < 0 {
					return fmt.Errorf("chain: more than %d redirects", max(maxR, 0))
				}
				return checkScheme(req.URL)
			},
		}
		f.cache = map[string][]byte{}
	})
}

func (f *HTTPFetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultFetchTimeout
}

// control runs after name resolution, before the connection is made.
func (f *HTTPFetcher) control(network, address string, _ syscall.RawConn) error {
	if f.AllowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("chain: dialing %q: not an IP address: %w", address, ErrFetchRefused)
	}
	if refusedAddr(ip) {
		return fmt.Errorf("chain: address %s is loopback, private or link-local (HTTPFetcher.AllowPrivate): %w", ip, ErrFetchRefused)
	}
	return nil
}

func refusedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		// Shared address space (RFC 6598), used by carrier-grade NAT.
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip)
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("chain: URL scheme %q is not http or https: %w", u.Scheme, ErrFetchRefused)
	}
	if u.Host == "" {
		return fmt.Errorf("chain: URL %q has no host: %w", u.String(), ErrFetchRefused)
	}
	return nil
}

// Fetch downloads rawURL, or returns the cached body of an earlier
// successful download.
func (f *HTTPFetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	f.init()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("chain: bad URL %q: %w", rawURL, err)
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	if f.CacheEntries >= 0 {
		f.mu.Lock()
		body, ok := f.cache[rawURL]
		f.mu.Unlock()
		if ok {
			return body, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("chain: fetching %s: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", "certwright-chain")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("chain: fetching %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("chain: fetching %s: HTTP status %s", rawURL, resp.Status)
	}
	limit := f.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("chain: fetching %s: %w", rawURL, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("chain: fetching %s: response larger than %d bytes (HTTPFetcher.MaxResponseBytes)", rawURL, limit)
	}
	if f.CacheEntries >= 0 {
		maxEntries := f.CacheEntries
		if maxEntries == 0 {
			maxEntries = DefaultFetchCacheEntries
		}
		f.mu.Lock()
		if len(f.cache) >= maxEntries {
			clear(f.cache)
		}
		f.cache[rawURL] = body
		f.mu.Unlock()
	}
	return body, nil
}

// ParseIssuers reads the certificates of an AIA caIssuers response: one
// DER certificate, PEM certificates (and PEM PKCS#7), or a certs-only
// PKCS#7 (.p7c) in DER or BER. It takes at most 64 certificates and
// checks BER nesting depth before the PKCS#7 parser sees the bytes.
func ParseIssuers(data []byte) ([]*x509.Certificate, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("chain: empty AIA response")
	}
	if bytes.HasPrefix(data, []byte("-----BEGIN")) {
		var out []*x509.Certificate
		rest := data
		for len(out) < maxIssuerCerts {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					return nil, fmt.Errorf("chain: AIA response: PEM certificate: %w", err)
				}
				out = append(out, c)
			case "PKCS7", "CERTIFICATE CHAIN":
				cs, err := parseP7(blk.Bytes)
				if err != nil {
					return nil, err
				}
				out = append(out, cs...)
			}
		}
		if len(out) == 0 {
			return nil, errors.New("chain: AIA response is PEM without certificates")
		}
		return capCerts(out), nil
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, nil
	}
	cs, err := parseP7(data)
	if err != nil {
		return nil, fmt.Errorf("chain: AIA response is neither a DER certificate nor PKCS#7: %w", err)
	}
	return capCerts(cs), nil
}

func capCerts(cs []*x509.Certificate) []*x509.Certificate {
	if len(cs) > maxIssuerCerts {
		return cs[:maxIssuerCerts]
	}
	return cs
}

func parseP7(data []byte) ([]*x509.Certificate, error) {
	der, err := ber.ToDER(data, 0)
	if err != nil {
		return nil, fmt.Errorf("chain: AIA response: PKCS#7: %w", err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("chain: AIA response: PKCS#7: %w", err)
	}
	if len(p7.Certificates) == 0 {
		return nil, errors.New("chain: AIA response: PKCS#7 holds no certificates")
	}
	return p7.Certificates, nil
}

// fetchIssuers downloads cur's caIssuers URLs (each once per Build, all
// of them tried) and returns the new candidate issuers.
func (b *builder) fetchIssuers(cur *node) []*node {
	if b.fetchedFor[cur.fp] || len(cur.cert.IssuingCertificateURL) == 0 {
		return nil
	}
	b.fetchedFor[cur.fp] = true
	f := b.o.Fetcher
	if f == nil {
		f = &HTTPFetcher{}
		b.o.Fetcher = f
	}
	var fresh []*node
	for _, u := range cur.cert.IssuingCertificateURL {
		if b.fetchedURL[u] {
			continue
		}
		if b.fetches >= b.o.MaxFetches {
			b.note("AIA URL %s not fetched: %d fetches made (Options.MaxFetches)", u, b.o.MaxFetches)
			break
		}
		if b.ctx.Err() != nil {
			b.note("AIA URL %s not fetched: %v", u, b.ctx.Err())
			break
		}
		b.fetchedURL[u] = true
		b.fetches++
		rec := Fetched{For: cur.cert.Subject.String(), URL: u}
		body, err := f.Fetch(b.ctx, u)
		var certs []*x509.Certificate
		if err == nil {
			certs, err = ParseIssuers(body)
		}
		rec.Err = err
		rec.Certificates = len(certs)
		b.fetched = append(b.fetched, rec)
		for _, c := range certs {
			if string(c.RawSubject) != string(cur.cert.RawIssuer) {
				continue
			}
			n, ok := b.local.add(newNode(c, sourceAIA))
			if ok {
				fresh = append(fresh, n)
				clear(b.issuerCache) // the candidate lists are stale
			}
		}
	}
	return fresh
}
