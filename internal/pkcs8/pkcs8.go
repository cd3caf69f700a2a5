// Package pkcs8 encrypts and decrypts PKCS#8 private keys with a passphrase
// (EncryptedPrivateKeyInfo, RFC 5958, with PBES2 from RFC 8018), the format
// of PEM blocks labelled "ENCRYPTED PRIVATE KEY" that `openssl pkcs8 -topk8`
// and `openssl pkey -aes256` write and every TLS server reads.
//
// Encrypt writes PBES2 with PBKDF2-HMAC-SHA256 (600,000 iterations by
// default) or scrypt, and AES-256-CBC. Decrypt reads PBES2 with PBKDF2
// (HMAC-SHA1/224/256/384/512) or scrypt, and AES-128/192/256-CBC or
// DES-EDE3-CBC, which covers what OpenSSL 1.1 and 3 write. The legacy PBES1
// schemes (MD5/SHA-1 with DES or RC2, and the PKCS#12 PBE algorithms) are
// refused with ErrUnsupported.
//
// Only the encryption layer is handled here: Encrypt takes and Decrypt
// returns the DER of a PrivateKeyInfo, which x509.MarshalPKCS8PrivateKey
// makes and x509.ParsePKCS8PrivateKey reads.
//
// # Security
//
// The key derivation cost comes from the input, so Decrypt checks it
// against Limits before deriving anything: by default at most
// DefaultMaxIterations PBKDF2 iterations and DefaultMaxScryptMemory bytes
// of scrypt memory. A wrong passphrase is detected by the CBC padding and
// then by the structure of the decrypted PrivateKeyInfo; it is reported as
// ErrIncorrectPassphrase, which cannot be told apart from ciphertext that
// was altered (CBC has no integrity check; PBES2 defines none). Passphrases
// never appear in errors.
package pkcs8

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/scrypt"
)

// PEMType is the PEM label of an EncryptedPrivateKeyInfo.
const PEMType = "ENCRYPTED PRIVATE KEY"

// Defaults used by Encrypt and Decrypt.
const (
	// DefaultIterations is the PBKDF2-HMAC-SHA256 iteration count Encrypt
	// uses when Options.Iterations is zero: the OWASP 2023 recommendation.
	DefaultIterations = 600_000
	// DefaultMaxIterations is the highest PBKDF2 iteration count Decrypt
	// accepts when Limits.MaxIterations is zero: about 16 times the default
	// (a few seconds of work), far above what any tool writes (OpenSSL
	// 2048, Windows 2000..10000, our default 600,000) and low enough that a
	// hostile file cannot stall a reader for minutes.
	DefaultMaxIterations = 10_000_000
	// DefaultScryptLogN, DefaultScryptR and DefaultScryptP are the scrypt
	// parameters Encrypt uses with KDFScrypt when Options leaves them zero:
	// N=2^14, r=8, p=1 (16 MiB), what `openssl pkcs8 -scrypt` writes. With
	// r=8, N=2^14 is also the largest cost OpenSSL 3 reads under its default
	// 32 MiB scrypt memory limit, so a higher ScryptLogN makes keys that
	// `openssl pkey` refuses.
	DefaultScryptLogN = 14
	DefaultScryptR    = 8
	DefaultScryptP    = 1
	// DefaultMaxScryptMemory is the largest scrypt working set (128*N*r*p
	// bytes) Decrypt accepts when Limits.MaxScryptMemory is zero: 256 MiB.
	DefaultMaxScryptMemory = 256 << 20
	// maxSaltLen bounds the salt Decrypt accepts; tools write 8 to 64 bytes.
	maxSaltLen = 1024
)

// Errors returned (wrapped) by Encrypt and Decrypt.
var (
	// ErrIncorrectPassphrase means the data decrypted to something that is
	// not a PKCS#8 private key: the passphrase is wrong (or the ciphertext
	// was altered).
	ErrIncorrectPassphrase = errors.New("pkcs8: incorrect passphrase")
	// ErrUnsupported means the data is an EncryptedPrivateKeyInfo whose
	// algorithm this package does not implement.
	ErrUnsupported = errors.New("pkcs8: unsupported encryption")
	// ErrMalformed means the data is not a well-formed
	// EncryptedPrivateKeyInfo (or, for Encrypt, not a PrivateKeyInfo).
	ErrMalformed = errors.New("pkcs8: malformed data")
	// ErrTooExpensive means the key derivation parameters exceed Limits.
	ErrTooExpensive = errors.New("pkcs8: key derivation parameters exceed the limit")
)

