package csr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Severity says whether a finding stops the request (SeverityError) or is
// advice (SeverityWarning). Options.Strict turns warnings into errors.
type Severity int

// The severities of a Finding.
const (
	SeverityWarning Severity = iota + 1
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Code identifies the kind of a Finding, so that a program can branch on it
// (the message is for people and may change). Codes are stable strings.
type Code string

// The codes of the pre-submission checks. Each comment says the default
// severity.
const (
	CodeCountryInvalid   Code = "country-invalid"    // error: C is not an assigned 2-letter ISO 3166-1 code
	CodeStateAbbreviated Code = "state-abbreviated"  // warning: ST looks like "WA", "NSW" or "Calif."
	CodeTooLong          Code = "too-long"           // error: longer than the RFC 5280 upper bound
	CodeBadCharacter     Code = "bad-character"      // error: control character or invalid UTF-8 in a subject field
	CodeSurroundingSpace Code = "surrounding-space"  // warning: a value starts or ends with white space
	CodeCNEmpty          Code = "cn-empty"           // warning: no CN while SANs exist (IIS and older CAs expect one)
	CodeCNNotHostname    Code = "cn-not-hostname"    // warning: CN is not a host name while DNS SANs exist
	CodeNoSANs           Code = "no-sans"            // error: no subject alternative name at all
	CodeDNSSyntax        Code = "dns-syntax"         // error: not a valid host name (labels, LDH, punycode)
	CodeWildcard         Code = "wildcard-position"  // error: "*" other than as the whole left-most label
	CodeWildcardTooBroad Code = "wildcard-too-broad" // error: "*.com": a wildcard needs two labels after it
	CodeSingleLabel      Code = "single-label"       // warning: "intranet": public CAs refuse names without a dot
	CodeIPInDNS          Code = "ip-in-dns"          // error: an IP address written as a DNS name
	CodeIPInvalid        Code = "ip-invalid"         // error: an IP address of the wrong length, or unspecified
	CodeEmailSyntax      Code = "email-syntax"       // error: not a plain ASCII addr-spec
	CodeURISyntax        Code = "uri-syntax"         // error: not an absolute ASCII URI
	CodeDuplicateSAN     Code = "duplicate-san"      // error: the same SAN twice (host names ignore case)
	CodeWeakKey          Code = "weak-key"           // error: RSA key below MinRSABits
	CodeKeyUnsupported   Code = "key-unsupported"    // error: no key, or a key CAs do not accept
)

// Finding is the result of one failed check, for a person (Message) and for
// a program (Code).
type Finding struct {
	Severity Severity
	Code     Code
	// Field names what the finding is about: "CN", "O", "OU", "L", "ST",
	// "C", "DNS", "IP", "email", "URI", "key", or "SAN" for the whole
	// set of subject alternative names.
	Field string
	// Message says what is wrong and how to fix it, without the field name.
	Message string
}

// String returns the finding on one line, for example
//
//	error: C: "USA" is not a 2-letter ISO 3166 country code; did you mean "US"? [country-invalid]
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s [%s]", f.Severity, f.Field, f.Message, f.Code)
}

