//go:build !unix

package csr

import (
	"os"
	"runtime"
)

// processAlive reports whether a process with this id exists on this host.
// Windows answers through FindProcess, which opens the process and fails
// when it does not exist; elsewhere (Plan 9, WASI) the answer is unknown
// and only the age of a lock makes it stale.
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
