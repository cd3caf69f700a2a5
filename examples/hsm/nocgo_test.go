//go:build !cgo || nopkcs11

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// TestNoCgo: a build without cgo refuses to make a request with a clear
// message and exit 1; under CI, where the SoftHSM2 end-to-end test must
// run, it fails.
func TestNoCgo(t *testing.T) {
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	writeFile(t, pin, "1234\n")
	code, _, stderr := runHSM(t, "-module", "/usr/lib/softhsm/libsofthsm2.so", "-token", "t", "-pin-file", pin, "-cn", "www.example.com", "-store", filepath.Join(dir, "store"))
	if code != 1 || !strings.Contains(stderr, "built without cgo") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if testtool.InCI() {
		t.Fatal("built without cgo (or with the nopkcs11 tag): the SoftHSM2 end-to-end test did not run; CI needs a C compiler (Debian package gcc)")
	}
}
