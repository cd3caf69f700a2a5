package ber

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestToDER(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"already DER", "3006020101020102", "3006020101020102"},
		{"indefinite sequence", "30800201010201020000", "3006020101020102"},
		{"empty indefinite set", "31800000", "3100"},
		{"nested indefinite", "3080318000000000", "30023100"},
		{"constructed octet string", "24800402aabb0401cc0000", "0403aabbcc"},
		{"constructed bit string", "2380030200aa0302040f0000", "030304aa0f"},
		{"non-minimal long length", "30810302010a", "3003020" + "10a"},
		{"context tag kept", "a0800403010203" + "0000", "a005040301020" + "3"},
	}
	for _, tc := range tests {
		got, err := ToDER(h(tc.in), 0)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.Equal(got, h(tc.want)) {
			t.Errorf("%s: got %x, want %s", tc.name, got, tc.want)
		}
	}
}

func TestToDERRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"truncated", "3005020101", ErrMalformed},
		{"missing EOC", "30800201", ErrMalformed},
		{"indefinite primitive", "0480aa0000", ErrMalformed},
		{"trailing bytes", "3000ff", ErrMalformed},
		{"mixed constructed string", "2480020101" + "0000", ErrMalformed},
	}
	for _, tc := range tests {
		_, err := ToDER(h(tc.in), 0)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestDeepNesting is the input that kills processes through the PKCS#7
// libraries: 4 MiB of "30 80". It must be refused, quickly, with ErrTooDeep.
func TestDeepNesting(t *testing.T) {
	b := bytes.Repeat([]byte{0x30, 0x80}, 2<<20)
	if _, err := Check(b, 0); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Check: got %v, want ErrTooDeep", err)
	}
	if _, err := ToDER(b, 0); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("ToDER: got %v, want ErrTooDeep", err)
	}
	// Definite lengths nested just past the bound.
	inner := []byte{0x05, 0x00}
	for i := 0; i < DefaultMaxDepth; i++ {
		inner = append(appendHeader(nil, []byte{0x30}, len(inner)), inner...)
	}
	if _, err := Check(inner, 0); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("definite nesting: got %v, want ErrTooDeep", err)
	}
	if _, err := Check(inner, DefaultMaxDepth+1); err != nil {
		t.Fatalf("definite nesting within a larger bound: %v", err)
	}
}

func BenchmarkDeepNestingRejected(b *testing.B) {
	in := bytes.Repeat([]byte{0x30, 0x80}, 2<<20)
	for b.Loop() {
		if _, err := ToDER(in, 0); err == nil {
			b.Fatal("accepted")
		}
	}
}

func FuzzToDER(f *testing.F) {
	for _, s := range []string{"3006020101020102", "30800201010201020000", "31800000", "24800402aabb0401cc0000", "2380030200aa0302040f0000"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		der, err := ToDER(b, 0)
		if err != nil {
			return
		}
		// DER is a fixed point.
		again, err := ToDER(der, 0)
		if err != nil {
			t.Fatalf("DER output does not re-parse: %v", err)
		}
		if !bytes.Equal(again, der) {
			t.Fatalf("not a fixed point: %x -> %x", der, again)
		}
	})
}
