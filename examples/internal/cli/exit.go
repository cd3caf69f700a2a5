package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit statuses of the example programs.
const (
	ExitOK      = 0 // the work was done (or -h was asked for, where the program says so)
	ExitFailure = 1 // a check, a file, the network or a store failed; the reason is on stderr
	ExitUsage   = 2 // bad usage: unknown flag, missing or conflicting flags
)

// FlagStatus is the exit status for an error returned by
// flag.FlagSet.Parse: ExitOK for -h and -help (flag.ErrHelp, the usage was
// printed as asked), ExitUsage otherwise. Programs that exit 2 on -h do not
// use it.
func FlagStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// Failer returns a function that prints "prog: " and the formatted message
// as one line on w, then returns ExitFailure, for
//
//	fail := cli.Failer(stderr, "newcsr")
//	...
//	return fail("writing the CSR: %v", err)
func Failer(w io.Writer, prog string) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(w, prog+": "+format+"\n", a...)
		return ExitFailure
	}
}

// Usagef reports bad usage: it prints "prog: " and the formatted message
// as one line on fs.Output() (the programs set it to their stderr), then
// calls fs.Usage, and returns ExitUsage.
func Usagef(fs *flag.FlagSet, prog, format string, a ...any) int {
	fmt.Fprintf(fs.Output(), prog+": "+format+"\n", a...)
	fs.Usage()
	return ExitUsage
}

// ParseNoOperands parses args with fs for a program that takes flags
// only. When the program must stop, it returns ok false and the exit
// status: ExitOK after -h (the usage was printed), ExitUsage for a bad
// flag (reported by fs) or for an operand, reported with Usagef as
// `unexpected argument "X"` followed by hint (say, where such names go).
func ParseNoOperands(fs *flag.FlagSet, args []string, prog, hint string) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		return FlagStatus(err), false
	}
	if fs.NArg() > 0 {
		return Usagef(fs, prog, "unexpected argument %q%s", fs.Arg(0), hint), false
	}
	return ExitOK, true
}
