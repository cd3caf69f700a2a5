package chain

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/certwright/certwright/formats"
	"github.com/certwright/certwright/internal/atomicfile"
	"github.com/certwright/certwright/internal/testpki"
	"github.com/certwright/certwright/internal/testtool"
)

func TestDefaultName(t *testing.T) {
	root := testpki.Root(t, "Example Root CA")
	name := DefaultName(root.Cert)
	fp := fingerprint(root.Cert)[:8]
	if want := "Example-Root-CA-" + fp; name != want {
		t.Fatalf("DefaultName = %q, want %q", name, want)
	}
	if err := CheckName(name); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cn, want string }{
		{"  Ünïcode / Root (2026)  ", "n-code-Root-2026-"},
		{"", "root-"},
		{"...", "root-"},
		{"-dash", "dash-"},
	} {
		c := testpki.Sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: tc.cn}, IsCA: true, BasicConstraintsValid: true}, root.Key.Public(), nil, root.Key)
		got := DefaultName(c)
		if !strings.HasPrefix(got, tc.want) || len(got) != len(tc.want)+8 {
			t.Errorf("DefaultName(CN=%q) = %q, want %q + 8 hex digits", tc.cn, got, tc.want)
		}
		if err := CheckName(got); err != nil {
			t.Errorf("DefaultName(CN=%q) = %q fails CheckName: %v", tc.cn, got, err)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", "-D", ".hidden", "a/b", "a b", "a\x00", "ä", strings.Repeat("a", 129), "../x"} {
		if err := CheckName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, want ErrBadName", bad, err)
		}
	}
	for _, good := range []string{"a", "corp-root_2026.v1", strings.Repeat("a", 128)} {
		if err := CheckName(good); err != nil {
			t.Errorf("CheckName(%q) = %v", good, err)
		}
	}
}

func TestCheckAnchor(t *testing.T) {
	root := testpki.Root(t, "Anchor Root")
	inter := root.Intermediate(t, "Anchor Intermediate")
	leaf, _ := inter.Leaf(t, testpki.KeyP256(t).Public(), "www.example.com")
	if err := CheckAnchor(root.Cert); err != nil {
		t.Errorf("root: %v", err)
	}
	if err := CheckAnchor(inter.Cert); err != nil {
		t.Errorf("intermediate: %v", err)
	}
	err := CheckAnchor(leaf)
	if !errors.Is(err, ErrNotCA) || !strings.Contains(err.Error(), "www.example.com") && !strings.Contains(err.Error(), leaf.Subject.String()) {
		t.Errorf("leaf: %v, want ErrNotCA naming the certificate", err)
	}
	if !IsSelfSigned(root.Cert) || IsSelfSigned(inter.Cert) || IsSelfSigned(leaf) {
		t.Error("IsSelfSigned is wrong")
	}
}

