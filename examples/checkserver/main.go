// Command checkserver connects to a TLS server, records the certificate
// chain it sends and says what is wrong with it: missing intermediates,
// wrong order, extra or unrelated certificates, the root sent, expired or
// soon-expiring certificates, a host name mismatch, weak signatures, a
// missing serverAuth usage; and prints the chain it should send.
//
//	checkserver HOST[:PORT] [-servername NAME] [-roots FILE] [-json]
//
// Flags may come before or after the host. The port defaults to 443. On
// the plain-text mail ports 25 and 587 (SMTP), 143 (IMAP) and 110 (POP3)
// it upgrades the connection with STARTTLS first. -servername sets the
// name sent as SNI and checked against the certificate (default: HOST).
// -roots trusts only the roots in FILE (any format the formats package
// reads); without it, the system root store, else the Mozilla set built
// into the program. -json prints the diagnosis as one JSON object:
//
//	{"host":..., "ok":bool, "problems":[{"kind","subject","detail"}],
//	 "served":[{"subject","issuer","not_before","not_after","sha256"}],
//	 "chain":[...], "root":{...}, "error":...}
//
// Exit status: 0 when the served chain has no problem, 1 when problems
// were found or the connection failed (the reason on stderr, and in
// "error" with -json), 2 for a usage error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// startTLSFor picks the STARTTLS protocol by well-known port.
func startTLSFor(port string) string {
	switch port {
	case "25", "587":
		return "smtp"
	case "143":
		return "imap"
	case "110":
		return "pop3"
	}
	return ""
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("checkserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverName := fs.String("servername", "", "`NAME` to send as SNI and check the certificate against (default: HOST)")
	rootsFile := fs.String("roots", "", "trust only the roots in `FILE` (default: system store, else built-in Mozilla set)")
	asJSON := fs.Bool("json", false, "print the diagnosis as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: checkserver HOST[:PORT] [-servername NAME] [-roots FILE] [-json]")
		fs.PrintDefaults()
	}
	pos, err := cli.ParseInterleaved(fs, args, cli.InterleaveOptions{LiteralDoubleDash: true})
	if err != nil {
		return cli.FlagStatus(err)
	}
	if len(pos) != 1 {
		return cli.Usagef(fs, "checkserver", "give exactly one HOST[:PORT]")
	}
	addr := pos[0]
	port := "443"
	if _, p, err := net.SplitHostPort(addr); err == nil {
		port = p
	}
	o := &chain.Options{}
	if *rootsFile != "" {
		c, err := formats.ReadFile(*rootsFile, nil)
		if err != nil {
			fmt.Fprintf(stderr, "checkserver: -roots: %v\n", err)
			return cli.ExitFailure
		}
		if len(c.Certificates) == 0 {
			fmt.Fprintf(stderr, "checkserver: -roots: no certificates in %s\n", *rootsFile)
			return cli.ExitFailure
		}
		o.Roots = chain.NewRoots(c.Certificates...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := chain.CheckServer(ctx, addr, &chain.CheckOptions{
		ServerName: *serverName, StartTLS: startTLSFor(port), Timeout: 15 * time.Second, Options: o,
	})
	if err != nil {
		fmt.Fprintf(stderr, "checkserver: %v\n", err)
		if *asJSON {
			host := *serverName
			if host == "" {
				host = strings.Trim(addr, "[]")
				if h, _, err := net.SplitHostPort(addr); err == nil {
					host = h
				}
			}
			b, _ := json.Marshal(map[string]any{"host": host, "ok": false, "problems": []any{}, "error": err.Error()})
			fmt.Fprintf(stdout, "%s\n", b)
		}
		return cli.ExitFailure
	}
	if *asJSON {
		b, err := json.Marshal(d)
		if err != nil {
			fmt.Fprintf(stderr, "checkserver: %v\n", err)
			return cli.ExitFailure
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprint(stdout, d.String())
	}
	if !d.OK() {
		if d.Err != nil && !*asJSON {
			fmt.Fprintf(stderr, "checkserver: %v\n", d.Err)
		}
		return cli.ExitFailure
	}
	return 0
}
