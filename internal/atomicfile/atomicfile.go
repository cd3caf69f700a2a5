// Package atomicfile writes files so that a reader, or a process that
// survives a crash, sees either the old complete file or the new complete
// file under the final name, never a partial one.
//
// A write goes to a temporary file in the same folder, is flushed with
// fsync, then moved into place and the folder itself is fsynced so that the
// new directory entry survives a power loss. Temporary files carry the
// prefix TempPrefix so that an owner of the folder can sweep leftovers of a
// crashed writer with SweepTemp.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// TempPrefix starts the name of every temporary file this package creates.
const TempPrefix = ".certwright-tmp-"

// ErrExists is returned (wrapped) by WriteFile with Options.NoOverwrite when
// the final name already exists. The existing file is left untouched.
var ErrExists = errors.New("file already exists")

// Options controls WriteFile. The zero value replaces an existing file.
type Options struct {
	// NoOverwrite makes WriteFile fail with ErrExists, leaving the existing
	// file in place, when the final name exists. The check and the move are
	// one atomic step (a hard link), so two writers cannot both succeed.
	NoOverwrite bool
}

// WriteFile atomically writes data to name with the permission bits perm.
// The permission is set on the temporary file before any data is written, so
// a secret is never readable by others, not even briefly.
func WriteFile(name string, data []byte, perm fs.FileMode, opts Options) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if opts.NoOverwrite {
		if err = os.Link(tmp, name); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", name, ErrExists)
			}
			if !linkUnsupported(err) {
				return err
			}
			// Some file systems (FAT, some network mounts) have no hard
			// links. Fall back to check-then-rename; callers that need
			// exclusion across processes hold a lock around the call.
			if _, serr := os.Lstat(name); serr == nil {
				return fmt.Errorf("%s: %w", name, ErrExists)
			}
			if err = os.Rename(tmp, name); err != nil {
				return err
			}
		} else if err = os.Remove(tmp); err != nil {
			return err
		}
	} else if err = os.Rename(tmp, name); err != nil {
		return err
	}
	return SyncDir(dir)
}

func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EXDEV) ||
		errors.Is(err, syscall.EMLINK)
}

// SyncDir fsyncs a folder so that entries created, renamed or removed in it
// are durable. File systems that cannot sync a folder are tolerated.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}

// SweepTemp removes temporary files left in dir by writers that crashed
// before moving them into place. Only names with TempPrefix are touched. It
// returns the names removed.
func SweepTemp(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), TempPrefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, p)
	}
	if len(removed) > 0 {
		if err := SyncDir(dir); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
