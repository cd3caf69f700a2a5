package csr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// keys caches one key per type so that the RSA sizes are generated once per
// test binary.
var keys struct {
	sync.Mutex
	m map[KeyType]crypto.Signer
}

func testKey(t testing.TB, kt KeyType) crypto.Signer {
	t.Helper()
	keys.Lock()
	defer keys.Unlock()
	if k, ok := keys.m[kt]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	if kt == RSA8192 && os.Getenv("CERTWRIGHT_RSA8192") == "" {
		// Generating RSA 8192 takes a minute on a busy machine; use the
		// fixed test key unless asked to generate one.
		k, err = loadKey("testdata/rsa8192.key")
	} else {
		k, err = GenerateKey(nil, kt)
	}
	if err != nil {
		t.Fatal(err)
	}
	if keys.m == nil {
		keys.m = map[KeyType]crypto.Signer{}
	}
	keys.m[kt] = k
	return k
}

func loadKey(name string) (crypto.Signer, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New(name + ": no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(crypto.Signer), nil
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		in      string
		want    KeyType
		wantErr error
	}{
		{"", RSA2048, nil},
		{"rsa2048", RSA2048, nil},
		{"RSA-3072", RSA3072, nil},
		{"rsa_4096", RSA4096, nil},
		{"rsa8192", RSA8192, nil},
		{"rsa", RSA2048, nil},
		{"p256", P256, nil},
		{"P-256", P256, nil},
		{"prime256v1", P256, nil},
		{"ecdsa-p384", P384, nil},
		{"secp384r1", P384, nil},
		{"Ed25519", Ed25519, nil},
		{"rsa1024", "", ErrWeakKey},
		{"rsa512", "", ErrWeakKey},
		{"rsa2047", "", ErrWeakKey},
		{"rsa5000", "", ErrUnknownKeyType},
		{"dsa", "", ErrUnknownKeyType},
		{"p521", "", ErrUnknownKeyType},
	}
	for _, tc := range tests {
		got, err := ParseKeyType(tc.in)
		if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	_, err := ParseKeyType("rsa1024")
	for _, s := range []string{"RSA 1024 is refused", "below 2048 bits", "use rsa2048"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("rsa1024 error %q lacks %q", err, s)
		}
	}
	if _, err := GenerateKey(nil, "rsa1024"); !errors.Is(err, ErrWeakKey) {
		t.Errorf("GenerateKey(rsa1024) = %v, want ErrWeakKey", err)
	}
	_, err = ParseKeyType("dsa")
	if !strings.Contains(err.Error(), "rsa2048, rsa3072, rsa4096, rsa8192, p256, p384, ed25519") {
		t.Errorf("unknown key type error does not list the types: %v", err)
	}
}

func TestGenerateKey(t *testing.T) {
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			if kt == RSA8192 && os.Getenv("CERTWRIGHT_RSA8192") == "" {
				t.Skip("generating an RSA 8192 key takes about a minute; set CERTWRIGHT_RSA8192=1 to run it")
			}
			k := testKey(t, kt)
			got, err := KeyTypeOf(k.Public())
			if err != nil || got != kt {
				t.Errorf("KeyTypeOf = %q, %v", got, err)
			}
			if got, _ := KeyTypeOf(k); got != kt {
				t.Errorf("KeyTypeOf(signer) = %q", got)
			}
		})
	}
	k, err := GenerateKey(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if rk, ok := k.(*rsa.PrivateKey); !ok || rk.N.BitLen() != 2048 {
		t.Errorf("default key is %T", k)
	}
}

// countingSigner is a crypto.Signer that is not one of the standard
// library's key types, as an HSM or KMS key would be.
type countingSigner struct {
	key   crypto.Signer
	calls int
}

func (s *countingSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.calls++
	return s.key.Sign(r, digest, opts)
}

func fullRequest() *Request {
	r := &Request{CN: "www.example.com", O: "Example Ltd", OU: "Web", L: "Leeds", ST: "West Yorkshire", C: "GB"}
	if err := r.AddSANs("example.com", "192.0.2.10", "2001:db8::1", "admin@example.com", "spiffe://example.com/web"); err != nil {
		panic(err)
	}
	return r
}

