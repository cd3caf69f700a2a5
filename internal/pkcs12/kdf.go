package pkcs12

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"unicode/utf16"
)

// Purpose bytes ("ID") of the PKCS#12 key derivation, RFC 7292 appendix B.3.
const (
	kdfKey = 1
	kdfIV  = 2
	kdfMAC = 3
)

// bmpPassword encodes password as RFC 7292 appendix B.1 asks: big-endian
// UTF-16 followed by a two-byte NUL terminator. Characters outside the Basic
// Multilingual Plane become surrogate pairs, as OpenSSL encodes them.
func bmpPassword(password string) []byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return append(b, 0, 0)
}

// kdfHash describes a digest for the PKCS#12 KDF: its constructor and its
// block size v in bytes (RFC 7292 appendix B.2).
type kdfHash struct {
	name  string
	new   func() hash.Hash
	block int
}

var (
	hashMD5        = kdfHash{"MD5", md5.New, 64}
	hashSHA1       = kdfHash{"SHA1", sha1.New, 64}
	hashSHA224     = kdfHash{"SHA224", sha256.New224, 64}
	hashSHA256     = kdfHash{"SHA256", sha256.New, 64}
	hashSHA384     = kdfHash{"SHA384", sha512.New384, 128}
	hashSHA512     = kdfHash{"SHA512", sha512.New, 128}
	hashSHA512_224 = kdfHash{"SHA512-224", sha512.New512_224, 128}
	hashSHA512_256 = kdfHash{"SHA512-256", sha512.New512_256, 128}
)

// pkcs12KDF derives n bytes for purpose id from the BMPString-encoded
// password (pass, may be empty), salt and iteration count, as RFC 7292
// appendix B.2 specifies. The caller has already checked iterations against
// the configured bound. Work: ceil(n/u) * iterations hash invocations.
func pkcs12KDF(h kdfHash, pass, salt []byte, iterations, id, n int) []byte {
	v := h.block
	hf := h.new()
	u := hf.Size()

	d := make([]byte, v)
	for i := range d {
		d[i] = byte(id)
	}
	// I = S || P, each repeated to a multiple of v bytes.
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		out := make([]byte, v*((len(src)+v-1)/v))
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	I := append(fill(salt), fill(pass)...)

	out := make([]byte, 0, n+u)
	a := make([]byte, 0, u)
	b := make([]byte, v)
	for len(out) < n {
		hf.Reset()
		hf.Write(d)
		hf.Write(I)
		a = hf.Sum(a[:0])
		for r := 1; r < iterations; r++ {
			hf.Reset()
			hf.Write(a)
			a = hf.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= n {
			break
		}
		// B = A repeated to v bytes; each v-byte block Ij of I becomes
		// (Ij + B + 1) mod 2^(8v).
		for i := range b {
			b[i] = a[i%u]
		}
		for j := 0; j < len(I); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				s := int(I[j+k]) + int(b[k]) + carry
				I[j+k] = byte(s)
				carry = s >> 8
			}
		}
	}
	return out[:n]
}

// pbkdf2Key wraps crypto/pbkdf2 for the HMAC-based PRFs of RFC 8018.
func pbkdf2Key(h kdfHash, password []byte, salt []byte, iterations, n int) ([]byte, error) {
	return pbkdf2.Key(h.new, string(password), salt, iterations, n)
}

// hmacSum computes HMAC(key, msg) with digest h.
func hmacSum(h kdfHash, key, msg []byte) []byte {
	m := hmac.New(h.new, key)
	m.Write(msg)
	return m.Sum(nil)
}
