//go:build !cgo || nopkcs11

package hsm

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestNoCgo: a build that cannot load PKCS#11 modules says so, after
// still checking its arguments.
func TestNoCgo(t *testing.T) {
	ctx := context.Background()
	r := &Resolver{}
	const uri = "pkcs11:token=t;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so"
	if _, err := r.Signer(ctx, uri); !errors.Is(err, ErrNoCgo) || !strings.Contains(err.Error(), "CGO_ENABLED=1") {
		t.Fatalf("Signer = %v, want ErrNoCgo", err)
	}
	if _, _, err := r.GenerateKey(ctx, KeyRequest{Module: "m", Token: "t", Label: "l"}); !errors.Is(err, ErrNoCgo) {
		t.Fatalf("GenerateKey = %v, want ErrNoCgo", err)
	}
	if _, err := r.Inspect(ctx, uri); !errors.Is(err, ErrNoCgo) {
		t.Fatalf("Inspect = %v, want ErrNoCgo", err)
	}
	if err := r.DeleteKey(ctx, uri); !errors.Is(err, ErrNoCgo) {
		t.Fatalf("DeleteKey = %v, want ErrNoCgo", err)
	}
	if _, err := r.Signer(ctx, "file:key.pem"); !errors.Is(err, ErrBadURI) {
		t.Fatalf("a bad URI = %v, want ErrBadURI first", err)
	}
	if _, _, err := r.GenerateKey(ctx, KeyRequest{}); err == nil || errors.Is(err, ErrNoCgo) {
		t.Fatalf("an empty request = %v, want the argument error first", err)
	}
}
