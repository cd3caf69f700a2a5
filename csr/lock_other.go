//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package csr

import (
	"context"
	"os"
	"runtime"
)

// Where flock(2) is not available (Windows, Solaris, AIX, Plan 9, WASI)
// the pending store uses an exclusive-create lock file instead; see
// exclusiveLock for how a lock left by a crashed process is recognised.

const lockMechanism = "an exclusive lock file"

func lockStore(ctx context.Context, path string) (unlock func(), err error) {
	return exclusiveLock(ctx, path+".owner")
}

// processAlive reports whether a process with this id exists on this host.
// Only Windows answers reliably without extra system calls: FindProcess
// opens the process there and fails when it does not exist.
func processAlive(pid int) (alive, known bool) {
	if runtime.GOOS != "windows" {
		return true, false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false, true
	}
	p.Release()
	return true, true
}
