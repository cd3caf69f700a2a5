// Package hsmtest prepares a SoftHSM2 token for tests: a configuration
// and a token folder of their own (SOFTHSM2_CONF), so tests never touch
// the machine's tokens. SoftHSM2 reads its configuration once, when the
// module is first initialized in a process, so the token is made once per
// test binary and shared; tests use distinct key labels.
package hsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// Token is the initialized SoftHSM2 token.
type Token struct {
	// Module is the path of libsofthsm2.so.
	Module string
	// Label, PIN and SOPIN are those the token was initialized with.
	Label, PIN, SOPIN string
	// Dir holds softhsm2.conf and the tokens folder.
	Dir string
}

// PIN and Label of the test token. The PIN is distinctive so that tests
// can search files and messages for it.
const (
	Label = "certwright-test"
	PIN   = "t0ken-PIN-5309"
	SOPIN = "5678"
)

// ModuleCandidates are where Debian, Ubuntu, Fedora and Homebrew put
// SoftHSM2's PKCS#11 module; Debian's package libsofthsm2 installs the
// first (a link to the second).
var ModuleCandidates = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

var (
	once   sync.Once
	shared *Token
	err    error
	output []byte
)

// SoftHSM returns the test token, making it on first use. Outside CI a
// missing softhsm2-util or module skips the test; under CI=true it fails
// it (.ci/run installs the Debian package softhsm2).
func SoftHSM(t testing.TB) *Token {
	t.Helper()
	util := testtool.Require(t, "softhsm2-util")
	module := ""
	for _, m := range ModuleCandidates {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	if module == "" {
		if testtool.InCI() {
			t.Fatalf("softhsm2-util is installed but libsofthsm2.so is in none of %v", ModuleCandidates)
		}
		t.Skipf("libsofthsm2.so is in none of %v (apt-get install softhsm2)", ModuleCandidates)
	}
	once.Do(func() {
		dir, e := os.MkdirTemp("", "certwright-softhsm-")
		if e != nil {
			err = e
			return
		}
		tokens := filepath.Join(dir, "tokens")
		if err = os.Mkdir(tokens, 0o700); err != nil {
			return
		}
		conf := filepath.Join(dir, "softhsm2.conf")
		body := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
		if err = os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return
		}
		// Set for this process (the module reads it when initialized) and
		// for the tools it runs.
		if err = os.Setenv("SOFTHSM2_CONF", conf); err != nil {
			return
		}
		cmd := exec.Command(util, "--init-token", "--free", "--label", Label, "--pin", PIN, "--so-pin", SOPIN)
		output, err = cmd.CombinedOutput()
		shared = &Token{Module: module, Label: Label, PIN: PIN, SOPIN: SOPIN, Dir: dir}
	})
	if err != nil {
		t.Fatalf("initializing the SoftHSM2 test token: %v\n%s", err, output)
	}
	return shared
}

// PINFunc returns a function for hsm.Resolver.PIN that gives the token's
// PIN for its label and fails for any other.
func (tok *Token) PINFunc() func(module, token string) (string, error) {
	return func(_, token string) (string, error) {
		if token != tok.Label {
			return "", os.ErrNotExist
		}
		return tok.PIN, nil
	}
}

// Cleanup removes the token folder; call it from TestMain after m.Run.
func Cleanup() {
	if shared != nil {
		os.RemoveAll(shared.Dir)
	}
}
