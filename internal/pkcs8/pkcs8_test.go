package pkcs8

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

const testPass = "certwright-test"

func readPEM(t testing.TB, name, wantType string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != wantType {
		t.Fatalf("%s: no %q PEM block", name, wantType)
	}
	return b.Bytes
}

func newKeyDER(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestDecryptOpenSSL reads every encrypted key OpenSSL wrote into testdata
// and checks it decrypts to the same PrivateKeyInfo as the plain file.
func TestDecryptOpenSSL(t *testing.T) {
	p256 := readPEM(t, "p256.pem", "PRIVATE KEY")
	rsa := readPEM(t, "rsa2048.pem", "PRIVATE KEY")
	tests := []struct {
		file, pass string
		plain      []byte
		want       string // Params.String()
	}{
		{"p256_aes256_sha256.pem", testPass, p256, "PBES2 pbkdf2/hmacWithSHA256 2048 iterations aes-256-cbc"},
		{"p256_aes256_sha1.pem", testPass, p256, "PBES2 pbkdf2/hmacWithSHA1 2048 iterations aes-256-cbc"},
		{"p256_aes128_sha512.pem", testPass, p256, "PBES2 pbkdf2/hmacWithSHA512 2048 iterations aes-128-cbc"},
		{"p256_aes192_sha384.pem", testPass, p256, "PBES2 pbkdf2/hmacWithSHA384 2048 iterations aes-192-cbc"},
		{"p256_des3_sha256.pem", testPass, p256, "PBES2 pbkdf2/hmacWithSHA256 2048 iterations des-ede3-cbc"},
		{"p256_scrypt.pem", testPass, p256, "PBES2 scrypt N=16384 r=8 p=1 aes-256-cbc"},
		{"p256_pkey_aes256.pem", testPass, p256, "PBES2 pbkdf2/hmacWithSHA256 2048 iterations aes-256-cbc"},
		{"p256_aes256_unicode.pem", "Hello, 世界", p256, "PBES2 pbkdf2/hmacWithSHA256 2048 iterations aes-256-cbc"},
		{"rsa2048_aes256_sha256_100k.pem", testPass, rsa, "PBES2 pbkdf2/hmacWithSHA256 100000 iterations aes-256-cbc"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			der := readPEM(t, tt.file, PEMType)
			if !IsEncrypted(der) || IsEncrypted(tt.plain) {
				t.Errorf("IsEncrypted is wrong for %s or its plain key", tt.file)
			}
			p, err := Describe(der)
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tt.want {
				t.Errorf("Describe = %q, want %q", p, tt.want)
			}
			got, err := Decrypt(der, []byte(tt.pass))
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Fatal("decrypted key differs from the plain file")
			}
			if _, err := x509.ParsePKCS8PrivateKey(got); err != nil {
				t.Fatal(err)
			}
			if p.Iterations > 10000 || p.KDF == "scrypt" {
				return // the wrong passphrase is tested on the cheaper files
			}
			if _, err := Decrypt(der, []byte(tt.pass+"x")); !errors.Is(err, ErrIncorrectPassphrase) {
				t.Fatalf("wrong passphrase: err = %v, want ErrIncorrectPassphrase", err)
			}
		})
	}
}

func TestDecryptPBES1Unsupported(t *testing.T) {
	der := readPEM(t, "p256_pbes1_sha1_3des.pem", PEMType)
	_, err := Decrypt(der, []byte(testPass))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "openssl pkcs8 -topk8 -v2 aes-256-cbc") {
		t.Errorf("error does not say the way out: %v", err)
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	plain := newKeyDER(t)
	tests := []struct {
		name string
		opts *Options
		want string
	}{
		{"pbkdf2", &Options{Iterations: 1000}, "PBES2 pbkdf2/hmacWithSHA256 1000 iterations aes-256-cbc"},
		{"scrypt", &Options{KDF: KDFScrypt, ScryptLogN: 10}, "PBES2 scrypt N=1024 r=8 p=1 aes-256-cbc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encrypt(plain, []byte("s3cret"), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Describe(enc)
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tt.want || p.SaltLen != 16 {
				t.Errorf("Describe = %q (salt %d), want %q (salt 16)", p, p.SaltLen, tt.want)
			}
			got, err := Decrypt(enc, []byte("s3cret"))
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("Decrypt = %v; equal %v", err, bytes.Equal(got, plain))
			}
			enc2, err := Encrypt(plain, []byte("s3cret"), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(enc, enc2) {
				t.Error("two encryptions are identical: salt and IV are not random")
			}
		})
	}
}

