package hsm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestURIString(t *testing.T) {
	u := &URI{Module: "/usr/lib/softhsm/libsofthsm2.so", Token: "web tier", ID: []byte{0x0a, 0xff, 'A'}, Object: "www.example.com;1", PINValue: "1234", PINSource: "/etc/pin"}
	const want = "pkcs11:token=web%20tier;id=%0a%ff%41;object=www.example.com%3B1;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so"
	if got := u.String(); got != want {
		t.Fatalf("String = %q\nwant       %q", got, want)
	}
	back, err := ParseURI(want)
	if err != nil {
		t.Fatal(err)
	}
	if back.Module != u.Module || back.Token != u.Token || !bytes.Equal(back.ID, u.ID) || back.Object != u.Object || back.PINValue != "" || back.PINSource != "" {
		t.Fatalf("ParseURI(String()) = %+v", back)
	}
}

func TestParseURI(t *testing.T) {
	ok := []struct {
		in   string
		want URI
	}{
		{"pkcs11:token=t;object=k?module-path=/m.so", URI{Module: "/m.so", Token: "t", Object: "k"}},
		{"PKCS11:token=t;id=%01%02?module-path=%2Fm.so&pin-value=12%2634", URI{Module: "/m.so", Token: "t", ID: []byte{1, 2}, PINValue: "12&34"}},
		{"pkcs11:type=private;object=k;token=t?pin-source=/run/pin&module-path=/m.so", URI{Module: "/m.so", Token: "t", Object: "k", PINSource: "/run/pin"}},
		{"pkcs11:token=t;;object=k?module-path=/m.so&", URI{Module: "/m.so", Token: "t", Object: "k"}},
	}
	for _, tt := range ok {
		got, err := ParseURI(tt.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tt.in, err)
			continue
		}
		if got.Module != tt.want.Module || got.Token != tt.want.Token || !bytes.Equal(got.ID, tt.want.ID) || got.Object != tt.want.Object || got.PINValue != tt.want.PINValue || got.PINSource != tt.want.PINSource {
			t.Errorf("ParseURI(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}

	bad := []struct{ in, want string }{
		{"file:///key.pem", `does not start with "pkcs11:"`},
		{"pkcs11:object=k?module-path=/m.so", "names no token"},
		{"pkcs11:token=t;object=k", "names no module"},
		{"pkcs11:token=t?module-path=/m.so", "names no key"},
		{"pkcs11:token=t;object=k;type=cert?module-path=/m.so", "type=private"},
		{"pkcs11:token=t;serial=42;object=k?module-path=/m.so", `path attribute "serial" is not supported`},
		{"pkcs11:token=t;object=k?module-path=/m.so&module-name=softhsm2", `query attribute "module-name" is not supported`},
		{"pkcs11:token=t;token=u;object=k?module-path=/m.so", "given twice"},
		{"pkcs11:token=t;object=%zz?module-path=/m.so", "invalid percent-encoding"},
		{"pkcs11:token=t;object?module-path=/m.so", "has no value"},
		{"pkcs11:token=t;object=k;pin-value=s3cret?module-path=/m.so", `path attribute "pin-value" is not supported`},
		{"pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cret%z", "pin-value is not validly percent-encoded"},
		{"pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cret&pin-value=s3cret", "given twice"},
	}
	for _, tt := range bad {
		_, err := ParseURI(tt.in)
		if !errors.Is(err, ErrBadURI) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseURI(%q) = %v, want ErrBadURI mentioning %q", tt.in, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURI(%q) error shows the PIN: %v", tt.in, err)
		}
	}
}

func TestStripPIN(t *testing.T) {
	got, err := StripPIN("pkcs11:token=t;object=k?pin-value=1234&module-path=/m.so&pin-source=/p")
	if err != nil {
		t.Fatal(err)
	}
	if want := "pkcs11:token=t;object=k;type=private?module-path=/m.so"; got != want {
		t.Fatalf("StripPIN = %q, want %q", got, want)
	}
}

func TestCheckRequest(t *testing.T) {
	if kt, err := checkRequest(&KeyRequest{Module: "m", Token: "t", Label: "l"}); err != nil || kt != "p256" {
		t.Fatalf("default key type = %q, %v; want p256", kt, err)
	}
	if _, err := checkRequest(&KeyRequest{}); err == nil || !strings.Contains(err.Error(), "the module path, the token label, the key label") {
		t.Fatalf("empty request: %v", err)
	}
	if _, err := checkRequest(&KeyRequest{Module: "m", Token: "t", Label: "l", Type: "ed25519"}); err == nil || !strings.Contains(err.Error(), "choose p256") {
		t.Fatalf("ed25519: %v", err)
	}
}

// FuzzParseURI: no panic, and whatever parses prints to a string that
// parses back to the same key reference, without the PIN.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=web%20tier;id=%0a%ff%41;object=www.example.com%3B1;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so",
		"pkcs11:token=t;id=%01%02?module-path=%2Fm.so&pin-value=12%2634",
		"pkcs11:type=private;object=k;token=t?pin-source=/run/pin&module-path=/m.so",
		"pkcs11:token=t;object=%zz?module-path=/m.so",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if u != nil {
				t.Fatal("a URI and an error")
			}
			return
		}
		out := u.String()
		if u.PINValue != "" && strings.Contains(out, "pin-value") {
			t.Fatalf("String kept the PIN: %q", out)
		}
		back, err := ParseURI(out)
		if err != nil {
			t.Fatalf("ParseURI(%q) (from %q): %v", out, s, err)
		}
		if back.Module != u.Module || back.Token != u.Token || !bytes.Equal(back.ID, u.ID) || back.Object != u.Object {
			t.Fatalf("round trip of %q: %+v != %+v", s, back, u)
		}
	})
}
