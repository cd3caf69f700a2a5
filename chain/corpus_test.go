package chain_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/chain"
	"github.com/certwright/certwright/internal/testtool"
)

// readCerts reads every certificate of a PEM or DER file.
func readCerts(t testing.TB, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	if !strings.Contains(string(data), "-----BEGIN") {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return []*x509.Certificate{c}
	}
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	return out
}

// bettertlsTime lies inside the validity window of the exported corpus
// (2026-11-20 .. 2027-11-22).
var bettertlsTime = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// TestBetterTLSPathBuilding runs the 81 path-building cases of Netflix
// BetterTLS: each gives the expected verdict, and each accepted chain is
// accepted by x509.Verify given exactly that chain.
func TestBetterTLSPathBuilding(t *testing.T) {
	dir := testtool.Corpus(t, "bettertls/pathbuilding")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := chain.NewPool(nil) // shared across cases, as a server farm would
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		tc := filepath.Join(dir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			var meta struct {
				Expected string `json:"expected"`
				Hostname string `json:"hostname"`
			}
			b, err := os.ReadFile(filepath.Join(tc, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			leaf := readCerts(t, filepath.Join(tc, "leaf.pem"))
			served := readCerts(t, filepath.Join(tc, "pool.pem"))
			root := readCerts(t, filepath.Join(tc, "root.pem"))
			// As a server sends it: the leaf, then the pile.
			in := append(slices.Clone(leaf), served...)
			for _, whole := range []bool{false, true} {
				o := &chain.Options{
					Roots: chain.NewRoots(root...), CurrentTime: bettertlsTime,
					DNSName: meta.Hostname, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
					WholePathVerify: whole, Pool: pool,
				}
				res, err := chain.Build(context.Background(), in, o)
				switch meta.Expected {
				case "ACCEPT":
					if err != nil {
						t.Fatalf("whole=%v: want ACCEPT, got %v", whole, err)
					}
					checkWithX509(t, res, root[0], meta.Hostname, bettertlsTime)
				case "REJECT":
					if !errors.Is(err, chain.ErrNoChain) {
						t.Fatalf("whole=%v: want REJECT, got chain %s", whole, describe(res))
					}
				default:
					t.Fatalf("unknown expectation %q", meta.Expected)
				}
			}
		})
	}
	if n != 81 {
		t.Errorf("%d cases, want 81", n)
	}
}

func describe(res *chain.Result) string {
	if res == nil {
		return "<nil>"
	}
	return fmt.Sprint(names(res.Chain), " root ", res.Root.Subject.CommonName, "\n", res.Report)
}

// checkWithX509 verifies a built chain with crypto/x509 given only that
// chain's certificates.
func checkWithX509(t *testing.T, res *chain.Result, root *x509.Certificate, host string, at time.Time) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, c := range res.Chain[1:] {
		inter.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if _, err := res.Chain[0].Verify(x509.VerifyOptions{Intermediates: inter, Roots: roots, DNSName: host, CurrentTime: at}); err != nil {
		t.Fatalf("x509.Verify rejects the built chain %v: %v", names(res.Chain), err)
	}
	if !sameRaw(res.Root, root) {
		t.Fatalf("root %q, want %q", res.Root.Subject, root.Subject)
	}
}

func sameRaw(a, b *x509.Certificate) bool {
	return a != nil && b != nil && string(a.Raw) == string(b.Raw)
}

func one(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cs := readCerts(t, path)
	if len(cs) != 1 {
		t.Fatalf("%s holds %d certificates", path, len(cs))
	}
	return cs[0]
}

