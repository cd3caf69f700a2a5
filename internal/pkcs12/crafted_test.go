package pkcs12

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// multiFixture is a file go-pkcs12 cannot read: four AuthenticatedSafe
// items mixing data and encryptedData (RC2-40, PBES2), certificates before
// keys, four keys of four types, a nested safeContentsBag holding a
// certificate, a CRL bag and a secret bag.
type multiFixture struct {
	pfx      tPFX
	keys     []any
	certs    []*x509.Certificate
	password string
}

func newMultiFixture(t testing.TB, password string) *multiFixture {
	return newMultiFixtureIter(t, password, 2048)
}

// newMultiFixtureIter builds the fixture with iter iterations for every
// derivation (the fuzz seeds use 1).
func newMultiFixtureIter(t testing.TB, password string, iter int) *multiFixture {
	t.Helper()
	root := testpki.Root(t, "Multi Root")
	inter := root.Intermediate(t, "Multi Intermediate")
	rsaKey := testpki.KeyRSA(t, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	leafRSA, _ := inter.Leaf(t, rsaKey.Public(), "rsa.example")
	leafP384, _ := inter.Leaf(t, p384.Public(), "p384.example")
	leafEd, _ := inter.Leaf(t, edKey.Public(), "ed.example")
	leafP521, _ := inter.Leaf(t, p521.Public(), "p521.example")

	f := &multiFixture{password: password}
	f.keys = []any{rsaKey, p384, edKey, p521}
	f.certs = []*x509.Certificate{leafRSA, inter.Cert, root.Cert, leafP384, leafEd, leafP521}
	f.pfx = tPFX{
		password: password,
		mac:      "sha256",
		macIter:  iter,
		kdfIter:  iter,
		safes: []tSafe{
			{encrypt: "rc2-40", bags: []tBag{
				{kind: bagCert, value: certBagValue(t, leafRSA.Raw), name: "RSA leaf – ключ", keyID: []byte{1}},
				{kind: bagCert, value: certBagValue(t, inter.Cert.Raw), name: "intermediate"},
				{kind: bagCert, value: certBagValue(t, root.Cert.Raw), trusted: true},
			}},
			{bags: []tBag{
				{kind: bagShroudedKey, value: shroudedValue(t, "3des", password, iter, pkcs8Of(t, rsaKey)), name: "RSA leaf – ключ", keyID: []byte{1}},
				{kind: bagShroudedKey, value: shroudedValue(t, "pbes2", password, iter, pkcs8Of(t, p384)), keyID: []byte{2}},
				{kind: bagKey, value: pkcs8Of(t, edKey), keyID: []byte{3}},
			}},
			{encrypt: "pbes2", bags: []tBag{
				{kind: bagCert, value: certBagValue(t, leafP384.Raw), keyID: []byte{2}},
				{kind: bagShroudedKey, value: shroudedValue(t, "pbes2", password, iter, pkcs8Of(t, p521)), keyID: []byte{4}},
			}},
			{bags: []tBag{
				{kind: bagSafeContents, value: safeContentsDER(t, []tBag{
					{kind: bagCert, value: certBagValue(t, leafEd.Raw), keyID: []byte{3}},
					{kind: bagCRL, value: otherBagValue(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 23, 1})},
				})},
				{kind: bagSecret, value: otherBagValue(t, asn1.ObjectIdentifier{1, 2, 3})},
				{kind: bagCert, value: certBagValue(t, leafP521.Raw), keyID: []byte{4}},
			}},
		},
	}
	return f
}

