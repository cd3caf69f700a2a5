//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package csr

import "context"

// Where flock(2) is not available (Windows, Solaris, AIX, Plan 9, WASI)
// the pending store uses an exclusive-create lock file instead; see
// exclusiveLock for how a lock left by a crashed process is recognised.

const lockMechanism = "an exclusive lock file"

func lockStore(ctx context.Context, path string) (unlock func(), err error) {
	return exclusiveLock(ctx, path+".owner")
}
