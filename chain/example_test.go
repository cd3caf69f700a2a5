package chain_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/certwright/certwright/chain"
)

func mustCert(name string) *x509.Certificate {
	data, err := os.ReadFile(name)
	if err != nil {
		panic(err)
	}
	cs, err := chain.ParseIssuers(data) // DER, PEM or PKCS#7
	if err != nil {
		panic(err)
	}
	return cs[0]
}

// Build the chain to serve from a pile given root-first, as a .p7b often
// is: the cross-signed ISRG Root X1 first, then the R3 intermediate, with
// DST Root CA X3 trusted (as in 2021, for old clients).
func ExampleBuild() {
	pile := []*x509.Certificate{
		mustCert("testdata/isrg-root-x1-by-dst.pem"),
		mustCert("testdata/r3.pem"),
	}
	res, err := chain.Build(context.Background(), pile, &chain.Options{
		Roots:       chain.NewRoots(mustCert("testdata/dst-root-ca-x3.p7c")),
		CurrentTime: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Chain {
		fmt.Println(c.Subject.CommonName)
	}
	fmt.Println("root:", res.Root.Subject.CommonName)
	fmt.Println("reordered:", res.Report.Reordered)
	// Output:
	// R3
	// ISRG Root X1
	// root: DST Root CA X3
	// reordered: true
}

// Diagnose a chain as a server sends it: R3 alone, without the
// cross-signed ISRG Root X1 its old clients need.
func ExampleDiagnose() {
	pool := chain.NewPool(nil)
	pool.Add(mustCert("testdata/isrg-root-x1-by-dst.pem"))
	d := chain.Diagnose(context.Background(), []*x509.Certificate{mustCert("testdata/r3.pem")}, "", &chain.Options{
		Roots:       chain.NewRoots(mustCert("testdata/dst-root-ca-x3.pem")),
		Pool:        pool,
		CurrentTime: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	for _, p := range d.Problems {
		fmt.Println(p.Kind)
	}
	for _, c := range d.Chain {
		fmt.Println("serve:", c.Subject.CommonName)
	}
	// Output:
	// missing-intermediate
	// serve: R3
	// serve: ISRG Root X1
}
