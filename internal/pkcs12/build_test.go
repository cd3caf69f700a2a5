package pkcs12

// A small PKCS#12 writer for tests: it makes the files OpenSSL cannot
// (several keys, many safes, certificates before keys, nested safes, crafted
// bounds) and a BER rewriter. Interoperability itself is proven against
// files written by OpenSSL, keytool, Windows, NSS and others.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"testing"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

type tBag struct {
	kind    int    // bagKey, bagShroudedKey, bagCert, bagCRL, bagSecret, bagSafeContents
	value   []byte // DER of the bag value (inside [0] EXPLICIT)
	name    string
	keyID   []byte
	trusted bool
	oid     asn1.ObjectIdentifier // overrides the bag type OID when set
}

type tSafe struct {
	bags    []tBag
	encrypt string // "", "pbes2", "3des", "rc2-40"
	ber     bool   // encode this SafeContents (and its encrypted content) as BER
}

type tPFX struct {
	safes      []tSafe
	password   string
	mac        string // "sha1", "sha256", "sha512", "pbmac1", "none"
	macIter    int
	kdfIter    int // PBES1/PBES2 iterations
	berOuter   bool
	safeKeyLen int // PBMAC1 key length; 0 = 32
}

func oidBag(kind int) asn1.ObjectIdentifier {
	return append(append(asn1.ObjectIdentifier{}, oidBagTypes...), kind)
}

func addOID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) { b.AddASN1ObjectIdentifier(oid) }

func derOf(t testing.TB, f func(b *cryptobyte.Builder)) []byte {
	t.Helper()
	var b cryptobyte.Builder
	f(&b)
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pkcs8Of(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func certBagValue(t testing.TB, certDER []byte) []byte {
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addOID(b, oidCertX509)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(certDER)
			})
		})
	})
}

// otherBagValue makes a CRLBag or SecretBag value: SEQUENCE { type OID,
// [0] EXPLICIT OCTET STRING }.
func otherBagValue(t testing.TB, typ asn1.ObjectIdentifier) []byte {
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addOID(b, typ)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString([]byte("opaque"))
			})
		})
	})
}

func bmpOf(s string) []byte {
	var out []byte
	for _, c := range utf16.Encode([]rune(s)) {
		out = append(out, byte(c>>8), byte(c))
	}
	return out
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func pad(plain []byte, bs int) []byte {
	n := bs - len(plain)%bs
	out := append([]byte{}, plain...)
	for range n {
		out = append(out, byte(n))
	}
	return out
}

// encryptFor encrypts plain under scheme and returns the AlgorithmIdentifier
// DER and the ciphertext.
func encryptFor(t testing.TB, scheme, password string, iter int, plain []byte) (alg, ct []byte) {
	t.Helper()
	salt := randBytes(8)
	switch scheme {
	case "pbes2":
		iv := randBytes(16)
		key, err := pbkdf2Key(hashSHA256, []byte(password), salt, iter, 32)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := aes.NewCipher(key)
		ct = pad(plain, 16)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
		alg = derOf(t, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, oidPBES2)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOID(b, oidPBKDF2)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(salt)
							b.AddASN1Int64(int64(iter))
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								addOID(b, oidHMACSHA256)
								b.AddASN1NULL()
							})
						})
					})
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOID(b, oidAES256CBC)
						b.AddASN1OctetString(iv)
					})
				})
			})
		})
	case "3des", "rc2-40":
		pass := bmpPassword(password)
		var block cipher.Block
		var n int
		if scheme == "3des" {
			n = 3
			block, _ = des.NewTripleDESCipher(pkcs12KDF(hashSHA1, pass, salt, iter, kdfKey, 24))
		} else {
			n = 6
			block, _ = newRC2(pkcs12KDF(hashSHA1, pass, salt, iter, kdfKey, 5), 40)
		}
		iv := pkcs12KDF(hashSHA1, pass, salt, iter, kdfIV, 8)
		ct = pad(plain, 8)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
		alg = derOf(t, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, n})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(salt)
					b.AddASN1Int64(int64(iter))
				})
			})
		})
	default:
		t.Fatalf("unknown scheme %q", scheme)
	}
	return alg, ct
}

// shroudedValue makes an EncryptedPrivateKeyInfo for pkcs8.
func shroudedValue(t testing.TB, scheme, password string, iter int, pkcs8 []byte) []byte {
	alg, ct := encryptFor(t, scheme, password, iter, pkcs8)
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(alg)
			b.AddASN1OctetString(ct)
		})
	})
}