func TestExportRoot(t *testing.T) {
	root := testpki.Root(t, "Export Root")
	dir := t.TempDir()
	out, err := ExportRoot(dir, "corp", root.Cert, &ExportOptions{Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	want := &ExportedRoot{PEM: filepath.Join(dir, "corp.pem"), DER: filepath.Join(dir, "corp.cer"), TrustStore: filepath.Join(dir, "corp-truststore.p12")}
	if *out != *want {
		t.Fatalf("ExportRoot = %+v, want %+v", out, want)
	}
	for _, f := range []string{out.PEM, out.DER, out.TrustStore} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f, fi.Mode().Perm())
		}
	}
	pemData, _ := os.ReadFile(out.PEM)
	if b, rest := pem.Decode(pemData); b == nil || b.Type != "CERTIFICATE" || !bytes.Equal(b.Bytes, root.Cert.Raw) || len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("%s is not exactly the root in PEM", out.PEM)
	}
	der, _ := os.ReadFile(out.DER)
	if !bytes.Equal(der, root.Cert.Raw) {
		t.Errorf("%s is not the root's DER", out.DER)
	}
	c, err := formats.ReadFile(out.TrustStore, &formats.ReadOptions{Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificates) != 1 || !bytes.Equal(c.Certificates[0].Raw, root.Cert.Raw) || len(c.Keys) != 0 {
		t.Fatalf("trust store holds %d certificates and %d keys, want the root alone", len(c.Certificates), len(c.Keys))
	}
	if ci := c.CertInfo[0]; !ci.Trusted || ci.FriendlyName != "corp" {
		t.Errorf("trust store entry: trusted %v, friendly name %q; want trusted \"corp\"", ci.Trusted, ci.FriendlyName)
	}
	if _, err := formats.ReadFile(out.TrustStore, &formats.ReadOptions{Password: "wrong"}); !errors.Is(err, formats.ErrIncorrectPassword) {
		t.Errorf("wrong password: %v", err)
	}

	// A second export refuses to replace, and leaves the files as they were.
	other := testpki.Root(t, "Other Root")
	if _, err := ExportRoot(dir, "corp", other.Cert, nil); !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("second export: %v, want ErrExists", err)
	}
	if der2, _ := os.ReadFile(out.DER); !bytes.Equal(der2, root.Cert.Raw) {
		t.Error("a refused export changed a file")
	}
	if _, err := ExportRoot(dir, "corp", other.Cert, &ExportOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if der2, _ := os.ReadFile(out.DER); !bytes.Equal(der2, other.Cert.Raw) {
		t.Error("Overwrite did not replace the DER file")
	}
	if _, err := formats.ReadFile(out.TrustStore, &formats.ReadOptions{Password: "changeit"}); err != nil {
		t.Errorf("default password: %v", err)
	}

	// When the last file exists, the two written before it are removed.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, "x-truststore.p12"), []byte("keep"), 0o644)
	if _, err := ExportRoot(dir2, "x", root.Cert, nil); !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("export over an existing trust store: %v", err)
	}
	ents, _ := os.ReadDir(dir2)
	if len(ents) != 1 || ents[0].Name() != "x-truststore.p12" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("after a failed export the folder holds %v, want only the existing file", names)
	}

	leaf, _ := root.Leaf(t, testpki.KeyP256(t).Public(), "a.example")
	if _, err := ExportRoot(t.TempDir(), "", leaf, nil); !errors.Is(err, ErrNotCA) {
		t.Errorf("exporting a leaf: %v, want ErrNotCA", err)
	}
	if _, err := ExportRoot(t.TempDir(), "../escape", root.Cert, nil); !errors.Is(err, ErrBadName) {
		t.Errorf("name with a slash: %v, want ErrBadName", err)
	}
}

