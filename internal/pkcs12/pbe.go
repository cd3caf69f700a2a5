package pkcs12

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rc4"
	"encoding/asn1"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}

	oidHMACSHA1       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidHMACSHA512_224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 12}
	oidHMACSHA512_256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 13}

	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidDESCBC     = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 7}
)

// PKCS#12 PBES1 schemes, RFC 7292 appendix C: pkcs-12PbeIds 1.2.840.113549.1.12.1.n.
var pbes1Schemes = map[int]struct {
	name    string
	keyLen  int
	newFunc func(key []byte) (cipher.Block, error) // nil for RC4
}{
	1: {"pbeWithSHAAnd128BitRC4", 16, nil},
	2: {"pbeWithSHAAnd40BitRC4", 5, nil},
	3: {"pbeWithSHAAnd3-KeyTripleDES-CBC", 24, des.NewTripleDESCipher},
	4: {"pbeWithSHAAnd2-KeyTripleDES-CBC", 16, func(k []byte) (cipher.Block, error) {
		return des.NewTripleDESCipher(append(append([]byte{}, k...), k[:8]...))
	}},
	5: {"pbeWithSHAAnd128BitRC2-CBC", 16, func(k []byte) (cipher.Block, error) { return newRC2(k, 128) }},
	6: {"pbeWithSHAAnd40BitRC2-CBC", 5, func(k []byte) (cipher.Block, error) { return newRC2(k, 40) }},
}

// hmacPRF maps the HMAC algorithm identifiers of RFC 8018 appendix B.1.
func hmacPRF(oid asn1.ObjectIdentifier) (kdfHash, bool) {
	switch {
	case oid.Equal(oidHMACSHA1):
		return hashSHA1, true
	case oid.Equal(oidHMACSHA224):
		return hashSHA224, true
	case oid.Equal(oidHMACSHA256):
		return hashSHA256, true
	case oid.Equal(oidHMACSHA384):
		return hashSHA384, true
	case oid.Equal(oidHMACSHA512):
		return hashSHA512, true
	case oid.Equal(oidHMACSHA512_224):
		return hashSHA512_224, true
	case oid.Equal(oidHMACSHA512_256):
		return hashSHA512_256, true
	}
	return kdfHash{}, false
}

// readIterations reads an iteration-count INTEGER of any size. Counts above
// 2^31-1 are reported as ErrTooManyIterations, not as malformed, because
// that is what they are; smaller ones are checked by decoder.spend.
func readIterations(s *cryptobyte.String, what string) (int, error) {
	b := new(big.Int)
	if !s.ReadASN1Integer(b) {
		return 0, malformed("%s iteration count is not an INTEGER", what)
	}
	if b.Sign() <= 0 {
		return 0, malformed("%s declares %v iterations", what, b)
	}
	if !b.IsInt64() || b.Int64() > 1<<31-1 {
		return 0, fmt.Errorf("%w: %s declares %v iterations", ErrTooManyIterations, what, b)
	}
	return int(b.Int64()), nil
}

type pbkdf2Params struct {
	salt       []byte
	iterations int
	keyLen     int // 0 when absent
	prf        kdfHash
}

// parsePBKDF2 reads a PBKDF2 AlgorithmIdentifier body (the OID and
// parameters, without the outer SEQUENCE header).
func parsePBKDF2(alg cryptobyte.String, what string) (*pbkdf2Params, error) {
	var oid asn1.ObjectIdentifier
	var p, salt cryptobyte.String
	if !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed("%s key derivation has no algorithm", what)
	}
	if !oid.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: %s key derivation function %v (only PBKDF2 is read)", ErrUnsupported, what, oid)
	}
	// PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, otherSource ... },
	//   iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
	if !alg.ReadASN1(&p, cbasn1.SEQUENCE) || !alg.Empty() {
		return nil, malformed("%s PBKDF2 parameters are not a SEQUENCE", what)
	}
	if !p.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: %s PBKDF2 salt is not an OCTET STRING (otherSource is not read)", ErrUnsupported, what)
	}
	iter, err := readIterations(&p, what+" PBKDF2")
	if err != nil {
		return nil, err
	}
	out := &pbkdf2Params{salt: salt, iterations: iter, prf: hashSHA1}
	if p.PeekASN1Tag(cbasn1.INTEGER) {
		var kl int
		if !p.ReadASN1Integer(&kl) || kl < 1 || kl > 1024 {
			return nil, malformed("%s PBKDF2 keyLength is out of range", what)
		}
		out.keyLen = kl
	}
	if !p.Empty() {
		var prf cryptobyte.String
		var prfOID asn1.ObjectIdentifier
		if !p.ReadASN1(&prf, cbasn1.SEQUENCE) || !p.Empty() || !prf.ReadASN1ObjectIdentifier(&prfOID) {
			return nil, malformed("%s PBKDF2 prf is not an AlgorithmIdentifier", what)
		}
		if !prf.Empty() && !isNULL(prf) {
			return nil, malformed("%s PBKDF2 prf has unexpected parameters", what)
		}
		h, ok := hmacPRF(prfOID)
		if !ok {
			return nil, fmt.Errorf("%w: %s PBKDF2 prf %v", ErrUnsupported, what, prfOID)
		}
		out.prf = h
	}
	return out, nil
}

