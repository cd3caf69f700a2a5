//go:build !linux

package chain

import (
	"context"
	"errors"
	"testing"

	"github.com/certwright/certwright/internal/testpki"
)

func TestSystemStoreUnsupported(t *testing.T) {
	root := testpki.Root(t, "Other OS Root")
	s := &SystemStore{}
	if err := s.Install(context.Background(), root.Cert, "x"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Install: %v, want ErrUnsupported", err)
	}
	if err := s.Remove(context.Background(), root.Cert, ""); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Remove: %v, want ErrUnsupported", err)
	}
	if _, err := s.Contains(context.Background(), root.Cert); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Contains: %v, want ErrUnsupported", err)
	}
	if _, err := s.Plan(ActionInstall, root.Cert, "x"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Plan: %v, want ErrUnsupported", err)
	}
}