// TestLetsEncrypt builds the real ISRG hierarchy with and without the
// DST Root CA X3 cross-sign.
func TestLetsEncrypt(t *testing.T) {
	dir := testtool.Corpus(t, "letsencrypt/static/certs")
	r3 := one(t, filepath.Join(dir, "lets-encrypt-r3.pem"))
	x1 := one(t, filepath.Join(dir, "isrgrootx1.pem"))
	x1Cross := one(t, filepath.Join(dir, "isrg-root-x1-cross-signed.pem"))
	dst := one(t, filepath.Join(dir, "trustid-x3-root.pem"))
	x2Cross := one(t, filepath.Join(dir, "isrg-root-x2-cross-signed.pem"))
	x2 := one(t, filepath.Join(dir, "isrg-root-x2.pem"))
	e5 := one(t, filepath.Join(dir, "2024", "e5.pem"))
	at2021 := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	at2025 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		in        []*x509.Certificate
		pool      []*x509.Certificate
		roots     []*x509.Certificate
		prefer    []string
		at        time.Time
		wantChain []*x509.Certificate
		wantRoot  *x509.Certificate
	}{
		{"R3 to ISRG Root X1", []*x509.Certificate{r3}, nil, []*x509.Certificate{x1}, nil, at2021, []*x509.Certificate{r3}, x1},
		{"R3 via the cross-sign to DST Root CA X3", []*x509.Certificate{x1Cross, r3}, nil, []*x509.Certificate{dst}, nil, at2021, []*x509.Certificate{r3, x1Cross}, dst},
		{"both roots: the short path wins, DST expires before R3", []*x509.Certificate{x1Cross, r3}, nil, []*x509.Certificate{dst, x1}, nil, at2021, []*x509.Certificate{r3}, x1},
		{"both roots, old clients: prefer DST", []*x509.Certificate{r3, x1Cross}, nil, []*x509.Certificate{x1, dst}, []string{"DST Root CA X3"}, at2021, []*x509.Certificate{r3, x1Cross}, dst},
		{"cross-sign expired: only X1 left", []*x509.Certificate{r3, x1Cross}, nil, []*x509.Certificate{x1, dst}, []string{"DST Root CA X3"}, time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), []*x509.Certificate{r3}, x1},
		{"E5 completed from a pool via X2 cross-signed by X1", []*x509.Certificate{e5}, []*x509.Certificate{x2Cross, r3}, []*x509.Certificate{x1}, nil, at2025, []*x509.Certificate{e5, x2Cross}, x1},
		{"E5 with X2 trusted", []*x509.Certificate{e5}, []*x509.Certificate{x2Cross}, []*x509.Certificate{x1, x2}, nil, at2025, []*x509.Certificate{e5}, x2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := chain.NewPool(nil)
			pool.Add(tc.pool...)
			res, err := build(t, tc.in, chain.Options{
				Roots: chain.NewRoots(tc.roots...), Pool: pool, CurrentTime: tc.at, PreferRoots: tc.prefer,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(res.Chain, tc.wantChain, sameRaw) || !sameRaw(res.Root, tc.wantRoot) {
				t.Fatalf("got %s", describe(res))
			}
		})
	}
}