// What ExportRoot writes, the tools a client uses read: keytool lists the
// trust store entry as trustedCertEntry under the alias, openssl reads the
// DER .cer and the PEM, and the legacy profile too.
func TestExportRootInterop(t *testing.T) {
	keytool := testtool.Require(t, "keytool")
	openssl := testtool.Require(t, "openssl")
	root := testpki.Root(t, "Interop Root")
	for _, legacy := range []bool{false, true} {
		dir := t.TempDir()
		out, err := ExportRoot(dir, "interop-root", root.Cert, &ExportOptions{Password: "pw123456", Legacy: legacy})
		if err != nil {
			t.Fatal(err)
		}
		list := mustRun(t, keytool, "-J-Duser.language=en", "-list", "-v", "-keystore", out.TrustStore, "-storetype", "PKCS12", "-storepass", "pw123456")
		for _, want := range []string{"Your keystore contains 1 entry", "Alias name: interop-root", "Entry type: trustedCertEntry", "CN=Interop Root"} {
			if !strings.Contains(list, want) {
				t.Errorf("legacy=%v: keytool -list lacks %q:\n%s", legacy, want, list)
			}
		}
		if legacy {
			continue
		}
		for _, f := range [][]string{{"-inform", "DER", "-in", out.DER}, {"-in", out.PEM}} {
			subj := mustRun(t, openssl, append([]string{"x509", "-noout", "-subject"}, f...)...)
			if !strings.Contains(subj, "CN=Interop Root") && !strings.Contains(subj, "CN = Interop Root") {
				t.Errorf("openssl x509 %v: %s", f, subj)
			}
		}
	}
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestCommandString(t *testing.T) {
	c := Command{Path: "keytool", Args: []string{"-alias", "my root", "-storepass:env", "X", "it's"}, Env: []string{"X=secret"}, StdinName: "a b.pem"}
	got := c.String()
	want := `X=(hidden) keytool -alias 'my root' -storepass:env X 'it'\''s' < 'a b.pem'`
	if got != want {
		t.Errorf("String = %s\nwant       %s", got, want)
	}
	if strings.Contains(got, "secret") {
		t.Error("String shows a secret")
	}
}

func TestRunToolErrors(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	sh := testtool.Require(t, "sh")
	_, err := runTool(context.Background(), Command{Path: sh, Args: []string{"-c", "echo out; echo boom >&2; exit 3"}}, "hint")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Stderr != "boom" || ce.Hint != "" || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing command: %v (%+v)", err, ce)
	}
	// keytool writes its errors on standard output.
	_, err = runTool(context.Background(), Command{Path: sh, Args: []string{"-c", "echo keytool error: bad; exit 1"}}, "")
	if err == nil || !strings.Contains(err.Error(), "keytool error: bad") {
		t.Errorf("error on stdout: %v", err)
	}
	_, err = runTool(context.Background(), Command{Path: "certwright-no-such-tool"}, "install it")
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "install it") {
		t.Errorf("missing tool: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = runTool(ctx, Command{Path: sh, Args: []string{"-c", "sleep 10"}}, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	out, err := runTool(context.Background(), Command{Path: sh, Args: []string{"-c", "cat; printf %s \"$V\""}, Env: []string{"V=env"}, Stdin: []byte("in-")}, "")
	if err != nil || string(out) != "in-env" {
		t.Errorf("stdin and env: %q, %v", out, err)
	}
}

func write(t *testing.T, name string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, data, perm); err != nil {
		t.Fatal(err)
	}
}

func bundleCerts(t *testing.T, name string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return pemCertificates(data)
}

func newNSSDB(t *testing.T) string {
	t.Helper()
	certutil := testtool.Require(t, "certutil")
	dir := t.TempDir()
	mustRun(t, certutil, "-N", "-d", "sql:"+dir, "--empty-password")
	return dir
}