// scheme is a parsed password-based encryption algorithm.
type scheme struct {
	name        string
	iterations  int
	derivations int  // key derivations per attempt (PBES1 derives key and IV separately)
	blockSize   int  // 0 for a stream cipher
	bmp         bool // password as BMPString (PKCS#12 KDF) rather than UTF-8 (PBKDF2)
	// open derives the cipher for one password encoding and decrypts ct.
	open func(pass, ct []byte) ([]byte, error)
}

// parseScheme reads an encryption AlgorithmIdentifier (full element).
func parseScheme(algElem cryptobyte.String, what string) (*scheme, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !algElem.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed("%s encryption algorithm is not an AlgorithmIdentifier", what)
	}
	pkcs12PBE := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	if len(oid) == len(pkcs12PBE)+1 && oid[:len(pkcs12PBE)].Equal(pkcs12PBE) {
		return parsePBES1(oid[len(pkcs12PBE)], alg, what)
	}
	if oid.Equal(oidPBES2) {
		return parsePBES2(alg, what)
	}
	return nil, fmt.Errorf("%w: %s encryption algorithm %v (PKCS#12 PBES1 and PBES2 are read)", ErrUnsupported, what, oid)
}

func parsePBES1(n int, alg cryptobyte.String, what string) (*scheme, error) {
	s, ok := pbes1Schemes[n]
	if !ok {
		return nil, fmt.Errorf("%w: %s encryption algorithm 1.2.840.113549.1.12.1.%d", ErrUnsupported, what, n)
	}
	// pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
	var p, salt cryptobyte.String
	if !alg.ReadASN1(&p, cbasn1.SEQUENCE) || !alg.Empty() || !p.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		return nil, malformed("%s %s parameters are not a salt and an iteration count", what, s.name)
	}
	iter, err := readIterations(&p, what+" "+s.name)
	if err != nil {
		return nil, err
	}
	if !p.Empty() {
		return nil, malformed("%s %s parameters have trailing data", what, s.name)
	}
	sc := &scheme{name: s.name, iterations: iter, bmp: true, derivations: 2, blockSize: 8}
	sc.open = func(pass, ct []byte) ([]byte, error) {
		key := pkcs12KDF(hashSHA1, pass, salt, iter, kdfKey, s.keyLen)
		if s.newFunc == nil {
			c, err := rc4.NewCipher(key)
			if err != nil {
				return nil, err
			}
			out := make([]byte, len(ct))
			c.XORKeyStream(out, ct)
			return out, nil
		}
		block, err := s.newFunc(key)
		if err != nil {
			return nil, err
		}
		iv := pkcs12KDF(hashSHA1, pass, salt, iter, kdfIV, block.BlockSize())
		return cbcDecrypt(block, iv, ct)
	}
	if s.newFunc == nil {
		sc.derivations, sc.blockSize = 1, 0
	}
	return sc, nil
}

