//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package csr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// On these systems the pending store is locked with flock(2) on the file
// "lock" in the store's folder. The kernel drops the lock when its holder
// exits or is killed, so a crash never leaves the store locked.

const lockMechanism = "flock(2)"

func lockStore(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("csr: opening the lock file %s: %w", path, err)
	}
	fd := int(f.Fd())
	err = waitLock(ctx, path, func() (bool, error) {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
			return false, nil
		default:
			return false, fmt.Errorf("csr: locking %s: %w", path, err)
		}
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		// Closing the descriptor releases the flock.
		f.Close()
	}, nil
}

// processAlive reports whether a process with this id exists on this host.
func processAlive(pid int) (alive, known bool) {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM), true
}
