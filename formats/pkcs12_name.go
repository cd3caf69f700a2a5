package formats

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidEncryptedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidLocalKeyID     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidKeyBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidPBE3DES        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
)

// addFriendlyName rewrites a PFX made by go-pkcs12 so that the key bag and
// the leaf's certificate bag (the one carrying a localKeyId, as go-pkcs12
// marks it) carry a friendlyName attribute: keytool takes the alias from
// the key bag, Windows and IIS show the certificate bag's. Encrypted safes
// are decrypted and encrypted again with the same key and IV (the first
// ciphertext never leaves this function); a safe encrypted with RC2 is left
// as it is. The MAC is then recomputed over the new contents.
func addFriendlyName(pfx []byte, name, password string) ([]byte, error) {
	bmpName, err := bmpString(name)
	if err != nil {
		return nil, err
	}
	in := cryptobyte.String(pfx)
	var top, authSafeCI, macData, explicit, authSafeBytes cryptobyte.String
	var version int64
	var authSafeOID asn1.ObjectIdentifier
	if !in.ReadASN1(&top, cbasn1.SEQUENCE) || !top.ReadASN1Integer(&version) ||
		!top.ReadASN1(&authSafeCI, cbasn1.SEQUENCE) || !authSafeCI.ReadASN1ObjectIdentifier(&authSafeOID) ||
		!authSafeCI.ReadASN1(&explicit, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!explicit.ReadASN1(&authSafeBytes, cbasn1.OCTET_STRING) {
		return nil, errors.New("unexpected PFX layout")
	}
	hasMAC := top.PeekASN1Tag(cbasn1.SEQUENCE)
	if hasMAC && !top.ReadASN1(&macData, cbasn1.SEQUENCE) {
		return nil, errors.New("unexpected MAC layout")
	}
	var items cryptobyte.String
	if !authSafeBytes.ReadASN1(&items, cbasn1.SEQUENCE) {
		return nil, errors.New("unexpected AuthenticatedSafe layout")
	}
	var ab cryptobyte.Builder
	var newItems [][]byte
	for !items.Empty() {
		var ci cryptobyte.String
		if !items.ReadASN1Element(&ci, cbasn1.SEQUENCE) {
			return nil, errors.New("unexpected ContentInfo layout")
		}
		item, err := renameContentInfo(ci, bmpName, password)
		if err != nil {
			return nil, err
		}
		newItems = append(newItems, item)
	}
	ab.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, it := range newItems {
			b.AddBytes(it)
		}
	})
	newAuthSafe, err := ab.Bytes()
	if err != nil {
		return nil, err
	}
	var newMAC []byte
	if hasMAC {
		if newMAC, err = recomputeMAC(macData, newAuthSafe, password); err != nil {
			return nil, err
		}
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(version)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidData)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(newAuthSafe)
			})
		})
		if hasMAC {
			b.AddBytes(newMAC)
		}
	})
	return out.Bytes()
}

// renameContentInfo returns one AuthenticatedSafe item with the
// friendlyName added to its bags.
func renameContentInfo(ci cryptobyte.String, bmpName []byte, password string) ([]byte, error) {
	orig := []byte(ci)
	var body cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !ci.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("unexpected ContentInfo layout")
	}
	var ex cryptobyte.String
	if !body.ReadASN1(&ex, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, errors.New("unexpected ContentInfo content")
	}
	switch {
	case oid.Equal(oidData):
		var safe cryptobyte.String
		if !ex.ReadASN1(&safe, cbasn1.OCTET_STRING) {
			return nil, errors.New("unexpected data content")
		}
		newSafe, err := renameSafeContents(safe, bmpName)
		if err != nil {
			return nil, err
		}
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidData)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(newSafe)
			})
		})
		return b.Bytes()
	case oid.Equal(oidEncryptedData):
		// EncryptedData ::= SEQUENCE { version, EncryptedContentInfo ::= SEQUENCE {
		//   contentType, contentEncryptionAlgorithm, [0] IMPLICIT OCTET STRING } }
		var ed, eci, alg, ct cryptobyte.String
		var edVersion int64
		var contentType asn1.ObjectIdentifier
		if !ex.ReadASN1(&ed, cbasn1.SEQUENCE) || !ed.ReadASN1Integer(&edVersion) || !ed.ReadASN1(&eci, cbasn1.SEQUENCE) ||
			!eci.ReadASN1ObjectIdentifier(&contentType) || !eci.ReadASN1Element(&alg, cbasn1.SEQUENCE) ||
			!eci.ReadASN1(&ct, cbasn1.Tag(0).ContextSpecific()) {
			return nil, errors.New("unexpected EncryptedData layout")
		}
		mode, err := safeCipher(alg, password)
		if err != nil {
			return nil, err
		}
		if mode == nil {
			return orig, nil // RC2: left unnamed
		}
		plain, err := cbcDecrypt(mode.dec, ct)
		if err != nil {
			return nil, err
		}
		newSafe, err := renameSafeContents(plain, bmpName)
		if err != nil {
			return nil, err
		}
		newCT := cbcEncrypt(mode.enc, newSafe)
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidEncryptedData)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(edVersion)
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(contentType)
						b.AddBytes(alg)
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(newCT) })
					})
				})
			})
		})
		return b.Bytes()
	}
	return orig, nil
}

