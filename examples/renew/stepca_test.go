package main

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/bundle"
	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/examples/internal/stepca"
	"github.com/certwright/certwright/formats"
)

// TestStepCARenewal renews a certificate issued by a real step-ca authority
// through the command: check (ACME rule, judged late in its lifetime),
// request, signing by a second step-ca authority (another intermediate, as
// when a CA rotates its issuing CA), completion into the served folder.
func TestStepCARenewal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two embedded step-ca authorities")
	}
	ctx := context.Background()
	dir := t.TempDir()
	for _, d := range []string{"ca1", "ca2"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ca1, err := stepca.New(filepath.Join(dir, "ca1"), &stepca.Options{Validity: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := stepca.New(filepath.Join(dir, "ca2"), &stepca.Options{Validity: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	// The first certificate, served from an nginx folder.
	storeDir, serve := filepath.Join(dir, "pending"), filepath.Join(dir, "www")
	store, err := csr.OpenDir(storeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := csr.GenerateKey(nil, csr.P256)
	if err != nil {
		t.Fatal(err)
	}
	req := &csr.Request{CN: "shop.example.com", O: "Example Ltd", L: "Leeds", ST: "West Yorkshire", C: "GB", DNSNames: []string{"shop.example.com", "www.shop.example.com"}}
	der, _, err := csr.Create(nil, req, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, &csr.Pending{Key: key, CSR: der}); err != nil {
		t.Fatal(err)
	}
	leaf, ints, _, err := ca1.Sign(ctx, der)
	if err != nil {
		t.Fatal(err)
	}
	first := &bundle.Bundle{Key: key, Leaf: leaf, Intermediates: ints}
	if _, err := first.Write(serve, bundle.Nginx, nil); err != nil {
		t.Fatal(err)
	}

	// Two thirds into its 72 hours, the ACME rule asks for renewal.
	late := leaf.NotBefore.Add(50 * time.Hour).UTC().Format(time.RFC3339)
	code, stdout, stderr := runCLI(t, "-check", serve, "-fraction", "0.3333", "-at", late)
	if code != 1 || !strings.HasPrefix(stdout, "RENEW") || !strings.Contains(stderr, "shop.example.com (") {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}
	early := leaf.NotBefore.Add(40 * time.Hour).UTC().Format(time.RFC3339)
	if code, _, stderr := runCLI(t, "-check", serve, "-fraction", "0.3333", "-at", early); code != 0 {
		t.Fatalf("check early: exit %d %s", code, stderr)
	}

	// The renewal request, signed by the other authority.
	csrFile := filepath.Join(dir, "renew.csr")
	if code, _, stderr := runCLI(t, "-cert", filepath.Join(serve, "fullchain.pem"), "-store", storeDir, "-out", csrFile); code != 0 {
		t.Fatalf("request: exit %d %s", code, stderr)
	}
	data, err := os.ReadFile(csrFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := csr.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	leaf2, ints2, root2, err := ca2.Sign(ctx, r.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if leaf2.Subject.String() != leaf.Subject.String() || strings.Join(leaf2.DNSNames, ",") != strings.Join(leaf.DNSNames, ",") {
		t.Fatalf("step-ca issued %q %q for a request from %q %q", leaf2.Subject, leaf2.DNSNames, leaf.Subject, leaf.DNSNames)
	}
	// The answer as Windows CAs send it: the leaf as a DER .cer and the
	// chain as a .p7b, root first.
	cer := filepath.Join(dir, "certnew.cer")
	if err := os.WriteFile(cer, leaf2.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	p7, err := formats.EncodePKCS7(append([]*x509.Certificate{root2}, ints2...))
	if err != nil {
		t.Fatal(err)
	}
	p7b := filepath.Join(dir, "certnew.p7b")
	if err := os.WriteFile(p7b, p7, 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr = runCLI(t, "-complete", cer, p7b, "-store", storeDir, "-serve", serve, "-roots", ca2.RootFile)
	if code != 0 {
		t.Fatalf("complete: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "the issuer changed from") || !strings.Contains(stderr, "the previous files are in "+filepath.Join(serve, "archive")) {
		t.Errorf("stderr:\n%s", stderr)
	}
	pairs, err := bundle.PairFiles(ctx, []string{filepath.Join(serve, "fullchain.pem"), filepath.Join(serve, "privkey.pem")},
		&bundle.CompleteOptions{Roots: []*x509.Certificate{ca2.Root}})
	if err != nil {
		t.Fatalf("the served files do not build to the new root: %v", err)
	}
	if !pairs[0].Leaf.Equal(leaf2) || len(pairs[0].Intermediates) != 1 || !pairs[0].Intermediates[0].Equal(ca2.Intermediate) {
		t.Error("the served files are not the new leaf with the new intermediate")
	}
	// The archive still builds to the old authority.
	arch, _ := filepath.Glob(filepath.Join(serve, "archive", "*"))
	if len(arch) != 1 {
		t.Fatalf("archive folders: %q", arch)
	}
	if _, err := bundle.PairFiles(ctx, []string{filepath.Join(arch[0], "fullchain.pem"), filepath.Join(arch[0], "privkey.pem")},
		&bundle.CompleteOptions{Roots: []*x509.Certificate{ca1.Root}}); err != nil {
		t.Errorf("the archived files are not the old pair: %v", err)
	}
}
