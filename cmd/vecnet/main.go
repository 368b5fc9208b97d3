// Command vecnet is the vecnet data plane.
//
//	vecnet run CONFIG      run the data plane a YAML config describes, until SIGINT/SIGTERM
//	vecnet replay CONFIG   run a config whose inputs are pcap files until they are consumed,
//	                       then print "show errors" and "show runtime" and exit
//	vecnet demo            build two namespaces, route between them on AF_XDP, ping and iperf3 through
//	vecnet bench forward   kernel vs vecnet forwarding benchmark in three namespaces
//
// The CLI socket (vecnetctl) serves show runtime|errors|interfaces|fib|neighbors|trace,
// trace add N and ip route add|del while it runs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  vecnet run CONFIG       run the data plane described by CONFIG until interrupted
  vecnet replay CONFIG    run CONFIG's pcap inputs through the router, print counters, exit
  vecnet demo             route between two namespaces over AF_XDP (see README)
  vecnet bench forward    compare kernel and vecnet forwarding (see README)`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:], false)
	case "replay":
		err = cmdRun(os.Args[2:], true)
	case "demo":
		err = cmdDemo(os.Args[2:])
	case "bench":
		err = cmdBench(os.Args[2:])
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "vecnet: unknown command %q\n", os.Args[1])
		usage()
	}
	var uerr usageError
	switch {
	case err == nil:
	case errors.As(err, &uerr):
		fmt.Fprintln(os.Stderr, "vecnet:", err)
		os.Exit(2)
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "vecnet:", err)
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "vecnet:", err)
		os.Exit(1)
	}
}

// usageError is a command line the command does not take: main prints it
// and exits 2 before anything was started.
type usageError string

func (e usageError) Error() string { return string(e) }

// noArgs returns a usageError naming fs's stray arguments, if any.
func noArgs(fs *flag.FlagSet, usage string) error {
	if fs.NArg() == 0 {
		return nil
	}
	return usageError(fmt.Sprintf("%s: unexpected argument %q\nusage: %s", fs.Name(), fs.Arg(0), usage))
}

// errInterrupted ends a command that SIGINT or SIGTERM stopped in an orderly
// way (everything it started is stopped and removed); main exits 130.
var errInterrupted = errors.New("interrupted")

func cmdRun(args []string, replay bool) error {
	if len(args) != 1 {
		usage()
	}
	cfg, err := config.Load(args[0])
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
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: replay, PinCPUs: !replay, ConfigFile: args[0]})
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
			break
		}
		// SIGHUP reloads the config file, as "vecnetctl reload" does.
		if msg, err := d.Reload(); err != nil {
			d.Log.Printf("SIGHUP: %v", err)
		} else {
			d.Log.Printf("SIGHUP: %s", msg)
		}
	}
	d.Log.Printf("stopping")
	return d.Stop()
}