func TestCreateEveryKeyType(t *testing.T) {
	wantAlg := map[KeyType]x509.SignatureAlgorithm{
		RSA2048: x509.SHA256WithRSA, RSA3072: x509.SHA256WithRSA, RSA4096: x509.SHA256WithRSA, RSA8192: x509.SHA256WithRSA,
		P256: x509.ECDSAWithSHA256, P384: x509.ECDSAWithSHA384, Ed25519: x509.PureEd25519,
	}
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			key := &countingSigner{key: testKey(t, kt)}
			der, findings, err := Create(nil, fullRequest(), key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(findings) != 0 {
				t.Errorf("findings: %v", findings)
			}
			if key.calls != 1 {
				t.Errorf("the signer was called %d times", key.calls)
			}
			r, err := Parse(EncodePEM(der))
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckSignature(r); err != nil {
				t.Fatal(err)
			}
			if r.SignatureAlgorithm != wantAlg[kt] {
				t.Errorf("signature algorithm %v, want %v", r.SignatureAlgorithm, wantAlg[kt])
			}
			if got := r.Subject.String(); got != "CN=www.example.com,OU=Web,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB" {
				t.Errorf("subject %s", got)
			}
			if !slices.Equal(r.DNSNames, []string{"www.example.com", "example.com"}) {
				t.Errorf("DNS names %q", r.DNSNames)
			}
			if len(r.IPAddresses) != 2 || !r.IPAddresses[0].Equal(net.ParseIP("192.0.2.10")) || !r.IPAddresses[1].Equal(net.ParseIP("2001:db8::1")) {
				t.Errorf("IPs %v", r.IPAddresses)
			}
			if !slices.Equal(r.EmailAddresses, []string{"admin@example.com"}) || len(r.URIs) != 1 || r.URIs[0].String() != "spiffe://example.com/web" {
				t.Errorf("emails %q URIs %v", r.EmailAddresses, r.URIs)
			}
			d := Describe(r)
			if d.KeyType != kt || d.SignatureError != nil {
				t.Errorf("Describe: %+v", d)
			}
		})
	}
}

func TestCreateNormalises(t *testing.T) {
	r := &Request{CN: "Bücher.example", DNSNames: []string{"*.bücher.example", "straße.example"}, EmailAddresses: []string{"info@bücher.example"}}
	orig := r.clone()
	der, findings, err := Create(nil, r, testKey(t, P256), nil)
	if err != nil || len(findings) != 0 {
		t.Fatal(err, findings)
	}
	if r.CN != orig.CN || !slices.Equal(r.DNSNames, orig.DNSNames) {
		t.Errorf("Create changed the caller's request: %+v", r)
	}
	c, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "xn--bcher-kva.example" {
		t.Errorf("CN = %q, want the A-label form", c.Subject.CommonName)
	}
	// UTS #46 lookup processing maps ß to ss (IDNA 2008 nontransitional).
	want := []string{"xn--bcher-kva.example", "*.xn--bcher-kva.example", "xn--strae-oqa.example"}
	if !slices.Equal(c.DNSNames, want) {
		t.Errorf("DNS names %q, want %q", c.DNSNames, want)
	}
	if !slices.Equal(c.EmailAddresses, []string{"info@xn--bcher-kva.example"}) {
		t.Errorf("emails %q", c.EmailAddresses)
	}

	// A CN that is an IP address becomes an IP SAN; a person's name stays.
	n := (&Request{CN: "192.0.2.1"}).Normalize()
	if len(n.IPAddresses) != 1 || len(n.DNSNames) != 0 {
		t.Errorf("IP CN: %+v", n)
	}
	n = (&Request{CN: "Jane Doe", EmailAddresses: []string{"jane@example.com"}}).Normalize()
	if n.CN != "Jane Doe" || len(n.DNSNames) != 0 {
		t.Errorf("person CN: %+v", n)
	}
}

func TestCreateRefuses(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		req   *Request
		key   crypto.Signer
		opts  *Options
		codes []Code
		is    []error
	}{
		{"weak RSA", fullRequest(), weak, nil, []Code{CodeWeakKey}, []error{ErrCheckFailed, ErrWeakKey}},
		{"P-224", fullRequest(), p224, nil, []Code{CodeKeyUnsupported}, []error{ErrCheckFailed}},
		{"no key", fullRequest(), nil, nil, []Code{CodeKeyUnsupported}, []error{ErrCheckFailed}},
		{"all at once", &Request{CN: "x", C: "USA"}, weak, nil, []Code{CodeCountryInvalid, CodeNoSANs, CodeWeakKey}, []error{ErrCheckFailed, ErrWeakKey}},
		{"strict warning", &Request{CN: "www.example.com", ST: "WA", C: "US"}, testKey(t, P256), &Options{Strict: true}, []Code{CodeStateAbbreviated}, []error{ErrCheckFailed}},
		{"SHA-1 asked for", fullRequest(), testKey(t, RSA2048), &Options{SignatureAlgorithm: x509.SHA1WithRSA}, nil, []error{ErrInsecureSignature}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, findings, err := Create(nil, tc.req, tc.key, tc.opts)
			if der != nil || err == nil {
				t.Fatalf("Create made a request: %v", err)
			}
			var got []Code
			for _, f := range findings {
				got = append(got, f.Code)
			}
			if !slices.Equal(got, tc.codes) {
				t.Errorf("codes %v, want %v (%v)", got, tc.codes, err)
			}
			for _, e := range tc.is {
				if !errors.Is(err, e) {
					t.Errorf("%v does not wrap %v", err, e)
				}
			}
		})
	}
}