func (f *multiFixture) check(t *testing.T, c *Contents) {
	t.Helper()
	if len(c.Keys) != len(f.keys) || len(c.Certs) != len(f.certs) {
		t.Fatalf("%d keys, %d certs; want %d, %d", len(c.Keys), len(c.Certs), len(f.keys), len(f.certs))
	}
	for i, k := range c.Keys {
		type equaler interface{ Equal(crypto.PrivateKey) bool }
		if !k.Key.(equaler).Equal(f.keys[i]) {
			t.Errorf("key %d (%T) differs", i, k.Key)
		}
		if ce := certFor(c, k.Key); ce == nil || string(ce.LocalKeyID) != string(k.LocalKeyID) {
			t.Errorf("key %d does not pair with a certificate of the same localKeyId", i)
		}
	}
	for i, ce := range c.Certs {
		if !ce.Cert.Equal(f.certs[i]) {
			t.Errorf("certificate %d is %s, want %s", i, ce.Cert.Subject, f.certs[i].Subject)
		}
	}
	if c.Keys[0].FriendlyName != "RSA leaf – ключ" || c.Certs[0].FriendlyName != "RSA leaf – ключ" || c.Certs[1].FriendlyName != "intermediate" {
		t.Errorf("friendly names %q %q %q", c.Keys[0].FriendlyName, c.Certs[0].FriendlyName, c.Certs[1].FriendlyName)
	}
	if !c.Certs[2].Trusted || c.Certs[0].Trusted {
		t.Errorf("trusted flags: root %v, leaf %v", c.Certs[2].Trusted, c.Certs[0].Trusted)
	}
	wantEnc := []string{"pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC", "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC", "none"}
	if !slices.Equal(c.Encryption, wantEnc) {
		t.Errorf("encryption %q, want %q", c.Encryption, wantEnc)
	}
	if len(c.Notes) != 2 || !strings.Contains(c.Notes[0], "crlBag") || !strings.Contains(c.Notes[1], "secretBag") {
		t.Errorf("notes %q", c.Notes)
	}
}

func TestMultiKeyMultiSafe(t *testing.T) {
	f := newMultiFixture(t, "multi-pass")
	data := f.pfx.build(t)
	c, err := Decode(data, "multi-pass", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, c)
	if c.BER || c.MACAlgorithm != "HMAC-SHA256" || c.Iterations != 2048 {
		t.Errorf("BER %v, MAC %q, iterations %d", c.BER, c.MACAlgorithm, c.Iterations)
	}
	if _, err := Decode(data, "multi-pas", Options{}); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestBERAtEveryLevel(t *testing.T) {
	f := newMultiFixture(t, "ber")
	f.pfx.berOuter = true
	for i := range f.pfx.safes {
		f.pfx.safes[i].ber = true
	}
	data := f.pfx.build(t)
	if data[1] != 0x80 {
		t.Fatalf("builder did not write an indefinite length: % x", data[:4])
	}
	c, err := Decode(data, "ber", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, c)
	if !c.BER {
		t.Error("BER not reported")
	}
}

func TestNoMAC(t *testing.T) {
	f := newMultiFixture(t, "nomac")
	f.pfx.mac = "none"
	data := f.pfx.build(t)
	c, err := Decode(data, "nomac", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, c)
	if c.MACAlgorithm != "none" {
		t.Errorf("MAC %q", c.MACAlgorithm)
	}
	// Without MAC the wrong password shows as bad padding or garbage.
	for _, pw := range []string{"", "nomad", "NOMAC", "nomac "} {
		if _, err := Decode(data, pw, Options{}); !errors.Is(err, ErrIncorrectPassword) {
			t.Errorf("password %q: %v, want ErrIncorrectPassword", pw, err)
		}
	}
	// A file without MAC and without encryption opens with any password.
	plain := tPFX{mac: "none", safes: []tSafe{{bags: []tBag{{kind: bagCert, value: certBagValue(t, f.certs[0].Raw)}}}}}.build(t)
	if c, err := Decode(plain, "anything", Options{}); err != nil || len(c.Certs) != 1 || !slices.Equal(c.Encryption, []string{"none"}) {
		t.Errorf("unencrypted file: %v, %+v", err, c)
	}
}

// TestWrongPasswordVersusCorrupt checks that only a password problem is
// ErrIncorrectPassword: truncations and broken structures are ErrMalformed,
// and so is content that does not decrypt although the MAC verified.
func TestWrongPasswordVersusCorrupt(t *testing.T) {
	f := newMultiFixture(t, "pw")
	data := f.pfx.build(t)
	for _, n := range []int{len(data) - 1, len(data) / 2, 10} {
		if _, err := Decode(data[:n], "pw", Options{}); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrIncorrectPassword) {
			t.Errorf("truncated to %d: %v, want ErrMalformed", n, err)
		}
	}
	// MAC made with "pw", safes encrypted with "other": the password is
	// proven right, so the failure is corruption, not a wrong password.
	mixed := f.pfx
	mixed.password = "other"
	mixedSafes := slices.Clone(mixed.safes)
	mixed.safes = mixedSafes
	raw := mixed.build(t)
	raw = replaceMAC(t, raw, tPFX{password: "pw", mac: "sha256", macIter: 2048})
	if _, err := Decode(raw, "pw", Options{}); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("MAC ok but safes under another password: %v, want ErrMalformed", err)
	}
	// Without MAC the right password still opens the file.
	nomac := tPFX{password: "pw", mac: "none", safes: []tSafe{{encrypt: "pbes2", bags: []tBag{{kind: bagCert, value: certBagValue(t, f.certs[0].Raw)}}}}}.build(t)
	c, err := Decode(nomac, "pw", Options{})
	if err != nil || len(c.Certs) != 1 {
		t.Fatalf("no-MAC file: %v", err)
	}
}

