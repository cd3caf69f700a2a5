package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestSplitMulti pins the syntax complete, export and hsm -complete accept
// for -in: the same table held for each program's own copy before they
// shared this one.
func TestSplitMulti(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		values, rest []string
		err          string
	}{
		{name: "empty", args: nil},
		{name: "no flag", args: []string{"-out", "o", "x"}, rest: []string{"-out", "o", "x"}},
		{name: "several values", args: []string{"-in", "a.cer", "b.p7b", "c.pem"}, values: []string{"a.cer", "b.p7b", "c.pem"}},
		{name: "double dash form", args: []string{"--in", "a", "b"}, values: []string{"a", "b"}},
		{name: "values stop at next flag", args: []string{"-in", "a", "b", "-out", "o", "c"}, values: []string{"a", "b"}, rest: []string{"-out", "o", "c"}},
		{name: "equals form", args: []string{"-in=a"}, values: []string{"a"}},
		{name: "double dash equals form", args: []string{"--in=a"}, values: []string{"a"}},
		{name: "equals form keeps a leading dash", args: []string{"-in=-x.pem"}, values: []string{"-x.pem"}},
		{name: "equals form may be empty", args: []string{"-in="}, values: []string{""}},
		{name: "equals form takes one value only", args: []string{"-in=a", "b"}, values: []string{"a"}, rest: []string{"b"}},
		{name: "repeated, in order", args: []string{"-in", "a", "-out", "o", "--in=b", "-in", "c", "d"}, values: []string{"a", "b", "c", "d"}, rest: []string{"-out", "o"}},
		{name: "flags before", args: []string{"-server", "nginx", "-in", "a"}, values: []string{"a"}, rest: []string{"-server", "nginx"}},
		{name: "no value", args: []string{"-in"}, err: "flag -in needs at least one file"},
		{name: "no value before a flag", args: []string{"-in", "-out", "o"}, err: "flag -in needs at least one file"},
		{name: "stdin dash is not a value", args: []string{"-in", "-"}, err: "flag -in needs at least one file"},
		{name: "double dash after the flag is not a value", args: []string{"-in", "--", "a"}, err: "flag -in needs at least one file"},
		{name: "double dash stops the search", args: []string{"-in", "a", "--", "-in", "b"}, values: []string{"a"}, rest: []string{"--", "-in", "b"}},
		{name: "longer flag name is not the flag", args: []string{"-input", "a", "-in-x=b"}, rest: []string{"-input", "a", "-in-x=b"}},
		{name: "prefix of the name is not the flag", args: []string{"-i", "a"}, rest: []string{"-i", "a"}},
		{name: "triple dash is not the flag", args: []string{"---in", "a"}, rest: []string{"---in", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, rest, err := SplitMulti(tt.args, "in")
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if values != nil || rest != nil {
					t.Errorf("on error got values %q rest %q, want nil", values, rest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(values, tt.values) || !slices.Equal(rest, tt.rest) {
				t.Errorf("SplitMulti(%q) = values %q rest %q, want %q %q", tt.args, values, rest, tt.values, tt.rest)
			}
		})
	}
}

// TestSplitMultiThenParse checks the pair as the programs use it: the
// rest goes to flag parsing and the operands left over are more values.
func TestSplitMultiThenParse(t *testing.T) {
	values, rest, err := SplitMulti([]string{"-in", "a", "b", "-out", "o", "c", "d"}, "in")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	out := fs.String("out", "", "")
	if err := fs.Parse(rest); err != nil {
		t.Fatal(err)
	}
	values = append(values, fs.Args()...)
	if *out != "o" || !slices.Equal(values, []string{"a", "b", "c", "d"}) {
		t.Errorf("out %q values %q", *out, values)
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		literal  bool // InterleaveOptions.LiteralDoubleDash
		operands []string
		json     bool
		pw       string
		err      string
	}{
		{name: "none", args: nil},
		{name: "flags only", args: []string{"-json", "-password", "p"}, json: true, pw: "p"},
		{name: "flags before, between, after", args: []string{"-json", "a", "-password", "p", "b", "c"}, operands: []string{"a", "b", "c"}, json: true, pw: "p"},
		{name: "flags after", args: []string{"a", "b", "-json"}, operands: []string{"a", "b"}, json: true},
		{name: "double dash flag form", args: []string{"a", "--json"}, operands: []string{"a"}, json: true},
		{name: "lone dash is an operand", args: []string{"-", "-json"}, operands: []string{"-"}, json: true},
		{name: "double dash protects the next argument only", args: []string{"--", "-json", "-password", "p"}, operands: []string{"-json"}, pw: "p"},
		{name: "double dash after an operand", args: []string{"a", "--", "-json", "b"}, operands: []string{"a", "-json", "b"}},
		{name: "double dash twice ends the flags", args: []string{"--", "--", "a", "-json"}, operands: []string{"a", "-json"}},
		{name: "double dash twice, literal", args: []string{"--", "--", "a", "-json"}, literal: true, operands: []string{"--", "a"}, json: true},
		{name: "double dash once, literal", args: []string{"-json", "--", "-x", "b"}, literal: true, operands: []string{"-x", "b"}, json: true},
		{name: "unknown flag between operands", args: []string{"a", "-bogus"}, err: "flag provided but not defined: -bogus"},
		{name: "missing value", args: []string{"a", "-password"}, err: "flag needs an argument: -password"},
		{name: "help", args: []string{"a", "-h"}, err: flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			json := fs.Bool("json", false, "")
			pw := fs.String("password", "", "")
			operands, err := ParseInterleaved(fs, tt.args, InterleaveOptions{LiteralDoubleDash: tt.literal})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(operands, tt.operands) || *json != tt.json || *pw != tt.pw {
				t.Errorf("ParseInterleaved(%q) = %q json=%v password=%q, want %q %v %q", tt.args, operands, *json, *pw, tt.operands, tt.json, tt.pw)
			}
		})
	}
}