func TestCreateWarningsPassWithoutStrict(t *testing.T) {
	der, findings, err := Create(nil, &Request{CN: "www.example.com", ST: "WA", C: "US"}, testKey(t, P256), nil)
	if err != nil || der == nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || findings[0].Code != CodeStateAbbreviated || findings[0].Severity != SeverityWarning {
		t.Errorf("findings %v", findings)
	}
}

func TestCreateSignatureOverride(t *testing.T) {
	der, _, err := Create(nil, fullRequest(), testKey(t, RSA2048), &Options{SignatureAlgorithm: x509.SHA384WithRSAPSS})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := x509.ParseCertificateRequest(der)
	if r.SignatureAlgorithm != x509.SHA384WithRSAPSS || CheckSignature(r) != nil {
		t.Errorf("got %v", r.SignatureAlgorithm)
	}
	ek := testKey(t, Ed25519).(ed25519.PrivateKey)
	if _, _, err := Create(nil, fullRequest(), ek, &Options{SignatureAlgorithm: x509.SHA256WithRSA}); err == nil {
		t.Error("an RSA algorithm with an Ed25519 key was accepted")
	}
}

func TestAddSANs(t *testing.T) {
	var r Request
	err := r.AddSANs(" www.example.com", "", "10.0.0.1", "[2001:db8::2]", "ops@example.com", "https://example.com/x", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "*.example.org ")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.DNSNames, []string{"www.example.com", "*.example.org"}) {
		t.Errorf("DNS %q", r.DNSNames)
	}
	if len(r.IPAddresses) != 2 || r.IPAddresses[1].String() != "2001:db8::2" {
		t.Errorf("IP %v", r.IPAddresses)
	}
	if !slices.Equal(r.EmailAddresses, []string{"ops@example.com"}) || len(r.URIs) != 2 {
		t.Errorf("email %q URIs %v", r.EmailAddresses, r.URIs)
	}
	if err := r.AddSANs("https://exa mple.com/%zz"); err == nil {
		t.Error("a bad URI was accepted")
	}
	want := []string{"DNS:www.example.com", "DNS:*.example.org", "IP Address:10.0.0.1", "IP Address:2001:db8::2",
		"email:ops@example.com", "URI:https://example.com/x", "URI:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"}
	if got := r.SANs(); !slices.Equal(got, want) {
		t.Errorf("SANs() = %q", got)
	}
}

// FuzzCreate asserts that every request the checks pass can be made, and
// reads back with the names Normalize promised.
func FuzzCreate(f *testing.F) {
	f.Add("www.example.com", "Example Ltd", "West Yorkshire", "GB", "example.com,192.0.2.1")
	f.Add("Bücher.example", "Ünïcödé", "Bayern", "DE", "*.bücher.example,a@bücher.example")
	f.Add("x", "", "WA", "USA", "spiffe://example.com/a,urn:x:y,[::1]")
	f.Add("", "O", "", "", "xn--bcher-kva.example,EXAMPLE.com,example.com")
	key := testKey(f, P256)
	f.Fuzz(func(t *testing.T, cn, o, st, c, sans string) {
		r := &Request{CN: cn, O: o, ST: st, C: c}
		if r.AddSANs(strings.Split(sans, ",")...) != nil {
			return
		}
		fs := Check(r, nil)
		der, _, err := Create(nil, r, key, nil)
		if FindingsError(fs) != nil {
			if err == nil {
				t.Fatalf("Create made a request that Check refuses: %v", fs)
			}
			return
		}
		if err != nil {
			t.Fatalf("checks passed (%v) but Create failed: %v", fs, err)
		}
		got, err := Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		n := r.Normalize()
		back := FromCertificateRequest(got)
		if back.CN != n.CN || back.O != n.O || back.ST != n.ST || back.C != n.C || !slices.Equal(back.SANs(), n.SANs()) {
			t.Fatalf("read back %+v, want %+v", back, n)
		}
	})
}

// TestCreateConcurrent: a provisioning tool makes many requests at once
// with no shared state between calls (run with -race).
func TestCreateConcurrent(t *testing.T) {
	key := testKey(t, P256)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := fullRequest()
			r.DNSNames = append(r.DNSNames, "host"+strings.Repeat("x", i)+".example.com")
			if _, _, err := Create(nil, r, key, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
