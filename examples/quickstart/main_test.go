package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d:\n%s", code, errb.String())
	}
	want := filepath.Join(dir, "nginx", "fullchain.pem") + "\n" + filepath.Join(dir, "nginx", "privkey.pem") + "\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	progress := errb.String()
	for _, s := range []string{"1. Started an embedded step-ca", "OU=Web,O=Example Ltd,L=Leeds,ST=West Yorkshire,C=GB", "root first", "Completed the request", "7. Verified", "wrong.example.test refused"} {
		if !strings.Contains(progress, s) {
			t.Errorf("progress lacks %q:\n%s", s, progress)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "nginx", "privkey.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("privkey.pem: %v %v", fi.Mode(), err)
	}
	// The pending request was archived, not deleted.
	if entries, _ := os.ReadDir(filepath.Join(dir, "pending")); len(entries) == 0 {
		t.Error("pending store folder is empty")
	}
	// A second run into the same folder refuses rather than mixing files.
	errb.Reset()
	if code := run(context.Background(), []string{"-dir", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not empty") {
		t.Errorf("second run: exit %d: %s", code, errb.String())
	}
}

func TestQuickstartUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"-nope"}, {"extra"}} {
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
