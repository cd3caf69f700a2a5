package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// p12Index mirrors ../shared/corpus/p12-index.json: third-party PKCS#12
// files with their passwords and the contents pyca/cryptography reports.
type p12Index struct {
	Files []struct {
		File             string   `json:"file"`
		Password         *string  `json:"password"`
		Key              string   `json:"key"`
		CertSubject      string   `json:"cert_subject"`
		CertFriendlyName *string  `json:"cert_friendly_name"`
		AdditionalCerts  []string `json:"additional_certs"`
		KeyMatchesCert   bool     `json:"key_matches_cert"`
		Error            string   `json:"error"`
	} `json:"files"`
}

// corpusRejections are the files the index marks as "must be rejected",
// with the password the upstream test suite uses and the error we return.
var corpusRejections = map[string]struct {
	password string
	want     error
}{
	"boringssl/crypto/pkcs8/test/bad1.p12":                      {"", ErrMalformed}, // authSafe without content
	"boringssl/crypto/pkcs8/test/bad2.p12":                      {"", ErrMalformed}, // encryptedData without content
	"boringssl/crypto/pkcs8/test/bad3.p12":                      {"", ErrMalformed}, // data without content
	"boringssl/crypto/pkcs8/test/empty_password_ber_nested.p12": {"", ErrMalformed}, // 128 nested constructed strings
	"go-pkcs12/testdata/pbmac1-short-key-bypass.p12":            {"realpassword", ErrMalformed},
	"go-pkcs12/testdata/rfc9579-a4.p12":                         {"1234", ErrIncorrectPassword},
	"go-pkcs12/testdata/rfc9579-a5.p12":                         {"1234", ErrIncorrectPassword},
	"go-pkcs12/testdata/rfc9579-a6.p12":                         {"1234", ErrMalformed},
}

// corpusKeyCounts corrects the index where pyca reports one key although
// the file holds more: `openssl pkcs12 -info` lists three key bags in
// example_signed_certificates_chain.p12 (CA, intermediate and server keys).
var corpusKeyCounts = map[string]int{
	"go-pkcs12/test-data/example_signed_certificates_chain.p12": 3,
}

func TestCorpusIndex(t *testing.T) {
	path := testtool.Corpus(t, "p12-index.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx p12Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Files) < 30 {
		t.Fatalf("index lists %d files, expected the full corpus", len(idx.Files))
	}
	root := filepath.Dir(path)
	seenRejections := 0
	for _, f := range idx.Files {
		t.Run(f.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, f.File))
			if err != nil {
				t.Fatal(err)
			}
			if rej, ok := corpusRejections[f.File]; ok {
				seenRejections++
				if f.Error == "" {
					t.Fatalf("index does not mark %s as rejected", f.File)
				}
				c, err := Decode(data, rej.password, Options{})
				if !errors.Is(err, rej.want) {
					t.Fatalf("Decode = %v, %v; want error %v", c, err, rej.want)
				}
				return
			}
			if f.Password == nil || f.Error != "" {
				t.Fatalf("index entry without password or with error %q is not in corpusRejections", f.Error)
			}
			c, err := Decode(data, *f.Password, Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantKeys := 1
			if n, ok := corpusKeyCounts[f.File]; ok {
				wantKeys = n
			}
			if len(c.Keys) != wantKeys {
				t.Errorf("%d keys, want %d", len(c.Keys), wantKeys)
			}
			want := append([]string{f.CertSubject}, f.AdditionalCerts...)
			var got []string
			for _, ce := range c.Certs {
				got = append(got, rfc4514(ce.Cert.RawSubject))
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("subjects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// The first key is the one pyca reports; find its certificate
			// by public key and check type and friendly name.
			if len(c.Keys) == 0 {
				return
			}
			k := c.Keys[0].Key
			switch f.Key {
			case "RSAPrivateKey":
				if _, ok := k.(*rsa.PrivateKey); !ok {
					t.Errorf("key is %T, want RSA", k)
				}
			case "ECPrivateKey":
				if _, ok := k.(*ecdsa.PrivateKey); !ok {
					t.Errorf("key is %T, want ECDSA", k)
				}
			default:
				t.Errorf("index key type %q not handled", f.Key)
			}
			leaf := certFor(c, k)
			if f.KeyMatchesCert && leaf == nil {
				t.Fatal("no certificate matches the key")
			}
			if leaf != nil {
				if got := rfc4514(leaf.Cert.RawSubject); got != f.CertSubject {
					t.Errorf("key's certificate is %q, want %q", got, f.CertSubject)
				}
				wantName := ""
				if f.CertFriendlyName != nil {
					wantName = *f.CertFriendlyName
				}
				if leaf.FriendlyName != wantName {
					t.Errorf("friendly name %q, want %q", leaf.FriendlyName, wantName)
				}
			}
		})
	}
	if seenRejections != len(corpusRejections) {
		t.Errorf("met %d of the %d expected rejections", seenRejections, len(corpusRejections))
	}
}

