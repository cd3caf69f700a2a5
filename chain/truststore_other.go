//go:build !linux

package chain

import (
	"context"
	"crypto/x509"
	"fmt"
	"runtime"
)

func systemUnsupported() error {
	return fmt.Errorf("chain: system store: not implemented on %s (see the TrustStore documentation for this system's commands): %w", runtime.GOOS, ErrUnsupported)
}

// String returns "system".
func (s *SystemStore) String() string { return "system" }

// Plan fails with ErrUnsupported outside Linux.
func (s *SystemStore) Plan(action Action, cert *x509.Certificate, name string) ([]string, error) {
	return nil, systemUnsupported()
}

// Install fails with ErrUnsupported outside Linux.
func (s *SystemStore) Install(ctx context.Context, cert *x509.Certificate, name string) error {
	return systemUnsupported()
}

// Remove fails with ErrUnsupported outside Linux.
func (s *SystemStore) Remove(ctx context.Context, cert *x509.Certificate, name string) error {
	return systemUnsupported()
}

// Contains fails with ErrUnsupported outside Linux.
func (s *SystemStore) Contains(ctx context.Context, cert *x509.Certificate) (bool, error) {
	return false, systemUnsupported()
}
