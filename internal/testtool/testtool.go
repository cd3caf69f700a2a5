// Package testtool finds external tools and the shared third-party corpus
// for tests. Outside CI a missing tool or corpus skips the test with a
// message; under CI=true it fails the test, because .ci/run installs them.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// InCI reports whether the CI environment variable is "true".
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of the named program, or skips the test (fails
// it under CI) when the program is not installed.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("%s is not installed; .ci/run must install it", name)
		}
		t.Skipf("%s is not installed (apt-get install it, or run .ci/run)", name)
	}
	return p
}

// RepoRoot returns the repository root, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Corpus returns the path of rel inside ../shared/corpus (next to the
// repository), or skips the test when the corpus is absent. The corpus
// lives outside the repository, so it is skipped even under CI when a clone
// has no shared/ beside it.
func Corpus(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "..", "shared", "corpus", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("third-party corpus file %s is absent (expected beside the repository in ../shared/corpus)", rel)
	}
	return p
}
