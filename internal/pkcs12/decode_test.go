package pkcs12

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTestdata decodes the checked-in third-party files (see
// testdata/README.md) and asserts their exact contents or rejection.
func TestTestdata(t *testing.T) {
	for _, c := range []struct {
		file, password string
		keys, certs    int
		keyType        string // "rsa" or "ec"
		mac            string
		encryption     []string
		ber            bool
		names          []string // certificate friendly names, in file order
		wantErr        error
	}{
		{file: "boringssl_windows.p12", password: "foo", keys: 1, certs: 1, keyType: "rsa", mac: "HMAC-SHA1",
			encryption: []string{"pbeWithSHAAnd3-KeyTripleDES-CBC", "pbeWithSHAAnd40BitRC2-CBC"}, names: []string{""}},
		{file: "boringssl_nss.p12", password: "foo", keys: 1, certs: 1, keyType: "rsa", mac: "HMAC-SHA1",
			encryption: []string{"pbeWithSHAAnd3-KeyTripleDES-CBC", "pbeWithSHAAnd40BitRC2-CBC"}, ber: true, names: []string{"Internet Widgits Pty Ltd"}},
		{file: "boringssl_empty_password_ber.p12", password: "", keys: 1, certs: 1, keyType: "ec", mac: "HMAC-SHA1",
			encryption: []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, ber: true, names: []string{""}},
		{file: "boringssl_null_password.p12", password: "", keys: 1, certs: 1, keyType: "ec", mac: "HMAC-SHA1",
			encryption: []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, names: []string{""}},
		{file: "boringssl_unicode_password.p12", password: "Hello, 世界", keys: 1, certs: 1, keyType: "ec", mac: "HMAC-SHA1",
			encryption: []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, names: []string{""}},
		{file: "boringssl_no_encryption.p12", password: "foo", keys: 1, certs: 1, keyType: "ec", mac: "HMAC-SHA1",
			encryption: []string{"none"}, names: []string{""}},
		{file: "boringssl_pbes2_sha256.p12", password: "foo", keys: 1, certs: 1, keyType: "rsa", mac: "HMAC-SHA1",
			encryption: []string{"PBES2/PBKDF2-HMAC-SHA256/AES-128-CBC"}, names: []string{""}},
		{file: "gopkcs12_chain_3keys.p12", password: "password", keys: 3, certs: 6, keyType: "rsa", mac: "HMAC-SHA256",
			encryption: []string{"PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"},
			names: []string{"example-ca", "example-intermediate-ca (example-ca)",
				"CN=example-ca,OU=example-ca,O=example-ca,L=example-ca,ST=example-ca,C=de",
				"example-server (example-intermediate-ca)",
				"CN=example-intermediate-ca,OU=example-intermediate-ca,O=example-intermediate-ca,L=example-intermediate-ca,ST=example-intermediate-ca,C=de",
				"CN=example-ca,OU=example-ca,O=example-ca,L=example-ca,ST=example-ca,C=de"}},
		{file: "gopkcs12_windows_aes256.p12", password: "password", keys: 1, certs: 1, keyType: "rsa", mac: "HMAC-SHA256",
			encryption: []string{"PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"}, names: []string{""}},
		{file: "gopkcs12_rfc9579-a1.p12", password: "1234", keys: 1, certs: 1, keyType: "rsa", mac: "PBMAC1/PBKDF2-HMAC-SHA256/HMAC-SHA256",
			encryption: []string{"PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"}, names: []string{""}},
		{file: "certigo_elliptic.p12", password: "password", keys: 1, certs: 1, keyType: "ec", mac: "HMAC-SHA1",
			encryption: []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"}, names: []string{"example-elliptic-sha1"}},

		{file: "boringssl_windows.p12", password: "bar", wantErr: ErrIncorrectPassword},
		{file: "boringssl_null_password.p12", password: "x", wantErr: ErrIncorrectPassword},
		{file: "boringssl_unicode_password.p12", password: "Hello, 世", wantErr: ErrIncorrectPassword},
		{file: "gopkcs12_rfc9579-a1.p12", password: "12345", wantErr: ErrIncorrectPassword},
		{file: "gopkcs12_rfc9579-a4.p12", password: "1234", wantErr: ErrIncorrectPassword},
		{file: "gopkcs12_pbmac1-short-key-bypass.p12", password: "realpassword", wantErr: ErrMalformed},
		{file: "gopkcs12_pbmac1-short-key-bypass.p12", password: "fakepassword", wantErr: ErrMalformed},
		{file: "boringssl_empty_password_ber_nested.p12", password: "", wantErr: ErrMalformed},
		{file: "boringssl_bad3.p12", password: "", wantErr: ErrMalformed},
	} {
		t.Run(c.file+"/"+c.password, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data, c.password, Options{})
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Keys) != c.keys || len(got.Certs) != c.certs {
				t.Errorf("%d keys, %d certs; want %d, %d", len(got.Keys), len(got.Certs), c.keys, c.certs)
			}
			for _, k := range got.Keys {
				switch k.Key.(type) {
				case *rsa.PrivateKey:
					if c.keyType != "rsa" {
						t.Errorf("key is RSA, want %s", c.keyType)
					}
				case *ecdsa.PrivateKey:
					if c.keyType != "ec" {
						t.Errorf("key is ECDSA, want %s", c.keyType)
					}
				default:
					t.Errorf("key is %T", k.Key)
				}
				if certFor(got, k.Key) == nil {
					t.Errorf("no certificate for key %q", k.FriendlyName)
				}
			}
			if got.MACAlgorithm != c.mac {
				t.Errorf("MAC %q, want %q", got.MACAlgorithm, c.mac)
			}
			if !slices.Equal(got.Encryption, c.encryption) {
				t.Errorf("encryption %q, want %q", got.Encryption, c.encryption)
			}
			if got.BER != c.ber {
				t.Errorf("BER = %v, want %v", got.BER, c.ber)
			}
			var names []string
			for _, ce := range got.Certs {
				names = append(names, ce.FriendlyName)
			}
			if !slices.Equal(names, c.names) {
				t.Errorf("friendly names %q, want %q", names, c.names)
			}
		})
	}
}

