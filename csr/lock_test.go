package csr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lockExcludes runs goroutines that each take the lock, check nobody else
// holds it, and release it.
func lockExcludes(t *testing.T, lock func(context.Context) (func(), error)) {
	var inside, maxInside, rounds atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				unlock, err := lock(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n)
				}
				time.Sleep(100 * time.Microsecond)
				inside.Add(-1)
				rounds.Add(1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || rounds.Load() != 90 {
		t.Fatalf("%d holders at once (want 1), %d rounds (want 90)", maxInside.Load(), rounds.Load())
	}
}

// TestStoreLockExcludes checks the lock of this platform across separate
// opens of the lock file (what two processes do).
func TestStoreLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	lockExcludes(t, func(ctx context.Context) (func(), error) { return lockStore(ctx, path) })
}

func TestExclusiveLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.owner")
	lockExcludes(t, func(ctx context.Context) (func(), error) { return exclusiveLock(ctx, path) })
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the lock file remains after the last unlock")
	}
}

func TestStoreLockWaitsForContext(t *testing.T) {
	dir := t.TempDir()
	for name, lock := range map[string]func(context.Context, string) (func(), error){
		"platform":  lockStore,
		"exclusive": exclusiveLock,
	} {
		path := filepath.Join(dir, name)
		unlock, err := lock(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		_, err = lock(ctx, path)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: second lock = %v, want DeadlineExceeded", name, err)
		}
		unlock()
		unlock2, err := lock(context.Background(), path)
		if err != nil {
			t.Fatalf("%s: lock after unlock: %v", name, err)
		}
		unlock2()
	}
}

// TestExclusiveLockStale: a lock file left by a dead process on this host,
// or an old one from anywhere, is taken over; a fresh one from a live
// process or another host is respected.
func TestExclusiveLockStale(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := dead.ProcessState.Pid()
	old := time.Now().Add(-exclusiveStale - time.Minute)
	tests := []struct {
		name    string
		content string
		mtime   time.Time
		stale   bool
	}{
		{"dead process", fmt.Sprintf("%d %s 1 n\n", deadPID, host), time.Now(), true},
		{"live process", fmt.Sprintf("%d %s 1 n\n", os.Getpid(), host), time.Now(), false},
		{"other host", fmt.Sprintf("%d other-host-%s 1 n\n", deadPID, host), time.Now(), false},
		{"other host, old", fmt.Sprintf("%d other-host-%s 1 n\n", deadPID, host), old, true},
		{"garbage, old", "garbage", old, true},
		{"garbage, fresh", "garbage", time.Now(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lock.owner")
			os.WriteFile(path, []byte(tt.content), 0o600)
			os.Chtimes(path, tt.mtime, tt.mtime)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			unlock, err := exclusiveLock(ctx, path)
			if tt.stale {
				if err != nil {
					t.Fatalf("stale lock not taken over: %v", err)
				}
				unlock()
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a live lock was taken over: %v", err)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Fatal("a live lock file was changed")
			}
		})
	}
}
