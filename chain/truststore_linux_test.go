//go:build linux

package chain

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

// debianSandbox makes a folder tree for update-ca-certificates under a
// temporary root, with one distribution certificate listed in
// ca-certificates.conf (as on a real system) and a hook that records what
// it is told.
func debianSandbox(t *testing.T) (store *SystemStore, root string, public *x509.Certificate) {
	t.Helper()
	testtool.Require(t, "update-ca-certificates")
	testtool.Require(t, "openssl") // the script runs openssl rehash
	testtool.Require(t, "run-parts")
	root = t.TempDir()
	for _, d := range []string{"usr/share/ca-certificates/mozilla", "usr/local/share/ca-certificates", "etc/ssl/certs", "etc/ca-certificates/update.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	public = testpki.Root(t, "Distribution Root").Cert
	write(t, filepath.Join(root, "usr/share/ca-certificates/mozilla/Distribution_Root.crt"), formats.EncodeCertificatesPEM(public), 0o644)
	write(t, filepath.Join(root, "etc/ca-certificates.conf"), []byte("# test\nmozilla/Distribution_Root.crt\n"), 0o644)
	write(t, filepath.Join(root, "etc/ca-certificates/update.d/record"), []byte("#!/bin/sh\ncat >> \""+filepath.Join(root, "hook.log")+"\"\n"), 0o755)
	return &SystemStore{Flavor: FlavorDebian, Root: root}, root, public
}

func TestSystemStoreDebian(t *testing.T) {
	ctx := context.Background()
	s, root, public := debianSandbox(t)
	ca := testpki.Root(t, "Corp Private Root")
	bundle := filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")

	plan, err := s.Plan(ActionInstall, ca.Cert, "corp-root")
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := []string{
		"write " + filepath.Join(root, "usr/local/share/ca-certificates/corp-root.crt") + " (PEM, mode 0644)",
		"update-ca-certificates --certsdir " + root + "/usr/share/ca-certificates --localcertsdir " + root + "/usr/local/share/ca-certificates --etccertsdir " + root + "/etc/ssl/certs --certsconf " + root + "/etc/ca-certificates.conf --hooksdir " + root + "/etc/ca-certificates/update.d",
	}
	if len(plan) != 2 || plan[0] != wantPlan[0] || !strings.HasSuffix(plan[1], wantPlan[1]) {
		t.Errorf("Plan =\n%s\nwant\n%s", strings.Join(plan, "\n"), strings.Join(wantPlan, "\n"))
	}

	if err := s.Install(ctx, ca.Cert, "corp-root"); err != nil {
		t.Fatal(err)
	}
	anchor := filepath.Join(root, "usr/local/share/ca-certificates/corp-root.crt")
	if fi, err := os.Stat(anchor); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("anchor file: %v %v", fi, err)
	}
	bs := bundleCerts(t, bundle)
	if !holds(bs, ca.Cert) || !holds(bs, public) || len(bs) != 2 {
		t.Fatalf("bundle after install holds %d certificates (private %v, distribution %v)", len(bs), holds(bs, ca.Cert), holds(bs, public))
	}
	if link, err := os.Readlink(filepath.Join(root, "etc/ssl/certs/corp-root.pem")); err != nil || link != anchor {
		t.Errorf("symbolic link in etc/ssl/certs: %q, %v", link, err)
	}
	if log, _ := os.ReadFile(filepath.Join(root, "hook.log")); !strings.Contains(string(log), "+"+filepath.Join(root, "etc/ssl/certs/corp-root.pem")) {
		t.Errorf("the hook was not told of the new certificate: %q", log)
	}
	if ok, err := s.Contains(ctx, ca.Cert); !ok || err != nil {
		t.Errorf("Contains after install = %v, %v", ok, err)
	}
	// Idempotent; a name taken by another certificate is refused.
	if err := s.Install(ctx, ca.Cert, "corp-root"); err != nil {
		t.Errorf("second install: %v", err)
	}
	other := testpki.Root(t, "Other Root")
	if err := s.Install(ctx, other.Cert, "corp-root"); !errors.Is(err, ErrNameInUse) {
		t.Errorf("install over another certificate: %v, want ErrNameInUse", err)
	}

	if err := s.Remove(ctx, ca.Cert, ""); err != nil {
		t.Fatal(err)
	}
	bs = bundleCerts(t, bundle)
	if holds(bs, ca.Cert) || !holds(bs, public) {
		t.Errorf("bundle after remove: private %v (want false), distribution %v (want true)", holds(bs, ca.Cert), holds(bs, public))
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/ssl/certs/corp-root.pem")); err == nil {
		t.Error("the symbolic link survived the removal")
	}
	if ok, err := s.Contains(ctx, ca.Cert); ok || err != nil {
		t.Errorf("Contains after remove = %v, %v", ok, err)
	}
	if err := s.Remove(ctx, ca.Cert, ""); !errors.Is(err, ErrNotInStore) {
		t.Errorf("second remove: %v, want ErrNotInStore", err)
	}
	// The distribution's own roots are not ours to remove.
	if err := s.Remove(ctx, public, ""); err == nil || errors.Is(err, ErrNotInStore) || !strings.Contains(err.Error(), "distribution") {
		t.Errorf("removing a distribution root: %v", err)
	}

	// By name.
	if err := s.Install(ctx, other.Cert, "other"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, nil, "other"); err != nil {
		t.Fatal(err)
	}
	if holds(bundleCerts(t, bundle), other.Cert) {
		t.Error("removal by name left the certificate in the bundle")
	}
	if err := s.Remove(ctx, nil, "other"); !errors.Is(err, ErrNotInStore) {
		t.Errorf("second removal by name: %v", err)
	}

	leaf, _ := ca.Leaf(t, testpki.KeyP256(t).Public(), "leaf.example")
	if err := s.Install(ctx, leaf, "leaf"); !errors.Is(err, ErrNotCA) {
		t.Errorf("installing a leaf: %v, want ErrNotCA", err)
	}
}

