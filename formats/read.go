package formats

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/certwright/certwright/internal/ber"
)

// Default bounds used when the matching ReadOptions field is zero.
const (
	DefaultMaxSize         = 16 << 20 // bytes of input
	DefaultMaxPEMBlocks    = 10000
	DefaultMaxCertificates = 10000
	DefaultMaxDepth        = ber.DefaultMaxDepth
	DefaultMaxIterations   = 1 << 21 // PBKDF2 / PKCS#12 KDF iterations of one derivation
	DefaultMaxRSABits      = 8192
	// DefaultMaxTotalIterations bounds the key derivation iterations of
	// all encrypted items of one input together (several encrypted keys,
	// several PKCS#12 files back to back).
	DefaultMaxTotalIterations = 1 << 24
)

var (
	// ErrIncorrectPassword reports an encrypted input (PKCS#12, JKS,
	// encrypted PKCS#8, legacy encrypted PEM) that the given password does
	// not open, including the case where no password was given. Corrupt data
	// is reported differently.
	ErrIncorrectPassword = errors.New("incorrect password")
	// ErrUnrecognized reports input that is none of the supported formats.
	ErrUnrecognized = errors.New("unrecognized format")
	// ErrLimit reports input that exceeds one of the ReadOptions bounds
	// (size, PEM blocks, certificates, nesting depth, iterations, RSA size).
	ErrLimit = errors.New("limit exceeded")
	// ErrEmpty reports input in a known format that holds no certificate,
	// private key or certificate request (for example only a CRL).
	ErrEmpty = errors.New("no certificates, keys or requests found")
	// ErrUnsupported reports a recognised format or algorithm this package
	// does not read (JCEKS, PKCS#7 enveloped data, DSA keys...).
	ErrUnsupported = errors.New("unsupported")
)

// ReadOptions controls Read and ReadFile. The zero value reads unencrypted
// input with the default bounds.
type ReadOptions struct {
	// Password opens PKCS#12 files, JKS stores, encrypted PKCS#8 keys and
	// legacy encrypted PEM keys. Empty means no password (PKCS#12 files
	// protected with an empty password still open).
	Password string
	// KeyPassword opens the private key entries of a JKS store when they
	// are protected by a password different from the store password.
	// Empty means Password.
	KeyPassword string

	// MaxSize bounds the input in bytes; 0 means DefaultMaxSize.
	MaxSize int64
	// MaxPEMBlocks bounds the number of PEM blocks; 0 means
	// DefaultMaxPEMBlocks.
	MaxPEMBlocks int
	// MaxCertificates bounds the number of certificates read from all
	// containers together, and also the entries of a JKS store and the
	// bags of a PKCS#12 file; 0 means DefaultMaxCertificates.
	MaxCertificates int
	// MaxDepth bounds ASN.1 nesting before PKCS#7 and PKCS#12 parsing;
	// 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxIterations bounds the key derivation iterations a PKCS#12 file
	// or an encrypted PKCS#8 key may declare; input declaring more is
	// refused before any derivation work. 0 means DefaultMaxIterations.
	MaxIterations int
	// MaxTotalIterations bounds the sum of the key derivation iterations
	// (scrypt counts N*r*p) over all encrypted items of the input; 0 means
	// DefaultMaxTotalIterations.
	MaxTotalIterations int
	// MaxRSABits bounds the size of RSA keys, both private keys and the
	// public keys of certificates and requests; 0 means DefaultMaxRSABits.
	// Larger keys make every later signature check slow. Private keys
	// inside PKCS#12 files are also held to internal/pkcs12's fixed bound
	// of 8192 bits, whatever this field says.
	MaxRSABits int
}

