// Package e2e holds the end-to-end tests: requests made with the csr
// package are signed by a real step-ca (examples/internal/stepca), the
// answer is handed back in each format a CA uses, completed with the
// bundle package, and the files written for each server are read by the
// real consumers (openssl, keytool, nginx, a Go TLS client). All of them
// live in this one package so that step-ca is linked into one test binary.
package e2e
