package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestWriteFileCreatesWithMode(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "privkey.pem")
	if err := WriteFile(name, []byte("secret"), 0o600, Options{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(name); string(b) != "secret" {
		t.Errorf("content %q", b)
	}
	assertNoTemp(t, dir)
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "cert.pem")
	for _, s := range []string{"old", "new"} {
		if err := WriteFile(name, []byte(s), 0o644, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(name); string(b) != "new" {
		t.Errorf("content %q, want new", b)
	}
	assertNoTemp(t, dir)
}

func TestNoOverwriteKeepsExisting(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "key.pem")
	if err := WriteFile(name, []byte("first"), 0o600, Options{NoOverwrite: true}); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(name, []byte("second"), 0o600, Options{NoOverwrite: true})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second write: %v, want ErrExists", err)
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("error %q does not name the file", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "first" {
		t.Errorf("existing file changed to %q", b)
	}
	assertNoTemp(t, dir)
}

// TestNoOverwriteRace: of many writers racing for one name, exactly one
// wins and the file holds its complete content.
func TestNoOverwriteRace(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "key.pem")
	const writers = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []string
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			content := fmt.Sprintf("writer %d %s", i, strings.Repeat("x", 4096))
			err := WriteFile(name, []byte(content), 0o600, Options{NoOverwrite: true})
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, content)
				mu.Unlock()
			case !errors.Is(err, ErrExists):
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d writers won, want exactly 1", len(wins))
	}
	if b, _ := os.ReadFile(name); string(b) != wins[0] {
		t.Errorf("file does not hold the winner's content")
	}
	assertNoTemp(t, dir)
}

func TestWriteFileErrorLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	// The final name is a folder: the rename fails after the temp file was
	// written, and the temp file must be removed again.
	name := filepath.Join(dir, "taken")
	if err := os.Mkdir(name, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, []byte("x"), 0o644, Options{}); err == nil {
		t.Fatal("write over a folder succeeded")
	}
	assertNoTemp(t, dir)
	if err := WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644, Options{}); err == nil {
		t.Fatal("write into a missing folder succeeded")
	}
}

func TestSweepTemp(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, TempPrefix+"key.pem-123")
	keep := filepath.Join(dir, "key.pem")
	for _, p := range []string{left, keep} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := SweepTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != left {
		t.Fatalf("removed %v, want [%s]", removed, left)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("sweep removed a final file: %v", err)
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func BenchmarkWriteFile(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 2048)
	b.Run("atomicfile", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := WriteFile(filepath.Join(dir, fmt.Sprintf("a%d", i)), data, 0o600, Options{NoOverwrite: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os.WriteFile", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("o%d", i)), data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
}
