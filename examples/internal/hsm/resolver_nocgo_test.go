//go:build !cgo || nopkcs11

package hsm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/certwright/certwright/internal/testtool"
)

// TestSoftHSMNeedsCgo: without cgo the SoftHSM2 tests are not even
// compiled; under CI that must fail rather than pass silently (the Go
// toolchain turns cgo off by itself when no C compiler is installed).
func TestSoftHSMNeedsCgo(t *testing.T) {
	if testtool.InCI() {
		t.Fatal("built without cgo (or with the nopkcs11 tag): the SoftHSM2 tests did not run; CI needs a C compiler (Debian package gcc) and CGO_ENABLED unset or 1")
	}
	t.Skip("built without cgo: the SoftHSM2 tests are not compiled")
}

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