func newFinding(s Severity, c Code, field, format string, args ...any) Finding {
	return Finding{Severity: s, Code: c, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrCheckFailed is wrapped by every *CheckError.
var ErrCheckFailed = errors.New("csr: pre-submission checks failed")

// CheckError is returned by Create, and by FindingsError, when findings
// stop the request. It lists every finding, errors and warnings, so that a
// person can fix all of them at once. It unwraps to ErrCheckFailed, and
// also to ErrWeakKey when the key was refused as too weak.
type CheckError struct {
	Findings []Finding
}

// Error lists the findings of severity error on one line.
func (e *CheckError) Error() string {
	var b strings.Builder
	errs := 0
	for _, f := range e.Findings {
		if f.Severity == SeverityError {
			errs++
		}
	}
	fmt.Fprintf(&b, "csr: the request fails %d check", errs)
	if errs != 1 {
		b.WriteString("s")
	}
	i := 0
	for _, f := range e.Findings {
		if f.Severity != SeverityError {
			continue
		}
		i++
		if errs == 1 {
			fmt.Fprintf(&b, ": %s: %s", f.Field, f.Message)
		} else {
			fmt.Fprintf(&b, "; (%d) %s: %s", i, f.Field, f.Message)
		}
	}
	return b.String()
}

// Unwrap returns ErrCheckFailed, and ErrWeakKey when a key was refused as
// too weak.
func (e *CheckError) Unwrap() []error {
	errs := []error{ErrCheckFailed}
	for _, f := range e.Findings {
		if f.Code == CodeWeakKey {
			errs = append(errs, ErrWeakKey)
			break
		}
	}
	return errs
}

// FindingsError returns a *CheckError holding findings when any of them is
// of severity error, and nil otherwise. Check already applied
// Options.Strict to the severities.
func FindingsError(findings []Finding) error {
	for _, f := range findings {
		if f.Severity == SeverityError {
			return &CheckError{Findings: findings}
		}
	}
	return nil
}

// Check runs the pre-submission checks on the request as Create would send
// it (see Request.Normalize) and returns the findings, in the order of the
// fields (CN, O, OU, L, ST, C, then the SANs), or nil when all is well. It
// does not look at a key; Create also checks the key. With opts.Strict
// every warning is returned as an error. A nil opts is the zero Options.
//
// The checks: the RFC 5280 upper bounds (CN, O and OU 64 characters, L and
// ST 128, e-mail 255, host names 253 with labels of 63); C is an assigned
// ISO 3166-1 alpha-2 code; ST is written out; host names are
// letters-digits-hyphens (punycode allowed) with a wildcard only as the
// whole left-most label; at least one SAN; a CN that is a host name when
// DNS SANs exist; no SAN twice.
func Check(r *Request, opts *Options) []Finding {
	if opts == nil {
		opts = &Options{}
	}
	if r == nil {
		r = &Request{}
	}
	return checkNormalized(r, r.Normalize(), opts)
}

// RFC 5280 upper bounds (ub-*), in characters.
const (
	ubCommonName  = 64
	ubOrgName     = 64
	ubOrgUnitName = 64
	ubLocality    = 128
	ubState       = 128
	ubEmail       = 255
	maxHostLen    = 253 // RFC 1035, as text without the trailing dot
	maxLabelLen   = 63
)

func checkNormalized(orig, n *Request, opts *Options) []Finding {
	var fs []Finding
	add := func(f Finding) { fs = append(fs, f) }

	// Subject fields.
	fields := []struct {
		name, value, label string
		max                int
	}{
		{"CN", orig.CN, "common name", ubCommonName},
		{"O", orig.O, "organization name", ubOrgName},
		{"OU", orig.OU, "organizational unit name", ubOrgUnitName},
		{"L", orig.L, "locality (city) name", ubLocality},
		{"ST", orig.ST, "state or province name", ubState},
		{"C", orig.C, "country code", 2},
	}
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		if !utf8.ValidString(f.value) {
			add(newFinding(SeverityError, CodeBadCharacter, f.name, "the %s is not valid UTF-8 text", f.label))
			continue
		}
		if i := strings.IndexFunc(f.value, unicode.IsControl); i >= 0 {
			r, _ := utf8.DecodeRuneInString(f.value[i:])
			add(newFinding(SeverityError, CodeBadCharacter, f.name, "%q contains the control character %U; remove it", f.value, r))
			continue
		}
		if strings.TrimSpace(f.value) != f.value {
			add(newFinding(SeverityWarning, CodeSurroundingSpace, f.name, "%q starts or ends with white space, which becomes part of the name; remove it", f.value))
		}
		switch f.name {
		case "C":
			if fd, ok := checkCountry(f.value); !ok {
				add(fd)
			}
			continue
		case "ST":
			if msg := stateAbbreviation(strings.TrimSpace(f.value), orig.C); msg != "" {
				add(newFinding(SeverityWarning, CodeStateAbbreviated, "ST", "%s", msg))
			}
		}
		if c := utf8.RuneCountInString(f.value); c > f.max {
			msg := fmt.Sprintf("the %s is %d characters long; RFC 5280 allows at most %d", f.label, c, f.max)
			if f.name == "CN" && looksLikeHost(f.value) {
				msg += "; a longer host name can only be a SAN: leave the CN empty or use a shorter name from the SANs"
			}
			add(newFinding(SeverityError, CodeTooLong, f.name, "%s", msg))
		}
	}
	cn := strings.TrimSpace(orig.CN)
	cnIsHost := false
	if cn != "" && parseIP(cn) == nil && looksLikeHost(cn) {
		if a, err := toASCII(cn); err != nil {
			add(newFinding(SeverityError, CodeDNSSyntax, "CN", "%q is not a valid internationalised host name: %v", cn, idnaReason(err)))
		} else if ps := hostProblems(a, cn); len(ps) > 0 {
			for _, p := range ps {
				p.Field = "CN"
				add(p)
			}
		} else {
			cnIsHost = true
		}
	}

	// Subject alternative names, in their normalised form.
	// Normalize may have put the CN in front of the names the user wrote.
	added := len(n.DNSNames) - len(orig.DNSNames)
	for i, d := range n.DNSNames {
		written := d
		if j := i - added; j >= 0 && j < len(orig.DNSNames) {
			written = orig.DNSNames[j]
		}
		if !isASCII(d) {
			_, err := toASCII(d)
			add(newFinding(SeverityError, CodeDNSSyntax, "DNS", "%q is not a valid internationalised host name: %v", d, idnaReason(err)))
			continue
		}
		fs = append(fs, hostProblems(d, written)...)
	}
	for _, ip := range n.IPAddresses {
		switch {
		case len(ip) != net.IPv4len && len(ip) != net.IPv6len:
			add(newFinding(SeverityError, CodeIPInvalid, "IP", "an IP address of %d bytes (want 4 or 16)", len(ip)))
		case ip.IsUnspecified():
			add(newFinding(SeverityError, CodeIPInvalid, "IP", "%s is the unspecified address, which names no host", ip))
		}
	}
	for _, e := range n.EmailAddresses {
		fs = append(fs, emailProblems(e)...)
	}
	for _, u := range n.URIs {
		if u == nil {
			add(newFinding(SeverityError, CodeURISyntax, "URI", "a nil URI"))
			continue
		}
		s := u.String()
		switch {
		case u.Scheme == "":
			add(newFinding(SeverityError, CodeURISyntax, "URI", "%q has no scheme (such as https: or spiffe:); a URI SAN must be absolute", s))
		case !isASCII(s) || !isASCII(u.Host):
			add(newFinding(SeverityError, CodeURISyntax, "URI", "%q has non-ASCII characters; write the host in punycode and percent-encode the rest", s))
		}
	}

	// The request as a whole.
	sans := len(n.DNSNames) + len(n.IPAddresses) + len(n.EmailAddresses) + len(n.URIs)
	if sans == 0 {
		msg := "the request has no subject alternative names; browsers ignore the CN, so list the host names as SANs"
		if cn != "" {
			msg = fmt.Sprintf("the request has no subject alternative names, and the CN %q is not a host name that could become one; browsers ignore the CN, so list the host names as SANs", cn)
		}
		add(newFinding(SeverityError, CodeNoSANs, "SAN", "%s", msg))
	} else {
		if cn == "" {
			add(newFinding(SeverityWarning, CodeCNEmpty, "CN", "the request has no CN; IIS and many CAs expect the main host name there"))
		} else if !cnIsHost && parseIP(cn) == nil && len(n.DNSNames) > 0 && !looksLikeHost(cn) {
			add(newFinding(SeverityWarning, CodeCNNotHostname, "CN",
				"%q is not a host name; CAs copy a SAN into the CN or reject the request, so use one of the SANs, such as %q", cn, n.DNSNames[0]))
		}
	}
	fs = append(fs, duplicates(n)...)

	if opts.Strict {
		for i := range fs {
			fs[i].Severity = SeverityError
		}
	}
	return fs
}

// hostProblems checks the ASCII form a of a host name the user wrote as
// written.
func hostProblems(a, written string) []Finding {
	q := strconv.Quote(written)
	if a != written {
		q = fmt.Sprintf("%q (%q)", written, a)
	}
	e := func(c Code, format string, args ...any) []Finding {
		return []Finding{newFinding(SeverityError, c, "DNS", "%s "+format, append([]any{q}, args...)...)}
	}
	switch {
	case a == "":
		return []Finding{newFinding(SeverityError, CodeDNSSyntax, "DNS", "an empty host name")}
	case net.ParseIP(a) != nil:
		return e(CodeIPInDNS, "is an IP address; list it as an IP SAN, not a DNS name")
	case strings.HasSuffix(a, "."):
		return e(CodeDNSSyntax, "ends with a dot; leave the trailing dot out")
	case len(a) > maxHostLen:
		return []Finding{newFinding(SeverityError, CodeTooLong, "DNS", "a host name of %d characters; DNS allows at most %d", len(a), maxHostLen)}
	}
	labels := strings.Split(a, ".")
	for i, l := range labels {
		switch {
		case l == "":
			return e(CodeDNSSyntax, "has an empty label (a leading dot or two dots in a row)")
		case l == "*" && i == 0:
			if len(labels) < 3 {
				return e(CodeWildcardTooBroad, "is too broad: a wildcard needs at least two labels after it (\"*.example.com\")")
			}
			continue
		case strings.Contains(l, "*"):
			return e(CodeWildcard, "has \"*\" in the wrong place: a wildcard may only be the whole left-most label (\"*.example.com\")")
		case len(l) > maxLabelLen:
			return e(CodeDNSSyntax, "has a label of %d characters; DNS allows at most %d", len(l), maxLabelLen)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return e(CodeDNSSyntax, "contains %q; host names may only have letters, digits and hyphens", string(rune(c)))
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return e(CodeDNSSyntax, "has the label %q, which starts or ends with a hyphen", l)
		}
		if strings.HasPrefix(strings.ToLower(l), "xn--") {
			if _, err := idna.Lookup.ToUnicode(l); err != nil {
				return e(CodeDNSSyntax, "has the label %q, which is not valid punycode: %v", l, idnaReason(err))
			}
		}
	}
	if len(labels) == 1 {
		return []Finding{newFinding(SeverityWarning, CodeSingleLabel, "DNS", "%s has no dot; public CAs only certify fully qualified names (\"intranet.example.com\")", q)}
	}
	return nil
}

// idnaReason strips the package prefix from an idna error.
func idnaReason(err error) string {
	if err == nil {
		return "unknown reason"
	}
	return strings.TrimPrefix(err.Error(), "idna: ")
}

func emailProblems(e string) []Finding {
	bad := func(format string, args ...any) []Finding {
		return []Finding{newFinding(SeverityError, CodeEmailSyntax, "email", format, args...)}
	}
	if n := utf8.RuneCountInString(e); n > ubEmail {
		return []Finding{newFinding(SeverityError, CodeTooLong, "email", "an e-mail address of %d characters; RFC 5280 allows at most %d", n, ubEmail)}
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return bad("%q is not an e-mail address (want name@example.com)", e)
	}
	if !isASCII(local) {
		return bad("%q has non-ASCII characters before the @, which an rfc822Name SAN cannot hold", e)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return bad("%q is not a plain e-mail address (want name@example.com, without a display name or angle brackets)", e)
	}
	if ps := hostProblems(domain, domain); len(ps) > 0 && ps[0].Severity == SeverityError {
		return bad("%q has an invalid domain: %s", e, ps[0].Message)
	}
	return nil
}

func duplicates(n *Request) []Finding {
	var fs []Finding
	seen := map[string]bool{}
	dup := func(kind, key, shown, note string) {
		if seen[kind+"\x00"+key] {
			fs = append(fs, newFinding(SeverityError, CodeDuplicateSAN, kind, "%q is listed twice%s; list each name once", shown, note))
			return
		}
		seen[kind+"\x00"+key] = true
	}
	for _, d := range n.DNSNames {
		dup("DNS", strings.ToLower(d), d, " (host names ignore case)")
	}
	for _, ip := range n.IPAddresses {
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		dup("IP", string(ip), ip.String(), "")
	}
	for _, e := range n.EmailAddresses {
		dup("email", strings.ToLower(e), e, " (e-mail addresses ignore case)")
	}
	for _, u := range n.URIs {
		if u != nil {
			dup("URI", u.String(), u.String(), "")
		}
	}
	return fs
}

// checkKey checks the public key that will sign a request.
func checkKey(pub crypto.PublicKey, opts *Options) []Finding {
	var fs []Finding
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			fs = append(fs, newFinding(SeverityError, CodeKeyUnsupported, "key", "an empty RSA public key"))
		} else if bits := k.N.BitLen(); bits < MinRSABits {
			fs = append(fs, newFinding(SeverityError, CodeWeakKey, "key",
				"RSA %d is refused: RSA keys below %d bits can be factored with affordable computing, and CAs have rejected them since 2013; use a 2048-bit or larger RSA key, or P-256", bits, MinRSABits))
		}
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			fs = append(fs, newFinding(SeverityError, CodeKeyUnsupported, "key", "an empty ECDSA public key"))
		} else if c := k.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
			fs = append(fs, newFinding(SeverityError, CodeKeyUnsupported, "key", "ECDSA on curve %s; CAs accept P-256, P-384 and P-521", c.Params().Name))
		}
	case ed25519.PublicKey:
		// Accepted; few public CAs issue for Ed25519 yet, which the
		// documentation says rather than a warning on every request.
	default:
		fs = append(fs, newFinding(SeverityError, CodeKeyUnsupported, "key", "a %T key; use RSA, ECDSA or Ed25519", pub))
	}
	if opts.Strict {
		for i := range fs {
			fs[i].Severity = SeverityError
		}
	}
	return fs
}
