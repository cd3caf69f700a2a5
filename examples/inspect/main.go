// Command inspect says what is in certificate, key and keystore files,
// detected by content whatever the file extension.
//
//	inspect FILE... [-password P] [-json]
//
// Flags may come before, between or after the file names. With -json it
// prints one JSON object per file, one per line, on stdout:
//
//	{"file":..., "format":"pkcs7", "formats":["pem","pkcs7"],
//	 "certificates":[{"subject","issuer","serial","not_after","sha256","spki_sha256","is_ca",...}],
//	 "keys":[{"type","spki_sha256",...}], "csrs":[{"subject","spki_sha256"}], "notes":[...]}
//
// Hex values are lowercase; serial is the certificate serial number in hex;
// not_after is RFC 3339 in UTC. Without -json it prints a readable report.
//
// Exit status: 0 when every file was read, 1 when at least one file could
// not be read (the reason goes to stderr; the other files are still
// reported), 2 for a usage error.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/certwright/certwright/examples/internal/cli"
	"github.com/certwright/certwright/formats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type certJSON struct {
	Subject      string   `json:"subject"`
	Issuer       string   `json:"issuer"`
	Serial       string   `json:"serial"`
	NotBefore    string   `json:"not_before"`
	NotAfter     string   `json:"not_after"`
	SHA256       string   `json:"sha256"`
	SPKISHA256   string   `json:"spki_sha256"`
	IsCA         bool     `json:"is_ca"`
	DNSNames     []string `json:"dns_names,omitempty"`
	Source       string   `json:"source"`
	FriendlyName string   `json:"friendly_name,omitempty"`
	LocalKeyID   string   `json:"local_key_id,omitempty"`
	Trusted      bool     `json:"trusted,omitempty"`
	HasKey       bool     `json:"has_key"`
}

type keyJSON struct {
	Type         string `json:"type"`
	SPKISHA256   string `json:"spki_sha256"`
	Source       string `json:"source"`
	Encrypted    string `json:"encrypted,omitempty"`
	FriendlyName string `json:"friendly_name,omitempty"`
	LocalKeyID   string `json:"local_key_id,omitempty"`
	Certificate  string `json:"certificate_sha256,omitempty"`
}

type csrJSON struct {
	Subject    string   `json:"subject"`
	SPKISHA256 string   `json:"spki_sha256"`
	DNSNames   []string `json:"dns_names,omitempty"`
}