func (o *ReadOptions) withDefaults() ReadOptions {
	var r ReadOptions
	if o != nil {
		r = *o
	}
	if r.MaxSize <= 0 {
		r.MaxSize = DefaultMaxSize
	}
	if r.MaxPEMBlocks <= 0 {
		r.MaxPEMBlocks = DefaultMaxPEMBlocks
	}
	if r.MaxCertificates <= 0 {
		r.MaxCertificates = DefaultMaxCertificates
	}
	if r.MaxDepth <= 0 {
		r.MaxDepth = DefaultMaxDepth
	}
	if r.MaxIterations <= 0 {
		r.MaxIterations = DefaultMaxIterations
	}
	if r.MaxTotalIterations <= 0 {
		r.MaxTotalIterations = DefaultMaxTotalIterations
	}
	if r.MaxRSABits <= 0 {
		r.MaxRSABits = DefaultMaxRSABits
	}
	if r.KeyPassword == "" {
		r.KeyPassword = r.Password
	}
	return r
}

// Format names used in Contents.Formats and CertInfo.Format.
const (
	FormatPEM    = "pem"
	FormatDER    = "der"
	FormatBase64 = "base64"
	FormatPKCS7  = "pkcs7"
	FormatPKCS12 = "pkcs12"
	FormatJKS    = "jks"
)

// Contents is everything Read found in one input.
type Contents struct {
	// Formats lists the detected formats in the order found, each once:
	// the outer encoding ("pem", "der", "base64") and the containers
	// inside it ("pkcs7", "pkcs12", "jks").
	Formats []string
	// Certificates are all certificates, duplicates removed, in input
	// order.
	Certificates []*x509.Certificate
	// Keys are all private keys, duplicates removed, in input order.
	Keys []crypto.Signer
	// CSRs are all certificate requests, in input order.
	CSRs []*x509.CertificateRequest
	// Notes say what was skipped or worth knowing, and why (unknown PEM
	// blocks, duplicates, weak encryption, aux trust data...).
	Notes []string

	// CertInfo describes Certificates[i] at index i.
	CertInfo []CertInfo
	// KeyInfo describes Keys[i] at index i.
	KeyInfo []KeyInfo
	// Pairs lists each private key with the certificates that carry its
	// public key, matched by public key (never by position).
	Pairs []Pair
	// Unparsed lists the certificates found in the input that
	// x509.ParseCertificate rejects, with where each was and why. They
	// are not in Certificates (nor in Pairs); Notes mention each one.
	// Read still fails with the parse error when such a certificate is
	// all the input holds.
	Unparsed []UnparsedCert
}

// CertInfo is where a certificate came from and what its container said
// about it.
type CertInfo struct {
	// Source says where in the input the certificate was, e.g.
	// "PEM block 2 (CERTIFICATE)", "PKCS#7 certificate 3",
	// "PKCS#12 bag 1", `JKS entry "alias"`.
	Source string
	// Format is the innermost format that held it ("pem", "der",
	// "base64", "pkcs7", "pkcs12", "jks").
	Format string
	// FriendlyName is the PKCS#12 friendly name, the JKS alias or the
	// OpenSSL aux alias, when present.
	FriendlyName string
	// LocalKeyID is the PKCS#12 local key ID (or OpenSSL aux key ID).
	LocalKeyID []byte
	// Trusted reports a certificate marked as a trust anchor: a PKCS#12
	// trusted-certificate bag, a JKS trusted certificate entry, or a PEM
	// TRUSTED CERTIFICATE with trust settings.
	Trusted bool
}

// KeyInfo is where a private key came from.
type KeyInfo struct {
	// Source says where in the input the key was.
	Source string
	// Format is the innermost format that held it.
	Format string
	// Encoding is "pkcs8", "pkcs1", "sec1" or "jks".
	Encoding string
	// Encrypted names the protection the key had ("" when none), e.g.
	// "PBES2 AES-256-CBC", "legacy PEM DES-EDE3-CBC".
	Encrypted string
	// FriendlyName is the PKCS#12 friendly name or JKS alias.
	FriendlyName string
	// LocalKeyID is the PKCS#12 local key ID.
	LocalKeyID []byte
}

