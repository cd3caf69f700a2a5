package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runHSM(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestUsage: missing or unexpected arguments exit 2 and name what is
// wrong; -h exits 0. None of these touch a token.
func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing", nil, 2, "-module, -token, -pin-file, -cn or -san required"},
		{"no module", []string{"-token", "t", "-pin-file", "p", "-cn", "a.example"}, 2, "-module required"},
		{"stray argument", []string{"-module", "m", "-token", "t", "-pin-file", "p", "-cn", "a.example", "b.example"}, 2, `unexpected argument "b.example"`},
		{"unknown flag", []string{"-frobnicate"}, 2, "flag provided but not defined"},
		{"help", []string{"-h"}, 0, "usage: hsm -module PATH"},
		{"complete without -out", []string{"-complete", "-in", "x.cer"}, 2, "-complete needs -in and -out"},
		{"complete without -in", []string{"-complete", "-out", "d"}, 2, "-complete needs -in and -out"},
		{"complete -in without files", []string{"-complete", "-in", "-out", "d"}, 2, "flag -in needs at least one file"},
		{"complete help", []string{"-complete", "-h"}, 0, "usage: hsm -complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runHSM(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", code, tt.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
		})
	}
}

// TestChecksBeforeToken: a bad request, key type or PIN file exits 1
// before any module is loaded (the module path here does not exist, so
// reaching it would give another message), and writes nothing.
func TestChecksBeforeToken(t *testing.T) {
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	os.WriteFile(pin, []byte("1234\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	exists := filepath.Join(dir, "exists.csr")
	os.WriteFile(exists, []byte("x"), 0o644)
	base := []string{"-module", "/nonexistent/module.so", "-token", "t", "-store", filepath.Join(dir, "store")}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"country", []string{"-pin-file", pin, "-cn", "www.example.com", "-c", "USA"}, []string{"country", "no key was generated"}},
		{"ed25519", []string{"-pin-file", pin, "-cn", "www.example.com", "-key", "ed25519"}, []string{"-key ed25519", "choose p256", "no key was generated"}},
		{"rsa1024", []string{"-pin-file", pin, "-cn", "www.example.com", "-key", "rsa1024"}, []string{"-key rsa1024", "no key was generated"}},
		{"missing PIN file", []string{"-pin-file", filepath.Join(dir, "nope"), "-cn", "www.example.com"}, []string{"reading the PIN"}},
		{"empty PIN file", []string{"-pin-file", empty, "-cn", "www.example.com"}, []string{"is empty"}},
		{"existing -out", []string{"-pin-file", pin, "-cn", "www.example.com", "-out", exists}, []string{"already exists", "never written over"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runHSM(t, append(append([]string{}, base...), tt.args...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "module.so") {
				t.Errorf("the module was reached:\n%s", stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); err == nil {
		t.Error("a failed check created the store")
	}
}

// TestCompleteNeedsStore: -complete with a store that does not exist says
// so instead of making an empty one.
func TestCompleteNeedsStore(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runHSM(t, "-complete", "-store", filepath.Join(dir, "nope"), "-in", filepath.Join(dir, "x.cer"), "-out", dir)
	if code != 1 || !strings.Contains(stderr, "cannot be opened") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}