type fileJSON struct {
	File         string     `json:"file"`
	Format       string     `json:"format"`
	Formats      []string   `json:"formats"`
	Certificates []certJSON `json:"certificates"`
	Keys         []keyJSON  `json:"keys"`
	CSRs         []csrJSON  `json:"csrs"`
	Notes        []string   `json:"notes"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	password := fs.String("password", "", "password of PKCS#12 files, JKS stores and encrypted keys")
	asJSON := fs.Bool("json", false, "print one JSON object per file, one per line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: inspect FILE... [-password P] [-json]")
		fs.PrintDefaults()
	}
	files, err := cli.ParseInterleaved(fs, args, cli.InterleaveOptions{})
	if err != nil {
		return cli.FlagStatus(err)
	}
	if len(files) == 0 {
		fs.Usage()
		return cli.ExitUsage
	}
	status := cli.ExitOK
	for _, name := range files {
		c, err := formats.ReadFile(name, &formats.ReadOptions{Password: *password})
		if err != nil {
			msg := err.Error()
			if errors.Is(err, formats.ErrIncorrectPassword) {
				if *password == "" {
					msg += "; pass -password"
				} else {
					msg += "; check -password"
				}
			}
			fmt.Fprintf(stderr, "inspect: %s\n", msg)
			status = cli.ExitFailure
			continue
		}
		report := describe(name, c)
		if *asJSON {
			line, err := json.Marshal(report)
			if err != nil {
				fmt.Fprintf(stderr, "inspect: %s: %v\n", name, err)
				status = cli.ExitFailure
				continue
			}
			fmt.Fprintf(stdout, "%s\n", line)
		} else {
			printText(stdout, report)
		}
	}
	return status
}

func spkiHash(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

func keyType(k crypto.Signer) string {
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", pub.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA-" + pub.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}

func describe(name string, c *formats.Contents) fileJSON {
	out := fileJSON{
		File:         name,
		Format:       c.Format(),
		Formats:      c.Formats,
		Certificates: []certJSON{},
		Keys:         []keyJSON{},
		CSRs:         []csrJSON{},
		Notes:        c.Notes,
	}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	paired := map[int]bool{}
	for _, p := range c.Pairs {
		paired[p.CertIndex] = true
	}
	for i, cert := range c.Certificates {
		info := c.CertInfo[i]
		sum := sha256.Sum256(cert.Raw)
		spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		out.Certificates = append(out.Certificates, certJSON{
			Subject:      cert.Subject.String(),
			Issuer:       cert.Issuer.String(),
			Serial:       strings.ToLower(cert.SerialNumber.Text(16)),
			NotBefore:    cert.NotBefore.UTC().Format(time.RFC3339),
			NotAfter:     cert.NotAfter.UTC().Format(time.RFC3339),
			SHA256:       hex.EncodeToString(sum[:]),
			SPKISHA256:   hex.EncodeToString(spki[:]),
			IsCA:         cert.BasicConstraintsValid && cert.IsCA,
			DNSNames:     cert.DNSNames,
			Source:       info.Source,
			FriendlyName: info.FriendlyName,
			LocalKeyID:   hex.EncodeToString(info.LocalKeyID),
			Trusted:      info.Trusted,
			HasKey:       paired[i],
		})
	}
	for i, k := range c.Keys {
		info := c.KeyInfo[i]
		kj := keyJSON{
			Type:         keyType(k),
			SPKISHA256:   spkiHash(k.Public()),
			Source:       info.Source,
			Encrypted:    info.Encrypted,
			FriendlyName: info.FriendlyName,
			LocalKeyID:   hex.EncodeToString(info.LocalKeyID),
		}
		if cert := c.CertificateFor(k); cert != nil {
			sum := sha256.Sum256(cert.Raw)
			kj.Certificate = hex.EncodeToString(sum[:])
		}
		out.Keys = append(out.Keys, kj)
	}
	for _, req := range c.CSRs {
		out.CSRs = append(out.CSRs, csrJSON{
			Subject:    req.Subject.String(),
			SPKISHA256: spkiHash(req.PublicKey),
			DNSNames:   req.DNSNames,
		})
	}
	return out
}

func printText(w io.Writer, f fileJSON) {
	fmt.Fprintf(w, "%s: %s (%s)\n", f.File, f.Format, strings.Join(f.Formats, ", "))
	for i, c := range f.Certificates {
		ca := ""
		if c.IsCA {
			ca = " [CA]"
		}
		if c.HasKey {
			ca += " [has private key]"
		}
		fmt.Fprintf(w, "  certificate %d%s (%s)\n", i+1, ca, c.Source)
		fmt.Fprintf(w, "    subject:     %s\n", printable(c.Subject))
		fmt.Fprintf(w, "    issuer:      %s\n", printable(c.Issuer))
		fmt.Fprintf(w, "    serial:      %s\n", c.Serial)
		fmt.Fprintf(w, "    valid:       %s .. %s\n", c.NotBefore, c.NotAfter)
		if len(c.DNSNames) > 0 {
			fmt.Fprintf(w, "    dns names:   %s\n", strings.Join(c.DNSNames, ", "))
		}
		fmt.Fprintf(w, "    sha256:      %s\n", c.SHA256)
		fmt.Fprintf(w, "    spki sha256: %s\n", c.SPKISHA256)
		if c.FriendlyName != "" {
			fmt.Fprintf(w, "    name:        %s\n", printable(c.FriendlyName))
		}
		if c.Trusted {
			fmt.Fprintf(w, "    trusted:     yes\n")
		}
	}
	for i, k := range f.Keys {
		fmt.Fprintf(w, "  private key %d: %s (%s)\n", i+1, k.Type, k.Source)
		fmt.Fprintf(w, "    spki sha256: %s\n", k.SPKISHA256)
		if k.Encrypted != "" {
			fmt.Fprintf(w, "    was encrypted: %s\n", k.Encrypted)
		}
		if k.FriendlyName != "" {
			fmt.Fprintf(w, "    name:        %s\n", printable(k.FriendlyName))
		}
		if k.Certificate != "" {
			fmt.Fprintf(w, "    certificate: %s\n", k.Certificate)
		} else {
			fmt.Fprintf(w, "    certificate: none in this file\n")
		}
	}
	for i, r := range f.CSRs {
		fmt.Fprintf(w, "  certificate request %d\n", i+1)
		fmt.Fprintf(w, "    subject:     %s\n", r.Subject)
		fmt.Fprintf(w, "    spki sha256: %s\n", r.SPKISHA256)
		if len(r.DNSNames) > 0 {
			fmt.Fprintf(w, "    dns names:   %s\n", strings.Join(r.DNSNames, ", "))
		}
	}
	for _, n := range f.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// printable returns s, or s quoted when it holds control characters, so
// that names from a file cannot drive the terminal.
func printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return strconv.Quote(s)
		}
	}
	return s
}
