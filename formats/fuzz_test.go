package formats

// Run a target with, for example:
//
//	go test ./formats -run '^$' -fuzz '^FuzzRead$' -fuzztime 30s -fuzzminimizetime 1s -parallel 1
//
// -fuzzminimizetime matters: with the default (60 s per new input) the
// engine spends the whole run minimising and executes a few dozen inputs.

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

// fuzzOptions keeps the work per input small: low iteration caps so that a
// mutated PKCS#12 or encrypted key cannot spend seconds in a KDF.
var fuzzOptions = &ReadOptions{Password: "password", MaxIterations: 4096, MaxSize: 1 << 20}

func seedTestdata(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if filepath.Base(p) == "README.md" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func seedGenerated(f *testing.F) (certsPEM, p7 []byte) {
	root := testpki.Root(f, "Fuzz Root")
	leaf, key := root.Leaf(f, nil, "fuzz.example.com")
	certsPEM = EncodeCertificatesPEM(leaf, root.Cert)
	p7, _ = EncodePKCS7([]*x509.Certificate{leaf, root.Cert})
	keyPEM, _ := EncodeKeyPEM(key, nil)
	pfx, _ := EncodePKCS12(key, leaf, nil, "password", &PKCS12Options{Profile: Legacy3DES.WithIterations(10)})
	f.Add(certsPEM)
	f.Add(p7)
	f.Add(pemOf("PKCS7", p7))
	f.Add(append(append([]byte{}, leaf.Raw...), root.Cert.Raw...))
	f.Add(keyPEM)
	f.Add(pfx)
	f.Add([]byte("MIIB" + "AAAA"))
	f.Add([]byte{0x30, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1})
	return certsPEM, p7
}

// FuzzRead feeds anything to Read: it must not panic, and whatever it
// returns must be consistent and survive a PEM round trip.
func FuzzRead(f *testing.F) {
	seedTestdata(f)
	seedGenerated(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Read(data, fuzzOptions)
		if err != nil {
			if c != nil {
				t.Fatal("contents with an error")
			}
			return
		}
		if len(c.CertInfo) != len(c.Certificates) || len(c.KeyInfo) != len(c.Keys) {
			t.Fatal("metadata out of step with items")
		}
		if len(c.Certificates)+len(c.Keys)+len(c.CSRs) == 0 {
			t.Fatal("success with nothing found")
		}
		for _, p := range c.Pairs {
			if c.Certificates[p.CertIndex] != p.Certificate || c.Keys[p.KeyIndex] != p.Key {
				t.Fatal("pair indexes wrong")
			}
		}
		if len(c.Certificates) > 0 {
			back, err := Read(EncodeCertificatesPEM(c.Certificates...), nil)
			if err != nil || len(back.Certificates) != len(c.Certificates) {
				t.Fatalf("PEM round trip: %v", err)
			}
			for i := range back.Certificates {
				if !bytes.Equal(back.Certificates[i].Raw, c.Certificates[i].Raw) {
					t.Fatal("PEM round trip changed a certificate")
				}
			}
		}
	})
}

// FuzzReadPEM mutates the text of PEM files: headers, labels, line ends.
func FuzzReadPEM(f *testing.F) {
	certsPEM, p7 := seedGenerated(f)
	f.Add(bytes.ReplaceAll(certsPEM, []byte("\n"), []byte("\r\n")))
	f.Add(append([]byte("\xef\xbb\xbfsome text\n"), certsPEM...))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p7}))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,975C518B7D2CCD1164A3354D1F89C5A6\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN TRUSTED CERTIFICATE-----\nMAA=\n-----END TRUSTED CERTIFICATE-----\n"))
	for _, name := range []string{"pyca_chain_with_garbage.pem", "certigo_ec_params.key", "pyca_csr_new_header.pem"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.Contains(data, pemBegin) {
			return
		}
		c, err := Read(data, fuzzOptions)
		if err == nil && c.Formats[0] != FormatPEM {
			t.Fatalf("PEM input detected as %q", c.Formats)
		}
	})
}