func TestNSSStore(t *testing.T) {
	ctx := context.Background()
	dir := newNSSDB(t)
	certutil := testtool.Require(t, "certutil")
	s := &NSSStore{Dir: dir}
	ca := testpki.Root(t, "NSS Private Root")
	leaf, _ := ca.Leaf(t, testpki.KeyP256(t).Public(), "www.corp.example")
	// The server certificate sits in the database without trust; NSS
	// validates it only once the root is trusted.
	cmd := exec.Command(certutil, "-d", "sql:"+dir, "-A", "-t", ",,", "-n", "server", "-a")
	cmd.Stdin = bytes.NewReader(formats.EncodeCertificatesPEM(leaf))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	validate := func() string {
		out, _ := exec.Command(certutil, "-d", "sql:"+dir, "-V", "-u", "V", "-n", "server", "-b", "2606011200Z").CombinedOutput()
		return string(out)
	}
	if v := validate(); strings.Contains(v, "certificate is valid") {
		t.Fatalf("server certificate valid before the root is installed: %s", v)
	}

	if err := s.Install(ctx, ca.Cert, "corp-root"); err != nil {
		t.Fatal(err)
	}
	list := mustRun(t, certutil, "-L", "-d", "sql:"+dir)
	if !regexpLine(list, "corp-root", "C,,") {
		t.Errorf("certutil -L after install:\n%s", list)
	}
	if v := validate(); !strings.Contains(v, "certificate is valid") {
		t.Errorf("server certificate after install: %s", v)
	}
	if ok, err := s.Contains(ctx, ca.Cert); !ok || err != nil {
		t.Errorf("Contains = %v, %v", ok, err)
	}
	if ok, err := s.Contains(ctx, leaf); ok || err != nil {
		t.Errorf("Contains(untrusted server certificate) = %v, %v", ok, err)
	}
	if err := s.Install(ctx, ca.Cert, "corp-root"); err != nil {
		t.Errorf("second install: %v", err)
	}
	other := testpki.Root(t, "NSS Other Root")
	if err := s.Install(ctx, other.Cert, "corp-root"); !errors.Is(err, ErrNameInUse) {
		t.Errorf("install over another certificate: %v, want ErrNameInUse", err)
	}

	if err := s.Remove(ctx, ca.Cert, ""); err != nil {
		t.Fatal(err)
	}
	list = mustRun(t, certutil, "-L", "-d", "sql:"+dir)
	if strings.Contains(list, "corp-root") || !strings.Contains(list, "server") {
		t.Errorf("certutil -L after remove:\n%s", list)
	}
	if v := validate(); strings.Contains(v, "certificate is valid") {
		t.Errorf("server certificate still valid after remove: %s", v)
	}
	if ok, err := s.Contains(ctx, ca.Cert); ok || err != nil {
		t.Errorf("Contains after remove = %v, %v", ok, err)
	}
	if err := s.Remove(ctx, ca.Cert, ""); !errors.Is(err, ErrNotInStore) {
		t.Errorf("second remove: %v, want ErrNotInStore", err)
	}
	// By name.
	if err := s.Install(ctx, other.Cert, "other-root"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, nil, "other-root"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Contains(ctx, other.Cert); ok {
		t.Error("removal by name left the certificate")
	}

	// A certificate with its private key (trust u,u,u) is not removed by
	// name.
	pk12util := testtool.Require(t, "pk12util")
	leafKeyed, key := ca.Leaf(t, nil, "app.example")
	p12, err := formats.EncodePKCS12(key, leafKeyed, nil, "p12pass1", &formats.PKCS12Options{FriendlyName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	p12File := filepath.Join(t.TempDir(), "app.p12")
	write(t, p12File, p12, 0o600)
	mustRun(t, pk12util, "-i", p12File, "-d", "sql:"+dir, "-W", "p12pass1")
	if err := s.Remove(ctx, nil, "app"); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("removing a certificate with its key by name: %v", err)
	}
	if !strings.Contains(mustRun(t, certutil, "-L", "-d", "sql:"+dir), "app") {
		t.Error("the keyed certificate is gone")
	}

	// A folder without a database: a clear error with the way out.
	err = (&NSSStore{Dir: t.TempDir()}).Install(ctx, ca.Cert, "x")
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SEC_ERROR_BAD_DATABASE") || !strings.Contains(err.Error(), "certutil -N") {
		t.Errorf("no database: %v", err)
	}
}

// regexpLine reports whether a line of a certutil -L listing has the
// nickname followed by the trust flags.
func regexpLine(list, nick, trust string) bool {
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == nick && f[1] == trust {
			return true
		}
	}
	return false
}