// renameSafeContents adds the friendlyName attribute to key bags and to
// certificate bags that carry a localKeyId.
func renameSafeContents(safe []byte, bmpName []byte) ([]byte, error) {
	s := cryptobyte.String(safe)
	var bags cryptobyte.String
	if !s.ReadASN1(&bags, cbasn1.SEQUENCE) {
		return nil, errors.New("unexpected SafeContents layout")
	}
	var b cryptobyte.Builder
	var failed error
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for !bags.Empty() {
			var bag, value, attrs cryptobyte.String
			var bagID asn1.ObjectIdentifier
			var hasAttrs bool
			if !bags.ReadASN1(&bag, cbasn1.SEQUENCE) || !bag.ReadASN1ObjectIdentifier(&bagID) ||
				!bag.ReadASN1Element(&value, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
				!bag.ReadOptionalASN1(&attrs, &hasAttrs, cbasn1.SET) {
				failed = errors.New("unexpected SafeBag layout")
				return
			}
			name := bagID.Equal(oidKeyBag) || bagID.Equal(oidShroudedKeyBag) ||
				bagID.Equal(oidCertBag) && hasAttribute(attrs, oidLocalKeyID)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(bagID)
				b.AddBytes(value)
				if !hasAttrs && !name {
					return
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					if name {
						// friendlyName first, as OpenSSL writes it.
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(oidFriendlyName)
							b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
								b.AddASN1(cbasn1.Tag(30), func(b *cryptobyte.Builder) { b.AddBytes(bmpName) })
							})
						})
					}
					b.AddBytes(attrs)
				})
			})
		}
	})
	if failed != nil {
		return nil, failed
	}
	return b.Bytes()
}

func hasAttribute(attrs cryptobyte.String, want asn1.ObjectIdentifier) bool {
	for !attrs.Empty() {
		var attr cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) {
			return false
		}
		if oid.Equal(want) {
			return true
		}
	}
	return false
}

type cbcModes struct{ enc, dec cipher.BlockMode }