// Pair is a private key and a certificate for its public key.
type Pair struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
	KeyIndex    int // index in Contents.Keys
	CertIndex   int // index in Contents.Certificates
}

// Format returns the single most telling format name: the container
// ("pkcs12", "jks", "pkcs7") when there is one, otherwise the outer
// encoding ("pem", "der", "base64").
func (c *Contents) Format() string {
	for _, want := range []string{FormatPKCS12, FormatJKS, FormatPKCS7} {
		for _, f := range c.Formats {
			if f == want {
				return f
			}
		}
	}
	if len(c.Formats) > 0 {
		return c.Formats[0]
	}
	return ""
}

// CertificateFor returns the first certificate whose public key is the
// public key of key, or nil.
func (c *Contents) CertificateFor(key crypto.Signer) *x509.Certificate {
	for _, p := range c.Pairs {
		if p.Key == key {
			return p.Certificate
		}
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil
	}
	for _, cert := range c.Certificates {
		if bytes.Equal(cert.RawSubjectPublicKeyInfo, spki) {
			return cert
		}
	}
	return nil
}

// KeyFor returns the private key for cert's public key, or nil.
func (c *Contents) KeyFor(cert *x509.Certificate) crypto.Signer {
	for _, p := range c.Pairs {
		if bytes.Equal(p.Certificate.Raw, cert.Raw) {
			return p.Key
		}
	}
	for _, k := range c.Keys {
		spki, err := x509.MarshalPKIXPublicKey(k.Public())
		if err == nil && bytes.Equal(cert.RawSubjectPublicKeyInfo, spki) {
			return k
		}
	}
	return nil
}

// ReadError is the error Read and ReadFile return for input they cannot
// read. It names the file (when there is one), what the input looked like,
// and wraps the cause (one of this package's sentinels and the
// underlying errors of every failed attempt).
type ReadError struct {
	File     string // file name; empty for Read
	Detected string // what the input looked like, e.g. "PKCS#12 (DER)"; may be empty
	Err      error
}