// KDF selects the key derivation function Encrypt uses.
type KDF int

const (
	// KDFPBKDF2 is PBKDF2 with HMAC-SHA256 (the default).
	KDFPBKDF2 KDF = iota
	// KDFScrypt is scrypt (RFC 7914), readable by OpenSSL 1.1 and later.
	KDFScrypt
)

// Options controls Encrypt. The zero value (and a nil pointer) means
// PBKDF2-HMAC-SHA256 with DefaultIterations, a 16-byte random salt,
// AES-256-CBC and crypto/rand.
type Options struct {
	// Rand is the source of the salt and IV; nil means crypto/rand.
	Rand io.Reader
	// KDF selects PBKDF2-HMAC-SHA256 (zero) or scrypt.
	KDF KDF
	// Iterations is the PBKDF2 iteration count; 0 means DefaultIterations.
	// Values above DefaultMaxIterations are refused, because Decrypt with
	// default limits could not read the result.
	Iterations int
	// ScryptLogN is log2 of the scrypt cost N; 0 means DefaultScryptLogN.
	ScryptLogN int
	// ScryptR and ScryptP are the scrypt block size and parallelisation;
	// 0 means DefaultScryptR and DefaultScryptP.
	ScryptR, ScryptP int
}

// Limits bounds the work Decrypt does for one input. The zero value (and a
// nil pointer) means DefaultMaxIterations and DefaultMaxScryptMemory.
type Limits struct {
	// MaxIterations is the largest PBKDF2 iteration count accepted.
	MaxIterations int
	// MaxScryptMemory is the largest scrypt working set, 128*N*r*p bytes.
	MaxScryptMemory int64
}

// Params describes the encryption of an EncryptedPrivateKeyInfo.
type Params struct {
	KDF        string // "pbkdf2" or "scrypt"
	PRF        string // PBKDF2 pseudo-random function, e.g. "hmacWithSHA256"
	Iterations int    // PBKDF2 iteration count
	ScryptN    int    // scrypt cost (a power of two)
	ScryptR    int    // scrypt block size
	ScryptP    int    // scrypt parallelisation
	Cipher     string // e.g. "aes-256-cbc"
	SaltLen    int    // salt length in bytes
}

// String returns a short description such as
// "PBES2 pbkdf2/hmacWithSHA256 600000 iterations aes-256-cbc".
func (p Params) String() string {
	if p.KDF == "scrypt" {
		return fmt.Sprintf("PBES2 scrypt N=%d r=%d p=%d %s", p.ScryptN, p.ScryptR, p.ScryptP, p.Cipher)
	}
	return fmt.Sprintf("PBES2 pbkdf2/%s %d iterations %s", p.PRF, p.Iterations, p.Cipher)
}

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}

	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}

	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}

	// PBES1 and PKCS#12 PBE prefixes, named in ErrUnsupported messages.
	oidPBES1Prefix  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5}
	oidPKCS12Prefix = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
)

type prf struct {
	oid  asn1.ObjectIdentifier
	name string
	new  func() hash.Hash
}

var prfs = []prf{
	{oidHMACSHA1, "hmacWithSHA1", sha1.New},
	{oidHMACSHA224, "hmacWithSHA224", sha256.New224},
	{oidHMACSHA256, "hmacWithSHA256", sha256.New},
	{oidHMACSHA384, "hmacWithSHA384", sha512.New384},
	{oidHMACSHA512, "hmacWithSHA512", sha512.New},
}

type cipherSpec struct {
	oid    asn1.ObjectIdentifier
	name   string
	keyLen int
	block  func(key []byte) (cipher.Block, error)
}

var ciphers = []cipherSpec{
	{oidAES128CBC, "aes-128-cbc", 16, aes.NewCipher},
	{oidAES192CBC, "aes-192-cbc", 24, aes.NewCipher},
	{oidAES256CBC, "aes-256-cbc", 32, aes.NewCipher},
	{oidDESEDE3CBC, "des-ede3-cbc", 24, des.NewTripleDESCipher},
}