// FuzzPKCS7 mutates PKCS#7 DER/BER: the direct walk, the BER normaliser
// and the fallback parser must not panic, and certificates read must come
// back unchanged through EncodePKCS7.
func FuzzPKCS7(f *testing.F) {
	_, p7 := seedGenerated(f)
	f.Add(p7)
	for _, name := range []string{"letsencrypt_trustid_x3_root.p7b"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newReader(ptr(fuzzOptions.withDefaults()))
		if err := r.readPKCS7(data, FormatDER, "PKCS#7"); err != nil || len(r.c.Certificates) == 0 {
			return
		}
		out, err := EncodePKCS7(r.c.Certificates)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Read(out, nil)
		if err != nil || len(back.Certificates) != len(r.c.Certificates) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzJKS mutates JKS stores: length fields must be checked before the
// JKS library allocates.
func FuzzJKS(f *testing.F) {
	f.Add([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 0})
	f.Add([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'X', '.', '5', '0', '9', 0, 0, 0, 1, 0x30})
	f.Fuzz(func(t *testing.T, data []byte) {
		data = append([]byte{0xfe, 0xed, 0xfe, 0xed}, data...)
		Read(data, &ReadOptions{Password: "changeit"})
	})
}

func ptr[T any](v T) *T { return &v }

// FuzzDecodePEM checks that pemDecoder returns exactly what pem.Decode
// returns, block after block, and that the bytes of earlier blocks stay
// as they were while later blocks are decoded into the same buffers.
func FuzzDecodePEM(f *testing.F) {
	certsPEM, p7 := seedGenerated(f)
	f.Add(certsPEM)
	f.Add(bytes.ReplaceAll(certsPEM, []byte("\n"), []byte("\r\n")))
	f.Add(bytes.ReplaceAll(certsPEM, []byte("\n"), []byte(" \t\n")))
	f.Add(append([]byte("text before\n"), pemOf("PKCS7", p7)...))
	f.Add([]byte("-----BEGIN X-----\n-----END X-----\n"))
	f.Add([]byte("-----BEGIN X-----\nAAAA\n-----END Y-----\n-----END X-----"))
	f.Add([]byte("-----BEGIN X-----\nA: b\n\nAAAA\n-----END X-----\n"))
	for _, name := range []string{"pyca_chain_with_garbage.pem", "certigo_ec_params.key"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("------BEGIN X-----\n--BEGIN -----BEGIN -----BEGIN Y"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := countPEMBegins(data), bytes.Count(data, pemBegin); got != want {
			t.Fatalf("countPEMBegins %d, bytes.Count %d", got, want)
		}
		var d pemDecoder
		var got, want [][]byte
		for rest1, rest2 := data, data; ; {
			var b1, b2 *pem.Block
			b1, rest1 = d.next(rest1)
			b2, rest2 = pem.Decode(rest2)
			if (b1 == nil) != (b2 == nil) || !bytes.Equal(rest1, rest2) {
				t.Fatalf("pemDecoder %v rest %q; pem.Decode %v rest %q", b1, rest1, b2, rest2)
			}
			if b1 == nil {
				break
			}
			headers := b1.Headers
			if b1 == &d.block {
				// The fast path leaves Headers nil where pem.Decode
				// makes an empty map.
				if headers != nil {
					t.Fatal("fast path with headers")
				}
				headers = map[string]string{}
			}
			if b1.Type != b2.Type || !bytes.Equal(b1.Bytes, b2.Bytes) || !reflect.DeepEqual(headers, b2.Headers) {
				t.Fatalf("pemDecoder %+v; pem.Decode %+v", b1, b2)
			}
			if len(b1.Bytes) > 0 && cap(b1.Bytes) != len(b1.Bytes) && b1 == &d.block {
				t.Fatal("fast-path block can grow into the next one")
			}
			got, want = append(got, b1.Bytes), append(want, b2.Bytes)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("block %d changed after later blocks were decoded", i+1)
			}
		}
	})
}