// TestEncryptDefaults checks the zero Options: 600,000 iterations of
// PBKDF2-HMAC-SHA256 and AES-256-CBC, which `openssl pkey` decrypts. (One
// full-cost derivation in Go and one in openssl; Decrypt of the same scheme
// is covered by TestWeReadOpenSSLLive and TestDecryptOpenSSL.)
func TestEncryptDefaults(t *testing.T) {
	plain := readPEM(t, "p256.pem", "PRIVATE KEY")
	enc, err := Encrypt(plain, []byte("pass phrase ü"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Describe(enc)
	if err != nil {
		t.Fatal(err)
	}
	if p.KDF != "pbkdf2" || p.PRF != "hmacWithSHA256" || p.Iterations != DefaultIterations || p.Cipher != "aes-256-cbc" || p.SaltLen != 16 {
		t.Fatalf("defaults = %s", p)
	}
	t.Run("openssl", func(t *testing.T) { opensslReads(t, enc, plain, false) })
}

// opensslReads checks that `openssl pkey` decrypts enc (passphrase
// "pass phrase ü") to the key plain and, with checkWrong, refuses a wrong
// passphrase.
func opensslReads(t *testing.T, enc, plain []byte, checkWrong bool) {
	openssl := testtool.Require(t, "openssl")
	f := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: PEMType, Bytes: enc}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "pkey", "-in", f, "-passin", "pass:pass phrase ü").Output()
	if err != nil {
		t.Fatalf("openssl pkey: %v", err)
	}
	b, _ := pem.Decode(out)
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("openssl pkey printed no PRIVATE KEY block:\n%s", out)
	}
	if !sameKey(t, b.Bytes, plain) {
		t.Fatal("openssl decrypted a different key")
	}
	if checkWrong && exec.Command(openssl, "pkey", "-in", f, "-passin", "pass:wrong").Run() == nil {
		t.Fatal("openssl accepted a wrong passphrase")
	}
}

// TestWrongPassphraseAlwaysDetected tries many wrong passphrases: each must
// give ErrIncorrectPassphrase, never a key and never another error, even
// when the padding happens to look valid.
func TestWrongPassphraseAlwaysDetected(t *testing.T) {
	plain := newKeyDER(t)
	enc, err := Encrypt(plain, []byte("right"), &Options{Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		_, err := Decrypt(enc, fmt.Appendf(nil, "wrong-%d", i))
		if !errors.Is(err, ErrIncorrectPassphrase) {
			t.Fatalf("passphrase %d: err = %v, want ErrIncorrectPassphrase", i, err)
		}
		if strings.Contains(err.Error(), "wrong-") {
			t.Fatal("the error shows the passphrase")
		}
	}
}

func TestEncryptRefusesNonKey(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), {0x30, 0x00}} {
		if _, err := Encrypt(in, []byte("pw"), &Options{Iterations: 1}); !errors.Is(err, ErrMalformed) {
			t.Errorf("Encrypt(%x) err = %v, want ErrMalformed", in, err)
		}
	}
	if _, err := Encrypt(newKeyDER(t), []byte("pw"), &Options{Iterations: DefaultMaxIterations + 1}); err == nil {
		t.Error("Encrypt accepted more iterations than Decrypt reads")
	}
	if _, err := Encrypt(newKeyDER(t), []byte("pw"), &Options{KDF: KDFScrypt, ScryptLogN: 22}); err == nil {
		t.Error("Encrypt accepted scrypt parameters above the memory limit")
	}
}