// replaceMAC recomputes the MacData of a DER PFX with p's MAC settings.
func replaceMAC(t testing.TB, pfx []byte, p tPFX) []byte {
	t.Helper()
	s := cryptobyte.String(pfx)
	var seq, version, authSafe cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Element(&version, cbasn1.INTEGER) || !seq.ReadASN1Element(&authSafe, cbasn1.SEQUENCE) {
		t.Fatal("replaceMAC: not a DER PFX")
	}
	ci := authSafe
	var inner, explicit, octets cryptobyte.String
	ci.ReadASN1(&inner, cbasn1.SEQUENCE)
	inner.SkipASN1(cbasn1.OBJECT_IDENTIFIER)
	inner.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific())
	explicit.ReadASN1(&octets, cbasn1.OCTET_STRING)
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(version)
			b.AddBytes(authSafe)
			if p.mac != "none" {
				b.AddBytes(p.macData(t, octets))
			}
		})
	})
}

// setMACIterations rewrites the iteration INTEGER of a DER PFX's MacData,
// leaving the MAC value as it is.
func setMACIterations(t testing.TB, pfx []byte, iterations int64) []byte {
	t.Helper()
	s := cryptobyte.String(pfx)
	var seq, version, authSafe, macData, digest, salt cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Element(&version, cbasn1.INTEGER) ||
		!seq.ReadASN1Element(&authSafe, cbasn1.SEQUENCE) || !seq.ReadASN1(&macData, cbasn1.SEQUENCE) ||
		!macData.ReadASN1Element(&digest, cbasn1.SEQUENCE) || !macData.ReadASN1Element(&salt, cbasn1.OCTET_STRING) {
		t.Fatal("setMACIterations: not a DER PFX with MacData")
	}
	return derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(version)
			b.AddBytes(authSafe)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(digest)
				b.AddBytes(salt)
				b.AddASN1Int64(iterations)
			})
		})
	})
}