// An OpenSSL client trusts a server certificate issued by the private root
// through the sandbox's bundle after Install, and no longer after Remove.
func TestSystemStoreDebianVerify(t *testing.T) {
	ctx := context.Background()
	openssl := testtool.Require(t, "openssl")
	s, root, _ := debianSandbox(t)
	ca := testpki.Root(t, "Verify Root")
	leaf, _ := ca.Leaf(t, testpki.KeyP256(t).Public(), "www.corp.example")
	leafFile := filepath.Join(t.TempDir(), "leaf.pem")
	write(t, leafFile, formats.EncodeCertificatesPEM(leaf), 0o644)
	bundle := filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")
	verify := func() error {
		return exec.Command(openssl, "verify", "-attime", "1780315200", "-CAfile", bundle, leafFile).Run()
	}
	if err := s.Install(ctx, ca.Cert, "verify-root"); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err != nil {
		t.Errorf("openssl verify against the bundle after install: %v", err)
	}
	if err := s.Remove(ctx, ca.Cert, ""); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err == nil {
		t.Error("openssl verify still succeeds after remove")
	}
}

// Red Hat's update-ca-trust cannot be pointed at other folders and is not
// installed here: a stand-in with its command line checks the file handling
// and the call; the real tool is not exercised by this test.
func TestSystemStoreRedHatStandIn(t *testing.T) {
	sh := testtool.Require(t, "sh")
	ctx := context.Background()
	dir := t.TempDir()
	anchors := filepath.Join(dir, "anchors")
	bundle := filepath.Join(dir, "tls-ca-bundle.pem")
	calls := filepath.Join(dir, "calls")
	tool := filepath.Join(dir, "update-ca-trust")
	write(t, tool, []byte("#!"+sh+"\necho \"$@\" >> '"+calls+"'\n"+
		"if [ \"$1\" != extract ]; then echo 'usage: update-ca-trust extract' >&2; exit 2; fi\n"+
		"if [ -e '"+dir+"/fail' ]; then echo 'p11-kit: could not extract' >&2; exit 1; fi\n"+
		"cat /dev/null '"+anchors+"'/* > '"+bundle+"' 2>/dev/null || : > '"+bundle+"'\n"), 0o755)
	s := &SystemStore{Command: tool, AnchorDir: anchors, BundleFile: bundle}
	if c, err := s.config(); err != nil || c.flavor != FlavorRedHat {
		t.Fatalf("flavor from the command name: %+v, %v", c, err)
	}
	ca := testpki.Root(t, "RH Root")
	if err := s.Install(ctx, ca.Cert, "rh-root"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(anchors, "rh-root.crt")); !bytes.Equal(got, formats.EncodeCertificatesPEM(ca.Cert)) {
		t.Error("anchor file is not the root in PEM")
	}
	if ok, err := s.Contains(ctx, ca.Cert); !ok || err != nil {
		t.Errorf("Contains = %v, %v", ok, err)
	}
	if err := s.Remove(ctx, ca.Cert, ""); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Contains(ctx, ca.Cert); ok {
		t.Error("still contained after Remove")
	}
	if log, _ := os.ReadFile(calls); string(log) != "extract\nextract\n" {
		t.Errorf("tool calls %q, want two runs of extract", log)
	}
	// A failing tool: its message is in the error and the new file is
	// taken back.
	write(t, filepath.Join(dir, "fail"), nil, 0o644)
	err := s.Install(ctx, ca.Cert, "rh-root")
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "p11-kit: could not extract") {
		t.Errorf("failing tool: %v", err)
	}
	if _, serr := os.Stat(filepath.Join(anchors, "rh-root.crt")); serr == nil {
		t.Error("the anchor file stayed after the tool failed")
	}
	// The real tool reads fixed folders: other folders need a Command.
	if err := (&SystemStore{Flavor: FlavorRedHat, Root: dir}).Install(ctx, ca.Cert, "x"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Red Hat with a Root and no Command: %v, want ErrUnsupported", err)
	}
}
