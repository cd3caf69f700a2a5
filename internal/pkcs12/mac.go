package pkcs12

import (
	"crypto/hmac"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidMD5        = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	oidSHA1       = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSHA512_224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 5}
	oidSHA512_256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 6}
	oidPBMAC1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
)

// macDigest maps the DigestInfo algorithm of a classic PKCS#12 MAC.
func macDigest(oid asn1.ObjectIdentifier) (kdfHash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return hashSHA1, true
	case oid.Equal(oidSHA224):
		return hashSHA224, true
	case oid.Equal(oidSHA256):
		return hashSHA256, true
	case oid.Equal(oidSHA384):
		return hashSHA384, true
	case oid.Equal(oidSHA512):
		return hashSHA512, true
	case oid.Equal(oidSHA512_224):
		return hashSHA512_224, true
	case oid.Equal(oidSHA512_256):
		return hashSHA512_256, true
	case oid.Equal(oidMD5):
		return hashMD5, true
	}
	return kdfHash{}, false
}

// verifyMAC checks MacData over the AuthenticatedSafe octets. On success the
// password encoding that verified becomes the first candidate.
func (d *decoder) verifyMAC(macData cryptobyte.String, message []byte) error {
	// MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING,
	//                        iterations INTEGER DEFAULT 1 }
	// DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
	var digestInfo, algID, digest, salt cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !macData.ReadASN1(&digestInfo, cbasn1.SEQUENCE) ||
		!digestInfo.ReadASN1(&algID, cbasn1.SEQUENCE) ||
		!algID.ReadASN1ObjectIdentifier(&oid) ||
		!digestInfo.ReadASN1(&digest, cbasn1.OCTET_STRING) || !digestInfo.Empty() ||
		!macData.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		return malformed("bad MacData")
	}
	var iterField cryptobyte.String
	if macData.PeekASN1Tag(cbasn1.INTEGER) {
		macData.ReadASN1Element(&iterField, cbasn1.INTEGER)
	}
	if !macData.Empty() {
		return malformed("trailing data in MacData")
	}

	if oid.Equal(oidPBMAC1) {
		// RFC 9579: macSalt and iterations are ignored (writers put 1 or 0).
		return d.verifyPBMAC1(algID, digest, message)
	}
	iterations := 1
	if iterField != nil {
		var err error
		if iterations, err = readIterations(&iterField, "MAC"); err != nil {
			return err
		}
	}
	h, ok := macDigest(oid)
	if !ok {
		return fmt.Errorf("%w: MAC digest algorithm %v", ErrUnsupported, oid)
	}
	if !algID.Empty() && !isNULL(algID) {
		return malformed("MAC digest algorithm %s has unexpected parameters", h.name)
	}
	d.out.MACAlgorithm = "HMAC-" + h.name
	if len(digest) != h.new().Size() {
		return malformed("MAC is %d bytes, want %d for HMAC-%s", len(digest), h.new().Size(), h.name)
	}
	for i, pass := range d.candidates {
		if err := d.spend(iterations, "the MAC"); err != nil {
			return err
		}
		key := pkcs12KDF(h, pass, salt, iterations, kdfMAC, h.new().Size())
		if hmac.Equal(hmacSum(h, key, message), digest) {
			d.candidates[0], d.candidates[i] = d.candidates[i], d.candidates[0]
			return nil
		}
	}
	return fmt.Errorf("%w: the MAC (HMAC-%s) does not verify", ErrIncorrectPassword, h.name)
}

// verifyPBMAC1 checks a PBMAC1 MAC (RFC 9579): HMAC keyed by PBKDF2 of the
// UTF-8 password, all parameters taken from the algorithm identifier (the
// MacData salt and iteration fields are ignored, as the RFC says).
func (d *decoder) verifyPBMAC1(params cryptobyte.String, digest, message []byte) error {
	// PBMAC1-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier,
	//                              messageAuthScheme AlgorithmIdentifier }
	var p, kdfAlg, macAlg cryptobyte.String
	var macOID asn1.ObjectIdentifier
	if !params.ReadASN1(&p, cbasn1.SEQUENCE) || !params.Empty() ||
		!p.ReadASN1(&kdfAlg, cbasn1.SEQUENCE) ||
		!p.ReadASN1(&macAlg, cbasn1.SEQUENCE) || !p.Empty() ||
		!macAlg.ReadASN1ObjectIdentifier(&macOID) {
		return malformed("bad PBMAC1 parameters")
	}
	mh, ok := hmacPRF(macOID)
	if !ok {
		return fmt.Errorf("%w: PBMAC1 message authentication scheme %v", ErrUnsupported, macOID)
	}
	kdf, err := parsePBKDF2(kdfAlg, "PBMAC1")
	if err != nil {
		return err
	}
	if kdf.keyLen == 0 {
		return malformed("PBMAC1 PBKDF2 parameters have no keyLength, which RFC 9579 requires")
	}
	if kdf.keyLen < minPBMAC1KeyLen {
		return malformed("PBMAC1 key length %d is shorter than %d bytes; such a MAC can verify under passwords it was not made with", kdf.keyLen, minPBMAC1KeyLen)
	}
	if kdf.keyLen > 64 {
		return malformed("PBMAC1 key length %d is longer than 64 bytes", kdf.keyLen)
	}
	d.out.MACAlgorithm = "PBMAC1/PBKDF2-HMAC-" + kdf.prf.name + "/HMAC-" + mh.name
	if len(digest) != mh.new().Size() {
		return malformed("PBMAC1 MAC is %d bytes, want %d for HMAC-%s", len(digest), mh.new().Size(), mh.name)
	}
	if err := d.spend(kdf.iterations, "the PBMAC1 MAC"); err != nil {
		return err
	}
	key, err := pbkdf2Key(kdf.prf, []byte(d.password), kdf.salt, kdf.iterations, kdf.keyLen)
	if err != nil {
		return fmt.Errorf("%w: PBMAC1 key derivation: %v", ErrUnsupported, err)
	}
	if !hmac.Equal(hmacSum(mh, key, message), digest) {
		return fmt.Errorf("%w: the MAC (PBMAC1) does not verify", ErrIncorrectPassword)
	}
	return nil
}

// isNULL reports whether s is exactly an ASN.1 NULL.
func isNULL(s cryptobyte.String) bool {
	return len(s) == 2 && s[0] == 0x05 && s[1] == 0
}
