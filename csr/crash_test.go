package csr_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/internal/atomicfile"
)

// TestStoreHelperProcess is not a test: the crash and concurrency tests run
// the test binary again with CERTWRIGHT_STORE_HELPER set, and this function
// is then the child process. Modes:
//
//	put    put CERTWRIGHT_STORE_N keys, printing "put <id>" after each Put
//	crash  put keys forever, printing "put <id>" after each Put returns and
//	       "done <id>" after each Complete of every third key, until killed
//
// Both print "open <swept> <recovered>" after OpenDir.
func TestStoreHelperProcess(t *testing.T) {
	mode := os.Getenv("CERTWRIGHT_STORE_HELPER")
	if mode == "" {
		t.Skip("the child process of the crash and concurrency tests")
	}
	dir := os.Getenv("CERTWRIGHT_STORE_DIR")
	n, _ := strconv.Atoi(os.Getenv("CERTWRIGHT_STORE_N"))
	ctx := context.Background()
	s, err := csr.OpenDir(dir, &csr.DirOptions{Iterations: 1, Passphrase: []byte(os.Getenv("CERTWRIGHT_STORE_PASS"))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("open %d %d\n", len(s.Swept()), len(s.Recovered()))
	for i := 0; mode == "crash" || i < n; i++ {
		p := storePending(t, fmt.Sprintf("k%d.example", i))
		if err := s.Put(ctx, p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Printf("put %s\n", p.ID)
		if mode == "crash" && i%3 == 2 {
			if err := s.Complete(ctx, p.ID); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(4)
			}
			fmt.Printf("done %s\n", p.ID)
		}
	}
	os.Exit(0)
}

// crashStats are the numbers the crash test reports.
type crashStats struct {
	kills, confirmed, completed, lost, sweptTemps, recovered, leftoverBeforeOpen int
}

// TestDirStoreCrash kills a process writing keys with SIGKILL at random
// moments, then checks that every key it confirmed is present, parseable
// and matches its public key, that every Complete it confirmed is in the
// archive, and that no half-written file is visible under a final name.
// CERTWRIGHT_CRASH_ITERATIONS sets the number of kills (default 200; 50
// with -short).
func TestDirStoreCrash(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs SIGKILL and child processes")
	}
	kills := 200
	if testing.Short() {
		kills = 50
	}
	if v := os.Getenv("CERTWRIGHT_CRASH_ITERATIONS"); v != "" {
		var err error
		if kills, err = strconv.Atoi(v); err != nil || kills < 1 {
			t.Fatalf("CERTWRIGHT_CRASH_ITERATIONS=%q is not a positive number", v)
		}
	}
	for _, tc := range []struct{ name, pass string }{{"plain", ""}, {"encrypted", "crash pass"}} {
		t.Run(tc.name, func(t *testing.T) {
			n := kills
			if tc.pass != "" {
				n = max(kills/4, 1) // the encrypted variant checks the same paths with a key derivation per Put
			}
			st := runCrash(t, t.TempDir(), tc.pass, n)
			t.Logf("crash test (%s): %d kills, %d keys confirmed, %d completes confirmed, %d lost, %d temporaries swept, %d complete temporaries recovered, %d temporaries seen before the final open",
				tc.name, st.kills, st.confirmed, st.completed, st.lost, st.sweptTemps, st.recovered, st.leftoverBeforeOpen)
		})
	}
}

func runCrash(t *testing.T, dir, pass string, kills int) crashStats {
	ctx := context.Background()
	var st crashStats
	put := map[string]bool{}
	done := map[string]bool{}
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), 1))
	for st.kills < kills {
		cmd := helperCommand(dir, "crash", 0)
		cmd.Env = append(cmd.Env, "CERTWRIGHT_STORE_PASS="+pass)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			r := bufio.NewReader(stdout)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return // a line cut by the kill is not a confirmation
				}
				lines <- strings.TrimSuffix(line, "\n")
			}
		}()
		record := func(line string) {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "open":
				a, _ := strconv.Atoi(f[1])
				b, _ := strconv.Atoi(f[2])
				st.sweptTemps += a
				st.recovered += b
			case len(f) == 2 && f[0] == "put":
				put[f[1]] = true
			case len(f) == 2 && f[0] == "done":
				done[f[1]] = true
			default:
				t.Errorf("helper printed %q", line)
			}
		}
		// Wait until the child has opened the store (and swept), then let
		// it write for a random moment and kill it.
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("helper exited before opening the store: %s", stderr.String())
		}
		record(first)
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for line := range lines {
			record(line)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("helper ended with %v, not killed: %s", err, stderr.String())
		}
		st.kills++
	}

	// Before any sweep: files under final names must all be complete.
	st.leftoverBeforeOpen = checkTree(t, dir, pass)

	s, err := csr.OpenDir(dir, &csr.DirOptions{Passphrase: []byte(pass)})
	if err != nil {
		t.Fatal(err)
	}
	st.sweptTemps += len(s.Swept())
	st.recovered += len(s.Recovered())
	if left := checkTree(t, dir, pass); left != 0 {
		t.Errorf("%d temporaries left after OpenDir swept", left)
	}
	pending, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List after the crashes: %v", err)
	}
	archived, err := s.Archived(ctx)
	if err != nil {
		t.Fatalf("Archived after the crashes: %v", err)
	}
	where := map[string]string{}
	for _, p := range pending {
		where[p.ID] = "pending"
	}
	for _, p := range archived {
		if where[p.ID] != "" {
			t.Errorf("key %s is both pending and archived", p.ID)
		}
		where[p.ID] = "archive"
		if p.Completed.IsZero() {
			t.Errorf("archived key %s has no completion time", p.ID)
		}
	}
	for _, p := range append(pending, archived...) {
		if got, err := csr.KeyID(p.Key.Public()); err != nil || got != p.ID {
			t.Errorf("entry %s holds the key of %s", p.ID, got)
		}
		req, err := x509.ParseCertificateRequest(p.CSR)
		if err != nil || req.CheckSignature() != nil {
			t.Errorf("entry %s: request unreadable or bad signature: %v", p.ID, err)
		}
		if !signs(p.Key) {
			t.Errorf("entry %s: the key does not sign", p.ID)
		}
	}
	for id := range put {
		st.confirmed++
		if where[id] == "" {
			st.lost++
			t.Errorf("confirmed key %s is lost", id)
		}
	}
	for id := range done {
		st.completed++
		if where[id] != "archive" {
			t.Errorf("confirmed Complete of %s is not in the archive (%q)", id, where[id])
		}
	}
	if st.confirmed == 0 {
		t.Fatal("the helper never confirmed a key: the test exercised nothing")
	}
	return st
}