// ASN.1 structures (RFC 5958 section 3, RFC 8018 appendix A, RFC 7914
// section 7).
type encryptedPrivateKeyInfo struct {
	Algo          pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           asn1.RawValue // CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier }
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

type scryptParams struct {
	Salt            []byte
	CostParameter   int
	BlockSize       int
	Parallelization int
	KeyLength       int `asn1:"optional"`
}

// Encrypt encrypts der, the DER of a PKCS#8 PrivateKeyInfo, with the
// passphrase and returns the DER of an EncryptedPrivateKeyInfo (to be PEM
// encoded with the label PEMType). opts may be nil. It refuses input that
// is not a PrivateKeyInfo, because Decrypt recognises a wrong passphrase by
// that structure.
func Encrypt(der, passphrase []byte, opts *Options) ([]byte, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := checkPrivateKeyInfo(der); err != nil {
		return nil, fmt.Errorf("%w: the input to encrypt is not a PKCS#8 PrivateKeyInfo", ErrMalformed)
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("pkcs8: reading random salt: %w", err)
	}
	if _, err := io.ReadFull(r, iv); err != nil {
		return nil, fmt.Errorf("pkcs8: reading random IV: %w", err)
	}

	var kdfAlgo pkix.AlgorithmIdentifier
	var key []byte
	switch o.KDF {
	case KDFPBKDF2:
		iter := o.Iterations
		if iter == 0 {
			iter = DefaultIterations
		}
		if iter < 1 || iter > DefaultMaxIterations {
			return nil, fmt.Errorf("pkcs8: %d PBKDF2 iterations is outside 1..%d", iter, DefaultMaxIterations)
		}
		params, err := asn1.Marshal(pbkdf2Params{
			Salt:           octetString(salt),
			IterationCount: iter,
			PRF:            pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue},
		})
		if err != nil {
			return nil, err
		}
		kdfAlgo = pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: params}}
		if key, err = pbkdf2.Key(sha256.New, string(passphrase), salt, iter, 32); err != nil {
			return nil, fmt.Errorf("pkcs8: deriving the key: %w", err)
		}
	case KDFScrypt:
		logN, rr, p := o.ScryptLogN, o.ScryptR, o.ScryptP
		if logN == 0 {
			logN = DefaultScryptLogN
		}
		if rr == 0 {
			rr = DefaultScryptR
		}
		if p == 0 {
			p = DefaultScryptP
		}
		if logN < 1 || logN > 30 || rr < 1 || p < 1 {
			return nil, fmt.Errorf("pkcs8: invalid scrypt parameters logN=%d r=%d p=%d", logN, rr, p)
		}
		n := 1 << logN
		if mem := scryptMemory(n, rr, p); mem < 0 || mem > DefaultMaxScryptMemory {
			return nil, fmt.Errorf("pkcs8: scrypt N=%d r=%d p=%d needs more than %d bytes, which Decrypt refuses by default", n, rr, p, DefaultMaxScryptMemory)
		}
		params, err := asn1.Marshal(scryptParams{Salt: salt, CostParameter: n, BlockSize: rr, Parallelization: p})
		if err != nil {
			return nil, err
		}
		kdfAlgo = pkix.AlgorithmIdentifier{Algorithm: oidScrypt, Parameters: asn1.RawValue{FullBytes: params}}
		if key, err = scrypt.Key(passphrase, salt, n, rr, p, 32); err != nil {
			return nil, fmt.Errorf("pkcs8: deriving the key: %w", err)
		}
	default:
		return nil, fmt.Errorf("pkcs8: unknown KDF %d", o.KDF)
	}

	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(der)%aes.BlockSize
	ct := make([]byte, len(der)+pad)
	copy(ct, der)
	for i := len(der); i < len(ct); i++ {
		ct[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)

	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	pbes2, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: kdfAlgo,
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encryptedPrivateKeyInfo{
		Algo:          pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: pbes2}},
		EncryptedData: ct,
	})
}

func octetString(b []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagOctetString, Bytes: b}
}

// scryptMemory returns 128*n*r*p, or -1 on overflow.
func scryptMemory(n, r, p int) int64 {
	const max = int64(1) << 62
	m := int64(128)
	for _, f := range []int{n, r, p} {
		if f <= 0 || m > max/int64(f) {
			return -1
		}
		m *= int64(f)
	}
	return m
}

// IsEncrypted reports whether der looks like an EncryptedPrivateKeyInfo
// (a SEQUENCE of an AlgorithmIdentifier and an OCTET STRING) rather than a
// plain PrivateKeyInfo. It does no key derivation.
func IsEncrypted(der []byte) bool {
	var info encryptedPrivateKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	return err == nil && len(rest) == 0
}

// parsed is an EncryptedPrivateKeyInfo with its parameters decoded and
// checked, ready for key derivation.
type parsed struct {
	params Params
	prf    *prf
	salt   []byte
	cipher *cipherSpec
	iv     []byte
	ct     []byte
}

