package csr

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// exclusiveStale is the age after which an exclusive lock file is taken
// over even when its owner cannot be checked (another host, or a system
// where processAlive does not know). Every operation holds the lock for
// milliseconds to seconds, so a lock this old is abandoned.
const exclusiveStale = 2 * time.Minute

// exclusiveLock is the portable lock: the file at path is created with
// O_EXCL and holds "pid host unixnano"; removing it releases the lock. A
// lock file is stale, and taken over, when its owner is on this host and
// processAlive says it is gone, or when it is older than exclusiveStale.
// The takeover renames the stale file to a unique name and checks that the
// renamed file is the one judged stale, so that two waiters cannot both
// take over; if a waiter renamed a fresh lock by mistake it restores it.
// This is compiled everywhere (and tested on Linux) but only used where
// flock(2) is missing.
func exclusiveLock(ctx context.Context, path string) (unlock func(), err error) {
	host, _ := os.Hostname()
	var nonce [8]byte
	rand.Read(nonce[:])
	mine := fmt.Appendf(nil, "%d %s %d %s\n", os.Getpid(), host, time.Now().UnixNano(), hex.EncodeToString(nonce[:]))
	err = waitLock(ctx, path, func() (bool, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.Write(mine)
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return false, fmt.Errorf("csr: writing the lock file %s: %w", path, errors.Join(werr, cerr))
			}
			return true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return false, fmt.Errorf("csr: creating the lock file %s: %w", path, err)
		}
		takeOverStale(path, host)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return func() {
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, mine) {
			os.Remove(path)
		}
	}, nil
}

func takeOverStale(path, host string) {
	seen, err := os.ReadFile(path)
	if err != nil {
		return
	}
	info, err := os.Stat(path)
	if err != nil || !exclusiveIsStale(seen, info.ModTime(), host) {
		return
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	aside := path + ".stale-" + hex.EncodeToString(nonce[:])
	if os.Rename(path, aside) != nil {
		return
	}
	got, err := os.ReadFile(aside)
	if err == nil && !bytes.Equal(got, seen) {
		// Another waiter replaced the stale lock between our read and our
		// rename: put its fresh lock back (Link never overwrites).
		os.Link(aside, path)
	}
	os.Remove(aside)
}

func exclusiveIsStale(content []byte, mod time.Time, host string) bool {
	if time.Since(mod) > exclusiveStale {
		return true
	}
	f := strings.Fields(string(content))
	if len(f) < 2 || f[1] != host {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	alive, known := processAlive(pid)
	return known && !alive
}

// waitLock calls try until it reports the lock taken, an error, or ctx is
// done, sleeping between attempts with a growing pause (1 ms to 50 ms).
func waitLock(ctx context.Context, path string, try func() (bool, error)) error {
	pause := time.Millisecond
	for {
		ok, err := try()
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("csr: waiting for the lock %s held by another process (%s): %w", path, lockMechanism, ctx.Err())
		case <-t.C:
		}
		if pause < 50*time.Millisecond {
			pause *= 2
		}
	}
}
