package formats

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// Files copied into testdata/ (see testdata/README.md): always run.
func TestTestdata(t *testing.T) {
	for _, tc := range []struct {
		file, password string
		formats        []string
		certs          []string
		keys, csrs     int
		note           string
	}{
		{"certigo_leaf.p7b", "", []string{"pem", "pkcs7"}, []string{"example-leaf"}, 0, 0, ""},
		{"certigo_leaf.p12", "password", []string{"der", "pkcs12"}, []string{"example-leaf"}, 1, 0, "pbeWithSHAAnd40BitRC2-CBC"},
		{"certigo_ec_params.key", "", []string{"pem"}, nil, 1, 0, "P-521"},
		{"letsencrypt_trustid_x3_root.p7b", "", []string{"der", "pkcs7"}, []string{"DST Root CA X3"}, 0, 0, ""},
		{"pyca_isrg_pkcs7.pem", "", []string{"pem", "pkcs7"}, []string{"ISRG Root X1"}, 0, 0, ""},
		{"pyca_chain_with_garbage.pem", "", []string{"pem"}, []string{"www.cryptography.io", "RapidSSL SHA256 CA - G3"}, 0, 0, "PEM block 3 (PRIVATE KEY) skipped"},
		{"pyca_csr_new_header.pem", "", []string{"pem"}, nil, 0, 1, ""},
		{"boringssl_windows.p12", "foo", []string{"der", "pkcs12"}, []string{"agl"}, 1, 0, ""},
		{"boringssl_empty_password_ber.p12", "", []string{"der", "pkcs12"}, []string{""}, 1, 0, "BER"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, err := ReadFile(filepath.Join("testdata", tc.file), &ReadOptions{Password: tc.password})
			if err != nil {
				t.Fatal(err)
			}
			if got := subjects(c.Certificates); !reflect.DeepEqual(got, tc.certs) {
				t.Errorf("certificates %q, want %q", got, tc.certs)
			}
			if !reflect.DeepEqual(c.Formats, tc.formats) || len(c.Keys) != tc.keys || len(c.CSRs) != tc.csrs {
				t.Errorf("formats %q keys %d csrs %d", c.Formats, len(c.Keys), len(c.CSRs))
			}
			if tc.keys > 0 && len(tc.certs) > 0 && len(c.Pairs) != 1 {
				t.Errorf("%d pairs", len(c.Pairs))
			}
			if !strings.Contains(strings.Join(c.Notes, "\n"), tc.note) {
				t.Errorf("notes lack %q: %q", tc.note, c.Notes)
			}
		})
	}
	c, _ := ReadFile("testdata/certigo_leaf.p12", &ReadOptions{Password: "password"})
	if c.CertInfo[0].FriendlyName != "example-leaf" || c.KeyInfo[0].FriendlyName != "example-leaf" || len(c.KeyInfo[0].LocalKeyID) == 0 {
		t.Errorf("metadata: cert %+v key %+v", c.CertInfo[0], c.KeyInfo[0])
	}
	if _, err := ReadFile("testdata/certigo_leaf.p12", &ReadOptions{Password: "nope"}); !errors.Is(err, ErrIncorrectPassword) ||
		!strings.Contains(err.Error(), "looks like PKCS#12 (DER)") || !strings.Contains(err.Error(), "certigo_leaf.p12") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestCorpusCertigo(t *testing.T) {
	dir := testtool.Corpus(t, "certigo/test-certs")
	for _, name := range []string{"bad-serial", "custom-oid", "elliptic-sha1", "expired", "leaf", "md5", "name-constraints", "root", "root-bad-ku", "sha1", "small-key"} {
		cn := "example-" + name
		if name == "custom-oid" {
			cn = "example-custom-oids"
		}
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(dir, "example-"+name)
			crt, err := ReadFile(base+".crt", nil)
			if err != nil || !reflect.DeepEqual(subjects(crt.Certificates), []string{cn}) {
				t.Fatalf(".crt: %v", err)
			}
			p7, err := ReadFile(base+".p7b", nil)
			if err != nil || p7.Format() != "pkcs7" || !bytes.Equal(p7.Certificates[0].Raw, crt.Certificates[0].Raw) {
				t.Errorf(".p7b: %v", err)
			}
			csr, err := ReadFile(base+".csr", nil)
			if err != nil || len(csr.CSRs) != 1 || !bytes.Equal(spkiOf(t, csr.CSRs[0].PublicKey), crt.Certificates[0].RawSubjectPublicKeyInfo) {
				t.Errorf(".csr: %v", err)
			}
			p12, err := ReadFile(base+".p12", &ReadOptions{Password: "password"})
			if err != nil || len(p12.Pairs) != 1 || !bytes.Equal(p12.Pairs[0].Certificate.Raw, crt.Certificates[0].Raw) {
				t.Fatalf(".p12: %v", err)
			}
			if p12.KeyInfo[0].FriendlyName != "example-"+name {
				t.Errorf(".p12 friendly name %q", p12.KeyInfo[0].FriendlyName)
			}
			if _, err := os.Stat(base + ".key"); err == nil {
				key, err := ReadFile(base+".key", nil)
				if err != nil || len(key.Keys) != 1 || !bytes.Equal(spkiOf(t, key.Keys[0].Public()), crt.Certificates[0].RawSubjectPublicKeyInfo) {
					t.Errorf(".key: %v", err)
				}
			}
		})
	}
}