// Describe decodes the encryption parameters of an EncryptedPrivateKeyInfo
// without deriving a key or checking them against limits.
func Describe(der []byte) (Params, error) {
	p, err := parse(der)
	if err != nil {
		return Params{}, err
	}
	return p.params, nil
}

func parse(der []byte) (*parsed, error) {
	var info encryptedPrivateKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil {
		return nil, fmt.Errorf("%w: not an EncryptedPrivateKeyInfo: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the EncryptedPrivateKeyInfo", ErrMalformed, len(rest))
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		a := info.Algo.Algorithm
		if hasPrefix(a, oidPBES1Prefix) || hasPrefix(a, oidPKCS12Prefix) {
			return nil, fmt.Errorf("%w: legacy password-based encryption %s; convert the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", ErrUnsupported, a)
		}
		return nil, fmt.Errorf("%w: encryption algorithm %s is not PBES2", ErrUnsupported, a)
	}
	var pb pbes2Params
	if rest, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &pb); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad PBES2 parameters", ErrMalformed)
	}
	p := &parsed{ct: info.EncryptedData}

	// Encryption scheme.
	for i := range ciphers {
		if pb.EncryptionScheme.Algorithm.Equal(ciphers[i].oid) {
			p.cipher = &ciphers[i]
		}
	}
	if p.cipher == nil {
		return nil, fmt.Errorf("%w: PBES2 cipher %s (supported: AES-128/192/256-CBC, DES-EDE3-CBC)", ErrUnsupported, pb.EncryptionScheme.Algorithm)
	}
	p.params.Cipher = p.cipher.name
	if rest, err := asn1.Unmarshal(pb.EncryptionScheme.Parameters.FullBytes, &p.iv); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad %s IV", ErrMalformed, p.cipher.name)
	}
	wantIV := aes.BlockSize
	if p.cipher.oid.Equal(oidDESEDE3CBC) {
		wantIV = des.BlockSize
	}
	if len(p.iv) != wantIV {
		return nil, fmt.Errorf("%w: %s IV is %d bytes, want %d", ErrMalformed, p.cipher.name, len(p.iv), wantIV)
	}
	if len(p.ct) == 0 || len(p.ct)%wantIV != 0 {
		return nil, fmt.Errorf("%w: encrypted data is %d bytes, not a positive multiple of the %d-byte block", ErrMalformed, len(p.ct), wantIV)
	}

	// Key derivation function.
	kdf := pb.KeyDerivationFunc
	switch {
	case kdf.Algorithm.Equal(oidPBKDF2):
		var kp pbkdf2Params
		if rest, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &kp); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("%w: bad PBKDF2 parameters", ErrMalformed)
		}
		if kp.Salt.Class != asn1.ClassUniversal || kp.Salt.Tag != asn1.TagOctetString || kp.Salt.IsCompound {
			return nil, fmt.Errorf("%w: PBKDF2 salt from another source (only a specified salt is supported)", ErrUnsupported)
		}
		p.salt = kp.Salt.Bytes
		p.params.KDF = "pbkdf2"
		p.params.Iterations = kp.IterationCount
		if kp.IterationCount < 1 {
			return nil, fmt.Errorf("%w: PBKDF2 iteration count %d", ErrMalformed, kp.IterationCount)
		}
		if kp.KeyLength != 0 && kp.KeyLength != p.cipher.keyLen {
			return nil, fmt.Errorf("%w: PBKDF2 key length %d does not fit %s", ErrMalformed, kp.KeyLength, p.cipher.name)
		}
		p.prf = &prfs[0] // DEFAULT algid-hmacWithSHA1
		if len(kp.PRF.Algorithm) != 0 {
			p.prf = nil
			for i := range prfs {
				if kp.PRF.Algorithm.Equal(prfs[i].oid) {
					p.prf = &prfs[i]
				}
			}
			if p.prf == nil {
				return nil, fmt.Errorf("%w: PBKDF2 pseudo-random function %s", ErrUnsupported, kp.PRF.Algorithm)
			}
		}
		p.params.PRF = p.prf.name
	case kdf.Algorithm.Equal(oidScrypt):
		var sp scryptParams
		if rest, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &sp); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("%w: bad scrypt parameters", ErrMalformed)
		}
		n := sp.CostParameter
		if n < 2 || n&(n-1) != 0 || sp.BlockSize < 1 || sp.Parallelization < 1 {
			return nil, fmt.Errorf("%w: scrypt parameters N=%d r=%d p=%d", ErrMalformed, n, sp.BlockSize, sp.Parallelization)
		}
		if sp.KeyLength != 0 && sp.KeyLength != p.cipher.keyLen {
			return nil, fmt.Errorf("%w: scrypt key length %d does not fit %s", ErrMalformed, sp.KeyLength, p.cipher.name)
		}
		p.salt = sp.Salt
		p.params.KDF = "scrypt"
		p.params.ScryptN, p.params.ScryptR, p.params.ScryptP = n, sp.BlockSize, sp.Parallelization
	default:
		return nil, fmt.Errorf("%w: PBES2 key derivation function %s (supported: PBKDF2, scrypt)", ErrUnsupported, kdf.Algorithm)
	}
	if len(p.salt) > maxSaltLen {
		return nil, fmt.Errorf("%w: %d-byte salt (at most %d)", ErrMalformed, len(p.salt), maxSaltLen)
	}
	p.params.SaltLen = len(p.salt)
	return p, nil
}

