// Package cli holds the command-line plumbing that the example programs
// share: flags that take several values (-in a.cer b.p7b), flags mixed
// with operands, the pending-request store they all open, files whose
// first line is a secret, trusted roots read from a file, the checks run
// before a key is made, and the exit statuses (0 done, 1 failure, 2 bad
// usage).
//
// It exists so that the programs accept the same syntax and print the same
// messages for the same mistakes. It is not a flag library: programs keep
// their own flag.FlagSet, usage text and messages; only logic that is the
// same in several programs lives here. Where programs deliberately differ
// (for example how a "--" after "--" is read), the difference is an option.
//
// # Security
//
// Secrets (passphrases, PINs) are read from files, never from the command
// line, and never appear in errors: an error names the file only. Roots
// are trusted only when the certificate is self-signed and its signature
// verifies; any other certificate in a -roots file is ignored. Files are
// written atomically through internal/atomicfile.
package cli