func parsePBES2(alg cryptobyte.String, what string) (*scheme, error) {
	// PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier,
	//                             encryptionScheme AlgorithmIdentifier }
	var p, kdfAlg, encAlg cryptobyte.String
	var encOID asn1.ObjectIdentifier
	if !alg.ReadASN1(&p, cbasn1.SEQUENCE) || !alg.Empty() ||
		!p.ReadASN1(&kdfAlg, cbasn1.SEQUENCE) || !p.ReadASN1(&encAlg, cbasn1.SEQUENCE) || !p.Empty() ||
		!encAlg.ReadASN1ObjectIdentifier(&encOID) {
		return nil, malformed("%s PBES2 parameters are malformed", what)
	}
	kdf, err := parsePBKDF2(kdfAlg, what+" PBES2")
	if err != nil {
		return nil, err
	}
	var name string
	var keyLen int
	var newBlock func([]byte) (cipher.Block, error)
	aesCipher := true
	switch {
	case encOID.Equal(oidAES128CBC):
		name, keyLen, newBlock = "AES-128-CBC", 16, aes.NewCipher
	case encOID.Equal(oidAES192CBC):
		name, keyLen, newBlock = "AES-192-CBC", 24, aes.NewCipher
	case encOID.Equal(oidAES256CBC):
		name, keyLen, newBlock = "AES-256-CBC", 32, aes.NewCipher
	case encOID.Equal(oidDESEDE3CBC):
		name, keyLen, newBlock, aesCipher = "DES-EDE3-CBC", 24, des.NewTripleDESCipher, false
	case encOID.Equal(oidDESCBC):
		name, keyLen, newBlock, aesCipher = "DES-CBC", 8, des.NewCipher, false
	default:
		return nil, fmt.Errorf("%w: %s PBES2 encryption scheme %v (AES-CBC and DES-EDE3-CBC are read)", ErrUnsupported, what, encOID)
	}
	if kdf.keyLen != 0 && kdf.keyLen != keyLen {
		return nil, malformed("%s PBES2 keyLength %d does not match %s", what, kdf.keyLen, name)
	}
	var iv cryptobyte.String
	if !encAlg.ReadASN1(&iv, cbasn1.OCTET_STRING) || !encAlg.Empty() {
		return nil, malformed("%s %s parameters are not an IV", what, name)
	}
	sc := &scheme{
		name:        "PBES2/PBKDF2-HMAC-" + kdf.prf.name + "/" + name,
		iterations:  kdf.iterations,
		derivations: 1,
		blockSize:   aes.BlockSize,
	}
	if !aesCipher {
		sc.blockSize = des.BlockSize
	}
	sc.open = func(pass, ct []byte) ([]byte, error) {
		key, err := pbkdf2Key(kdf.prf, pass, kdf.salt, kdf.iterations, keyLen)
		if err != nil {
			return nil, err
		}
		block, err := newBlock(key)
		if err != nil {
			return nil, err
		}
		if len(iv) != block.BlockSize() {
			return nil, malformed("%s %s IV is %d bytes, want %d", what, name, len(iv), block.BlockSize())
		}
		return cbcDecrypt(block, iv, ct)
	}
	return sc, nil
}

// errPadding marks a decryption whose padding does not check: the usual
// sign of a wrong password.
var errPadding = fmt.Errorf("bad padding after decryption")

// cbcDecrypt decrypts ct in CBC mode and removes PKCS#7 padding.
func cbcDecrypt(block cipher.Block, iv, ct []byte) ([]byte, error) {
	bs := block.BlockSize()
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, fmt.Errorf("ciphertext of %d bytes is not a whole number of %d-byte blocks", len(ct), bs)
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, errPadding
	}
	for _, c := range out[len(out)-pad:] {
		if int(c) != pad {
			return nil, errPadding
		}
	}
	return out[:len(out)-pad], nil
}

// decrypt decrypts ct with the algorithm in algElem, trying each password
// encoding in turn; accept validates a plaintext (it must parse). A failure
// under every password is ErrIncorrectPassword for a file without MAC and
// ErrMalformed once the MAC has proven the password.
func (d *decoder) decrypt(algElem cryptobyte.String, ct []byte, what string, accept func([]byte) error) error {
	sc, err := parseScheme(algElem, what)
	if err != nil {
		return err
	}
	d.noteEncryption(sc.name)
	if sc.blockSize > 0 && (len(ct) == 0 || len(ct)%sc.blockSize != 0) {
		return malformed("%s: %d bytes of %s ciphertext is not a whole number of %d-byte blocks (truncated file?)", what, len(ct), sc.name, sc.blockSize)
	}
	passwords := d.candidates
	if !sc.bmp {
		passwords = [][]byte{[]byte(d.password)}
	}
	var last error
	for i, pass := range passwords {
		for range sc.derivations {
			if err := d.spend(sc.iterations, what+" ("+sc.name+")"); err != nil {
				return err
			}
		}
		plain, err := sc.open(pass, ct)
		if err == nil {
			if err = accept(plain); err == nil {
				if sc.bmp && i != 0 {
					d.candidates[0], d.candidates[i] = d.candidates[i], d.candidates[0]
				}
				return nil
			}
		}
		last = err
	}
	if d.macVerified {
		return malformed("%s does not decrypt (%s) although the MAC verified with this password: %v", what, sc.name, last)
	}
	return fmt.Errorf("%w: %s does not decrypt (%s): %v", ErrIncorrectPassword, what, sc.name, last)
}