// TestLocalKeyIDPairs checks that the localKeyId attributes of the 3-key
// file pair each key with the certificate of the same public key.
func TestLocalKeyIDPairs(t *testing.T) {
	data, err := os.ReadFile("testdata/gopkcs12_chain_3keys.p12")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(data, "password", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range c.Keys {
		ce := certFor(c, k.Key)
		if ce == nil || len(k.LocalKeyID) == 0 || string(ce.LocalKeyID) != string(k.LocalKeyID) || ce.FriendlyName != k.FriendlyName {
			t.Errorf("key %q (id %x) does not pair with its certificate %+v", k.FriendlyName, k.LocalKeyID, ce)
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	data, err := os.ReadFile("testdata/boringssl_windows.p12")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(append(slices.Clip(data), 0, 0, 0, 0), "foo", Options{})
	if err != nil || len(c.Keys) != 1 || !slices.Equal(c.Notes, []string{"ignored 4 bytes after the PFX structure"}) {
		t.Errorf("err %v, notes %q", err, c.Notes)
	}
}

func TestBounds(t *testing.T) {
	data, err := os.ReadFile("testdata/gopkcs12_chain_3keys.p12") // 10,000 iterations
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data, "password", Options{MaxIterations: 9999}); !errors.Is(err, ErrTooManyIterations) {
		t.Errorf("MaxIterations 9999: err = %v, want ErrTooManyIterations", err)
	}
	// MAC + safe + 3 keys at 10,000 each = 50,000.
	if _, err := Decode(data, "password", Options{MaxTotalIterations: 49999}); !errors.Is(err, ErrTooManyIterations) {
		t.Errorf("MaxTotalIterations 49999: err = %v, want ErrTooManyIterations", err)
	}
	if _, err := Decode(data, "password", Options{MaxTotalIterations: 50000}); err != nil {
		t.Errorf("MaxTotalIterations 50000: %v", err)
	}
	if _, err := Decode(data, "password", Options{MaxBags: 8}); !errors.Is(err, ErrTooManyBags) {
		t.Errorf("MaxBags 8: err = %v, want ErrTooManyBags", err)
	}
	if _, err := Decode(data, "password", Options{MaxBags: 9}); err != nil {
		t.Errorf("MaxBags 9: %v", err)
	}
	if _, err := Decode(data, "password", Options{MaxDepth: 5}); !errors.Is(err, ErrMalformed) {
		t.Errorf("MaxDepth 5: err = %v, want ErrMalformed", err)
	}
	for _, in := range [][]byte{nil, {0x30}, {0x30, 0x00}, {0x04, 0x01, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x02}} {
		if _, err := Decode(in, "", Options{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%x) = %v, want ErrMalformed", in, err)
		}
	}
}
