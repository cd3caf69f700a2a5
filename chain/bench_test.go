package chain_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testpki"
)

// benchCorpus is one generated hierarchy shared by the benchmarks: 10
// roots, 200 intermediates of which 100 are cross-signed by a second root
// (300 intermediate certificates), and 2,000 leaves, all ECDSA P-256, so
// each leaf has a 3-certificate path (two for the cross-signed ones).
type benchCorpus struct {
	roots  []*x509.Certificate
	inters []*x509.Certificate
	leaves []*x509.Certificate
	issuer []*x509.Certificate // the issuer of each leaf
}

var (
	benchOnce sync.Once
	benchData *benchCorpus
)

func corpus(b *testing.B) *benchCorpus {
	benchOnce.Do(func() {
		c := &benchCorpus{}
		var roots []*testpki.Issuer
		for i := range 10 {
			r := testpki.Root(b, fmt.Sprintf("Bench Root %d", i))
			roots = append(roots, r)
			c.roots = append(c.roots, r.Cert)
		}
		var inters []*testpki.Issuer
		for i := range 200 {
			k := testpki.KeyP256(b)
			tm := func() *x509.Certificate {
				return &x509.Certificate{
					Subject: pkix.Name{CommonName: fmt.Sprintf("Bench Intermediate %d", i)}, IsCA: true, BasicConstraintsValid: true,
					KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				}
			}
			ic := testpki.Sign(b, tm(), k.Public(), roots[i%10], nil)
			c.inters = append(c.inters, ic)
			if i%2 == 0 {
				c.inters = append(c.inters, testpki.Sign(b, tm(), k.Public(), roots[(i+1)%10], nil))
			}
			inters = append(inters, &testpki.Issuer{Cert: ic, Key: k})
		}
		leafKey := testpki.KeyP256(b)
		for i := range 2000 {
			iss := inters[i%200]
			l, _ := iss.Leaf(b, leafKey.Public(), fmt.Sprintf("host%d.example.com", i))
			c.leaves = append(c.leaves, l)
			c.issuer = append(c.issuer, iss.Cert)
		}
		benchData = c
	})
	return benchData
}

// cpuTime returns the CPU time this process has used. The machine the
// benchmarks run on is shared, so wall time per operation is noisy; the
// benchmarks also report "cpu-ns/op" from this.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchOptions(c *benchCorpus, whole bool) *chain.Options {
	pool := chain.NewPool(nil)
	pool.Add(c.inters...)
	return &chain.Options{Roots: chain.NewRoots(c.roots...), Pool: pool, CurrentTime: testpki.Now, WholePathVerify: whole}
}

func benchBuild(b *testing.B, whole bool) {
	c := corpus(b)
	o := benchOptions(c, whole)
	ctx := context.Background()
	// Warm the Pool the way a long-running service would have: every
	// intermediate link seen once (by building other leaves).
	for i := range 200 {
		if _, err := chain.Build(ctx, c.leaves[i:i+1], o); err != nil {
			b.Fatal(err)
		}
	}
	o.DNSName = ""
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; b.Loop(); i++ {
		n := 200 + i%1800
		if _, err := chain.Build(ctx, c.leaves[n:n+1], o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild: our Build per leaf with a shared, warm Pool (composed
// validation: the leaf's link through x509.Verify, the cached upper path).
func BenchmarkBuild(b *testing.B) { benchBuild(b, false) }

// BenchmarkBuildWholePath: the same with a whole-path x509.Verify of the
// chosen path (given exactly its certificates) per leaf.
func BenchmarkBuildWholePath(b *testing.B) { benchBuild(b, true) }

// BenchmarkX509Verify: what a user would do instead, x509.Verify with the
// same pool of intermediates and the same roots.
func BenchmarkX509Verify(b *testing.B) {
	c := corpus(b)
	inter := x509.NewCertPool()
	for _, ic := range c.inters {
		inter.AddCert(ic)
	}
	roots := x509.NewCertPool()
	for _, r := range c.roots {
		roots.AddCert(r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; b.Loop(); i++ {
		n := 200 + i%1800
		if _, err := c.leaves[n].Verify(x509.VerifyOptions{Intermediates: inter, Roots: roots, CurrentTime: testpki.Now}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloor: the cost of the leaf's own signature check, the work no
// path builder can avoid for a new leaf.
func BenchmarkFloor(b *testing.B) {
	c := corpus(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; b.Loop(); i++ {
		n := 200 + i%1800
		if err := c.leaves[n].CheckSignatureFrom(c.issuer[n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkX509VerifyChosenChain: x509.Verify given only the leaf's own
// issuer and that issuer's root, the cheapest whole-path check there is
// (what Build's WholePathVerify costs on top of the search).
func BenchmarkX509VerifyChosenChain(b *testing.B) {
	c := corpus(b)
	rootOf := map[string]*x509.Certificate{}
	for _, r := range c.roots {
		rootOf[string(r.RawSubject)] = r
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; b.Loop(); i++ {
		n := 200 + i%1800
		inter, roots := x509.NewCertPool(), x509.NewCertPool()
		inter.AddCert(c.issuer[n])
		roots.AddCert(rootOf[string(c.issuer[n].RawIssuer)])
		if _, err := c.leaves[n].Verify(x509.VerifyOptions{Intermediates: inter, Roots: roots, CurrentTime: testpki.Now}); err != nil {
			b.Fatal(err)
		}
	}
}