func safeContentsDER(t testing.TB, bags []tBag) []byte {
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, bag := range bags {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					if bag.oid != nil {
						addOID(b, bag.oid)
					} else {
						addOID(b, oidBag(bag.kind))
					}
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddBytes(bag.value)
					})
					if bag.name == "" && bag.keyID == nil && !bag.trusted {
						return
					}
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
						if bag.name != "" {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								addOID(b, oidFriendlyName)
								b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
									b.AddASN1(cbasn1.Tag(30), func(b *cryptobyte.Builder) { b.AddBytes(bmpOf(bag.name)) })
								})
							})
						}
						if bag.keyID != nil {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								addOID(b, oidLocalKeyID)
								b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1OctetString(bag.keyID) })
							})
						}
						if bag.trusted {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								addOID(b, oidJavaTrustedUsage)
								b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
									addOID(b, asn1.ObjectIdentifier{2, 5, 29, 37, 0})
								})
							})
						}
					})
				})
			}
		})
	})
}

// build encodes p. The MAC covers the AuthenticatedSafe octets as encoded
// (BER included), as the standard says.
func (p tPFX) build(t testing.TB) []byte {
	t.Helper()
	if p.macIter == 0 {
		p.macIter = 2048
	}
	if p.kdfIter == 0 {
		p.kdfIter = 2048
	}
	var items [][]byte
	for _, s := range p.safes {
		sc := safeContentsDER(t, s.bags)
		if s.ber {
			sc = toBER(t, sc)
		}
		if s.encrypt == "" {
			items = append(items, derOf(t, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					addOID(b, oidData)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(sc)
					})
				})
			}))
			continue
		}
		alg, ct := encryptFor(t, s.encrypt, p.password, p.kdfIter, sc)
		items = append(items, derOf(t, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, oidEncryptedData)
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(0)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							addOID(b, oidData)
							b.AddBytes(alg)
							b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ct) })
						})
					})
				})
			})
		}))
	}
	authSafe := derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, it := range items {
				b.AddBytes(it)
			}
		})
	})
	if p.berOuter {
		authSafe = toBER(t, authSafe)
	}
	pfx := derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(3)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, oidData)
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(authSafe)
				})
			})
			if p.mac != "none" {
				b.AddBytes(p.macData(t, authSafe))
			}
		})
	})
	if p.berOuter {
		pfx = toBER(t, pfx)
	}
	return pfx
}

func (p tPFX) macData(t testing.TB, msg []byte) []byte {
	salt := randBytes(8)
	if p.mac == "pbmac1" {
		kl := p.safeKeyLen
		if kl == 0 {
			kl = 32
		}
		key, err := pbkdf2Key(hashSHA256, []byte(p.password), salt, p.macIter, kl)
		if err != nil {
			t.Fatal(err)
		}
		sum := hmacSum(hashSHA256, key, msg)
		return derOf(t, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOID(b, oidPBMAC1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								addOID(b, oidPBKDF2)
								b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
									b.AddASN1OctetString(salt)
									b.AddASN1Int64(int64(p.macIter))
									b.AddASN1Int64(int64(kl))
									b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addOID(b, oidHMACSHA256) })
								})
							})
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addOID(b, oidHMACSHA256) })
						})
					})
					b.AddASN1OctetString(sum)
				})
				b.AddASN1OctetString([]byte("unused")) // RFC 9579: ignored
				b.AddASN1Int64(1)
			})
		})
	}
	h, oid := hashSHA256, oidSHA256
	switch p.mac {
	case "sha1":
		h, oid = hashSHA1, oidSHA1
	case "sha512":
		h, oid = hashSHA512, oidSHA512
	}
	key := pkcs12KDF(h, bmpPassword(p.password), salt, p.macIter, kdfMAC, h.new().Size())
	sum := hmacSum(h, key, msg)
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					addOID(b, oid)
					b.AddASN1NULL()
				})
				b.AddASN1OctetString(sum)
			})
			b.AddASN1OctetString(salt)
			b.AddASN1Int64(int64(p.macIter))
		})
	})
}

// toBER rewrites a DER element the way BER writers do: every constructed
// element gets an indefinite length, every OCTET STRING becomes a
// constructed string of 16-byte chunks, and a primitive [0] (the
// encryptedContent of EncryptedContentInfo) becomes a constructed [0] of
// OCTET STRING chunks. OCTET STRING contents are left as they are, so a MAC
// over them stays valid.
func toBER(t testing.TB, der []byte) []byte {
	t.Helper()
	var out []byte
	s := cryptobyte.String(der)
	for !s.Empty() {
		var elem cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&elem, &tag) {
			t.Fatalf("toBER: bad DER at %x", []byte(s))
		}
		content := cryptobyte.String(elem)
		var body cryptobyte.String
		content.ReadAnyASN1(&body, &tag)
		switch {
		case byte(tag)&0x20 != 0:
			out = append(out, byte(tag), 0x80)
			out = append(out, toBER(t, body)...)
			out = append(out, 0, 0)
		case tag == cbasn1.OCTET_STRING || tag == cbasn1.Tag(0).ContextSpecific():
			ctag := byte(0x24)
			if tag != cbasn1.OCTET_STRING {
				ctag = 0xa0
			}
			out = append(out, ctag, 0x80)
			for len(body) > 0 {
				n := min(16, len(body))
				out = append(out, 0x04, byte(n))
				out = append(out, body[:n]...)
				body = body[n:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, elem...)
		}
	}
	return out
}
