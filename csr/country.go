package csr

import (
	"fmt"
	"strings"
)

//go:generate go run gen_iso3166.go

// country is one ISO 3166-1 entry: alpha-2 code, alpha-3 code, short name.
type country struct{ a2, a3, name string }

// subdivision is one ISO 3166-2 entry: country, subdivision code without the
// country prefix, and name.
type subdivision struct{ country, code, name string }

// countryAliases are names people put in C that are not the ISO names.
var countryAliases = map[string]string{
	"UK": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB", "NORTHERN IRELAND": "GB",
	"GREAT BRITAIN": "GB", "BRITAIN": "GB", "U.K.": "GB",
	"UNITED STATES OF AMERICA": "US", "AMERICA": "US", "U.S.A.": "US", "U.S.": "US",
	"HOLLAND": "NL", "KOREA": "KR", "RUSSIA": "RU", "VIETNAM": "VN", "CZECH REPUBLIC": "CZ",
	"TURKEY": "TR", "IRAN": "IR", "SWAZILAND": "SZ", "BURMA": "MM",
}

func lookupAlpha2(code string) (country, bool) {
	for _, c := range countries {
		if c.a2 == code {
			return c, true
		}
	}
	return country{}, false
}

// suggestCountry finds the alpha-2 code someone probably meant by v: the
// same code in other case, an alpha-3 code, a country name or a common
// alias. It returns "" when it has no idea.
func suggestCountry(v string) string {
	u := strings.ToUpper(strings.TrimSpace(v))
	if a, ok := countryAliases[u]; ok {
		return a
	}
	u = strings.ReplaceAll(u, ".", "")
	if a, ok := countryAliases[u]; ok {
		return a
	}
	for _, c := range countries {
		if u == c.a2 || u == c.a3 || strings.EqualFold(u, c.name) {
			return c.a2
		}
	}
	return ""
}

// checkCountry checks C. It returns the finding and false when C is not an
// assigned ISO 3166-1 alpha-2 code in capitals.
func checkCountry(v string) (Finding, bool) {
	if len(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' {
		if _, ok := lookupAlpha2(v); ok {
			return Finding{}, true
		}
	}
	bad := func(format string, args ...any) (Finding, bool) {
		return newFinding(SeverityError, CodeCountryInvalid, "C", format, args...), false
	}
	s := suggestCountry(v)
	switch {
	case strings.EqualFold(strings.TrimSpace(v), "UK"):
		return bad("%q is not an ISO 3166 country code (it is only reserved); the United Kingdom is \"GB\"", v)
	case s != "":
		c, _ := lookupAlpha2(s)
		if strings.ToUpper(v) == s {
			return bad("%q is not an ISO 3166 country code as written (the codes are in capitals); did you mean %q (%s)?", v, s, c.name)
		}
		if len(v) == 2 {
			return bad("%q is not a 2-letter ISO 3166 country code; did you mean %q (%s)?", v, s, c.name)
		}
		return bad("%q is not a 2-letter ISO 3166 country code; did you mean %q?", v, s)
	case len(v) == 2:
		return bad("%q is not an assigned ISO 3166 country code; use the 2-letter code of the country, such as \"US\", \"GB\" or \"DE\"", v)
	}
	return bad("%q is not a 2-letter ISO 3166 country code; use the 2-letter code of the country, such as \"US\", \"GB\" or \"DE\"", v)
}

// stateAbbreviation returns a message when st looks like an abbreviation
// ("WA", "NSW", "Calif.", "N.Y."), naming the full subdivision name of the
// country cc when it can tell. It returns "" when st looks written out.
func stateAbbreviation(st, cc string) string {
	if st == "" {
		return ""
	}
	letters := 0
	upper := true
	for _, r := range st {
		switch {
		case r >= 'A' && r <= 'Z':
			letters++
		case r >= 'a' && r <= 'z':
			letters++
			upper = false
		case r == '.' || r == '-':
		default:
			return messageIfDotted(st, cc)
		}
	}
	abbreviated := strings.Contains(st, ".") || letters <= 2 || (letters <= 3 && upper)
	if !abbreviated {
		return ""
	}
	return abbreviationMessage(st, cc)
}

// messageIfDotted handles values with spaces or other letters: "N. Y." and
// "Nueva Esp." are abbreviations, "New South Wales" and "St. Gallen" are
// not.
func messageIfDotted(st, cc string) string {
	if strings.HasSuffix(st, ".") {
		return abbreviationMessage(st, cc)
	}
	for _, tok := range strings.Fields(st) {
		if len(tok) > 3 || !strings.HasSuffix(tok, ".") {
			return ""
		}
	}
	return abbreviationMessage(st, cc)
}

func abbreviationMessage(st, cc string) string {
	msg := fmt.Sprintf("%q looks like an abbreviation; CAs send requests back unless the state or province is written out in full", st)
	if _, ok := lookupAlpha2(cc); !ok {
		cc = suggestCountry(cc) // "USA" still tells which states to look at
	}
	if name := fullSubdivision(st, cc); name != "" {
		msg += fmt.Sprintf(", here %q", name)
	} else {
		msg += " (\"Washington\", not \"WA\")"
	}
	return msg
}

// fullSubdivision returns the ISO 3166-2 name for an abbreviated st in
// country cc: by code ("WA", "N.S.W." -> "NSW"), or as the only name that
// starts with the abbreviation ("Calif." -> "California").
func fullSubdivision(st, cc string) string {
	if cc == "" {
		return ""
	}
	code := strings.ToUpper(strings.NewReplacer(".", "", " ", "").Replace(st))
	for _, s := range subdivisions {
		if s.country == cc && s.code == code {
			return s.name
		}
	}
	prefix := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(st, ".")))
	if len(prefix) < 3 {
		return ""
	}
	found := ""
	for _, s := range subdivisions {
		if s.country == cc && strings.HasPrefix(strings.ToLower(s.name), prefix) {
			if found != "" {
				return ""
			}
			found = s.name
		}
	}
	return found
}
