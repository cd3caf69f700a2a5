package chain_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testpki"
)

// names returns the common names of certs, for exact comparisons.
func names(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.Subject.CommonName
	}
	return out
}

// build runs Build, and again with WholePathVerify, and checks that both
// agree: the composed validation must never accept what the whole-path
// x509.Verify rejects, nor the reverse.
func build(t *testing.T, certs []*x509.Certificate, o chain.Options) (*chain.Result, error) {
	t.Helper()
	res, err := chain.Build(context.Background(), certs, &o)
	w := o
	w.WholePathVerify = true
	w.Pool = nil
	if o.Pool != nil {
		w.Pool = chain.NewPool(nil)
		w.Pool.Add(o.Pool.Certificates()...)
	}
	res2, err2 := chain.Build(context.Background(), certs, &w)
	if (err == nil) != (err2 == nil) {
		t.Fatalf("composed validation says %v, whole-path validation says %v", err, err2)
	}
	if err == nil && !slices.Equal(names(res.Chain), names(res2.Chain)) {
		t.Fatalf("composed validation chose %v, whole-path chose %v", names(res.Chain), names(res2.Chain))
	}
	return res, err
}

type pki struct {
	root, i1, i2 *testpki.Issuer
	leaf         *x509.Certificate
}

func newPKI(t *testing.T) pki {
	r := testpki.Root(t, "Root")
	i1 := r.Intermediate(t, "I1")
	i2 := i1.Intermediate(t, "I2")
	leaf, _ := i2.Leaf(t, nil, "www.example.com")
	return pki{r, i1, i2, leaf}
}