func TestJavaStore(t *testing.T) {
	ctx := context.Background()
	keytool := testtool.Require(t, "keytool")
	ks := filepath.Join(t.TempDir(), "truststore.p12")
	s := &JavaStore{Keystore: ks, StorePass: "storepw1"}
	ca := testpki.Root(t, "Java Private Root")
	list := func() string {
		return mustRun(t, keytool, "-J-Duser.language=en", "-list", "-keystore", ks, "-storepass", "storepw1")
	}
	if ok, err := s.Contains(ctx, ca.Cert); ok || err != nil {
		t.Errorf("Contains on a missing key store = %v, %v", ok, err)
	}
	if err := s.Install(ctx, ca.Cert, "corp-root"); err != nil {
		t.Fatal(err)
	}
	if l := list(); !strings.Contains(l, "Your keystore contains 1 entry") || !strings.Contains(l, "corp-root, ") || !strings.Contains(l, "trustedCertEntry") {
		t.Errorf("keytool -list after install:\n%s", l)
	}
	if ok, err := s.Contains(ctx, ca.Cert); !ok || err != nil {
		t.Errorf("Contains = %v, %v", ok, err)
	}
	// No second entry for the same certificate, even under another name.
	if err := s.Install(ctx, ca.Cert, "again"); err != nil {
		t.Errorf("second install: %v", err)
	}
	if l := list(); !strings.Contains(l, "Your keystore contains 1 entry") {
		t.Errorf("keytool -list after a second install:\n%s", l)
	}
	other := testpki.Root(t, "Java Other Root")
	if err := s.Install(ctx, other.Cert, "CORP-ROOT"); !errors.Is(err, ErrNameInUse) {
		t.Errorf("install over another certificate (aliases ignore case): %v, want ErrNameInUse", err)
	}
	if err := s.Install(ctx, other.Cert, "other-root"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, ca.Cert, ""); err != nil {
		t.Fatal(err)
	}
	if l := list(); strings.Contains(l, "corp-root") || !strings.Contains(l, "other-root") {
		t.Errorf("keytool -list after remove:\n%s", l)
	}
	if err := s.Remove(ctx, ca.Cert, ""); !errors.Is(err, ErrNotInStore) {
		t.Errorf("second remove: %v, want ErrNotInStore", err)
	}
	if err := s.Remove(ctx, nil, "other-root"); err != nil {
		t.Fatal(err)
	}
	if l := list(); !strings.Contains(l, "Your keystore contains 0 entries") {
		t.Errorf("keytool -list after removing by name:\n%s", l)
	}

	// A private key entry is not removed by name.
	leaf, key := ca.Leaf(t, nil, "app.example")
	p12, err := formats.EncodePKCS12(key, leaf, nil, "storepw1", &formats.PKCS12Options{FriendlyName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	keyStore := filepath.Join(t.TempDir(), "keys.p12")
	write(t, keyStore, p12, 0o600)
	ks2 := &JavaStore{Keystore: keyStore, StorePass: "storepw1"}
	if err := ks2.Remove(ctx, nil, "app"); err == nil || !strings.Contains(err.Error(), "private key entry") {
		t.Errorf("removing a key entry by name: %v", err)
	}
	if err := ks2.Remove(ctx, leaf, ""); !errors.Is(err, ErrNotInStore) {
		t.Errorf("removing a key entry's certificate: %v, want ErrNotInStore", err)
	}

	// A wrong password: keytool's message, not the password.
	bad := &JavaStore{Keystore: ks, StorePass: "wrong-password"}
	err = bad.Install(ctx, ca.Cert, "x")
	if err == nil || !strings.Contains(err.Error(), "wrong key store password") || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("wrong store password: %v", err)
	}
	plan, err := s.Plan(ActionInstall, ca.Cert, "corp-root")
	if err != nil || len(plan) != 2 || !strings.Contains(plan[1], "-importcert -noprompt -trustcacerts -alias corp-root -keystore "+ks+" -storepass:env "+javaPassEnvVar+" < corp-root.pem") || strings.Contains(strings.Join(plan, " "), "storepw1") {
		t.Errorf("Plan = %q, %v", plan, err)
	}
}

// Java's own cacerts is found beside keytool.
func TestJavaStoreDefaultKeystore(t *testing.T) {
	testtool.Require(t, "keytool")
	ks, err := (&JavaStore{}).keystore()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(ks) != "cacerts" {
		t.Errorf("default key store %s", ks)
	}
}

// One store failing does not stop the others, and each outcome is
// reported in order.
func TestInstallAllReportsEachStore(t *testing.T) {
	testtool.Require(t, "keytool")
	testtool.Require(t, "certutil")
	ctx := context.Background()
	ca := testpki.Root(t, "All Root")
	broken := &NSSStore{Dir: filepath.Join(t.TempDir(), "missing")}
	java := &JavaStore{Keystore: filepath.Join(t.TempDir(), "ts.p12"), StorePass: "changeit"}
	nss := &NSSStore{Dir: newNSSDB(t)}
	stores := []TrustStore{broken, java, nss}
	res := InstallAll(ctx, stores, ca.Cert, "all-root")
	if len(res) != 3 || res[0].Err == nil || res[1].Err != nil || res[2].Err != nil {
		t.Fatalf("InstallAll = %+v", res)
	}
	if res[0].Store != "nss sql:"+broken.Dir || res[1].Store != "java "+java.Keystore || res[0].Action != ActionInstall {
		t.Errorf("results name the stores %q, %q", res[0].Store, res[1].Store)
	}
	for _, s := range stores[1:] {
		if ok, err := s.Contains(ctx, ca.Cert); !ok || err != nil {
			t.Errorf("%v: Contains = %v, %v", s, ok, err)
		}
	}
	res = RemoveAll(ctx, stores, ca.Cert, "")
	if len(res) != 3 || res[0].Err == nil || res[1].Err != nil || res[2].Err != nil || res[2].Action != ActionRemove {
		t.Fatalf("RemoveAll = %+v", res)
	}
	for _, s := range stores[1:] {
		if ok, err := s.Contains(ctx, ca.Cert); ok || err != nil {
			t.Errorf("%v: Contains after RemoveAll = %v, %v", s, ok, err)
		}
	}
}

func TestPemCertificatesTrusted(t *testing.T) {
	ca := testpki.Root(t, "Trusted PEM")
	// OpenSSL's TRUSTED CERTIFICATE: the certificate followed by aux data.
	aux := append(append([]byte(nil), ca.Cert.Raw...), 0x30, 0x03, 0x0c, 0x01, 'x')
	data := pem.EncodeToMemory(&pem.Block{Type: "TRUSTED CERTIFICATE", Bytes: aux})
	data = append([]byte("junk\n"), data...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...)
	cs := pemCertificates(data)
	if len(cs) != 1 || !bytes.Equal(cs[0].Raw, ca.Cert.Raw) {
		t.Errorf("got %d certificates", len(cs))
	}
}

func TestExportRootMissingFolder(t *testing.T) {
	root := testpki.Root(t, "Folder Root")
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := ExportRoot(missing, "", root.Cert, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestParseNSSList(t *testing.T) {
	data, err := os.ReadFile("testdata/truststore/certutil-list.txt")
	if err != nil {
		t.Fatal(err)
	}
	es, err := parseNSSList(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []nssEntry{{"b", ",,"}, {"root two", "CT,C,C"}}
	if len(es) != len(want) || es[0] != want[0] || es[1] != want[1] {
		t.Errorf("parseNSSList = %+v, want %+v", es, want)
	}
	many := bytes.Repeat([]byte("x C,,\n"), maxEntries+1)
	if _, err := parseNSSList(many); err == nil {
		t.Error("no bound on the number of entries")
	}
}

func TestParseKeytoolList(t *testing.T) {
	data, err := os.ReadFile("testdata/truststore/keytool-list-rfc.txt")
	if err != nil {
		t.Fatal(err)
	}
	es, err := parseKeytoolList(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	for i, want := range []struct {
		alias, cn string
		trusted   bool
	}{{"server", "www.example.test", false}, {"test root", "Test Root", true}} {
		e := es[i]
		if e.alias != want.alias || e.trusted != want.trusted || len(e.certs) != 1 || e.certs[0].Subject.CommonName != want.cn {
			t.Errorf("entry %d: alias %q trusted %v %d certificates, want %+v", i, e.alias, e.trusted, len(e.certs), want)
		}
	}
}

func FuzzParseNSSList(f *testing.F) {
	if data, err := os.ReadFile("testdata/truststore/certutil-list.txt"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("a b c d ,,\n\t\t\n,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := parseNSSList(data)
		if err != nil {
			return
		}
		if len(es) > maxEntries {
			t.Fatalf("%d entries", len(es))
		}
		for _, e := range es {
			if e.nickname == "" || strings.Count(e.trust, ",") != 2 || strings.ContainsAny(e.nickname, "\n\r") {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzParseKeytoolList(f *testing.F) {
	if data, err := os.ReadFile("testdata/truststore/keytool-list-rfc.txt"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("Entry type: trustedCertEntry\nAlias name: \nAlias name: x\nEntry type: trustedCertEntry\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := parseKeytoolList(data)
		if err != nil {
			return
		}
		if len(es) > maxEntries {
			t.Fatalf("%d entries", len(es))
		}
		n := 0
		for _, e := range es {
			n += len(e.certs)
		}
		if n > len(data)/100+1 {
			t.Fatalf("%d certificates from %d bytes", n, len(data))
		}
	})
}
