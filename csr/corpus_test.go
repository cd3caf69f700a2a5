package csr

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// TestCorpusRequests reads every certificate request of the shared
// third-party corpus (OpenSSL, cfssl and certigo made them) and checks what
// Parse, CheckSignature and Describe say about each.
func TestCorpusRequests(t *testing.T) {
	tests := []struct {
		file string
		sig  error // from CheckSignature; nil means valid
		key  KeyType
	}{
		{"pyca-cryptography/x509/requests/challenge-unstructured.pem", nil, RSA2048},
		{"pyca-cryptography/x509/requests/long-form-attribute.pem", ErrBadSignature, RSA2048}, // openssl req -verify fails too
		{"pyca-cryptography/x509/requests/freeipa-bad-critical.pem", nil, RSA2048},
		{"pyca-cryptography/x509/requests/zero-element-attribute.pem", nil, RSA2048},
		{"certigo/test-certs/example-leaf.csr", ErrInsecureSignature, RSA2048},
		{"certigo/test-certs/example-root.csr", ErrInsecureSignature, RSA2048},
		{"certigo/test-certs/example-small-key.csr", ErrInsecureSignature, "rsa1024"},
		{"certigo/test-certs/example-sha1.csr", ErrInsecureSignature, RSA2048},
		{"certigo/test-certs/example-md5.csr", ErrInsecureSignature, RSA2048}, // signed with SHA-1 despite the name
		{"certigo/test-certs/example-elliptic-sha1.csr", ErrInsecureSignature, "p521"},
		{"cfssl/bundler/testdata/cfssl-leaf-ecdsa256.csr", nil, P256},
		{"cfssl/bundler/testdata/cfssl-leaf-ecdsa521.csr", nil, "p521"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			data, err := os.ReadFile(testtool.Corpus(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckSignature(r)
			if tc.sig == nil && err != nil || tc.sig != nil && !errors.Is(err, tc.sig) {
				t.Errorf("CheckSignature = %v, want %v", err, tc.sig)
			}
			d := Describe(r)
			if d.KeyType != tc.key {
				t.Errorf("key type %q, want %q", d.KeyType, tc.key)
			}
		})
	}
}
