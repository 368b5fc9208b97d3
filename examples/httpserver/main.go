// Command httpserver is a small HTTP server on Go's net/http, run either on
// the kernel's TCP (-kernel, the baseline) or on vecnet's TCP stack
// (-vecnet -mode nethttp: http.Serve on sock.ListenTCP's net.Listener), or
// as a minimal HTTP/1.1 keep-alive responder run to completion in vecnet's
// graph (-vecnet -mode ingraph: tcpnode.TCP.Handle, ingraph.go).
//
//	httpserver -kernel -listen 127.0.0.1:8080
//	httpserver -vecnet -config vecnet.yaml -mode nethttp -listen 10.77.1.1:80
//	httpserver -vecnet -config vecnet.yaml -mode ingraph -listen 10.77.1.1:80
//	httpserver -vecnet -config vecnet.yaml -mode nethttp -listen [2001:db8:77:1::1]:80
//
// In mode nethttp the vecnet workers run shared (worker_thread: shared):
// net/http's goroutines and the worker take turns on one thread, as net/http
// and the kernel's netpoller do; -worker-thread dedicated gives the worker a
// thread of its own instead.
//
// Routes: GET / (a short text), GET /bytes/N (N deterministic bytes, their
// SHA-256 in the X-Sha256 header), POST /sha256 (the hex SHA-256 of the
// body). In the vecnet mode the process is the data plane: it starts
// vecnet from the YAML config (package daemon, with the host stack and
// TCP) and -listen must be one of the configured interface addresses.
// SIGINT/SIGTERM stop it; a buffer leak found at exit makes it fail.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/stack"
)

// config is everything run needs; main fills it from flags, tests directly.
type config struct {
	mode   string // "kernel", "nethttp" or "ingraph"
	listen string // ADDR:PORT to serve on
	config string // vecnet mode: YAML config path, when vecnet is nil
	// workerThread is the vecnet workers' thread mode: "shared" (net/http's
	// goroutines run on the worker's thread, worker.Worker.Shared),
	// "dedicated" (a thread of its own), or "" for the mode's default:
	// shared for nethttp, the config's for ingraph.
	workerThread string

	vecnet  *vecnetconfig.Config // vecnet mode: the config (tests); nil = load config
	started func(*daemon.Daemon) // vecnet mode: called once the daemon runs (tests); may be nil
	log     *slog.Logger         // vecnet mode: the daemon's logger; nil = stderr
	ready   func(net.Addr)       // called once the listener is bound; may be nil
	fault   *stack.TCPFault      // vecnet mode: faults injected into TCP segments (tests); nil = none
}

func main() {
	var cfg config
	var kernel, vecnet bool
	flag.BoolVar(&kernel, "kernel", false, "serve on the kernel's TCP")
	flag.BoolVar(&vecnet, "vecnet", false, "serve on vecnet's TCP stack (see -mode)")
	flag.StringVar(&cfg.mode, "mode", "nethttp", "vecnet mode: nethttp (net/http on vecnet's net.Listener) or ingraph (in-graph responder)")
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "ADDR:PORT to serve on")
	flag.StringVar(&cfg.config, "config", "", "vecnet mode: vecnet's YAML config (interfaces, addresses, match)")
	flag.StringVar(&cfg.workerThread, "worker-thread", "", "vecnet mode: the workers' thread, shared or dedicated (default: shared for nethttp, the config's worker_thread for ingraph)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile (runtime/pprof) of the whole run to this file")
	flag.Parse()
	if kernel == vecnet {
		fmt.Fprintln(os.Stderr, "usage: httpserver (-kernel | -vecnet -config FILE -mode nethttp|ingraph) -listen ADDR:PORT")
		os.Exit(2)
	}
	if kernel {
		cfg.mode = "kernel"
	}
	cfg.ready = func(a net.Addr) { fmt.Fprintf(os.Stderr, "httpserver: %s mode, serving on %s\n", cfg.mode, a) }
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "httpserver: -cpuprofile:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done or serving fails.
func run(ctx context.Context, cfg config) error {
	switch cfg.mode {
	case "kernel":
		l, err := net.Listen("tcp", cfg.listen)
		if err != nil {
			return err
		}
		return serve(ctx, l, cfg.ready)
	case "nethttp", "ingraph":
		return runVecnet(ctx, cfg)
	}
	return errors.New("unknown mode " + cfg.mode)
}