// TestCFSSLBundlerSets: the cfssl bundler's partial, reversed and broken
// bundles, and the shorter direct path through inter-L2-direct.pem. The
// CA signed inter-L1.pem and inter-L2-direct.pem with SHA-1, which
// crypto/x509 no longer accepts, so no chain validates: Build must still
// order and complete the paths, rank the direct one first, and report
// both as rejected for SHA-1.
func TestCFSSLBundlerSets(t *testing.T) {
	dir := testtool.Corpus(t, "cfssl/bundler/testdata")
	ca := one(t, filepath.Join(dir, "ca.pem"))
	l1 := one(t, filepath.Join(dir, "inter-L1.pem"))
	l2 := one(t, filepath.Join(dir, "inter-L2.pem"))
	l2d := one(t, filepath.Join(dir, "inter-L2-direct.pem"))
	leaf := one(t, filepath.Join(dir, "cfssl-leaf-ecdsa256.pem"))
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	roots := chain.NewRoots(ca)
	for _, tc := range []struct {
		name string
		file string
		pool []*x509.Certificate
		want [][]*x509.Certificate // rejected paths, in rank order
		why  string
	}{
		{"partial bundle completed from the pool", "partial-bundle.pem", []*x509.Certificate{l1}, [][]*x509.Certificate{{leaf, l2, l1, ca}}, "SHA1"},
		{"reversed partial bundle", "reverse-partial-bundle.pem", []*x509.Certificate{l1}, [][]*x509.Certificate{{leaf, l2, l1, ca}}, "SHA1"},
		// This bundle's leaf expired in 2020.
		{"leaf twice", "bad-bundle.pem", []*x509.Certificate{l1, l2}, [][]*x509.Certificate{{leaf, l2, l1, ca}}, "expired"},
		{"shorter direct path ranked first", "partial-bundle.pem", []*x509.Certificate{l1, l2d}, [][]*x509.Certificate{{leaf, l2d, ca}, {leaf, l2, l1, ca}}, "SHA1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := chain.NewPool(nil)
			pool.Add(tc.pool...)
			in := readCerts(t, filepath.Join(dir, tc.file))
			for _, c := range in {
				if c.Subject.CommonName == "cloudflare-leaf.com" {
					leaf = c // this bundle's own leaf
				}
			}
			for _, w := range tc.want {
				w[0] = leaf
			}
			res, err := build(t, in, chain.Options{Roots: roots, Pool: pool, CurrentTime: at})
			var nc *chain.NoChainError
			if !errors.As(err, &nc) {
				t.Fatalf("got %s, want every path rejected for SHA-1", describe(res))
			}
			if len(nc.Rejected) != len(tc.want) {
				t.Fatalf("%d rejected paths, want %d: %v", len(nc.Rejected), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !slices.EqualFunc(nc.Rejected[i].Chain, w, sameRaw) {
					t.Fatalf("rejected path %d is %v, want %v", i, names(nc.Rejected[i].Chain), names(w))
				}
				if i == 0 && !strings.Contains(nc.Rejected[i].Reason, tc.why) {
					t.Fatalf("rejected path %d: %s", i, nc.Rejected[i].Reason)
				}
			}
		})
	}
	// Every leaf key type reaches the same two paths through the pool.
	pool := chain.NewPool(nil)
	pool.Add(l1, l2, l2d)
	for _, name := range []string{"rsa2048", "rsa3072", "rsa4096", "ecdsa256", "ecdsa384", "ecdsa521"} {
		leaf := one(t, filepath.Join(dir, "cfssl-leaf-"+name+".pem"))
		_, err := chain.Build(context.Background(), []*x509.Certificate{leaf}, &chain.Options{Roots: roots, Pool: pool, CurrentTime: at})
		var nc *chain.NoChainError
		if !errors.As(err, &nc) || len(nc.Rejected) != 2 || len(nc.Rejected[0].Chain) != 3 {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestNISTPKITSValidPaths: every PKITS path that should validate is found
// by Build among all 405 PKITS certificates used as the pool, except the
// ones crypto/x509 cannot accept (listed with the reason); for those the
// path must still be found and reported as rejected by crypto/x509.
func TestNISTPKITSValidPaths(t *testing.T) {
	dir := testtool.Corpus(t, "nist-pkits")
	var vectors []struct {
		Name           string
		CertPath       []string
		ShouldValidate bool
	}
	b, err := os.ReadFile(filepath.Join(dir, "go-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "certs", "*.crt"))
	pool := chain.NewPool(nil)
	byName := map[string]*x509.Certificate{}
	unparseable := map[string]string{}
	for _, f := range files {
		c, err := x509.ParseCertificate(mustRead(t, f))
		if err != nil {
			// DSA keys, and CRL distribution points naming a relative
			// name, which crypto/x509 refuses to parse.
			unparseable[filepath.Base(f)] = err.Error()
			continue
		}
		byName[filepath.Base(f)] = c
		pool.Add(c)
	}
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	valid, found := 0, 0
	for _, v := range vectors {
		if !v.ShouldValidate {
			continue
		}
		valid++
		t.Run(v.Name, func(t *testing.T) {
			var path []*x509.Certificate
			for _, n := range v.CertPath {
				c := byName[n]
				if c == nil {
					t.Skipf("%s is not parseable by crypto/x509: %s", n, unparseable[n])
				}
				path = append(path, c)
			}
			slices.Reverse(path) // leaf first
			root := path[len(path)-1]
			res, err := build(t, path[:1], chain.Options{
				Roots: chain.NewRoots(root), Pool: pool, CurrentTime: at,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
			})
			if why, ok := pkitsGoLimits[v.Name]; ok {
				var nc *chain.NoChainError
				if !errors.As(err, &nc) {
					t.Fatalf("crypto/x509 %s, yet Build returned %s", why, describe(res))
				}
				if strings.Contains(why, "DSA") {
					return
				}
				// The path was found and shown with crypto/x509's reason.
				if len(nc.Rejected) == 0 || !slices.EqualFunc(nc.Rejected[0].Chain, path, sameRaw) {
					t.Fatalf("path not found: %v", err)
				}
				found++
				return
			}
			if err != nil {
				t.Fatalf("no chain: %v", err)
			}
			found++
			checkWithX509(t, res, root, "", at)
			if len(res.Chain) > len(path)-1 {
				t.Errorf("chain %v is longer than the PKITS path %v", names(res.Chain), names(path))
			}
			if _, shorter := pkitsShorter[v.Name]; !shorter && !slices.EqualFunc(res.Chain, path[:len(path)-1], sameRaw) {
				t.Errorf("chain %v, PKITS path %v", names(res.Chain), names(path))
			}
		})
	}
	t.Logf("%d valid PKITS paths, %d found", valid, found)
}

// pkitsGoLimits are valid PKITS paths that crypto/x509 rejects, and why.
// Build still finds and reports the path (except for DSA, whose
// signatures crypto/x509 cannot check at all).
var pkitsGoLimits = map[string]string{
	"4.1.4 Valid DSA Signatures Test4":                                "cannot verify DSA signatures",
	"4.3.3 Valid Name Chaining Whitespace Test3":                      "compares names byte for byte",
	"4.3.4 Valid Name Chaining Whitespace Test4":                      "compares names byte for byte",
	"4.3.5 Valid Name Chaining Capitalization Test5":                  "compares names byte for byte",
	"4.3.10 Valid Rollover from PrintableString to UTF8String Test10": "compares names byte for byte",
	"4.3.11 Valid UTF8String Case Insensitive Match Test11":           "compares names byte for byte",
	"4.6.15 Valid Self-Issued pathLenConstraint Test15":               "counts self-issued certificates against pathLenConstraint",
	"4.6.17 Valid Self-Issued pathLenConstraint Test17":               "counts self-issued certificates against pathLenConstraint",
	"4.13.1 Valid DN nameConstraints Test1":                           "does not support directoryName constraints",
	"4.13.4 Valid DN nameConstraints Test4":                           "does not support directoryName constraints",
	"4.13.5 Valid DN nameConstraints Test5":                           "does not support directoryName constraints",
	"4.13.6 Valid DN nameConstraints Test6":                           "does not support directoryName constraints",
	"4.13.11 Valid DN nameConstraints Test11":                         "does not support directoryName constraints",
	"4.13.14 Valid DN nameConstraints Test14":                         "does not support directoryName constraints",
	"4.13.18 Valid DN nameConstraints Test18":                         "does not support directoryName constraints",
	"4.13.19 Valid Self-Issued DN nameConstraints Test19":             "does not support directoryName constraints",
	"4.13.25 Valid RFC822 nameConstraints Test25":                     "reads an rfc822Name constraint without a leading dot as a domain",
	"4.13.27 Valid DN and RFC822 nameConstraints Test27":              "does not support directoryName constraints",
	"4.13.36 Valid URI nameConstraints Test36":                        "reads a URI constraint differently",
}

// pkitsShorter are valid PKITS paths whose listed path carries extra
// self-issued certificates (for CRL checking); Build returns a shorter
// valid path, which crypto/x509 accepts.
var pkitsShorter = map[string]bool{
	"4.4.19 Valid Separate Certificate and CRL Keys Test19": true,
	"4.5.4 Valid Basic Self-Issued New With Old Test4":      true,
	"4.5.6 Valid Basic Self-Issued CRL Signing Key Test6":   true,
	"4.14.24 Valid IDP with indirectCRL Test24":             true,
	"4.14.25 Valid IDP with indirectCRL Test25":             true,
	"4.14.28 Valid cRLIssuer Test28":                        true,
	"4.14.30 Valid cRLIssuer Test30":                        true,
	"4.14.33 Valid cRLIssuer Test33":                        true,
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOfflinePoolCFSSLTrust completes each of the 1,263 public
// intermediates of cfssl_trust, taken as a leaf, from the rest of
// int-bundle.crt as the offline pool, to the 339 roots of ca-bundle.crt, at
// the middle of its validity: Build must succeed wherever x509.Verify with
// the same pool and roots does, and every chain it returns must be
// accepted by x509.Verify given only that chain.
func TestOfflinePoolCFSSLTrust(t *testing.T) {
	inters := readParseable(t, testtool.Corpus(t, "cfssl_trust/int-bundle.crt"))
	rootCerts := readParseable(t, testtool.Corpus(t, "cfssl_trust/ca-bundle.crt"))
	pool := chain.NewPool(nil)
	pool.Add(inters...)
	roots := chain.NewRoots(rootCerts...)
	xInter, xRoots := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range inters {
		xInter.AddCert(c)
	}
	for _, c := range rootCerts {
		xRoots.AddCert(c)
	}
	ours, theirs, completed := 0, 0, 0
	for _, leaf := range inters {
		at := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
		_, xerr := leaf.Verify(x509.VerifyOptions{Intermediates: xInter, Roots: xRoots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		res, err := chain.Build(context.Background(), []*x509.Certificate{leaf}, &chain.Options{
			Roots: roots, Pool: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if xerr == nil {
			theirs++
		}
		if err != nil {
			if xerr == nil {
				t.Errorf("%q: x509.Verify finds a chain, Build does not: %v", leaf.Subject, err)
			}
			continue
		}
		ours++
		if len(res.Chain) > 1 {
			completed++
		}
		inter := x509.NewCertPool()
		for _, c := range res.Chain[1:] {
			inter.AddCert(c)
		}
		rp := x509.NewCertPool()
		rp.AddCert(res.Root)
		if _, err := leaf.Verify(x509.VerifyOptions{Intermediates: inter, Roots: rp, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%q: x509.Verify rejects the built chain: %v", leaf.Subject, err)
		}
	}
	t.Logf("%d intermediates: Build found %d chains (%d completed from the pool), x509.Verify %d; %d signature checks in all",
		len(inters), ours, completed, theirs, pool.SignatureChecks())
	if ours < theirs || completed == 0 {
		t.Fatalf("Build %d, x509.Verify %d, completed %d", ours, theirs, completed)
	}
}

// readParseable reads the PEM certificates of path that crypto/x509 can
// parse (a few old roots have negative serial numbers).
func readParseable(t *testing.T, path string) []*x509.Certificate {
	data := mustRead(t, path)
	var out []*x509.Certificate
	skipped := 0
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		} else {
			skipped++
		}
	}
	t.Logf("%s: %d certificates, %d not parseable by crypto/x509", filepath.Base(path), len(out), skipped)
	return out
}
