package chain

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultCheckTimeout bounds CheckServer's dial, STARTTLS exchange and
// handshake when CheckOptions.Timeout is 0.
const DefaultCheckTimeout = 10 * time.Second

// ErrStartTLS reports a server that did not accept the STARTTLS exchange.
var ErrStartTLS = errors.New("STARTTLS failed")

// CheckOptions control CheckServer. The zero value checks an HTTPS server
// on port 443 of the host, with SNI and host name check for that host.
type CheckOptions struct {
	// ServerName is sent as SNI and checked against the leaf; "" means
	// the host part of the address.
	ServerName string
	// Timeout bounds the whole exchange; 0 means DefaultCheckTimeout.
	Timeout time.Duration
	// StartTLS is "" for TLS from the first byte, or "smtp", "imap" or
	// "pop3" to upgrade a plain connection first. It also picks the
	// default port (25, 143, 110; 443 otherwise).
	StartTLS string
	// Options are the Build and Diagnose options (roots, pool, time,
	// expiry warning, AIA).
	Options *Options
	// Dialer makes the TCP connection; nil means a net.Dialer.
	Dialer *net.Dialer
}

// CheckServer connects to addr ("host", "host:port", "[v6]:port"), does a
// TLS handshake (after STARTTLS when asked), records the certificates the
// server sent, in order, and diagnoses them.
//
// The handshake is made with tls.Config.InsecureSkipVerify: a broken
// chain is exactly what CheckServer must see rather than refuse, and the
// chain is validated afterwards by Diagnose with the configured roots. No
// application data is sent over the connection, which is closed right
// after the handshake. The error is non-nil when no handshake happened
// (address, dial, STARTTLS, TLS); problems with the chain are in the
// Diagnosis.
func CheckServer(ctx context.Context, addr string, opts *CheckOptions) (*Diagnosis, error) {
	var o CheckOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	proto := strings.ToLower(o.StartTLS)
	port := "443"
	switch proto {
	case "":
	case "smtp":
		port = "25"
	case "imap":
		port = "143"
	case "pop3":
		port = "110"
	default:
		return nil, fmt.Errorf("chain: unknown STARTTLS protocol %q (want smtp, imap or pop3)", o.StartTLS)
	}
	host, hostport, err := splitAddr(addr, port)
	if err != nil {
		return nil, err
	}
	name := o.ServerName
	if name == "" {
		name = host
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("chain: connecting to %s: %w", hostport, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if proto != "" {
		if err := startTLS(conn, proto); err != nil {
			return nil, fmt.Errorf("chain: %s at %s: %w", proto, hostport, err)
		}
	}
	sni := name
	if net.ParseIP(strings.Trim(sni, "[]")) != nil {
		sni = "" // SNI carries host names only
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: sni,
		// See the doc comment: the chain is captured as sent and
		// validated by Diagnose.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("chain: TLS handshake with %s: %w", hostport, err)
	}
	served := tc.ConnectionState().PeerCertificates
	tc.Close()
	return Diagnose(ctx, served, strings.Trim(name, "[]"), o.Options), nil
}

// splitAddr returns the host and host:port of addr, adding the default
// port when none is given.
func splitAddr(addr, port string) (host, hostport string, err error) {
	if addr == "" {
		return "", "", errors.New("chain: empty server address")
	}
	if h, p, err := net.SplitHostPort(addr); err == nil {
		if h == "" || p == "" {
			return "", "", fmt.Errorf("chain: server address %q lacks a host or port", addr)
		}
		return h, addr, nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if strings.ContainsAny(h, "/ ") {
		return "", "", fmt.Errorf("chain: %q is not a host name or address (want host or host:port)", addr)
	}
	return h, net.JoinHostPort(h, port), nil
}

// maxLines bounds the lines read from a server during STARTTLS.
const maxLines = 100

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// readSMTP reads one SMTP reply (possibly multi-line) and returns its code
// and lines.
func readSMTP(r *bufio.Reader) (string, []string, error) {
	var lines []string
	for range maxLines {
		l, err := readLine(r)
		if err != nil {
			return "", lines, err
		}
		if len(l) < 3 {
			return "", lines, fmt.Errorf("malformed reply %q", l)
		}
		lines = append(lines, l)
		if len(l) == 3 || l[3] == ' ' {
			return l[:3], lines, nil
		}
	}
	return "", lines, errors.New("reply too long")
}

func startTLS(conn net.Conn, proto string) error {
	r := bufio.NewReaderSize(conn, 4096)
	w := func(s string) error {
		_, err := io.WriteString(conn, s)
		return err
	}
	switch proto {
	case "smtp":
		if code, l, err := readSMTP(r); err != nil || code != "220" {
			return fmt.Errorf("greeting %q: %w", l, errors.Join(err, ErrStartTLS))
		}
		if err := w("EHLO certwright.invalid\r\n"); err != nil {
			return err
		}
		code, lines, err := readSMTP(r)
		if err != nil || code != "250" {
			return fmt.Errorf("EHLO answered %q: %w", lines, errors.Join(err, ErrStartTLS))
		}
		offered := false
		for _, l := range lines {
			if len(l) > 4 && strings.EqualFold(strings.TrimSpace(l[4:]), "STARTTLS") {
				offered = true
			}
		}
		if !offered {
			return fmt.Errorf("server does not offer STARTTLS: %w", ErrStartTLS)
		}
		if err := w("STARTTLS\r\n"); err != nil {
			return err
		}
		if code, l, err := readSMTP(r); err != nil || code != "220" {
			return fmt.Errorf("STARTTLS answered %q: %w", l, errors.Join(err, ErrStartTLS))
		}
	case "imap":
		l, err := readLine(r)
		if err != nil || !strings.HasPrefix(l, "* OK") {
			return fmt.Errorf("greeting %q: %w", l, errors.Join(err, ErrStartTLS))
		}
		if err := w("a1 STARTTLS\r\n"); err != nil {
			return err
		}
		done := false
		for i := 0; i < maxLines && !done; i++ {
			l, err := readLine(r)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrStartTLS, err)
			}
			if strings.HasPrefix(l, "a1 ") {
				if !strings.HasPrefix(l, "a1 OK") {
					return fmt.Errorf("STARTTLS answered %q: %w", l, ErrStartTLS)
				}
				done = true
			}
		}
		if !done {
			return fmt.Errorf("no answer to STARTTLS: %w", ErrStartTLS)
		}
	case "pop3":
		l, err := readLine(r)
		if err != nil || !strings.HasPrefix(l, "+OK") {
			return fmt.Errorf("greeting %q: %w", l, errors.Join(err, ErrStartTLS))
		}
		if err := w("STLS\r\n"); err != nil {
			return err
		}
		if l, err := readLine(r); err != nil || !strings.HasPrefix(l, "+OK") {
			return fmt.Errorf("STLS answered %q: %w", l, errors.Join(err, ErrStartTLS))
		}
	}
	if r.Buffered() > 0 {
		return fmt.Errorf("server sent data before the TLS handshake: %w", ErrStartTLS)
	}
	return nil
}
