package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a command line the command does not take: main prints it
// with a hint to the command's help on stderr and exits 2 before anything
// was started.
type usageError struct {
	cmd string // "vecnet bench dns": the hint names "CMD -h"
	msg string
}

func (e usageError) Error() string { return e.msg }

// errHelp ends a command whose help was asked for (-h, --help or help) and
// printed on stdout: main exits 0.
var errHelp = errors.New("help printed")

// command is one command or subcommand of vecnet: its place in the tree,
// its one-line summary for the parent's list, and what runs it.
type command struct {
	name    string // the word after the parent's: "run", "dns"
	summary string
	run     func(path string, args []string) error
}

// cmdFlags is a command's flag set: its flags, plus the usage line and
// description its help prints, plus the logging flags every command takes.
type cmdFlags struct {
	*flag.FlagSet
	path  string // "vecnet bench dns"
	usage string // the synopsis after the path: "[flags]", "[flags] CONFIG"
	doc   string // a paragraph of description
	log   logFlags
}

// newFlags returns the flag set of the command path ("vecnet demo"), whose
// synopsis after the path is usage and whose help describes it as doc.
func newFlags(path, usage, doc string) *cmdFlags {
	c := &cmdFlags{FlagSet: flag.NewFlagSet(path, flag.ContinueOnError), path: path, usage: usage, doc: doc}
	c.SetOutput(io.Discard) // parse reports errors; help prints itself
	c.log.add(c.FlagSet)
	return c
}

// parse parses args, then wants exactly len(positional) positional
// arguments (named by positional in the messages). It returns them, or:
// errHelp after printing the help to stdout when args ask for it (-h,
// -help, --help, or "help" as the only positional argument); a usageError
// for an unknown flag, a bad value, a missing or a stray argument. On
// success it installs the logger the logging flags ask for.
func (c *cmdFlags) parse(args []string, positional ...string) ([]string, error) {
	if err := c.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(os.Stdout)
			return nil, errHelp
		}
		return nil, c.usageErr("%v", err)
	}
	rest := c.Args()
	if len(rest) == 1 && rest[0] == "help" {
		c.printHelp(os.Stdout)
		return nil, errHelp
	}
	switch {
	case len(rest) > len(positional):
		return nil, c.usageErr("unexpected argument %q", rest[len(positional)])
	case len(rest) < len(positional):
		return nil, c.usageErr("missing %s", positional[len(rest)])
	}
	if err := c.log.install(); err != nil {
		return nil, c.usageErr("%v", err)
	}
	return rest, nil
}

// usageErr is a usageError of this command.
func (c *cmdFlags) usageErr(format string, a ...any) error {
	return usageError{cmd: c.path, msg: fmt.Sprintf(c.path+": "+format, a...)}
}

// printHelp writes the synopsis, the description and the flags to w.
func (c *cmdFlags) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s %s\n", c.path, c.usage)
	if c.doc != "" {
		fmt.Fprintf(w, "\n%s\n", c.doc)
	}
	fmt.Fprintln(w, "\nflags:")
	c.SetOutput(w)
	c.PrintDefaults()
	c.SetOutput(io.Discard)
}

// dispatch runs the subcommand of path (e.g. "vecnet bench") that args[0]
// names. No arguments is a usage error; -h, --help or help print the list
// of subcommands to stdout, "help SUBCOMMAND..." that subcommand's help.
func dispatch(path, doc string, cmds []command, args []string) error {
	if len(args) == 0 {
		return usageError{cmd: path, msg: path + ": missing command"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) >= 2 && args[0] == "help" { // "help bench dns" is "bench dns -h"
			for _, c := range cmds {
				if c.name == args[1] {
					return c.run(path+" "+c.name, append(args[2:len(args):len(args)], "-h"))
				}
			}
			return usageError{cmd: path, msg: fmt.Sprintf("%s: no command %q", path, args[1])}
		}
		if len(args) > 1 {
			return usageError{cmd: path, msg: fmt.Sprintf("%s: unexpected argument %q", path, args[1])}
		}
		printCommands(os.Stdout, path, doc, cmds)
		return errHelp
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(path+" "+c.name, args[1:])
		}
	}
	if strings.HasPrefix(args[0], "-") {
		return usageError{cmd: path, msg: fmt.Sprintf("%s: unknown flag %s (flags go after the command)", path, args[0])}
	}
	return usageError{cmd: path, msg: fmt.Sprintf("%s: unknown command %q", path, args[0])}
}

// printCommands writes path's help: its synopsis, doc and the list of its
// subcommands with their summaries.
func printCommands(w io.Writer, path, doc string, cmds []command) {
	fmt.Fprintf(w, "usage: %s COMMAND [flags] [arguments]\n", path)
	if doc != "" {
		fmt.Fprintf(w, "\n%s\n", doc)
	}
	fmt.Fprintln(w, "\ncommands:")
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, "\n\"%s COMMAND -h\" describes a command and its flags.\n", path)
}
