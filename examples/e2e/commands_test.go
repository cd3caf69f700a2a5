package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/testtool"
)

// buildCommand builds examples/NAME once per test run into a temporary
// folder, so the commands are tested as a user runs them, on files a real
// CA made.
func buildCommand(t *testing.T, name string) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = testtool.Require(t, "go")
	}
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(goTool, "build", "-o", bin, "./examples/"+name)
	cmd.Dir = testtool.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	return bin
}

func runCommand(bin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		return -1, out.String(), err.Error()
	}
	return 0, out.String(), errb.String()
}

// TestCompleteAndExportCommands runs examples/complete and examples/export
// on a step-ca answer: the wrong store first (exit 1, the key fingerprint
// in the message), then the right one (exit 0, the paths listed), then the
// completed key exported from the store's archive to a .pfx that openssl
// opens.
func TestCompleteAndExportCommands(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	complete := buildCommand(t, "complete")
	export := buildCommand(t, "export")
	e := newEnv(t, csr.RSA2048)
	leaf, inters, root := e.sign(t, e.csrDER)
	files := e.responses(t, leaf, inters, root)["cer-der+p7b-root-first"]
	out := filepath.Join(e.dir, "nginx")
	pendingID, _ := csr.KeyID(e.key.Public())

	empty := filepath.Join(e.dir, "empty-store")
	if _, err := csr.OpenDir(empty, nil); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCommand(complete, "-store", empty, "-in", files[0], files[1], "-server", "nginx", "-out", out, "-roots", e.ca.RootFile)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no private key matches") || !strings.Contains(stderr, "another machine") {
		t.Fatalf("wrong store: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}

	code, stdout, stderr = runCommand(complete, "-store", e.storeDir, "-in", files[0], files[1], "-server", "nginx", "-out", out, "-roots", e.ca.RootFile)
	if code != 0 {
		t.Fatalf("complete: exit %d: %s", code, stderr)
	}
	if want := filepath.Join(out, "fullchain.pem") + "\n" + filepath.Join(out, "privkey.pem") + "\n"; stdout != want {
		t.Fatalf("stdout %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr, pendingID) {
		t.Errorf("stderr does not name the archived request: %s", stderr)
	}
	got := run(t, openssl, "verify", "-CAfile", e.ca.RootFile, "-untrusted", filepath.Join(out, "fullchain.pem"), filepath.Join(out, "fullchain.pem"))
	if !strings.Contains(got, ": OK") {
		t.Errorf("openssl verify: %s", got)
	}

	pfx := filepath.Join(e.dir, "farm.pfx")
	code, stdout, stderr = runCommand(export, "-store", e.storeDir, "-in", files[0], files[1], "-out", pfx, "-out-password", "farm-pw", "-legacy", "-roots", e.ca.RootFile)
	if code != 0 || stdout != pfx+"\n" {
		t.Fatalf("export: exit %d, stdout %q: %s", code, stdout, stderr)
	}
	info := run(t, openssl, "pkcs12", "-info", "-legacy", "-in", pfx, "-passin", "pass:farm-pw", "-nodes")
	for _, w := range []string{"pbeWithSHA1And3-KeyTripleDES-CBC", "Certwright Quickstart Root CA", "Certwright Quickstart Intermediate CA", "BEGIN PRIVATE KEY"} {
		if !strings.Contains(info, w) {
			t.Errorf("exported .pfx: openssl pkcs12 -info lacks %q", w)
		}
	}
}