// Error returns "formats: FILE: looks like DETECTED: CAUSE", leaving out
// the parts that are unknown, with a hint when a password is needed.
func (e *ReadError) Error() string {
	var b strings.Builder
	b.WriteString("formats: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Detected != "" {
		b.WriteString("looks like ")
		b.WriteString(e.Detected)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if errors.Is(e.Err, ErrIncorrectPassword) {
		b.WriteString(" (supply the file's password")
		if e.Detected == "JKS" {
			b.WriteString(", and the key password if it differs")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is finds the sentinels.
func (e *ReadError) Unwrap() error { return e.Err }

// Read detects the format of data by its content (never by a file name)
// and returns every certificate, private key and certificate request in it.
// It reads PEM (any labels, text around blocks, CRLF, UTF-8 BOM), base64
// without header lines, DER (certificates, back-to-back certificates,
// requests, PKCS#8/PKCS#1/SEC1 keys), PKCS#7 signed data (DER or BER,
// certificates only; signatures are not verified), PKCS#12 and JKS. A nil
// opts means the zero ReadOptions. Errors are *ReadError values wrapping
// ErrIncorrectPassword, ErrUnrecognized, ErrLimit, ErrEmpty or
// ErrUnsupported.
func Read(data []byte, opts *ReadOptions) (*Contents, error) {
	o := opts.withDefaults()
	c, detected, err := read(data, &o)
	if err != nil {
		return nil, &ReadError{Detected: detected, Err: err}
	}
	return c, nil
}

// ReadFile reads the named file with Read. The size bound is checked
// before the file is read.
func ReadFile(name string, opts *ReadOptions) (*Contents, error) {
	o := opts.withDefaults()
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("formats: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > o.MaxSize {
		return nil, &ReadError{File: name, Err: fmt.Errorf("%w: %d bytes is more than the %d allowed (ReadOptions.MaxSize)", ErrLimit, fi.Size(), o.MaxSize)}
	}
	data, err := io.ReadAll(io.LimitReader(f, o.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("formats: %s: %w", name, err)
	}
	c, detected, err := read(data, &o)
	if err != nil {
		return nil, &ReadError{File: name, Detected: detected, Err: err}
	}
	return c, nil
}

// reader carries the state of one Read call.
type reader struct {
	o     *ReadOptions
	c     *Contents
	certs int // certificates seen, duplicates included
	spent int // key derivation iterations spent or committed
	// certSeen maps a hash of a certificate's DER to the index in
	// c.Certificates of the first certificate with that hash (hashing
	// avoids copying every DER into a map key). A different certificate
	// with the same hash is found by comparing all (see seenCert).
	certSeen map[uint64]int
	seed     maphash.Seed
	keySeen  map[string]int // SPKI DER -> index in c.Keys
}

func newReader(o *ReadOptions) *reader {
	return &reader{o: o, c: &Contents{}, certSeen: map[uint64]int{}, seed: maphash.MakeSeed(), keySeen: map[string]int{}}
}

// spend charges a key derivation of n iterations to the input's budget
// before it starts.
func (r *reader) spend(n int, what string) error {
	if r.spent+n > r.o.MaxTotalIterations {
		return fmt.Errorf("%w: %s would bring the key derivation iterations for this input to %d, more than the %d allowed (ReadOptions.MaxTotalIterations)",
			ErrLimit, what, r.spent+n, r.o.MaxTotalIterations)
	}
	r.spent += n
	return nil
}

func read(data []byte, o *ReadOptions) (*Contents, string, error) {
	if int64(len(data)) > o.MaxSize {
		return nil, "", fmt.Errorf("%w: %d bytes is more than the %d allowed (ReadOptions.MaxSize)", ErrLimit, len(data), o.MaxSize)
	}
	r := newReader(o)
	detected, err := r.readAny(data)
	if err != nil {
		return nil, detected, err
	}
	if len(r.c.Certificates) == 0 && len(r.c.Keys) == 0 && len(r.c.CSRs) == 0 {
		if n := len(r.c.Notes); n > 0 {
			notes := r.c.Notes[:min(n, 5)]
			more := ""
			if n > 5 {
				more = fmt.Sprintf("; and %d more", n-5)
			}
			return nil, detected, fmt.Errorf("%w (%s%s)", ErrEmpty, strings.Join(notes, "; "), more)
		}
		return nil, detected, ErrEmpty
	}
	r.pair()
	return r.c, "", nil
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// readAny dispatches on content. It returns a description of what the
// input looked like for error messages.
func (r *reader) readAny(data []byte) (string, error) {
	if text, ok := decodeUTF16(data); ok {
		// Windows PowerShell 5 writes redirected output as UTF-16.
		r.note("UTF-16 text converted to UTF-8")
		data = text
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return "", fmt.Errorf("%w: the input is empty", ErrUnrecognized)
	case len(data) > 1 && data[0] == 0x30 && (data[1] == 0x80 || data[1] >= 0x81 && data[1] <= 0x84):
		// Binary: a SEQUENCE with an indefinite or long-form length. PEM
		// text inside it (the content of a signed message, say) is not
		// what the file is.
		r.addFormat(FormatDER)
		return r.readDER(data, FormatDER, "DER")
	case len(data) >= 4 && bytes.Equal(data[:4], jksMagic):
		r.addFormat(FormatJKS)
		return "JKS", r.readJKS(data)
	case len(data) >= 4 && bytes.Equal(data[:4], jceksMagic):
		return "JCEKS", fmt.Errorf("%w: JCEKS key stores cannot be read; convert with keytool -importkeystore -deststoretype PKCS12", ErrUnsupported)
	case bytes.Contains(data, []byte("-----BEGIN ")):
		r.addFormat(FormatPEM)
		return "PEM", r.readPEM(data)
	case data[0] == 0x30:
		r.addFormat(FormatDER)
		return r.readDER(data, FormatDER, "DER")
	}
	if der, ok := decodeBareBase64(trimmed); ok {
		r.addFormat(FormatBase64)
		if len(der) > 0 && der[0] == 0x30 {
			return r.readDER(der, FormatBase64, "base64")
		}
		return "base64", fmt.Errorf("%w: base64 text whose decoded data is not DER (decoded data %s)", ErrUnrecognized, hint(der))
	}
	return "", fmt.Errorf("%w: %s", ErrUnrecognized, hint(data))
}

func (r *reader) addFormat(f string) {
	for _, g := range r.c.Formats {
		if g == f {
			return
		}
	}
	r.c.Formats = append(r.c.Formats, f)
}

func (r *reader) note(format string, args ...any) {
	r.c.Notes = append(r.c.Notes, fmt.Sprintf(format, args...))
}

// reserve makes room for n more certificates.
func (r *reader) reserve(n int) {
	r.c.Certificates = slices.Grow(r.c.Certificates, n)
	r.c.CertInfo = slices.Grow(r.c.CertInfo, n)
	if len(r.certSeen) == 0 && n > 8 {
		r.certSeen = make(map[uint64]int, n)
	}
}

// addCert records a parsed certificate, enforcing the bounds and removing
// duplicates. A duplicate still merges container metadata into the first
// copy.
func (r *reader) addCert(cert *x509.Certificate, info CertInfo) error {
	r.certs++
	if r.certs > r.o.MaxCertificates {
		return fmt.Errorf("%w: more than %d certificates (ReadOptions.MaxCertificates)", ErrLimit, r.o.MaxCertificates)
	}
	if err := r.checkPublicKey(cert.PublicKey, info.Source); err != nil {
		return fmt.Errorf("%w (certificate %s)", err, cert.Subject.String())
	}
	h := maphash.Bytes(r.seed, cert.Raw)
	if i, ok := r.seenCert(h, cert.Raw); ok {
		prev := &r.c.CertInfo[i]
		r.note("%s: duplicate of %s, skipped", info.Source, prev.Source)
		if prev.FriendlyName == "" {
			prev.FriendlyName = info.FriendlyName
		}
		if prev.LocalKeyID == nil {
			prev.LocalKeyID = info.LocalKeyID
		}
		prev.Trusted = prev.Trusted || info.Trusted
		return nil
	}
	if _, taken := r.certSeen[h]; !taken {
		r.certSeen[h] = len(r.c.Certificates)
	}
	r.c.Certificates = append(r.c.Certificates, cert)
	r.c.CertInfo = append(r.c.CertInfo, info)
	return nil
}

// seenCert returns the index of the certificate whose DER is der. The
// hash finds it directly; only when another certificate has the same hash
// (a 64-bit collision under a random seed) are all compared, so the answer
// stays exact.
func (r *reader) seenCert(h uint64, der []byte) (int, bool) {
	i, ok := r.certSeen[h]
	if !ok {
		return 0, false
	}
	if bytes.Equal(r.c.Certificates[i].Raw, der) {
		return i, true
	}
	for i, c := range r.c.Certificates {
		if bytes.Equal(c.Raw, der) {
			return i, true
		}
	}
	return 0, false
}

// addKey records a parsed private key. Keys that cannot sign (X25519) are
// noted and skipped.
func (r *reader) addKey(key crypto.PrivateKey, info KeyInfo) error {
	signer, ok := key.(crypto.Signer)
	if !ok {
		if _, isECDH := key.(*ecdh.PrivateKey); isECDH {
			r.note("%s: an X25519 key-agreement key, skipped (it cannot sign certificates)", info.Source)
			return nil
		}
		return fmt.Errorf("%w: %s: private key of type %T", ErrUnsupported, info.Source, key)
	}
	if err := r.checkPublicKey(signer.Public(), info.Source); err != nil {
		return err
	}
	spki, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnsupported, info.Source, err)
	}
	if i, ok := r.keySeen[string(spki)]; ok {
		prev := &r.c.KeyInfo[i]
		r.note("%s: the same key as %s, skipped", info.Source, prev.Source)
		if prev.FriendlyName == "" {
			prev.FriendlyName = info.FriendlyName
		}
		if prev.LocalKeyID == nil {
			prev.LocalKeyID = info.LocalKeyID
		}
		return nil
	}
	r.keySeen[string(spki)] = len(r.c.Keys)
	r.c.Keys = append(r.c.Keys, signer)
	r.c.KeyInfo = append(r.c.KeyInfo, info)
	return nil
}

func (r *reader) addCSR(req *x509.CertificateRequest, source string) error {
	if err := r.checkPublicKey(req.PublicKey, source); err != nil {
		return err
	}
	r.c.CSRs = append(r.c.CSRs, req)
	return nil
}

// pair matches keys with certificates by the DER of their public keys.
func (r *reader) pair() {
	if len(r.c.Keys) == 0 {
		return
	}
	bySPKI := map[string]int{}
	for i, k := range r.c.Keys {
		if spki, err := x509.MarshalPKIXPublicKey(k.Public()); err == nil {
			bySPKI[string(spki)] = i
		}
	}
	for ci, cert := range r.c.Certificates {
		if ki, ok := bySPKI[string(cert.RawSubjectPublicKeyInfo)]; ok {
			r.c.Pairs = append(r.c.Pairs, Pair{Key: r.c.Keys[ki], Certificate: cert, KeyIndex: ki, CertIndex: ci})
		}
	}
}

// hint describes the first bytes of unrecognised input.
func hint(b []byte) string {
	n := min(len(b), 4)
	var hexs []string
	for _, c := range b[:n] {
		hexs = append(hexs, fmt.Sprintf("0x%02x", c))
	}
	s := "starts with " + strings.Join(hexs, " ")
	if len(b) == 0 {
		s = "empty"
	}
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		s += ": a ZIP archive? unpack it first"
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		s += ": UTF-16 text? save it as UTF-8 or ASCII"
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		s += ": a gzip file? decompress it first"
	case bytes.HasPrefix(b, []byte("%PDF")):
		s += ": a PDF document"
	case bytes.HasPrefix(b, []byte("<")):
		s += ": HTML or XML? the download may have returned a web page"
	case bytes.HasPrefix(b, []byte("{")):
		s += ": JSON? extract the certificate field first"
	case bytes.HasPrefix(b, []byte("ssh-")):
		s += ": an SSH public key, not an X.509 certificate"
	case bytes.HasPrefix(b, []byte("-----BEGIN")):
	case isText(b):
		s += ": plain text without a PEM BEGIN line or base64 body"
	default:
		s += "; expected PEM, base64, DER, PKCS#7, PKCS#12 or JKS"
	}
	return s
}

// decodeUTF16 converts UTF-16 text that starts with a byte order mark to
// UTF-8. It reports false for anything else.
func decodeUTF16(b []byte) ([]byte, bool) {
	if len(b) < 4 || len(b)%2 != 0 {
		return nil, false
	}
	var order binary.ByteOrder
	switch {
	case b[0] == 0xff && b[1] == 0xfe:
		order = binary.LittleEndian
	case b[0] == 0xfe && b[1] == 0xff:
		order = binary.BigEndian
	default:
		return nil, false
	}
	u := make([]uint16, 0, len(b)/2-1)
	for i := 2; i < len(b); i += 2 {
		c := order.Uint16(b[i:])
		if c == 0 || c > 0x7f && c < 0xa0 {
			return nil, false // binary data, not text
		}
		u = append(u, c)
	}
	return []byte(string(utf16.Decode(u))), true
}

// isText reports whether the first bytes are printable ASCII or white space.
func isText(b []byte) bool {
	b = b[:min(len(b), 256)]
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return len(b) > 0
}
