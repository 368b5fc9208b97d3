// Command vecnetctl runs CLI commands on a running vecnet daemon, like
// vppctl:
//
//	vecnetctl [-s SOCKET] COMMAND...   run one command, e.g. vecnetctl show runtime
//	vecnetctl [-s SOCKET]              read commands from stdin, one per line
//	vecnetctl help [PREFIX]            list the commands (no daemon needed)
//	vecnetctl -json show interfaces    JSON output (each command gets --json)
//
// The socket is -s, else $VECNET_SOCKET, else /run/vecnet/cli.sock. The
// exit status is 1 when a command (or the connection) fails, with the error
// on stderr; 2 for bad usage. -h, --help, "help" and "COMMAND... -h" print
// help on stdout without asking the daemon: the list of commands is
// generated from the daemon's (go generate).
package main

//go:generate go test -run TestCommandListCurrent -update

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/ctl"
)

// defaultSocket is where the daemon listens unless its config says otherwise.
const defaultSocket = "/run/vecnet/cli.sock"

func main() {
	fi, err := os.Stdin.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, tty))
}

// usageLine is vecnetctl's synopsis.
const usageLine = "usage: vecnetctl [-s SOCKET] [-json] [COMMAND...]"

// errHelp is parseArgs' answer to -h or --help.
var errHelp = errors.New("help requested")

// parseArgs returns the socket to use, the command line the arguments
// form ("" when there are none) and whether -json (or --json) was given.
func parseArgs(args []string, getenv func(string) string) (socket, line string, asJSON bool, err error) {
	fs := flag.NewFlagSet("vecnetctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&socket, "s", "", "the daemon's CLI socket (default $VECNET_SOCKET or "+defaultSocket+")")
	fs.BoolVar(&asJSON, "json", false, "JSON output: adds "+ctl.JSONFlag+" to each command")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", "", false, errHelp
		}
		return "", "", false, fmt.Errorf("%v\n%s (vecnetctl -h for help)", err, usageLine)
	}
	if socket == "" {
		socket = getenv("VECNET_SOCKET")
	}
	if socket == "" {
		socket = defaultSocket
	}
	return socket, strings.Join(fs.Args(), " "), asJSON, nil
}

// run is main without the process: it returns the exit status. With a
// command in args it runs that; otherwise it runs each line of stdin,
// prompting when interactive.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, interactive bool) int {
	socket, line, asJSON, err := parseArgs(args, getenv)
	switch {
	case errors.Is(err, errHelp):
		return help(stdout, stderr, "")
	case err != nil:
		fmt.Fprintln(stderr, "vecnetctl:", err)
		return 2
	}
	if prefix, ok := helpRequest(line); ok {
		return help(stdout, stderr, prefix)
	}
	if line != "" {
		if asJSON {
			line += " " + ctl.JSONFlag
		}
		out, err := cli.Call(socket, line)
		writeOutput(stdout, out)
		if err != nil {
			fmt.Fprintln(stderr, "vecnetctl:", unreachable(socket, err))
			return 1
		}
		return 0
	}
	cl, err := cli.Dial(socket)
	if err != nil {
		fmt.Fprintln(stderr, "vecnetctl:", unreachable(socket, err))
		return 1
	}
	defer cl.Close()
	status := 0
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 4096), 2*cli.MaxLine)
	for {
		if interactive {
			fmt.Fprint(stdout, "vecnet# ")
		}
		if !sc.Scan() {
			break
		}
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
			continue
		case l == "quit" || l == "exit":
			return status
		}
		if asJSON {
			l += " " + ctl.JSONFlag
		}
		out, err := cl.Do(l)
		writeOutput(stdout, out)
		var re *cli.RemoteError
		switch {
		case errors.As(err, &re):
			fmt.Fprintln(stderr, "vecnetctl:", err)
			status = 1
		case err != nil: // the connection is gone
			fmt.Fprintln(stderr, "vecnetctl:", err)
			return 1
		}
	}
	if interactive {
		fmt.Fprintln(stdout)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "vecnetctl: reading stdin:", err)
		return 1
	}
	return status
}

// writeOutput prints a command's output, ending it with a newline.
func writeOutput(w io.Writer, out string) {
	if out == "" {
		return
	}
	io.WriteString(w, out)
	if !strings.HasSuffix(out, "\n") {
		io.WriteString(w, "\n")
	}
}

// helpRequest says whether the command line asks for help rather than
// running a command: "help [PREFIX]", "? [PREFIX]", or "PREFIX -h|--help|?"
// (vecnetctl answers these itself, so they work with no daemon). It returns
// the prefix of the commands to list.
func helpRequest(line string) (prefix string, ok bool) {
	words := strings.Fields(line)
	switch {
	case len(words) == 0:
		return "", false
	case words[0] == "help" || words[0] == "?":
		return strings.Join(words[1:], " "), true
	}
	switch words[len(words)-1] {
	case "-h", "-help", "--help", "?":
		return strings.Join(words[:len(words)-1], " "), true
	}
	return "", false
}

// help prints vecnetctl's usage and the daemon's commands under prefix
// (all when empty) from the generated list, and returns the exit status:
// 0, or 2 when no command matches prefix.
func help(stdout, stderr io.Writer, prefix string) int {
	r := cli.NewRegistry()
	for _, c := range daemonCommands {
		r.Register(cli.Command{Path: c.Path, Help: c.Help, Run: func(io.Writer, []string) error { return nil }})
	}
	var list strings.Builder
	if err := r.Exec(&list, "help "+prefix); err != nil {
		fmt.Fprintln(stderr, "vecnetctl:", err)
		return 2
	}
	if prefix == "" {
		fmt.Fprintf(stdout, "%s\n\nRuns one command on the vecnet daemon listening on SOCKET (-s, else $VECNET_SOCKET, else %s),\nor, without a command, each line of stdin. Words may be abbreviated to a unique prefix.\n\nflags:\n  -s SOCKET  the daemon's CLI socket\n\ncommands:\n", usageLine, defaultSocket)
	}
	io.WriteString(stdout, list.String())
	return 0
}

// unreachable turns a failure to connect to socket into advice: no socket
// there, or nothing listening on it, means vecnet is not running.
func unreachable(socket string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot reach vecnet at %s: is vecnet running?", socket)
	}
	return err
}