// TestCorpusPKITS reads the 405 NIST PKITS .p12 files (password
// "password"): each holds one key and the certificate of the same name in
// certs/. DSA keys are refused with ErrUnsupported; five certificates that
// crypto/x509 itself refuses are reported in Unparsed, byte-identical.
func TestCorpusPKITS(t *testing.T) {
	dir := testtool.Corpus(t, "nist-pkits/pkcs12")
	files, err := filepath.Glob(filepath.Join(dir, "*.p12"))
	if err != nil || len(files) != 405 {
		t.Fatalf("%d PKITS files (%v), want 405", len(files), err)
	}
	var dsa, unparsed, ok int
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".p12")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(dir, "..", "certs", name+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decode(data, "password", Options{})
		if errors.Is(err, ErrUnsupported) && strings.Contains(name, "DSA") {
			dsa++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(c.Keys) != 1 {
			t.Errorf("%s: %d keys", name, len(c.Keys))
		}
		switch {
		case len(c.Certs) == 1 && len(c.Unparsed) == 0:
			if !bytes.Equal(c.Certs[0].Cert.Raw, want) {
				t.Errorf("%s: certificate differs from certs/%s.crt", name, name)
			}
			if certFor(c, c.Keys[0].Key) == nil {
				t.Errorf("%s: key does not match the certificate", name)
			}
			ok++
		case len(c.Certs) == 0 && len(c.Unparsed) == 1:
			if !bytes.Equal(c.Unparsed[0].Raw, want) {
				t.Errorf("%s: unparsed certificate differs from certs/%s.crt", name, name)
			}
			unparsed++
		default:
			t.Errorf("%s: %d certificates, %d unparsed", name, len(c.Certs), len(c.Unparsed))
		}
	}
	if dsa != 5 || unparsed != 5 || ok != 395 {
		t.Errorf("%d read, %d with a certificate crypto/x509 refuses, %d DSA; want 395, 5, 5", ok, unparsed, dsa)
	}
}

// certFor returns the certificate whose public key matches key.
func certFor(c *Contents, key crypto.PrivateKey) *CertEntry {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil
	}
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil
	}
	for i := range c.Certs {
		if bytes.Equal(c.Certs[i].Cert.RawSubjectPublicKeyInfo, pub) {
			return &c.Certs[i]
		}
	}
	return nil
}

// rfc4514 formats a name as pyca/cryptography's rfc4514_string does (last
// RDN first, short names for the common types, dotted OIDs otherwise), so
// that subjects compare with the index.
func rfc4514(rawName []byte) string {
	short := map[string]string{
		"2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.7": "L",
		"2.5.4.8": "ST", "2.5.4.6": "C", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
		"0.9.2342.19200300.100.1.1": "UID",
	}
	var rdns []string
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(rawName, &seq); err != nil {
		return fmt.Sprintf("unparsable name %x", rawName)
	}
	for i := len(seq) - 1; i >= 0; i-- {
		var parts []string
		for _, atv := range seq[i] {
			k := atv.Type.String()
			if s, ok := short[k]; ok {
				k = s
			}
			v := fmt.Sprint(atv.Value)
			v = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `+`, `\+`, `"`, `\"`, `<`, `\<`, `>`, `\>`, `;`, `\;`).Replace(v)
			parts = append(parts, k+"="+v)
		}
		rdns = append(rdns, strings.Join(parts, "+"))
	}
	return strings.Join(rdns, ",")
}