func TestFlagStatus(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if got := FlagStatus(fs.Parse([]string{"-h"})); got != ExitOK {
		t.Errorf("-h: %d, want %d", got, ExitOK)
	}
	if got := FlagStatus(fs.Parse([]string{"-nope"})); got != ExitUsage {
		t.Errorf("unknown flag: %d, want %d", got, ExitUsage)
	}
	if got := FlagStatus(errors.New("other")); got != ExitUsage {
		t.Errorf("other error: %d, want %d", got, ExitUsage)
	}
}

func TestFailer(t *testing.T) {
	var b strings.Builder
	fail := Failer(&b, "prog")
	if got := fail("writing %s: %v", "x.pem", errors.New("disk full")); got != ExitFailure {
		t.Errorf("status %d, want %d", got, ExitFailure)
	}
	if want := "prog: writing x.pem: disk full\n"; b.String() != want {
		t.Errorf("printed %q, want %q", b.String(), want)
	}
}

func TestUsagef(t *testing.T) {
	var b strings.Builder
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.SetOutput(&b)
	fs.Bool("json", false, "print JSON")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: prog FILE...") }
	if got := Usagef(fs, "prog", "unexpected argument %q", "x"); got != ExitUsage {
		t.Errorf("status %d, want %d", got, ExitUsage)
	}
	if want := "prog: unexpected argument \"x\"\nusage: prog FILE...\n"; b.String() != want {
		t.Errorf("printed %q, want %q", b.String(), want)
	}
}

func TestParseNoOperands(t *testing.T) {
	tests := []struct {
		args    []string
		status  int
		ok      bool
		printed string
	}{
		{args: nil, status: ExitOK, ok: true},
		{args: []string{"-json"}, status: ExitOK, ok: true},
		{args: []string{"-h"}, status: ExitOK, printed: "usage: prog\n"},
		{args: []string{"-bogus"}, status: ExitUsage, printed: "flag provided but not defined: -bogus\nusage: prog\n"},
		{args: []string{"-json", "a.pem", "-x"}, status: ExitUsage, printed: "prog: unexpected argument \"a.pem\"; names go in -san\nusage: prog\n"},
		{args: []string{"--", "-json"}, status: ExitUsage, printed: "prog: unexpected argument \"-json\"; names go in -san\nusage: prog\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.SetOutput(&b)
		fs.Bool("json", false, "")
		fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: prog") }
		status, ok := ParseNoOperands(fs, tt.args, "prog", "; names go in -san")
		if status != tt.status || ok != tt.ok || b.String() != tt.printed {
			t.Errorf("ParseNoOperands(%q) = %d, %v, printed %q; want %d, %v, %q", tt.args, status, ok, b.String(), tt.status, tt.ok, tt.printed)
		}
	}
}