// craft builds an EncryptedPrivateKeyInfo with arbitrary KDF parameters.
func craft(t testing.TB, kdf pkix.AlgorithmIdentifier, ct []byte) []byte {
	t.Helper()
	iv, _ := asn1.Marshal(make([]byte, 16))
	pb, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: kdf,
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: iv}},
	})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algo:          pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: pb}},
		EncryptedData: ct,
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pbkdf2Algo(t testing.TB, iter int) pkix.AlgorithmIdentifier {
	p, err := asn1.Marshal(pbkdf2Params{Salt: octetString([]byte("saltsalt")), IterationCount: iter})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: p}}
}

func scryptAlgo(t testing.TB, n, r, p int) pkix.AlgorithmIdentifier {
	b, err := asn1.Marshal(scryptParams{Salt: []byte("saltsalt"), CostParameter: n, BlockSize: r, Parallelization: p})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.AlgorithmIdentifier{Algorithm: oidScrypt, Parameters: asn1.RawValue{FullBytes: b}}
}

// TestLimits checks that absurd costs are refused before any derivation (a
// derivation with these parameters would not finish within the test
// timeout, or would need terabytes).
func TestLimits(t *testing.T) {
	ct := make([]byte, 32)
	tests := []struct {
		name string
		der  []byte
		lim  *Limits
		want error
	}{
		{"pbkdf2 2^31-1", craft(t, pbkdf2Algo(t, 1<<31-1), ct), nil, ErrTooExpensive},
		{"pbkdf2 above default cap", craft(t, pbkdf2Algo(t, DefaultMaxIterations+1), ct), nil, ErrTooExpensive},
		{"pbkdf2 above own cap", craft(t, pbkdf2Algo(t, 2049), ct), &Limits{MaxIterations: 2048}, ErrTooExpensive},
		{"pbkdf2 zero", craft(t, pbkdf2Algo(t, 0), ct), nil, ErrMalformed},
		{"pbkdf2 negative", craft(t, pbkdf2Algo(t, -5), ct), nil, ErrMalformed},
		{"scrypt 2^30", craft(t, scryptAlgo(t, 1<<30, 8, 1), ct), nil, ErrTooExpensive},
		{"scrypt huge p", craft(t, scryptAlgo(t, 1024, 8, 1<<30), ct), nil, ErrTooExpensive},
		{"scrypt overflow", craft(t, scryptAlgo(t, 1<<40, 1<<20, 1<<20), ct), nil, ErrTooExpensive},
		{"scrypt N not power of two", craft(t, scryptAlgo(t, 1000, 8, 1), ct), nil, ErrMalformed},
		{"scrypt above own cap", craft(t, scryptAlgo(t, 1024, 8, 1), ct), &Limits{MaxScryptMemory: 1<<20 - 1}, ErrTooExpensive},
		{"empty ciphertext", craft(t, pbkdf2Algo(t, 1), nil), nil, ErrMalformed},
		{"partial block", craft(t, pbkdf2Algo(t, 1), make([]byte, 17)), nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecryptWithLimits(tt.der, []byte("pw"), tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Within its own limit the same scrypt input is derived and then
	// rejected as a wrong passphrase (the ciphertext is zeros).
	_, err := DecryptWithLimits(craft(t, scryptAlgo(t, 1024, 8, 1), ct), []byte("pw"), &Limits{MaxScryptMemory: 1 << 20})
	if !errors.Is(err, ErrIncorrectPassphrase) {
		t.Fatalf("err = %v, want ErrIncorrectPassphrase", err)
	}
}

func TestDecryptMalformed(t *testing.T) {
	good := readPEM(t, "p256_aes256_sha256.pem", PEMType)
	for i, in := range [][]byte{
		nil,
		{0x30, 0x00},
		append(append([]byte{}, good...), 0),
		good[:len(good)-1],
		readPEM(t, "p256.pem", "PRIVATE KEY"),
	} {
		_, err := Decrypt(in, []byte(testPass))
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("input %d: err = %v, want ErrMalformed or ErrUnsupported", i, err)
		}
	}
}

// TestOpenSSLReadsOurs proves `openssl pkey` decrypts what Encrypt writes
// with scrypt (TestEncryptDefaults covers PBKDF2 at the default cost).
func TestOpenSSLReadsOurs(t *testing.T) {
	plain := readPEM(t, "p256.pem", "PRIVATE KEY")
	for _, tt := range []struct {
		name string
		opts *Options
	}{
		{"pbkdf2-sha256-10000", &Options{Iterations: 10000}},
		{"scrypt-default", &Options{KDF: KDFScrypt}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encrypt(plain, []byte("pass phrase ü"), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			opensslReads(t, enc, plain, true)
		})
	}
}

// TestWeReadOpenSSLLive has the installed openssl encrypt a fresh key with
// the options a user would type, and decrypts it.
func TestWeReadOpenSSLLive(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	plain := newKeyDER(t)
	in := filepath.Join(dir, "plain.pem")
	if err := os.WriteFile(in, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: plain}), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{
		{"pkcs8", "-topk8", "-v2", "aes-256-cbc"},
		{"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-iter", "100000"},
		{"pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
		{"pkcs8", "-topk8", "-scrypt"},
	} {
		out := filepath.Join(dir, fmt.Sprintf("enc%d.pem", i))
		cmd := exec.Command(openssl, append(args, "-in", in, "-passout", "pass:live pass", "-out", out)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
		der := readPEMPath(t, out)
		got, err := Decrypt(der, []byte("live pass"))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%v: Decrypt: %v", args, err)
		}
	}
}

// sameKey reports whether two PrivateKeyInfo encodings hold the same key
// (OpenSSL may re-encode optional fields).
func sameKey(t testing.TB, a, b []byte) bool {
	t.Helper()
	ka, err := x509.ParsePKCS8PrivateKey(a)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return ka.(interface{ Equal(crypto.PrivateKey) bool }).Equal(kb)
}

func readPEMPath(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != PEMType {
		t.Fatalf("%s: no %s block", path, PEMType)
	}
	return b.Bytes
}

// FuzzDecrypt feeds arbitrary bytes to Decrypt with small limits: no panic,
// and a success must yield a PrivateKeyInfo that re-encrypts and decrypts
// to itself.
func FuzzDecrypt(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pem"))
	for _, name := range files {
		data, _ := os.ReadFile(name)
		if b, _ := pem.Decode(data); b != nil {
			f.Add(b.Bytes, testPass)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte, pass string) {
		if len(der) > 1<<16 {
			return
		}
		lim := &Limits{MaxIterations: 4096, MaxScryptMemory: 16 << 20}
		pt, err := DecryptWithLimits(der, []byte(pass), lim)
		if err != nil {
			if !errors.Is(err, ErrIncorrectPassphrase) && !errors.Is(err, ErrMalformed) &&
				!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooExpensive) &&
				!strings.HasPrefix(err.Error(), "pkcs8: deriving") {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		enc, err := Encrypt(pt, []byte(pass), &Options{Iterations: 1})
		if err != nil {
			t.Fatalf("re-encrypting a decrypted key: %v", err)
		}
		back, err := Decrypt(enc, []byte(pass))
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// BenchmarkDecrypt compares our decryption of an OpenSSL-written key (100k
// iterations, RSA 2048) with `openssl pkey` doing the same, per operation
// (the openssl figure includes process start-up).
func BenchmarkDecrypt(b *testing.B) {
	der := readPEM(b, "rsa2048_aes256_sha256_100k.pem", PEMType)
	b.Run("pkcs8", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decrypt(der, []byte(testPass)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("openssl-pkey", func(b *testing.B) {
		openssl := testtool.Require(b, "openssl")
		f := filepath.Join("testdata", "rsa2048_aes256_sha256_100k.pem")
		for b.Loop() {
			if err := exec.Command(openssl, "pkey", "-in", f, "-passin", "pass:"+testPass, "-out", os.DevNull).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