// TestHugeIterationsRefusedBeforeWork checks that files declaring 10^9
// iterations (in the MAC, PBES1, PBES2 or PBMAC1) fail with
// ErrTooManyIterations and that no key derivation ran: the decoder's
// iteration counter stays at zero.
func TestHugeIterationsRefusedBeforeWork(t *testing.T) {
	const huge = 1_000_000_000
	base, err := os.ReadFile("testdata/boringssl_windows.p12")
	if err != nil {
		t.Fatal(err)
	}
	root := testpki.Root(t, "Iterations")
	certBag := tBag{kind: bagCert, value: certBagValue(t, root.Cert.Raw)}
	files := map[string][]byte{
		"MAC (rewritten Windows file)": setMACIterations(t, base, huge),
		"MAC 2^63-1":                   setMACIterations(t, base, 1<<63-1),
	}
	// The builder would run the KDF itself for 10^9 iterations, so build
	// with 1 iteration and patch the INTEGER afterwards where needed.
	for _, scheme := range []string{"pbes2", "3des", "rc2-40"} {
		p := tPFX{password: "x", mac: "none", kdfIter: 1, safes: []tSafe{{encrypt: scheme, bags: []tBag{certBag}}}}
		files["safe "+scheme] = patchIterations(t, p.build(t), 1, huge)
	}
	key := pkcs8Of(t, root.Key)
	shrouded := tPFX{password: "x", mac: "none", safes: []tSafe{{bags: []tBag{{kind: bagShroudedKey, value: shroudedValue(t, "pbes2", "x", 1, key)}}}}}
	files["shrouded key pbes2"] = patchIterations(t, shrouded.build(t), 1, huge)
	pbmac := tPFX{password: "x", mac: "pbmac1", macIter: 1, safes: []tSafe{{bags: []tBag{certBag}}}}
	files["PBMAC1"] = patchIterations(t, pbmac.build(t), 1, huge)

	for name, data := range files {
		d := newDecoder("x", Options{})
		err := d.decode(data)
		if !errors.Is(err, ErrTooManyIterations) {
			t.Errorf("%s: %v, want ErrTooManyIterations", name, err)
		}
		if d.spent != 0 {
			t.Errorf("%s: %d iterations derived before refusing", name, d.spent)
		}
	}
}

// patchIterations replaces the single INTEGER `02 01 <from>` that follows
// an 8-byte salt OCTET STRING with a 4-byte INTEGER `to`, fixing the
// lengths of all enclosing elements by re-encoding the whole file.
func patchIterations(t testing.TB, der []byte, from byte, to int64) []byte {
	t.Helper()
	var out []byte
	var n int
	var walk func(b []byte) []byte
	walk = func(in []byte) []byte {
		var res []byte
		s := cryptobyte.String(in)
		prevSalt := false
		for !s.Empty() {
			var elem, body cryptobyte.String
			var tag cbasn1.Tag
			if !s.ReadAnyASN1Element(&elem, &tag) {
				t.Fatal("patchIterations: bad DER")
			}
			e := elem
			e.ReadAnyASN1(&body, &tag)
			switch {
			case tag == cbasn1.INTEGER && prevSalt && len(body) == 1 && body[0] == from:
				n++
				res = append(res, derOf(t, func(b *cryptobyte.Builder) { b.AddASN1Int64(to) })...)
			case byte(tag)&0x20 != 0 || tag == cbasn1.OCTET_STRING && len(body) > 0 && body[0] == 0x30 || tag == cbasn1.Tag(0).ContextSpecific():
				inner := []byte(body)
				if byte(tag)&0x20 != 0 || looksDER(body) {
					inner = walk(body)
				}
				res = append(res, derOf(t, func(b *cryptobyte.Builder) {
					b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(inner) })
				})...)
			default:
				res = append(res, elem...)
			}
			prevSalt = tag == cbasn1.OCTET_STRING && len(body) == 8
		}
		return res
	}
	out = walk(der)
	if n != 1 {
		t.Fatalf("patchIterations: patched %d INTEGERs, want 1", n)
	}
	return out
}

func looksDER(b []byte) bool {
	s := cryptobyte.String(b)
	var e cryptobyte.String
	var tag cbasn1.Tag
	for !s.Empty() {
		if !s.ReadAnyASN1Element(&e, &tag) {
			return false
		}
	}
	return len(b) > 0 && b[0] == 0x30
}

func TestKeyBounds(t *testing.T) {
	// An RSAPrivateKey whose modulus has 8193 bits: refused before
	// crypto/rsa sees it (the other fields need not be valid).
	n := new(big.Int).Lsh(big.NewInt(1), 8192)
	bigRSA := derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, oidRSA)
				b.AddASN1NULL()
			})
			b.AddASN1OctetString(derOf(t, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(0)
					b.AddASN1BigInt(n)
					b.AddASN1Int64(65537)
				})
			}))
		})
	})
	dsa := derOf(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, oidDSA)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(23)
					b.AddASN1Int64(11)
					b.AddASN1Int64(4)
				})
			})
			b.AddASN1OctetString([]byte{0x02, 0x01, 0x03})
		})
	})
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for _, c := range []struct {
		name string
		key  []byte
		want error
	}{
		{"RSA 8193 bits", bigRSA, ErrKeyTooLarge},
		{"DSA", dsa, ErrUnsupported},
		{"X25519", pkcs8Of(t, x25519), nil},
	} {
		for _, shroud := range []bool{false, true} {
			bag := tBag{kind: bagKey, value: c.key}
			if shroud {
				bag = tBag{kind: bagShroudedKey, value: shroudedValue(t, "pbes2", "k", 2048, c.key)}
			}
			data := tPFX{password: "k", mac: "sha256", safes: []tSafe{{bags: []tBag{bag}}}}.build(t)
			_, err := Decode(data, "k", Options{})
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Errorf("%s (shrouded %v): %v, want %v", c.name, shroud, err, c.want)
			}
		}
	}
}