func TestBuildOrdersPile(t *testing.T) {
	p := newPKI(t)
	other := testpki.Root(t, "Unrelated")
	pile := []*x509.Certificate{p.i1.Cert, p.root.Cert, p.i2.Cert, p.leaf, p.i1.Cert, other.Cert}
	res, err := build(t, pile, chain.Options{
		Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now, DNSName: "www.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res.Chain), []string{"www.example.com", "I2", "I1"}; !slices.Equal(got, want) {
		t.Fatalf("chain %v, want %v", got, want)
	}
	if res.Root.Subject.CommonName != "Root" {
		t.Fatalf("root %q", res.Root.Subject.CommonName)
	}
	var dropped []string
	for _, d := range res.Report.Dropped {
		dropped = append(dropped, d.Cert.Subject.CommonName+":"+d.Reason)
	}
	if want := []string{"I1:duplicate", "Root:root", "Unrelated:unrelated"}; !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	if !res.Report.Reordered {
		t.Fatal("Reordered is false for a pile given root-first")
	}
	s := res.Report.String()
	for _, want := range []string{"reordered", `dropped "Root": root`, `dropped "Unrelated": unrelated`, `intermediate "I1" from input`} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

func TestBuildInOrderNotReordered(t *testing.T) {
	p := newPKI(t)
	res, err := build(t, []*x509.Certificate{p.leaf, p.i2.Cert, p.i1.Cert}, chain.Options{
		Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now, IncludeRoot: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Reordered || len(res.Report.Dropped) != 0 {
		t.Fatalf("reordered %v dropped %v", res.Report.Reordered, res.Report.Dropped)
	}
	if got, want := names(res.Chain), []string{"www.example.com", "I2", "I1", "Root"}; !slices.Equal(got, want) {
		t.Fatalf("chain %v, want %v", got, want)
	}
}

func TestBuildCompletesFromPool(t *testing.T) {
	p := newPKI(t)
	pool := chain.NewPool(nil)
	pool.Add(p.i1.Cert, p.i2.Cert)
	res, err := build(t, []*x509.Certificate{p.leaf}, chain.Options{
		Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res.Chain), []string{"www.example.com", "I2", "I1"}; !slices.Equal(got, want) {
		t.Fatalf("chain %v, want %v", got, want)
	}
	if src := res.Report.Links[1].Source; src != "pool" {
		t.Fatalf("I2 source %q, want pool", src)
	}
}

func TestBuildMissingIntermediate(t *testing.T) {
	p := newPKI(t)
	_, err := build(t, []*x509.Certificate{p.leaf, p.i2.Cert}, chain.Options{
		Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now,
	})
	if !errors.Is(err, chain.ErrNoChain) {
		t.Fatalf("err %v, want ErrNoChain", err)
	}
	if !strings.Contains(err.Error(), `"CN=I1,O=certwright test"`) {
		t.Fatalf("error does not name the missing issuer: %v", err)
	}
}

func TestBuildHostMismatch(t *testing.T) {
	p := newPKI(t)
	_, err := build(t, []*x509.Certificate{p.leaf, p.i2.Cert, p.i1.Cert}, chain.Options{
		Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now, DNSName: "other.example.org",
	})
	var nc *chain.NoChainError
	if !errors.As(err, &nc) || len(nc.Rejected) != 1 {
		t.Fatalf("err %v, want one rejected path", err)
	}
	var he x509.HostnameError
	if !errors.As(nc.Rejected[0].Err, &he) {
		t.Fatalf("rejection %v is not a HostnameError", nc.Rejected[0].Err)
	}
}

func TestBuildLeafByKey(t *testing.T) {
	p := newPKI(t)
	leaf2, key2 := p.i2.Leaf(t, nil, "two.example.com")
	pile := []*x509.Certificate{p.leaf, leaf2, p.i2.Cert, p.i1.Cert}
	_, err := chain.Build(context.Background(), pile, &chain.Options{Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now})
	if !errors.Is(err, chain.ErrNoLeaf) {
		t.Fatalf("two leaves: err %v, want ErrNoLeaf", err)
	}
	res, err := build(t, pile, chain.Options{Roots: chain.NewRoots(p.root.Cert), CurrentTime: testpki.Now, Key: key2.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chain[0] != leaf2 {
		t.Fatalf("leaf %q", res.Chain[0].Subject.CommonName)
	}
	if _, err := chain.Build(context.Background(), pile, &chain.Options{Key: testpki.KeyP256(t).Public(), Roots: chain.NewRoots(p.root.Cert)}); !errors.Is(err, chain.ErrNoLeaf) {
		t.Fatalf("unknown key: err %v", err)
	}
}

// crossPKI: I (one key) certified by R1 and, as a cross-sign, by R2.
type crossPKI struct {
	r1, r2   *testpki.Issuer
	iByR1    *x509.Certificate
	iByR2    *x509.Certificate
	iss      *testpki.Issuer
	leaf     *x509.Certificate
	leafTmpl time.Time
}

func caTmpl(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func newCross(t *testing.T, crossNotAfter time.Time) crossPKI {
	r1 := testpki.Root(t, "R1")
	r2 := testpki.Root(t, "R2")
	k := testpki.KeyP256(t)
	iByR1 := testpki.Sign(t, caTmpl("I"), k.Public(), r1, nil)
	tm := caTmpl("I")
	tm.NotAfter = crossNotAfter
	iByR2 := testpki.Sign(t, tm, k.Public(), r2, nil)
	iss := &testpki.Issuer{Cert: iByR1, Key: k}
	leaf, _ := iss.Leaf(t, nil, "x.example.com")
	return crossPKI{r1: r1, r2: r2, iByR1: iByR1, iByR2: iByR2, iss: iss, leaf: leaf}
}

func TestBuildCrossSignPreferExclude(t *testing.T) {
	c := newCross(t, testpki.NotAfter)
	roots := chain.NewRoots(c.r1.Cert, c.r2.Cert)
	pile := []*x509.Certificate{c.leaf, c.iByR2, c.iByR1}
	for _, tc := range []struct {
		name            string
		prefer, exclude []string
		want            string
	}{
		{"default keeps input order", nil, nil, "R2"},
		{"prefer R1 by CN", []string{"R1"}, nil, "R1"},
		{"prefer R1 by SPKI", []string{"sha256:" + chain.SPKIHash(c.r1.Cert)}, nil, "R1"},
		{"exclude R2 by subject", nil, []string{c.r2.Cert.Subject.String()}, "R1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := build(t, pile, chain.Options{Roots: roots, CurrentTime: testpki.Now, PreferRoots: tc.prefer, ExcludeRoots: tc.exclude})
			if err != nil {
				t.Fatal(err)
			}
			if res.Root.Subject.CommonName != tc.want {
				t.Fatalf("root %s, want %s\n%s", res.Root.Subject.CommonName, tc.want, res.Report)
			}
			if tc.exclude == nil && len(res.Report.Rejected) != 1 {
				t.Fatalf("want the other path reported as an alternative:\n%s", res.Report)
			}
		})
	}
}

func TestBuildAvoidsLinkExpiringBeforeLeaf(t *testing.T) {
	// The cross-sign by R1's path... here I-by-R2 expires in 2027, before the
	// leaf (2036): the path through I-by-R1 must win even when R2 is first.
	c := newCross(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	roots := chain.NewRoots(c.r2.Cert, c.r1.Cert)
	res, err := build(t, []*x509.Certificate{c.leaf, c.iByR2, c.iByR1}, chain.Options{Roots: roots, CurrentTime: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root.Subject.CommonName != "R1" || res.Chain[1] != c.iByR1 {
		t.Fatalf("root %s\n%s", res.Root.Subject.CommonName, res.Report)
	}
	if !strings.Contains(res.Report.String(), "expires before the leaf") {
		t.Fatalf("report does not say why:\n%s", res.Report)
	}
	// After the cross-sign expired, only R1 remains; with only R2 trusted
	// there is no chain.
	_, err = build(t, []*x509.Certificate{c.leaf, c.iByR2}, chain.Options{Roots: chain.NewRoots(c.r2.Cert), CurrentTime: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)})
	var nc *chain.NoChainError
	var ce x509.CertificateInvalidError
	if !errors.As(err, &nc) || len(nc.Rejected) != 1 || !errors.As(nc.Rejected[0].Err, &ce) || ce.Reason != x509.Expired {
		t.Fatalf("err %v, want an expiry rejection", err)
	}
}

// TestAdversarialCopiedIdentifiers: 1,000 certificates copy the real
// issuer's subject and subject key id (each with its own key). x509.Verify
// gives up after 100 signature checks; Build must check each fake at most
// once and find the real issuer, and a second Build sharing the Pool must
// check no signature at all.
func TestAdversarialCopiedIdentifiers(t *testing.T) {
	p := newPKI(t)
	pool := chain.NewPool(nil)
	for i := range 1000 {
		tm := caTmpl("I2")
		tm.Subject = p.i2.Cert.Subject
		tm.SubjectKeyId = p.i2.Cert.SubjectKeyId
		tm.SerialNumber = big.NewInt(int64(i + 1))
		k := testpki.KeyP256(t)
		pool.Add(testpki.Sign(t, tm, k.Public(), p.i1, nil))
	}
	pool.Add(p.i2.Cert, p.i1.Cert)
	o := chain.Options{Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now}
	res, err := chain.Build(context.Background(), []*x509.Certificate{p.leaf}, &o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chain[1] != p.i2.Cert {
		t.Fatal("a fake was chosen")
	}
	if n := res.Report.SignatureChecks; n > 1003 {
		t.Fatalf("%d signature checks, want at most one per candidate", n)
	}
	res, err = chain.Build(context.Background(), []*x509.Certificate{p.leaf}, &o)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Report.SignatureChecks; n != 0 {
		t.Fatalf("second build made %d signature checks, want 0 (cached)", n)
	}
	// For the record: crypto/x509 alone fails on this pool.
	inter := x509.NewCertPool()
	for _, c := range pool.Certificates() {
		inter.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.root.Cert)
	if _, err := p.leaf.Verify(x509.VerifyOptions{Intermediates: inter, Roots: roots, CurrentTime: testpki.Now}); err == nil {
		t.Fatal("x509.Verify found the chain; this test no longer shows what Build adds")
	}
}

// TestAdversarialSameSubjectFlood: many certificates share the issuer's
// subject but have other key identifiers; the AKI ordering finds the
// real one with one signature check per link.
func TestAdversarialSameSubjectFlood(t *testing.T) {
	p := newPKI(t)
	pool := chain.NewPool(nil)
	k := testpki.KeyP256(t) // one key for all: the cache sees it once
	for i := range 2000 {
		tm := caTmpl("I2")
		tm.Subject = p.i2.Cert.Subject
		tm.SerialNumber = big.NewInt(int64(i + 1))
		tm.SubjectKeyId = []byte{byte(i), byte(i >> 8), 1, 2}
		pool.Add(testpki.Sign(t, tm, k.Public(), p.i1, nil))
	}
	pool.Add(p.i2.Cert, p.i1.Cert)
	res, err := chain.Build(context.Background(), []*x509.Certificate{p.leaf}, &chain.Options{
		Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now, WholePathVerify: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chain[1] != p.i2.Cert {
		t.Fatal("a flood certificate was chosen")
	}
	// leaf->I2 and I2->I1 found first by AKI; the flood shares one key, so
	// looking for alternatives costs one more check.
	if n := res.Report.SignatureChecks; n > 4 {
		t.Fatalf("%d signature checks", n)
	}
}

// TestAdversarialCrossSignCycle: A and B certify each other, with no
// trusted root above; the search must end quickly with ErrNoChain.
func TestAdversarialCrossSignCycle(t *testing.T) {
	ka, kb := testpki.KeyP256(t), testpki.KeyP256(t)
	a0 := testpki.Sign(t, caTmpl("A"), ka.Public(), nil, ka)
	b0 := testpki.Sign(t, caTmpl("B"), kb.Public(), nil, kb)
	aByB := testpki.Sign(t, caTmpl("A"), ka.Public(), &testpki.Issuer{Cert: b0, Key: kb}, nil)
	bByA := testpki.Sign(t, caTmpl("B"), kb.Public(), &testpki.Issuer{Cert: a0, Key: ka}, nil)
	leaf, _ := (&testpki.Issuer{Cert: aByB, Key: ka}).Leaf(t, nil, "cycle.example")
	pool := chain.NewPool(nil)
	pool.Add(aByB, bByA, a0, b0)
	other := testpki.Root(t, "Trusted")
	res, err := chain.Build(context.Background(), []*x509.Certificate{leaf}, &chain.Options{
		Roots: chain.NewRoots(other.Cert), Pool: pool, CurrentTime: testpki.Now,
	})
	if !errors.Is(err, chain.ErrNoChain) {
		t.Fatalf("res %v err %v", res, err)
	}
	if n := pool.SignatureChecks(); n > 8 {
		t.Fatalf("%d signature checks for a 4-certificate cycle", n)
	}
	// With A trusted, the cycle resolves to leaf -> A.
	res, err = build(t, []*x509.Certificate{leaf}, chain.Options{Roots: chain.NewRoots(a0), Pool: pool, CurrentTime: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Chain); !slices.Equal(got, []string{"cycle.example"}) || res.Root != a0 {
		t.Fatalf("chain %v root %v", got, res.Root.Subject)
	}
}

// TestAdversarialHugeRSAKey: a candidate issuer with a 16,384-bit RSA key
// is skipped without a signature check, with a note.
func TestAdversarialHugeRSAKey(t *testing.T) {
	p := newPKI(t)
	buf := make([]byte, 16384/8)
	rand.Read(buf)
	buf[0] |= 0x80
	buf[len(buf)-1] |= 1
	huge := &rsa.PublicKey{N: new(big.Int).SetBytes(buf), E: 65537}
	tm := caTmpl("I2")
	tm.Subject = p.i2.Cert.Subject
	tm.SubjectKeyId = p.i2.Cert.SubjectKeyId
	fake := testpki.Sign(t, tm, huge, p.i1, nil)
	pool := chain.NewPool(nil)
	pool.Add(fake, p.i2.Cert, p.i1.Cert)
	res, err := build(t, []*x509.Certificate{p.leaf}, chain.Options{Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chain[1] != p.i2.Cert {
		t.Fatal("wrong issuer")
	}
	if !strings.Contains(strings.Join(res.Report.Notes, "\n"), "outside 1024..8192") {
		t.Fatalf("no note about the huge key: %v", res.Report.Notes)
	}
}

func TestPoolFull(t *testing.T) {
	p := newPKI(t)
	pool := chain.NewPool(&chain.PoolOptions{MaxCertificates: 2})
	n, err := pool.Add(p.i1.Cert, p.i2.Cert, p.root.Cert)
	if n != 2 || !errors.Is(err, chain.ErrPoolFull) {
		t.Fatalf("added %d, err %v", n, err)
	}
}

func TestMozillaRoots(t *testing.T) {
	r, err := chain.MozillaRoots()
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() < 100 {
		t.Fatalf("%d roots", r.Len())
	}
}

// TestLetsEncryptTestdata: R3 with the X1 cross-sign in a pile, both roots
// trusted: before DST expired and with DST preferred (old clients), the
// chain goes through the cross-sign; otherwise the shorter path wins.
func TestLetsEncryptTestdata(t *testing.T) {
	r3 := readCerts(t, "testdata/r3.pem")[0]
	x1 := readCerts(t, "testdata/isrg-root-x1.der")[0]
	cross := readCerts(t, "testdata/isrg-root-x1-by-dst.pem")[0]
	dst := readCerts(t, "testdata/dst-root-ca-x3.pem")[0]
	roots := chain.NewRoots(x1, dst)
	at := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	res, err := build(t, []*x509.Certificate{cross, r3}, chain.Options{Roots: roots, CurrentTime: at})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Chain); !slices.Equal(got, []string{"R3"}) || res.Root != x1 {
		t.Fatalf("%s", describe(res))
	}
	if len(res.Report.Dropped) != 1 || res.Report.Dropped[0].Reason != "root" {
		t.Fatalf("the cross-signed copy of the root should be dropped as the root: %+v", res.Report.Dropped)
	}
	res, err = build(t, []*x509.Certificate{cross, r3}, chain.Options{Roots: roots, CurrentTime: at, PreferRoots: []string{"DST Root CA X3"}, IncludeRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Chain); !slices.Equal(got, []string{"R3", "ISRG Root X1", "DST Root CA X3"}) {
		t.Fatalf("%s", describe(res))
	}
	if !res.Report.Reordered || !res.Report.Links[1].ExpiresBeforeLeaf {
		t.Fatalf("%s", res.Report)
	}
}

// TestBuildRootPool: with an *x509.CertPool of roots, which cannot be
// listed, crypto/x509 picks the root at the end of the path found.
func TestBuildRootPool(t *testing.T) {
	p := newPKI(t)
	rp := x509.NewCertPool()
	rp.AddCert(p.root.Cert)
	res, err := build(t, []*x509.Certificate{p.i1.Cert, p.leaf, p.i2.Cert}, chain.Options{RootPool: rp, CurrentTime: testpki.Now, IncludeRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Chain); !slices.Equal(got, []string{"www.example.com", "I2", "I1", "Root"}) || res.Root != p.root.Cert {
		t.Fatalf("%s", describe(res))
	}
	if res.Report.Verification != chain.VerifiedByRootPool {
		t.Fatalf("verification %q", res.Report.Verification)
	}
	_, err = chain.Build(context.Background(), []*x509.Certificate{p.leaf, p.i2.Cert, p.i1.Cert}, &chain.Options{
		RootPool: rp, CurrentTime: testpki.Now, ExcludeRoots: []string{"Root"},
	})
	if !errors.Is(err, chain.ErrNoChain) || !strings.Contains(err.Error(), "excluded") {
		t.Fatalf("excluded root: %v", err)
	}
}

// TestPoolConcurrentBuilds shares one Pool between goroutines (run with
// -race).
func TestPoolConcurrentBuilds(t *testing.T) {
	p := newPKI(t)
	var leaves []*x509.Certificate
	for i := range 16 {
		l, _ := p.i2.Leaf(t, nil, fmt.Sprintf("h%d.example.com", i))
		leaves = append(leaves, l)
	}
	pool := chain.NewPool(nil)
	pool.Add(p.i1.Cert, p.i2.Cert)
	o := &chain.Options{Roots: chain.NewRoots(p.root.Cert), Pool: pool, CurrentTime: testpki.Now}
	if _, err := chain.Build(context.Background(), leaves[:1], o); err != nil {
		t.Fatal(err)
	}
	warm := pool.SignatureChecks()
	leaves = leaves[1:]
	errs := make(chan error, len(leaves))
	for _, l := range leaves {
		go func() {
			res, err := chain.Build(context.Background(), []*x509.Certificate{l}, o)
			if err == nil && len(res.Chain) != 3 {
				err = fmt.Errorf("chain of %d", len(res.Chain))
			}
			errs <- err
		}()
	}
	for range leaves {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := pool.SignatureChecks(); n != warm {
		t.Fatalf("%d signature checks after the first build, then %d more for 15 leaves under the cached issuer path", warm, n-warm)
	}
}

// TestAdversarialCrossSignMesh: 40 CAs with one name certify each other
// (1,560 certificates, every one a valid issuer of every other) and none
// reaches a trusted root: an exponential number of paths. The search
// must stop at its bounds, with a note, after a bounded number of
// signature checks.
func TestAdversarialCrossSignMesh(t *testing.T) {
	const n = 40
	var keys []*testpki.Issuer
	for range n {
		k := testpki.KeyP256(t)
		keys = append(keys, &testpki.Issuer{Cert: testpki.Sign(t, caTmpl("Mesh CA"), k.Public(), nil, k), Key: k})
	}
	pool := chain.NewPool(nil)
	for i, s := range keys {
		for j, c := range keys {
			if i != j {
				tm := caTmpl("Mesh CA")
				tm.SubjectKeyId = c.Cert.SubjectKeyId
				pool.Add(testpki.Sign(t, tm, c.Key.Public(), s, nil))
			}
		}
	}
	leaf, _ := keys[0].Leaf(t, nil, "mesh.example")
	start := time.Now()
	defer func() { t.Logf("Build took %v, %d signature checks", time.Since(start), pool.SignatureChecks()) }()
	_, err := chain.Build(context.Background(), []*x509.Certificate{leaf}, &chain.Options{
		Roots: chain.NewRoots(testpki.Root(t, "Elsewhere").Cert), Pool: pool, CurrentTime: testpki.Now,
	})
	var nc *chain.NoChainError
	if !errors.As(err, &nc) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(strings.Join(nc.Notes, "\n"), "search stopped") {
		t.Fatalf("no bound reported: %v", nc.Notes)
	}
	if c := pool.SignatureChecks(); c > chain.DefaultMaxSignatureChecks {
		t.Fatalf("%d signature checks", c)
	}
}

// TestComposedValidationConstraintsAbove puts each constraint that
// applies to the leaf on I1, above the leaf's issuer I2, where the
// composed validation splits the path: every case must be decided exactly
// as one x509.Verify of the whole path decides it (the build helper runs
// both), and the constraints that forbid this leaf must reject it.
func TestComposedValidationConstraintsAbove(t *testing.T) {
	root := testpki.Root(t, "Root")
	for _, tc := range []struct {
		name   string
		modify func(*x509.Certificate)
		accept bool
	}{
		{"no constraint", func(*x509.Certificate) {}, true},
		{"name constraint permits", func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"example.com"} }, true},
		{"name constraint excludes", func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"example.org"} }, false},
		{"EKU clientAuth only", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} }, false},
		{"EKU serverAuth", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }, true},
		{"path length 0", func(c *x509.Certificate) { c.MaxPathLenZero = true }, false},
		{"path length 1", func(c *x509.Certificate) { c.MaxPathLen = 1 }, true},
		// crypto/x509 does not write these two extensions from a template.
		{"require explicit policy, none asserted", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: []int{2, 5, 29, 36}, Critical: true, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}}}
		}, false},
		{"policy mapping from anyPolicy", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: []int{2, 5, 29, 33}, Critical: true,
				Value: []byte{0x30, 0x0c, 0x30, 0x0a, 0x06, 0x04, 0x55, 0x1d, 0x20, 0x00, 0x06, 0x02, 0x2a, 0x03}}}
		}, true}, // no certificate asserts a policy, so crypto/x509 never looks at the mapping
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := caTmpl("I1")
			tc.modify(tm)
			k1 := testpki.KeyP256(t)
			i1 := &testpki.Issuer{Cert: testpki.Sign(t, tm, k1.Public(), root, nil), Key: k1}
			i2 := i1.Intermediate(t, "I2")
			leaf, _ := i2.Leaf(t, nil, "www.example.com")
			pool := chain.NewPool(nil)
			pool.Add(i1.Cert, i2.Cert)
			o := chain.Options{Roots: chain.NewRoots(root.Cert), Pool: pool, CurrentTime: testpki.Now, DNSName: "www.example.com"}
			// Twice, so the second run uses the cached upper path.
			for range 2 {
				res, err := build(t, []*x509.Certificate{leaf}, o)
				if tc.accept != (err == nil) {
					t.Fatalf("accept=%v: %v", tc.accept, err)
				}
				if err == nil && res.Report.Verification != chain.VerifiedComposed && tm.ExtraExtensions == nil && len(tm.PermittedDNSDomains) == 0 {
					t.Fatalf("verification %q, want composed", res.Report.Verification)
				}
			}
		})
	}
}
