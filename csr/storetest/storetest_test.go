package storetest_test

import (
	"context"
	"crypto"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certwright/certwright/csr"
	"github.com/certwright/certwright/csr/storetest"
)

// broken wraps a DirStore and breaks one promise of the contract.
type broken struct {
	*csr.DirStore
	mode string
	puts atomic.Int32
}

func (b *broken) Put(ctx context.Context, p *csr.Pending) error {
	switch b.mode {
	case "overwrite":
		err := b.DirStore.Put(ctx, p)
		if errors.Is(err, csr.ErrExists) {
			// Replace the pending entry instead of refusing.
			id, _ := csr.KeyID(p.Key.Public())
			if err := b.DirStore.Complete(ctx, id); err != nil {
				return err
			}
			return b.DirStore.Put(ctx, p)
		}
		return err
	case "lose":
		if b.puts.Add(1)%7 == 0 {
			p.ID, _ = csr.KeyID(p.Key.Public())
			return nil // acknowledged, not stored
		}
	}
	return b.DirStore.Put(ctx, p)
}

func (b *broken) Find(ctx context.Context, pub crypto.PublicKey) (*csr.Pending, error) {
	p, err := b.DirStore.Find(ctx, pub)
	if b.mode == "find-archived" && errors.Is(err, csr.ErrNotFound) {
		return b.DirStore.FindArchived(ctx, pub)
	}
	return p, err
}

func (b *broken) Complete(ctx context.Context, id string) error {
	if b.mode == "complete-once" {
		if _, err := b.DirStore.RemoveArchived(ctx, id); err == nil {
			return csr.ErrNotFound // a retry fails
		}
	}
	return b.DirStore.Complete(ctx, id)
}

// TestBrokenStoreHelper runs the contract on a broken store; it is run
// as a child process by TestRunCatchesBrokenStores.
func TestBrokenStoreHelper(t *testing.T) {
	mode := os.Getenv("STORETEST_BROKEN")
	if mode == "" {
		t.Skip("run by TestRunCatchesBrokenStores")
	}
	storetest.Run(t, func(t *testing.T) csr.Store {
		s, err := csr.OpenDir(filepath.Join(t.TempDir(), "store"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return &broken{DirStore: s, mode: mode}
	})
}

// TestRunCatchesBrokenStores: Run fails a store that breaks the contract,
// in the subtest that names the broken promise.
func TestRunCatchesBrokenStores(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for mode, subtest := range map[string]string{
		"overwrite":     "PutNeverOverwrites",
		"lose":          "ConcurrentPuts",
		"find-archived": "Complete",
		"complete-once": "Complete",
	} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(exe, "-test.run=^TestBrokenStoreHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BROKEN="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Run passed a store that breaks %q:\n%s", mode, out)
			}
			if want := "--- FAIL: TestBrokenStoreHelper/" + subtest + " "; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}

// TestRunPassesDirStore is the control: the unbroken store passes.
func TestRunPassesDirStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) csr.Store {
		s, err := csr.OpenDir(filepath.Join(t.TempDir(), "store"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return &broken{DirStore: s}
	})
}
