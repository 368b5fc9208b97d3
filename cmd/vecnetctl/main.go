// Command vecnetctl runs CLI commands on a running vecnet daemon, like
// vppctl:
//
//	vecnetctl [-s SOCKET] COMMAND...   run one command, e.g. vecnetctl show runtime
//	vecnetctl [-s SOCKET]              read commands from stdin, one per line
//	vecnetctl -json show interfaces    JSON output (each command gets --json)
//
// The socket is -s, else $VECNET_SOCKET, else /run/vecnet/cli.sock. The
// exit status is 1 when a command (or the connection) fails, with the error
// on stderr; 2 for bad usage.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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

// parseArgs returns the socket to use, the command line the arguments
// form ("" when there are none) and whether -json (or --json) was given.
func parseArgs(args []string, getenv func(string) string) (socket, line string, asJSON bool, err error) {
	fs := flag.NewFlagSet("vecnetctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&socket, "s", "", "the daemon's CLI socket (default $VECNET_SOCKET or "+defaultSocket+")")
	fs.BoolVar(&asJSON, "json", false, "JSON output: adds "+ctl.JSONFlag+" to each command")
	if err := fs.Parse(args); err != nil {
		return "", "", false, fmt.Errorf("%v\nusage: vecnetctl [-s SOCKET] [-json] [COMMAND...]", err)
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
	if err != nil {
		fmt.Fprintln(stderr, "vecnetctl:", err)
		return 2
	}
	if line != "" {
		if asJSON {
			line += " " + ctl.JSONFlag
		}
		out, err := cli.Call(socket, line)
		writeOutput(stdout, out)
		if err != nil {
			fmt.Fprintln(stderr, "vecnetctl:", err)
			return 1
		}
		return 0
	}
	cl, err := cli.Dial(socket)
	if err != nil {
		fmt.Fprintln(stderr, "vecnetctl:", err)
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
