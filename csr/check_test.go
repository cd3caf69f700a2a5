package csr

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// base is a request that passes every check; each case changes one thing.
func base() *Request {
	return &Request{CN: "www.example.com", O: "Example Ltd", OU: "IT", L: "Leeds", ST: "West Yorkshire", C: "GB",
		DNSNames: []string{"example.com"}}
}

type want struct {
	sev   Severity
	code  Code
	field string
	msg   string // substring of the message, optional
}

func TestCheck(t *testing.T) {
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name   string
		edit   func(r *Request)
		strict bool
		want   []want
	}{
		{"clean", func(r *Request) {}, false, nil},
		{"clean strict", func(r *Request) {}, true, nil},
		// Country.
		{"country alpha-3", func(r *Request) { r.C = "USA" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `"USA" is not a 2-letter ISO 3166 country code; did you mean "US"?`}}},
		{"country lower case", func(r *Request) { r.C = "gb" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `did you mean "GB" (United Kingdom)?`}}},
		{"country UK", func(r *Request) { r.C = "UK" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `the United Kingdom is "GB"`}}},
		{"country name", func(r *Request) { r.C = "Germany" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `did you mean "DE"?`}}},
		{"country alias", func(r *Request) { r.C = "England" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `did you mean "GB"?`}}},
		{"country unassigned", func(r *Request) { r.C = "XX" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `"XX" is not an assigned ISO 3166 country code`}}},
		{"country gibberish", func(r *Request) { r.C = "Q1" }, false,
			[]want{{SeverityError, CodeCountryInvalid, "C", `use the 2-letter code`}}},
		{"country all assigned", func(r *Request) { r.C = "AX" }, false, nil},
		// State or province.
		{"state code US", func(r *Request) { r.ST, r.C = "WA", "US" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `"WA" looks like an abbreviation; CAs send requests back unless the state or province is written out in full, here "Washington"`}}},
		{"state dotted prefix", func(r *Request) { r.ST, r.C = "Calif.", "US" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `here "California"`}}},
		{"state dotted code", func(r *Request) { r.ST, r.C = "N.Y.", "US" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `here "New York"`}}},
		{"state three letters AU", func(r *Request) { r.ST, r.C = "NSW", "AU" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `here "New South Wales"`}}},
		{"state code Germany", func(r *Request) { r.ST, r.C = "BY", "DE" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `here "Bayern"`}}},
		{"state no country", func(r *Request) { r.ST, r.C = "WA", "" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `("Washington", not "WA")`}}},
		{"state strict", func(r *Request) { r.ST, r.C = "WA", "US" }, true,
			[]want{{SeverityError, CodeStateAbbreviated, "ST", ""}}},
		{"state spaced dots", func(r *Request) { r.ST, r.C = "N. Y.", "US" }, false,
			[]want{{SeverityWarning, CodeStateAbbreviated, "ST", `"N. Y." looks like an abbreviation`}}},
		{"state dotted word", func(r *Request) { r.ST, r.C = "St. Gallen", "CH" }, false, nil},
		{"state short real name", func(r *Request) { r.ST, r.C = "Zug", "CH" }, false, nil},
		{"state written out", func(r *Request) { r.ST, r.C = "New South Wales", "AU" }, false, nil},
		// RFC 5280 upper bounds.
		{"CN 64", func(r *Request) { r.CN = strings.Repeat("a", 60) + ".com" }, false, nil},
		{"CN 65 host", func(r *Request) { r.CN = strings.Repeat("a", 61) + ".com" }, false,
			[]want{{SeverityError, CodeTooLong, "CN", "at most 64; a longer host name can only be a SAN"}}},
		{"O 65", func(r *Request) { r.O = strings.Repeat("o", 65) }, false,
			[]want{{SeverityError, CodeTooLong, "O", "the organization name is 65 characters long; RFC 5280 allows at most 64"}}},
		{"O 64 multibyte", func(r *Request) { r.O = strings.Repeat("é", 64) }, false, nil},
		{"OU 65", func(r *Request) { r.OU = strings.Repeat("u", 65) }, false,
			[]want{{SeverityError, CodeTooLong, "OU", "at most 64"}}},
		{"L 129", func(r *Request) { r.L = strings.Repeat("l", 129) }, false,
			[]want{{SeverityError, CodeTooLong, "L", "at most 128"}}},
		{"L 128", func(r *Request) { r.L = strings.Repeat("l", 128) }, false, nil},
		{"ST 129", func(r *Request) { r.ST = strings.Repeat("s", 129) }, false,
			[]want{{SeverityError, CodeTooLong, "ST", "at most 128"}}},
		{"email 256", func(r *Request) { r.EmailAddresses = []string{strings.Repeat("e", 244) + "@example.com"} }, false,
			[]want{{SeverityError, CodeTooLong, "email", "256 characters; RFC 5280 allows at most 255"}}},
		{"DNS 254", func(r *Request) { r.DNSNames = []string{strings.Repeat("a.", 125) + "abcd"} }, false,
			[]want{{SeverityError, CodeTooLong, "DNS", "254 characters; DNS allows at most 253"}}},
		{"label 64", func(r *Request) { r.DNSNames = []string{strings.Repeat("a", 64) + ".com"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", "a label of 64 characters"}}},
		// Characters.
		{"control character", func(r *Request) { r.O = "Example\x00Ltd" }, false,
			[]want{{SeverityError, CodeBadCharacter, "O", "control character U+0000"}}},
		{"invalid UTF-8", func(r *Request) { r.L = "Le\xffds" }, false,
			[]want{{SeverityError, CodeBadCharacter, "L", "not valid UTF-8"}}},
		{"surrounding space", func(r *Request) { r.O = "Example Ltd " }, false,
			[]want{{SeverityWarning, CodeSurroundingSpace, "O", ""}}},
		// DNS names.
		{"underscore", func(r *Request) { r.DNSNames = []string{"my_host.example.com"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", `contains "_"`}}},
		{"leading hyphen", func(r *Request) { r.DNSNames = []string{"-a.example.com"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", "starts or ends with a hyphen"}}},
		{"double dot", func(r *Request) { r.DNSNames = []string{"a..example.com"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", "empty label"}}},
		{"trailing dot", func(r *Request) { r.DNSNames = []string{"example.org."} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", "leave the trailing dot out"}}},
		{"space", func(r *Request) { r.DNSNames = []string{"exa mple.org"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", `contains " "`}}},
		{"punycode ok", func(r *Request) { r.DNSNames = []string{"xn--bcher-kva.example"} }, false, nil},
		{"punycode bad", func(r *Request) { r.DNSNames = []string{"xn--a-ecp.example", "xn--ab.example"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", `"xn--a-ecp.example" has the label "xn--a-ecp", which is not valid punycode`},
				{SeverityError, CodeDNSSyntax, "DNS", "not valid punycode"}}},
		{"unicode ok", func(r *Request) { r.DNSNames = []string{"bücher.example"} }, false, nil},
		{"unicode invalid", func(r *Request) { r.DNSNames = []string{"a\u200d.example"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", "not a valid internationalised host name"}}},
		{"wildcard partial unicode", func(r *Request) { r.DNSNames = []string{"w*.bücher.example"} }, false,
			[]want{{SeverityError, CodeWildcard, "DNS", `"w*.bücher.example" ("w*.xn--bcher-kva.example") has "*" in the wrong place`}}},
		{"unicode with underscore", func(r *Request) { r.DNSNames = []string{"bü_cher.example"} }, false,
			[]want{{SeverityError, CodeDNSSyntax, "DNS", `"bü_cher.example" is not a valid internationalised host name: disallowed rune U+005F`}}},
		{"wildcard ok", func(r *Request) { r.DNSNames = []string{"*.example.com"} }, false, nil},
		{"wildcard partial", func(r *Request) { r.DNSNames = []string{"w*.example.com"} }, false,
			[]want{{SeverityError, CodeWildcard, "DNS", "whole left-most label"}}},
		{"wildcard inner", func(r *Request) { r.DNSNames = []string{"www.*.example.com"} }, false,
			[]want{{SeverityError, CodeWildcard, "DNS", ""}}},
		{"wildcard tld", func(r *Request) { r.DNSNames = []string{"*.com"} }, false,
			[]want{{SeverityError, CodeWildcardTooBroad, "DNS", ""}}},
		{"single label", func(r *Request) { r.DNSNames = []string{"intranet"} }, false,
			[]want{{SeverityWarning, CodeSingleLabel, "DNS", `"intranet" has no dot`}}},
		{"single label strict", func(r *Request) { r.DNSNames = []string{"intranet"} }, true,
			[]want{{SeverityError, CodeSingleLabel, "DNS", ""}}},
		{"IP as DNS", func(r *Request) { r.DNSNames = []string{"192.0.2.1"} }, false,
			[]want{{SeverityError, CodeIPInDNS, "DNS", "list it as an IP SAN"}}},
		// IP addresses.
		{"IP ok", func(r *Request) { r.IPAddresses = []net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")} }, false, nil},
		{"IP unspecified", func(r *Request) { r.IPAddresses = []net.IP{net.IPv4zero} }, false,
			[]want{{SeverityError, CodeIPInvalid, "IP", "unspecified"}}},
		{"IP bad length", func(r *Request) { r.IPAddresses = []net.IP{{1, 2, 3}} }, false,
			[]want{{SeverityError, CodeIPInvalid, "IP", "3 bytes"}}},
		// E-mail addresses.
		{"email ok", func(r *Request) { r.EmailAddresses = []string{"admin@example.com"} }, false, nil},
		{"email no at", func(r *Request) { r.EmailAddresses = []string{"admin.example.com@"} }, false,
			[]want{{SeverityError, CodeEmailSyntax, "email", "is not an e-mail address"}}},
		{"email display name", func(r *Request) { r.EmailAddresses = []string{"Admin <admin@example.com>"} }, false,
			[]want{{SeverityError, CodeEmailSyntax, "email", "plain e-mail address"}}},
		{"email unicode local", func(r *Request) { r.EmailAddresses = []string{"jörg@example.com"} }, false,
			[]want{{SeverityError, CodeEmailSyntax, "email", "non-ASCII"}}},
		{"email bad domain", func(r *Request) { r.EmailAddresses = []string{"a@exa_mple.com"} }, false,
			[]want{{SeverityError, CodeEmailSyntax, "email", "invalid domain"}}},
		{"email unicode domain", func(r *Request) { r.EmailAddresses = []string{"a@bücher.example"} }, false, nil},
		// URIs.
		{"URI ok", func(r *Request) { r.URIs = []*url.URL{mustURL("spiffe://example.com/web")} }, false, nil},
		{"URI relative", func(r *Request) { r.URIs = []*url.URL{mustURL("/web")} }, false,
			[]want{{SeverityError, CodeURISyntax, "URI", "no scheme"}}},
		{"URI nil", func(r *Request) { r.URIs = []*url.URL{nil} }, false,
			[]want{{SeverityError, CodeURISyntax, "URI", "nil"}}},
		{"URI unicode", func(r *Request) { r.URIs = []*url.URL{{Scheme: "https", Host: "bücher.example"}} }, false,
			[]want{{SeverityError, CodeURISyntax, "URI", "non-ASCII"}}},
		// The request as a whole.
		{"no SANs", func(r *Request) { r.CN, r.DNSNames = "", nil }, false,
			[]want{{SeverityError, CodeNoSANs, "SAN", "no subject alternative names;"}}},
		{"no SANs person CN", func(r *Request) { r.CN, r.DNSNames = "Jane Doe", nil }, false,
			[]want{{SeverityError, CodeNoSANs, "SAN", `the CN "Jane Doe" is not a host name`}}},
		{"CN adds the SAN", func(r *Request) { r.DNSNames = nil }, false, nil},
		{"CN IP adds the SAN", func(r *Request) { r.CN, r.DNSNames = "192.0.2.7", nil }, false, nil},
		{"CN not host", func(r *Request) { r.CN = "Example Web Server" }, false,
			[]want{{SeverityWarning, CodeCNNotHostname, "CN", `use one of the SANs, such as "example.com"`}}},
		{"CN person with email", func(r *Request) { r.CN, r.DNSNames, r.EmailAddresses = "Jane Doe", nil, []string{"jane@example.com"} }, false, nil},
		{"CN bad host", func(r *Request) { r.CN = "www_1.example.com" }, false,
			[]want{{SeverityError, CodeDNSSyntax, "CN", `contains "_"`}}},
		{"CN empty", func(r *Request) { r.CN = "" }, false,
			[]want{{SeverityWarning, CodeCNEmpty, "CN", ""}}},
		{"duplicate DNS case", func(r *Request) { r.DNSNames = []string{"example.com", "EXAMPLE.com"} }, false,
			[]want{{SeverityError, CodeDuplicateSAN, "DNS", `"EXAMPLE.com" is listed twice (host names ignore case)`}}},
		{"duplicate DNS unicode and punycode", func(r *Request) { r.DNSNames = []string{"bücher.example", "xn--bcher-kva.example"} }, false,
			[]want{{SeverityError, CodeDuplicateSAN, "DNS", ""}}},
		{"CN already in SANs is no duplicate", func(r *Request) { r.DNSNames = []string{"WWW.example.com"} }, false, nil},
		{"duplicate IP forms", func(r *Request) { r.IPAddresses = []net.IP{net.ParseIP("192.0.2.1"), net.IPv4(192, 0, 2, 1).To4()} }, false,
			[]want{{SeverityError, CodeDuplicateSAN, "IP", `"192.0.2.1" is listed twice`}}},
		{"duplicate email", func(r *Request) { r.EmailAddresses = []string{"a@example.com", "A@example.com"} }, false,
			[]want{{SeverityError, CodeDuplicateSAN, "email", ""}}},
		{"duplicate URI", func(r *Request) { r.URIs = []*url.URL{mustURL("urn:x:1"), mustURL("urn:x:1")} }, false,
			[]want{{SeverityError, CodeDuplicateSAN, "URI", ""}}},
		// Several at once, in field order.
		{"several", func(r *Request) { r.C, r.ST, r.DNSNames = "USA", "WA", []string{"*.com"} }, false,
			[]want{
				{SeverityWarning, CodeStateAbbreviated, "ST", ""},
				{SeverityError, CodeCountryInvalid, "C", ""},
				{SeverityError, CodeWildcardTooBroad, "DNS", ""},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(r)
			before := *r
			got := Check(r, &Options{Strict: tc.strict})
			if r.CN != before.CN || len(r.DNSNames) != len(before.DNSNames) || len(r.IPAddresses) != len(before.IPAddresses) {
				t.Errorf("Check changed the request: %+v", r)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tc.want), findingsText(got))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Severity != w.sev || g.Code != w.code || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
					t.Errorf("finding %d = %s\nwant %s: %s: ...%s... [%s]", i, g, w.sev, w.field, w.msg, w.code)
				}
			}
			err := FindingsError(got)
			wantErr := slices.ContainsFunc(tc.want, func(w want) bool { return w.sev == SeverityError })
			if (err != nil) != wantErr {
				t.Errorf("FindingsError = %v, want error %v", err, wantErr)
			}
			if err != nil && !errors.Is(err, ErrCheckFailed) {
				t.Errorf("FindingsError does not wrap ErrCheckFailed: %v", err)
			}
		})
	}
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func TestEveryCountryCodeAccepted(t *testing.T) {
	if len(countries) != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249 (regenerate with go generate)", len(countries))
	}
	for _, c := range countries {
		if _, ok := checkCountry(c.a2); !ok {
			t.Errorf("%s (%s) refused", c.a2, c.name)
		}
		if f, ok := checkCountry(c.a3); ok || !strings.Contains(f.Message, `did you mean "`+c.a2+`"?`) {
			t.Errorf("%s: got %q", c.a3, f.Message)
		}
	}
}

func TestCheckErrorMessage(t *testing.T) {
	r := base()
	r.C, r.ST = "USA", "WA"
	fs := Check(r, nil)
	err := FindingsError(fs)
	var ce *CheckError
	if !errors.As(err, &ce) || len(ce.Findings) != 2 {
		t.Fatalf("got %v", err)
	}
	want := `csr: the request fails 1 check: C: "USA" is not a 2-letter ISO 3166 country code; did you mean "US"?`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if errors.Is(err, ErrWeakKey) {
		t.Error("a country error wraps ErrWeakKey")
	}
	fs = Check(r, &Options{Strict: true})
	if got := FindingsError(fs).Error(); !strings.HasPrefix(got, "csr: the request fails 2 checks; (1) ST: ") || !strings.Contains(got, "; (2) C: ") {
		t.Errorf("strict: %s", got)
	}
}
