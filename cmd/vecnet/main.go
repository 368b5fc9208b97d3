// Command vecnet is the vecnet data plane.
//
//	vecnet run CONFIG      run the data plane a YAML config describes, until SIGINT/SIGTERM
//	vecnet replay CONFIG   run a config whose inputs are pcap files until they are consumed,
//	                       then print "show errors" and "show runtime" and exit
//	vecnet demo            build two namespaces, route between them on AF_XDP, ping and iperf3 through
//	vecnet bench forward   kernel vs vecnet forwarding benchmark in three namespaces
//	vecnet bench dns|http|memif   DNS, HTTP and memif benchmarks
//	vecnet version         the module version, VCS revision and Go version it was built from
//
// "vecnet -h", "vecnet COMMAND -h" (or --help, or help) print help on stdout
// and exit 0; a usage error exits 2 with a hint on stderr. Every command
// takes -log-format text|json and -log-level.
//
// The CLI socket (vecnetctl) serves show runtime|errors|interfaces|fib|neighbors|trace,
// trace add N and ip route add|del while it runs.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
)

// commands are vecnet's commands, in the order its help lists them.
var commands = []command{
	{"run", "run the data plane described by CONFIG until interrupted", func(p string, a []string) error { return cmdRun(p, a, false) }},
	{"replay", "run CONFIG's pcap inputs through the router, print counters, exit", func(p string, a []string) error { return cmdRun(p, a, true) }},
	{"demo", "route between two namespaces over AF_XDP (see README)", cmdDemo},
	{"bench", "benchmarks: forward, dns, http, memif (see BENCHMARKS.md)", cmdBench},
	{"version", "print the build's module version, VCS revision and Go version", cmdVersion},
}

const vecnetDoc = `vecnet is a kernel-bypass data plane and IPv4 stack; vecnetctl talks to a running one.
Every command takes -log-format text|json and -log-level; "vecnet --version" is "vecnet version".`

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	os.Exit(exitStatus(dispatch("vecnet", vecnetDoc, commands, args)))
}

// exitStatus reports err on stderr and returns the status vecnet exits
// with: 0 for success and for help, 2 for a usage error (with a hint to the
// command's help), 130 when interrupted, 1 for any other failure.
func exitStatus(err error) int {
	var uerr usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintln(os.Stderr, err)
		fmt.Fprintf(os.Stderr, "run '%s -h' for usage\n", uerr.cmd)
		return 2
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "vecnet:", err)
		return 130
	default:
		fmt.Fprintln(os.Stderr, "vecnet:", err)
		return 1
	}
}

// errInterrupted ends a command that SIGINT or SIGTERM stopped in an orderly
// way (everything it started is stopped and removed); main exits 130.
var errInterrupted = errors.New("interrupted")

// cmdRun runs "vecnet run CONFIG" and "vecnet replay CONFIG".
func cmdRun(path string, args []string, replay bool) error {
	doc := "Run the data plane CONFIG (YAML) describes until SIGINT or SIGTERM; vecnetctl talks to it on its CLI socket."
	if replay {
		doc = "Run CONFIG's pcap inputs through the router until they are consumed, then print \"show errors\" and \"show runtime\"."
	}
	fs := newFlags(path, "[flags] CONFIG", doc)
	pos, err := fs.parse(args, "CONFIG")
	if err != nil {
		return err
	}
	cfg, err := config.Load(pos[0])
	if err != nil {
		return err
	}
	// Signals are caught before the CLI socket exists: a SIGHUP sent as
	// soon as vecnetctl can reach the daemon must reload, not kill it.
	sig := make(chan os.Signal, 1)
	if !replay {
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sig)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: replay, PinCPUs: !replay, Logger: slog.Default(), ConfigFile: pos[0]})
	if err != nil {
		return err
	}
	if replay {
		if err := d.WaitInputs(60 * time.Second); err != nil {
			d.Stop()
			return err
		}
		fmt.Println("show errors:")
		d.CLI.Exec(os.Stdout, "show errors")
		fmt.Println("show runtime:")
		d.CLI.Exec(os.Stdout, "show runtime")
		return d.Stop()
	}
	for s := range sig {
		if s != syscall.SIGHUP {
			d.Log.Info("stopping", "signal", s.String())
			break
		}
		// SIGHUP reloads the config file, as "vecnetctl reload" does.
		if msg, err := d.Reload(); err != nil {
			d.Log.Error("SIGHUP: reload refused", "err", err)
		} else {
			d.Log.Info("SIGHUP: reloaded", "changes", msg)
		}
	}
	return d.Stop()
}