// The PKCS#12 files listed in p12-index.json with their expected contents.
func TestCorpusPKCS12Index(t *testing.T) {
	index := testtool.Corpus(t, "p12-index.json")
	raw, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Files []struct {
			File             string  `json:"file"`
			Password         *string `json:"password"`
			CertSubject      string  `json:"cert_subject"`
			CertFriendlyName *string `json:"cert_friendly_name"`
			AdditionalCerts  []any   `json:"additional_certs"`
			KeyMatchesCert   bool    `json:"key_matches_cert"`
			Note             string  `json:"note"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(index)
	for _, f := range idx.Files {
		t.Run(f.File, func(t *testing.T) {
			path := filepath.Join(root, f.File)
			if f.Password == nil {
				// Must be rejected, whatever password is tried.
				for _, pw := range []string{"", "1234", "realpassword", "fakepassword"} {
					if c, err := ReadFile(path, &ReadOptions{Password: pw}); err == nil {
						t.Errorf("accepted with %q: %d certs, %d keys (%s)", pw, len(c.Certificates), len(c.Keys), f.Note)
					}
				}
				return
			}
			c, err := ReadFile(path, &ReadOptions{Password: *f.Password})
			if err != nil {
				t.Fatal(err)
			}
			wantKeys, wantCerts := 1, 1+len(f.AdditionalCerts)
			if strings.HasSuffix(f.File, "example_signed_certificates_chain.p12") {
				// pyca reports one key and six certificate bags; the file
				// holds three keys (CA, intermediate, server, each with
				// its certificate) and each CA certificate twice, which
				// openssl pkcs12 -info confirms. Duplicates are removed.
				wantKeys, wantCerts = 3, 3
			}
			if len(c.Keys) != wantKeys || len(c.Certificates) != wantCerts {
				t.Fatalf("%d keys, %d certificates; want %d and %d", len(c.Keys), len(c.Certificates), wantKeys, wantCerts)
			}
			if f.KeyMatchesCert != (len(c.Pairs) == wantKeys) {
				t.Fatalf("%d pairs", len(c.Pairs))
			}
			leaf := c.Pairs[0].Certificate
			if !sameRDNs(leaf.Subject.String(), f.CertSubject) {
				t.Errorf("leaf subject %q, want %q", leaf.Subject.String(), f.CertSubject)
			}
			if f.CertFriendlyName != nil && c.CertInfo[c.Pairs[0].CertIndex].FriendlyName != *f.CertFriendlyName {
				t.Errorf("friendly name %q, want %q", c.CertInfo[c.Pairs[0].CertIndex].FriendlyName, *f.CertFriendlyName)
			}
		})
	}
}

// sameRDNs compares RFC 4514 strings written by different libraries, which
// may order RDNs and write unknown attribute values differently: the sets
// of "type=value" parts must overlap in everything but hex-encoded values.
func sameRDNs(a, b string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			if !strings.Contains(p, "=#") {
				m[p] = true
			}
		}
		return m
	}
	sa, sb := set(a), set(b)
	for k := range sa {
		if !sb[k] && !strings.HasPrefix(k, "1.") {
			return false
		}
	}
	return len(sa) > 0
}

func TestCorpusLetsEncrypt(t *testing.T) {
	dir := testtool.Corpus(t, "letsencrypt/static/certs")
	n := 0
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		n++
		c, err := ReadFile(path, nil)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if len(c.Certificates) != 1 {
			t.Errorf("%s: %d certificates", path, len(c.Certificates))
			return nil
		}
		// The .pem and .der of the same name hold the same certificate.
		if strings.HasSuffix(path, ".pem") {
			if d, err := ReadFile(strings.TrimSuffix(path, ".pem")+".der", nil); err == nil && !bytes.Equal(d.Certificates[0].Raw, c.Certificates[0].Raw) {
				t.Errorf("%s: .pem and .der differ", path)
			}
		}
		return nil
	})
	if err != nil || n < 100 {
		t.Fatalf("walked %d files: %v", n, err)
	}
	c, _ := ReadFile(filepath.Join(dir, "trustid-x3-root.p7b"), nil)
	if c.Format() != "pkcs7" || c.Certificates[0].Subject.CommonName != "DST Root CA X3" {
		t.Errorf("trustid p7b: %q", subjects(c.Certificates))
	}
}

func TestCorpusPyca(t *testing.T) {
	dir := testtool.Corpus(t, "pyca-cryptography")
	for file, want := range map[string][]string{
		"pkcs7/isrg.pem":                              {"ISRG Root X1"},
		"x509/cryptography.io.chain.pem":              {"www.cryptography.io", "RapidSSL SHA256 CA - G3"},
		"x509/cryptography.io.old_header.pem":         {"www.cryptography.io"},
		"x509/cryptography.io.chain_with_garbage.pem": {"www.cryptography.io", "RapidSSL SHA256 CA - G3"},
	} {
		c, err := ReadFile(filepath.Join(dir, file), nil)
		if err != nil || !reflect.DeepEqual(subjects(c.Certificates), want) {
			t.Errorf("%s: %v", file, err)
		}
	}
	// A certificate with a legacy encrypted key: no password is an error
	// that says so.
	if _, err := ReadFile(filepath.Join(dir, "x509/cryptography.io.with_headers.pem"), nil); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("with_headers: %v", err)
	}
	// Certificate requests, PEM and DER, old and new headers.
	for _, d := range []string{filepath.Join(dir, "x509/requests"), testtool.Corpus(t, "pyca-cryptography-vectors-1.3.1/x509/requests")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			c, err := ReadFile(filepath.Join(d, e.Name()), nil)
			if e.Name() == "two_basic_constraints.pem" {
				// crypto/x509 rejects duplicate extensions in requests.
				if err == nil {
					t.Errorf("%s: accepted", e.Name())
				}
				continue
			}
			if err != nil || len(c.CSRs) != 1 {
				t.Errorf("%s: %v", e.Name(), err)
			}
		}
	}
}

func TestCorpusBundles(t *testing.T) {
	for file, want := range map[string]int{
		"cfssl_trust/ca-bundle.crt":  338, // 339 blocks; one root has a negative serial, which crypto/x509 rejects
		"cfssl_trust/int-bundle.crt": 1263,
		"certifi/cacert.pem":         121,
	} {
		c, err := ReadFile(testtool.Corpus(t, file), nil)
		if err != nil || len(c.Certificates) != want {
			t.Errorf("%s: %v, %d certificates, want %d", file, err, len(c.Certificates), want)
		}
	}
	dir := testtool.Corpus(t, "cfssl/bundler/testdata")
	for file, want := range map[string]int{"partial-bundle.pem": 2, "reverse-partial-bundle.pem": 2, "cfssl-leaf-ecdsa256.pem": 1} {
		c, err := ReadFile(filepath.Join(dir, file), nil)
		if err != nil || len(c.Certificates) != want {
			t.Errorf("%s: %v", file, err)
		}
	}
	// cfssl's CA key has d >= n (OpenSSL: "RSA key ok"); it must pair
	// with the CA certificate.
	key, err := ReadFile(filepath.Join(dir, "ca.key"), nil)
	if err != nil {
		t.Fatalf("ca.key: %v", err)
	}
	ca, _ := ReadFile(filepath.Join(dir, "ca.pem"), nil)
	if ca == nil || !bytes.Equal(spkiOf(t, key.Keys[0].Public()), ca.Certificates[0].RawSubjectPublicKeyInfo) {
		t.Error("ca.key does not match ca.pem")
	}
	if _, err := ReadFile(filepath.Join(dir, "empty.pem"), nil); !errors.Is(err, ErrUnrecognized) {
		t.Errorf("empty.pem: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "dsa2048.key"), nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("dsa2048.key: %v", err)
	}
}

func TestCorpusNISTPKITS(t *testing.T) {
	dir := testtool.Corpus(t, "nist-pkits")
	certs, _ := filepath.Glob(filepath.Join(dir, "certs", "*.crt"))
	if len(certs) != 405 {
		t.Fatalf("%d certificates", len(certs))
	}
	// crypto/x509 rejects these certificates (negative serial, DSA
	// parameters inherited from the issuer, a CRL distribution point it
	// considers invalid); the error must say so.
	rejected := map[string]string{
		"InvalidNegativeSerialNumberTest15EE.crt": "negative serial number",
		"DSAParametersInheritedCACert.crt":        "invalid DSA parameters",
		"ValidDSAParameterInheritanceTest5EE.crt": "invalid DSA parameters",
		"InvaliddistributionPointTest6EE.crt":     "invalid CRL distribution point",
		"ValidcRLIssuerTest29EE.crt":              "invalid CRL distribution point",
		"ValiddistributionPointTest4EE.crt":       "invalid CRL distribution point",
		"ValiddistributionPointTest5EE.crt":       "invalid CRL distribution point",
	}
	for _, p := range certs {
		c, err := ReadFile(p, nil)
		if reason, ok := rejected[filepath.Base(p)]; ok {
			if err == nil || !strings.Contains(err.Error(), reason) || strings.Contains(err.Error(), "nor certificate request") {
				t.Errorf("%s: %v, want an error about %q only", filepath.Base(p), err, reason)
			}
			continue
		}
		if err != nil || len(c.Certificates) != 1 || c.Format() != "der" {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		p12 := filepath.Join(dir, "pkcs12", strings.TrimSuffix(filepath.Base(p), ".crt")+".p12")
		pc, err := ReadFile(p12, &ReadOptions{Password: "password"})
		if errors.Is(err, ErrUnsupported) && strings.Contains(filepath.Base(p), "DSA") {
			continue // DSA private keys are not read
		}
		if err != nil || len(pc.Pairs) != 1 || !bytes.Equal(pc.Pairs[0].Certificate.Raw, c.Certificates[0].Raw) {
			t.Errorf("%s: %v", filepath.Base(p12), err)
		}
	}
}

func spkiOf(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509MarshalPKIX(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func x509MarshalPKIX(pub any) ([]byte, error) { return x509.MarshalPKIXPublicKey(pub) }