func hasPrefix(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) > len(prefix) && oid[:len(prefix)].Equal(prefix)
}

// Decrypt decrypts der, the DER of an EncryptedPrivateKeyInfo, with the
// passphrase and returns the DER of the PrivateKeyInfo inside, using the
// default Limits.
func Decrypt(der, passphrase []byte) ([]byte, error) {
	return DecryptWithLimits(der, passphrase, nil)
}

// DecryptWithLimits is Decrypt with explicit bounds on the key derivation
// work; lim may be nil for the defaults. Parameters beyond the limits are
// refused with ErrTooExpensive before any key is derived.
func DecryptWithLimits(der, passphrase []byte, lim *Limits) ([]byte, error) {
	maxIter, maxMem := DefaultMaxIterations, int64(DefaultMaxScryptMemory)
	if lim != nil {
		if lim.MaxIterations > 0 {
			maxIter = lim.MaxIterations
		}
		if lim.MaxScryptMemory > 0 {
			maxMem = lim.MaxScryptMemory
		}
	}
	p, err := parse(der)
	if err != nil {
		return nil, err
	}
	var key []byte
	switch p.params.KDF {
	case "pbkdf2":
		if p.params.Iterations > maxIter {
			return nil, fmt.Errorf("%w: %d PBKDF2 iterations (at most %d)", ErrTooExpensive, p.params.Iterations, maxIter)
		}
		key, err = pbkdf2.Key(p.prf.new, string(passphrase), p.salt, p.params.Iterations, p.cipher.keyLen)
	case "scrypt":
		mem := scryptMemory(p.params.ScryptN, p.params.ScryptR, p.params.ScryptP)
		if mem < 0 || mem > maxMem {
			return nil, fmt.Errorf("%w: scrypt N=%d r=%d p=%d needs more than %d bytes", ErrTooExpensive, p.params.ScryptN, p.params.ScryptR, p.params.ScryptP, maxMem)
		}
		key, err = scrypt.Key(passphrase, p.salt, p.params.ScryptN, p.params.ScryptR, p.params.ScryptP, p.cipher.keyLen)
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs8: deriving the key (%s): %w", p.params, err)
	}
	block, err := p.cipher.block(key)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(p.ct))
	cipher.NewCBCDecrypter(block, p.iv).CryptBlocks(pt, p.ct)
	bs := block.BlockSize()
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > bs || !bytes.Equal(pt[len(pt)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrIncorrectPassphrase
	}
	pt = pt[:len(pt)-pad]
	if checkPrivateKeyInfo(pt) != nil {
		return nil, ErrIncorrectPassphrase
	}
	return pt, nil
}

// checkPrivateKeyInfo checks the outline of a OneAsymmetricKey (RFC 5958):
// SEQUENCE { INTEGER version (0 or 1), AlgorithmIdentifier, OCTET STRING,
// optional tagged fields }, with nothing after it.
func checkPrivateKeyInfo(der []byte) error {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return ErrMalformed
	}
	var version int
	if rest, err = asn1.Unmarshal(seq.Bytes, &version); err != nil || (version != 0 && version != 1) {
		return ErrMalformed
	}
	var algo pkix.AlgorithmIdentifier
	if rest, err = asn1.Unmarshal(rest, &algo); err != nil || len(algo.Algorithm) == 0 {
		return ErrMalformed
	}
	var key []byte
	if rest, err = asn1.Unmarshal(rest, &key); err != nil {
		return ErrMalformed
	}
	// Optional [0] attributes and [1] public key.
	for len(rest) > 0 {
		var f asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &f); err != nil || f.Class != asn1.ClassContextSpecific {
			return ErrMalformed
		}
	}
	return nil
}
