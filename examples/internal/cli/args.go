package cli

import (
	"flag"
	"fmt"
	"strings"
)

// SplitMulti takes the flag NAME, which may take several values, out of
// args, so that "-in leaf.cer chain.p7b" works as usage lines show:
//
//   - "-NAME a b c" and "--NAME a b c": the values are the arguments up to
//     the next one that starts with "-" (so "-" for standard input is not
//     a value); at least one is needed, else the error says so;
//   - "-NAME=a" and "--NAME=a": one value, which may be empty or start
//     with "-";
//   - the flag may be repeated; values keep their order.
//
// Everything else is returned in rest, in order, for flag.FlagSet.Parse. A
// "--" ends the search: it and all that follows go to rest untouched.
// SplitMulti does not know the other flags, so a value of another flag
// equal to "-NAME" is taken as this flag; the values of NAME are never
// read as flags.
func SplitMulti(args []string, name string) (values, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		switch {
		case a == "-"+name || a == "--"+name:
			n := 0
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				values = append(values, args[i])
				n++
			}
			if n == 0 {
				return nil, nil, fmt.Errorf("flag -%s needs at least one file", name)
			}
		case strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"="):
			values = append(values, a[strings.Index(a, "=")+1:])
		default:
			rest = append(rest, a)
		}
	}
	return values, rest, nil
}

// InterleaveOptions are the variants of ParseInterleaved. The zero value
// is the behaviour of chain and inspect.
type InterleaveOptions struct {
	// LiteralDoubleDash reads a "--" that directly follows the "--"
	// ending the flags as an operand, after which flags are parsed again
	// (renew, checkserver). When false, such a second "--" makes every
	// argument after it an operand (chain, inspect).
	LiteralDoubleDash bool
}

// ParseInterleaved parses fs from args where flags may come before,
// between and after operands (package flag alone stops at the first
// operand), and returns the operands in order. As in package flag, a "--"
// makes the next argument an operand even when it starts with "-"; the
// arguments after that one are parsed as flags again (see
// InterleaveOptions for a "--" that follows "--"). A lone "-" is an
// operand. The error is the one fs.Parse returned (flag.ErrHelp for -h),
// already reported on fs's output.
func ParseInterleaved(fs *flag.FlagSet, args []string, o InterleaveOptions) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return operands, nil
		}
		if args[0] == "--" && !o.LiteralDoubleDash {
			return append(operands, args[1:]...), nil
		}
		operands = append(operands, args[0])
		args = args[1:]
	}
}