func TestBagBounds(t *testing.T) {
	many := make([]tBag, DefaultMaxBags+1)
	for i := range many {
		many[i] = tBag{kind: bagSecret, value: []byte{0x30, 0x00}}
	}
	data := tPFX{password: "b", mac: "sha256", safes: []tSafe{{bags: many}}}.build(t)
	if _, err := Decode(data, "b", Options{}); !errors.Is(err, ErrTooManyBags) {
		t.Errorf("%d bags: %v, want ErrTooManyBags", len(many), err)
	}
	if c, err := Decode(data, "b", Options{MaxBags: len(many)}); err != nil || len(c.Notes) != len(many) {
		t.Errorf("MaxBags %d: %v", len(many), err)
	}
	nest := func(depth int) []byte {
		bags := []tBag{{kind: bagSecret, value: []byte{0x30, 0x00}}}
		for range depth {
			bags = []tBag{{kind: bagSafeContents, value: safeContentsDER(t, bags)}}
		}
		return tPFX{password: "b", mac: "sha256", safes: []tSafe{{bags: bags}}}.build(t)
	}
	if _, err := Decode(nest(MaxSafeNesting), "b", Options{}); err != nil {
		t.Errorf("nesting %d: %v", MaxSafeNesting, err)
	}
	if _, err := Decode(nest(MaxSafeNesting+1), "b", Options{}); !errors.Is(err, ErrTooManyBags) {
		t.Errorf("nesting %d: %v, want ErrTooManyBags", MaxSafeNesting+1, err)
	}
}

func TestPBMAC1Built(t *testing.T) {
	root := testpki.Root(t, "PBMAC1")
	bags := []tBag{{kind: bagCert, value: certBagValue(t, root.Cert.Raw)}}
	ok := tPFX{password: "p", mac: "pbmac1", safes: []tSafe{{encrypt: "pbes2", bags: bags}}}.build(t)
	c, err := Decode(ok, "p", Options{})
	if err != nil || c.MACAlgorithm != "PBMAC1/PBKDF2-HMAC-SHA256/HMAC-SHA256" {
		t.Fatalf("%v %+v", err, c)
	}
	short := tPFX{password: "p", mac: "pbmac1", safeKeyLen: 19, safes: []tSafe{{bags: bags}}}.build(t)
	if _, err := Decode(short, "p", Options{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("19-byte PBMAC1 key: %v, want ErrMalformed", err)
	}
	for _, mac := range []string{"sha1", "sha512"} {
		data := tPFX{password: "p", mac: mac, safes: []tSafe{{bags: bags}}}.build(t)
		if c, err := Decode(data, "p", Options{}); err != nil || !strings.HasSuffix(c.MACAlgorithm, strings.ToUpper(mac)) {
			t.Errorf("MAC %s: %v %v", mac, err, c)
		}
	}
}

func TestEmptyPassword(t *testing.T) {
	root := testpki.Root(t, "Empty")
	data := tPFX{password: "", mac: "sha1", safes: []tSafe{{encrypt: "3des", bags: []tBag{{kind: bagCert, value: certBagValue(t, root.Cert.Raw)}}}}}.build(t)
	c, err := Decode(data, "", Options{})
	if err != nil || len(c.Certs) != 1 {
		t.Fatalf("%v", err)
	}
	if _, err := Decode(data, " ", Options{}); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("password \" \": %v", err)
	}
}
