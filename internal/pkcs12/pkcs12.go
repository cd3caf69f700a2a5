package pkcs12

import (
	"crypto"
	"crypto/x509"
	"errors"

	"github.com/certwright/certwright/internal/ber"
)

// Default bounds used when the corresponding Options field is zero.
const (
	// DefaultMaxIterations caps the iteration count of any single key
	// derivation (PKCS#12 KDF or PBKDF2). Real files use 1 to 600,000
	// (OpenSSL 2048, Java 10,000 to 50,000, Windows 2000, OWASP-minded
	// tools 600,000); 2,097,152 leaves room while keeping one derivation
	// well under a second.
	DefaultMaxIterations = 1 << 21
	// DefaultMaxTotalIterations caps the sum of the iteration counts of all
	// derivations done while reading one file (the MAC, each encrypted safe,
	// each shrouded key, and the retries for an empty password). It bounds
	// the work of a file that repeats an expensive bag many times.
	DefaultMaxTotalIterations = 1 << 24
	// DefaultMaxBags caps the number of SafeBags, counted over all safes,
	// nested ones included.
	DefaultMaxBags = 10000
	// MaxSafeNesting caps how deeply safeContentsBags may nest inside each
	// other. Real files do not nest them at all.
	MaxSafeNesting = 8
	// MaxRSABits is the largest RSA modulus accepted, in bits.
	MaxRSABits = 8192
	// minPBMAC1KeyLen is the shortest PBMAC1 HMAC key accepted (RFC 9579
	// section 6 recommends rejecting shorter keys; a 1-byte key lets a MAC
	// made under one password verify under many others).
	minPBMAC1KeyLen = 20
)

// Options bounds the work Decode does on untrusted input. The zero value is
// a safe default for files of any origin.
type Options struct {
	// MaxIterations caps the iteration count of every key derivation (MAC,
	// PBES1, PBES2/PBKDF2, PBMAC1). It is checked before any derivation
	// starts, so a file declaring 10^9 iterations is refused at once with
	// ErrTooManyIterations. 0 means DefaultMaxIterations.
	MaxIterations int
	// MaxTotalIterations caps the sum of all iteration counts derived for
	// one file. 0 means DefaultMaxTotalIterations.
	MaxTotalIterations int
	// MaxDepth is the ASN.1 nesting bound passed to internal/ber at each
	// level. 0 means ber.DefaultMaxDepth.
	MaxDepth int
	// MaxBags caps the number of SafeBags. 0 means DefaultMaxBags.
	MaxBags int
}

func (o Options) withDefaults() Options {
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	if o.MaxTotalIterations <= 0 {
		o.MaxTotalIterations = DefaultMaxTotalIterations
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = ber.DefaultMaxDepth
	}
	if o.MaxBags <= 0 {
		o.MaxBags = DefaultMaxBags
	}
	return o
}

// KeyEntry is one private key found in a keyBag or pkcs8ShroudedKeyBag.
type KeyEntry struct {
	// Key is *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or
	// *ecdh.PrivateKey (X25519), as x509.ParsePKCS8PrivateKey returns.
	Key crypto.PrivateKey
	// FriendlyName is the bag's friendlyName attribute (PKCS#9), decoded
	// from its BMPString exactly, a trailing NUL that some Windows tools
	// write included; empty when absent.
	FriendlyName string
	// LocalKeyID is the bag's localKeyId attribute; nil when absent. Writers
	// set the same value on a key and its certificate, but readers must not
	// rely on it: pair by public key.
	LocalKeyID []byte
}

// CertEntry is one X.509 certificate found in a certBag.
type CertEntry struct {
	Cert *x509.Certificate
	// FriendlyName and LocalKeyID are as in KeyEntry.
	FriendlyName string
	LocalKeyID   []byte
	// Trusted reports Java's trusted-certificate attribute
	// (2.16.840.1.113894.746875.1.1), which keytool sets on the entries of a
	// trust store.
	Trusted bool
}

// Contents is everything Decode found in a PKCS#12 file, in file order.
// Keys and certificates are not paired: callers pair them by public key.
type Contents struct {
	Keys  []KeyEntry
	Certs []CertEntry
	// MACAlgorithm names the integrity protection: "HMAC-SHA1",
	// "HMAC-SHA256", ..., "PBMAC1/PBKDF2-HMAC-SHA256/HMAC-SHA256", or "none"
	// for a file without MAC.
	MACAlgorithm string
	// Encryption lists the distinct privacy schemes met, in order:
	// "pbeWithSHAAnd3-KeyTripleDES-CBC", "pbeWithSHAAnd40BitRC2-CBC",
	// "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC", ..., and "none" when a key or
	// certificate was stored without encryption.
	Encryption []string
	// Iterations is the highest iteration count of any key derivation the
	// file declares (MAC included); 0 when nothing is password-based.
	Iterations int
	// BER reports that some level of the file was not DER (indefinite
	// lengths, constructed strings, non-minimal lengths), as EJBCA, macOS
	// and Java write.
	BER bool
	// Unparsed holds the certificate bags whose certificate crypto/x509
	// rejects (negative serial numbers, malformed extensions, DSA
	// parameters inherited from the issuer); they are not in Certs.
	Unparsed []UnparsedCert
	// Notes says what was skipped and why (CRL and secret bags, unknown
	// bag types, trailing bytes), without secrets.
	Notes []string
}

// UnparsedCert is a certificate bag whose contents crypto/x509 rejects.
type UnparsedCert struct {
	// Raw is the bag's certificate encoding, as stored.
	Raw []byte
	// FriendlyName and LocalKeyID are as in KeyEntry.
	FriendlyName string
	LocalKeyID   []byte
	// Err is the error of x509.ParseCertificate.
	Err error
}

var (
	// ErrIncorrectPassword means the MAC does not verify under the given
	// password or, for a file without MAC, that decryption produced bad
	// padding or garbage.
	ErrIncorrectPassword = errors.New("pkcs12: incorrect password")
	// ErrTooManyIterations means a key derivation declares more iterations
	// than Options.MaxIterations, or the file's derivations together exceed
	// Options.MaxTotalIterations. No derivation was started for it.
	ErrTooManyIterations = errors.New("pkcs12: too many KDF iterations")
	// ErrTooManyBags means the file holds more than Options.MaxBags bags or
	// nests safeContentsBags more than MaxSafeNesting deep.
	ErrTooManyBags = errors.New("pkcs12: too many bags")
	// ErrKeyTooLarge means an RSA key exceeds MaxRSABits.
	ErrKeyTooLarge = errors.New("pkcs12: key too large")
	// ErrUnsupported means a well-formed file uses something this package
	// does not implement: public-key integrity or privacy modes, DSA keys,
	// unknown algorithms or curves.
	ErrUnsupported = errors.New("pkcs12: unsupported")
	// ErrMalformed means the input is not a valid PKCS#12 structure. Errors
	// from the nesting bound also match ber.ErrTooDeep.
	ErrMalformed = errors.New("pkcs12: malformed")
)