func signs(k crypto.Signer) bool {
	d := sha256.Sum256([]byte("crash test"))
	_, err := k.Sign(rand.Reader, d[:], crypto.SHA256)
	return err == nil
}

// checkTree scans the store: every file whose name does not start with the
// temporary prefix (and is not inside a temporary folder) must be complete
// and parse; it returns how many temporary names it saw.
func checkTree(t *testing.T, dir, pass string) (temps int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), atomicfile.TempPrefix) {
			temps++
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel, _ := filepath.Rel(dir, p); strings.Count(rel, string(filepath.Separator)) == 1 {
				// An entry folder: complete, with its three files.
				for _, f := range []string{"key.pem", "request.csr", "meta.json"} {
					if _, err := os.Stat(filepath.Join(p, f)); err != nil {
						t.Errorf("entry %s is incomplete: %v", p, err)
					}
				}
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch d.Name() {
		case "lock":
		case "store.json", "meta.json":
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Errorf("%s is not complete JSON: %v", p, err)
			}
		case "key.pem":
			b, rest := pem.Decode(data)
			if b == nil || len(strings.TrimSpace(string(rest))) != 0 {
				t.Errorf("%s is not one complete PEM block", p)
				return nil
			}
			if pass == "" {
				if _, err := x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			} else if b.Type != "ENCRYPTED PRIVATE KEY" {
				t.Errorf("%s is not encrypted", p)
			}
		case "request.csr":
			b, _ := pem.Decode(data)
			if b == nil {
				t.Errorf("%s is not PEM", p)
			} else if _, err := x509.ParseCertificateRequest(b.Bytes); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		default:
			t.Errorf("unexpected file %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return temps
}