// safeCipher returns the CBC modes of the schemes go-pkcs12 writes for
// safes (PBES2 PBKDF2-HMAC-SHA-256 AES-256-CBC, PKCS#12 PBE 3DES), or nil
// for RC2, which is left alone.
func safeCipher(algElem cryptobyte.String, password string) (*cbcModes, error) {
	var alg, params cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !algElem.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) || !alg.ReadASN1(&params, cbasn1.SEQUENCE) {
		return nil, errors.New("unexpected encryption algorithm")
	}
	switch {
	case oid.Equal(oidPBES2):
		var kdf, kdfParams, scheme, salt, iv cryptobyte.String
		var kdfOID, schemeOID asn1.ObjectIdentifier
		var iterations int64
		if !params.ReadASN1(&kdf, cbasn1.SEQUENCE) || !kdf.ReadASN1ObjectIdentifier(&kdfOID) || !kdfOID.Equal(oidPBKDF2) ||
			!kdf.ReadASN1(&kdfParams, cbasn1.SEQUENCE) || !kdfParams.ReadASN1(&salt, cbasn1.OCTET_STRING) ||
			!kdfParams.ReadASN1Integer(&iterations) ||
			!params.ReadASN1(&scheme, cbasn1.SEQUENCE) || !scheme.ReadASN1ObjectIdentifier(&schemeOID) || !schemeOID.Equal(oidAES256CBC) ||
			!scheme.ReadASN1(&iv, cbasn1.OCTET_STRING) {
			return nil, errors.New("unexpected PBES2 parameters")
		}
		var prf cryptobyte.String
		var prfOID asn1.ObjectIdentifier
		if !kdfParams.ReadASN1(&prf, cbasn1.SEQUENCE) || !prf.ReadASN1ObjectIdentifier(&prfOID) || !prfOID.Equal(oidHMACSHA256) {
			return nil, errors.New("unexpected PBKDF2 pseudo-random function")
		}
		key, err := pbkdf2.Key(sha256.New, password, salt, int(iterations), 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return &cbcModes{cipher.NewCBCEncrypter(block, iv), cipher.NewCBCDecrypter(block, iv)}, nil
	case oid.Equal(oidPBE3DES):
		var salt cryptobyte.String
		var iterations int64
		if !params.ReadASN1(&salt, cbasn1.OCTET_STRING) || !params.ReadASN1Integer(&iterations) {
			return nil, errors.New("unexpected PBE parameters")
		}
		pw, err := bmpString(password)
		if err != nil {
			return nil, err
		}
		pw = append(pw, 0, 0)
		key := pkcs12KDF(sha1.New, 20, 64, salt, pw, int(iterations), 1, 24)
		iv := pkcs12KDF(sha1.New, 20, 64, salt, pw, int(iterations), 2, 8)
		block, err := des.NewTripleDESCipher(key)
		if err != nil {
			return nil, err
		}
		return &cbcModes{cipher.NewCBCEncrypter(block, iv), cipher.NewCBCDecrypter(block, iv)}, nil
	}
	return nil, nil
}

func cbcDecrypt(mode cipher.BlockMode, ct []byte) ([]byte, error) {
	bs := mode.BlockSize()
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, errors.New("ciphertext is not a whole number of blocks")
	}
	out := make([]byte, len(ct))
	mode.CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, errors.New("bad padding after decryption")
	}
	return out[:len(out)-pad], nil
}

func cbcEncrypt(mode cipher.BlockMode, plain []byte) []byte {
	bs := mode.BlockSize()
	pad := bs - len(plain)%bs
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	mode.CryptBlocks(buf, buf)
	return buf
}

// recomputeMAC returns a new MacData element for authSafe with the
// algorithm, salt and iteration count of the old one.
func recomputeMAC(macData cryptobyte.String, authSafe []byte, password string) ([]byte, error) {
	var digestInfo, algID, digest, salt cryptobyte.String
	var oid asn1.ObjectIdentifier
	iterations := int64(1)
	if !macData.ReadASN1(&digestInfo, cbasn1.SEQUENCE) || !digestInfo.ReadASN1(&algID, cbasn1.SEQUENCE) ||
		!algID.ReadASN1ObjectIdentifier(&oid) || !digestInfo.ReadASN1(&digest, cbasn1.OCTET_STRING) ||
		!macData.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		return nil, errors.New("unexpected MacData layout")
	}
	if !macData.Empty() && !macData.ReadASN1Integer(&iterations) {
		return nil, errors.New("unexpected MacData iterations")
	}
	var newHash func() hash.Hash
	var u int
	switch {
	case oid.Equal(oidSHA1):
		newHash, u = sha1.New, 20
	case oid.Equal(oidSHA256):
		newHash, u = sha256.New, 32
	default:
		return nil, fmt.Errorf("MAC algorithm %s cannot be recomputed", oid)
	}
	pw, err := bmpString(password)
	if err != nil {
		return nil, err
	}
	pw = append(pw, 0, 0)
	key := pkcs12KDF(newHash, u, 64, salt, pw, int(iterations), 3, u)
	mac := hmac.New(newHash, key)
	mac.Write(authSafe)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
				b.AddASN1NULL()
			})
			b.AddASN1OctetString(mac.Sum(nil))
		})
		b.AddASN1OctetString(salt)
		b.AddASN1Int64(iterations)
	})
	return b.Bytes()
}
