package formats

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// negativeSerial returns a copy of der whose serial number has its top bit
// set: the same length, so the structure stays valid, but crypto/x509
// refuses a negative serial number.
func negativeSerial(t *testing.T, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !s.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) {
		t.Fatal("not a certificate")
	}
	// tbs now starts with the serial's INTEGER tag and a short length.
	at := len(der) - len(cert) - len(tbs) + 2 // cert holds what follows the TBS
	out := bytes.Clone(der)
	if out[at] == 0 { // a leading zero keeps a positive serial positive
		t.Skip("serial with a leading zero byte")
	}
	out[at] |= 0x80
	if _, err := x509.ParseCertificate(out); err == nil || !strings.Contains(err.Error(), "negative serial") {
		t.Fatalf("crafted certificate: %v", err)
	}
	return out
}

// TestUnparsedCrafted puts a certificate crypto/x509 refuses beside good
// ones in each container: it must appear in Unparsed and in one note, and
// not hide the others.
func TestUnparsedCrafted(t *testing.T) {
	root := testpki.Root(t, "Unparsed Root")
	leaf, key := root.Leaf(t, nil, "unparsed.example.com")
	bad := negativeSerial(t, leaf.Raw)
	fake := &x509.Certificate{Raw: bad}

	p7, err := EncodePKCS7([]*x509.Certificate{root.Cert, fake})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := gopkcs12.Passwordless.EncodeTrustStoreEntries([]gopkcs12.TrustStoreEntry{
		{Cert: root.Cert, FriendlyName: "root"},
		{Cert: fake, FriendlyName: "leaf with a negative serial"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := EncodeKeyPEM(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, source, friendly, format string
		data                           []byte
	}{
		{"pem", "PEM block 2 (CERTIFICATE)", "", FormatPEM,
			bytes.Join([][]byte{EncodeCertificatesPEM(root.Cert), pemOf("CERTIFICATE", bad), keyPEM}, nil)},
		{"pkcs7", "PKCS#7 certificate 2", "", FormatPKCS7, p7},
		{"pkcs12", "PKCS#12 AuthenticatedSafe item 1 bag 2 (certBag)", "leaf with a negative serial", FormatPKCS12, p12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Read(tc.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Certificates) != 1 || !bytes.Equal(c.Certificates[0].Raw, root.Cert.Raw) {
				t.Fatalf("%d certificates, want the root only", len(c.Certificates))
			}
			if len(c.Unparsed) != 1 {
				t.Fatalf("%d unparsed, want 1; notes %q", len(c.Unparsed), c.Notes)
			}
			u := c.Unparsed[0]
			if u.Source != tc.source || u.Format != tc.format || u.FriendlyName != tc.friendly ||
				!bytes.Equal(u.Raw, bad) || u.Err == nil || !strings.Contains(u.Err.Error(), "negative serial number") {
				t.Errorf("unparsed %+v", u)
			}
			var mentions []string
			for _, n := range c.Notes {
				if strings.Contains(n, "negative serial number") {
					mentions = append(mentions, n)
				}
			}
			if len(mentions) != 1 || !strings.HasPrefix(mentions[0], tc.source) {
				t.Fatalf("notes about it: %q, want one starting with %q", mentions, tc.source)
			}
			if tc.format != FormatPEM { // PEM blocks keep the generic "skipped" note
				for _, want := range []string{"left out", tc.friendly, "CN=unparsed.example.com"} {
					if !strings.Contains(mentions[0], want) {
						t.Errorf("note %q lacks %q", mentions[0], want)
					}
				}
			}
		})
	}
}

// TestUnparsedAloneFails: when the only certificate is one crypto/x509
// refuses, Read fails with its error rather than returning nothing.
func TestUnparsedAloneFails(t *testing.T) {
	root := testpki.Root(t, "Unparsed Root")
	bad := negativeSerial(t, root.Cert.Raw)
	for _, data := range [][]byte{bad, pemOf("CERTIFICATE", bad)} {
		if _, err := Read(data, nil); err == nil || !strings.Contains(err.Error(), "negative serial number") {
			t.Errorf("%v, want the parse error", err)
		}
	}
}

// TestUnparsedPKITS reads NIST PKITS .p12 files whose certificate crypto/x509
// refuses: the key is still read, and the certificate is reported with
// its bag, friendly name and parse error, and the key it belongs to.
func TestUnparsedPKITS(t *testing.T) {
	dir := testtool.Corpus(t, "nist-pkits")
	for name, reason := range map[string]string{
		"InvalidNegativeSerialNumberTest15EE": "negative serial number",
		"ValiddistributionPointTest4EE":       "invalid CRL distribution point",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ReadFile(filepath.Join(dir, "pkcs12", name+".p12"), &ReadOptions{Password: "password"})
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "certs", name+".crt"))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Keys) != 1 || len(c.Certificates) != 0 || len(c.Pairs) != 0 || len(c.Unparsed) != 1 {
				t.Fatalf("%d keys, %d certificates, %d pairs, %d unparsed; want 1, 0, 0, 1", len(c.Keys), len(c.Certificates), len(c.Pairs), len(c.Unparsed))
			}
			u := c.Unparsed[0]
			if u.Source != "PKCS#12 AuthenticatedSafe item 1 bag 1 (certBag)" || u.Format != FormatPKCS12 ||
				u.FriendlyName == "" || len(u.LocalKeyID) == 0 || !bytes.Equal(u.Raw, want) {
				t.Errorf("unparsed %q %q %q %x, raw equal to certs/%s.crt: %v", u.Source, u.Format, u.FriendlyName, u.LocalKeyID, name, bytes.Equal(u.Raw, want))
			}
			if _, perr := x509.ParseCertificate(want); perr == nil || u.Err == nil || u.Err.Error() != perr.Error() {
				t.Errorf("error %v, want crypto/x509's %v", u.Err, perr)
			}
			var mentions []string
			for _, n := range c.Notes {
				if strings.Contains(n, reason) {
					mentions = append(mentions, n)
				}
			}
			if len(mentions) != 1 {
				t.Fatalf("notes about it: %q", mentions)
			}
			for _, want := range []string{u.Source, `friendly name "` + u.FriendlyName + `"`, "left out", reason, "PKCS#12 key 1"} {
				if !strings.Contains(mentions[0], want) {
					t.Errorf("note %q lacks %q", mentions[0], want)
				}
			}
		})
	}
}

func TestCertSummary(t *testing.T) {
	root := testpki.Root(t, "Summary Root")
	subject, serial, spki, ok := certSummary(root.Cert.Raw)
	if !ok || subject != root.Cert.Subject.String() || serial != root.Cert.SerialNumber.String() ||
		!bytes.Equal(spki, root.Cert.RawSubjectPublicKeyInfo) {
		t.Errorf("%q %q %x %v", subject, serial, spki, ok)
	}
	if _, _, _, ok := certSummary([]byte{0x30, 0x03, 0x30, 0x01, 0x00}); ok {
		t.Error("summary of garbage")
	}
}
