// Command dnsserver is an authoritative DNS server for one zone, answering
// from a table compiled by package dnszone. It runs either on the kernel's
// UDP sockets (-kernel, the baseline) or on vecnet's stack (-vecnet): as an
// in-graph UDP handler that answers in the packet buffer (-mode ingraph) or
// through vecnet's net.PacketConn (-mode sock).
//
//	dnsserver -zone example.zone -origin example.test. -kernel -listen 127.0.0.1:5353
//	dnsserver -zone example.zone -origin example.test. -vecnet -config vecnet.yaml -mode ingraph -listen 10.77.1.1:53
//	dnsserver -zone example.zone -origin example.test. -vecnet -config vecnet.yaml -mode sock -listen [2001:db8:77:1::1]:53
//
// In the vecnet modes the process is the data plane: it starts vecnet from
// the YAML config (package daemon, with the host stack) and -listen must be
// one of the configured interface addresses. SIGINT/SIGTERM stop it; a
// buffer leak found at exit makes it fail.
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
	"syscall"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/examples/dnsserver/dnszone"
)

// config is everything run needs; main fills it from flags, tests directly.
type config struct {
	zone   string // master file path
	origin string // zone apex, e.g. "example.test."
	mode   string // "kernel", "ingraph" or "sock"
	listen string // ADDR:PORT to serve on
	batch  int    // datagrams per recvmmsg/sendmmsg (kernel) or ReadBatch/WriteBatch (sock)
	config string // vecnet modes: YAML config path, when vecnet is nil
	pin    bool   // vecnet modes: pin every worker to cpu
	cpu    int

	vecnet  *vecnetconfig.Config // vecnet modes: the config (tests); nil = load config
	started func(*daemon.Daemon) // vecnet modes: called once the daemon runs (tests); may be nil
	log     *slog.Logger         // vecnet modes: the daemon's logger; nil = stderr

	ready func(net.Addr) // called once the socket is bound (tests); may be nil
	stats *dnszone.Stats // receives the totals when run returns; may be nil
}

func main() {
	var cfg config
	var kernel, vecnet bool
	flag.StringVar(&cfg.zone, "zone", "", "zone master file (RFC 1035)")
	flag.StringVar(&cfg.origin, "origin", "", "zone origin, e.g. example.test.")
	flag.BoolVar(&kernel, "kernel", false, "serve on the kernel's UDP socket")
	flag.BoolVar(&vecnet, "vecnet", false, "serve on vecnet's stack (see -mode)")
	flag.StringVar(&cfg.mode, "mode", "ingraph", "vecnet mode: ingraph (handler in the graph) or sock (net.PacketConn)")
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:5353", "ADDR:PORT to answer on")
	flag.IntVar(&cfg.batch, "batch", 64, "kernel and sock modes: datagrams per batched read/write")
	flag.StringVar(&cfg.config, "config", "", "vecnet modes: vecnet's YAML config (interfaces, addresses, match)")
	flag.IntVar(&cfg.cpu, "cpu", -1, "vecnet modes: pin the worker to this CPU (-1: not pinned)")
	flag.Parse()
	cfg.pin = cfg.cpu >= 0
	if cfg.zone == "" || cfg.origin == "" || kernel == vecnet {
		fmt.Fprintln(os.Stderr, "usage: dnsserver -zone FILE -origin NAME (-kernel | -vecnet -config FILE -mode ingraph|sock) -listen ADDR:PORT")
		os.Exit(2)
	}
	if kernel {
		cfg.mode = "kernel"
	}
	var st dnszone.Stats
	cfg.stats = &st
	cfg.ready = func(a net.Addr) { fmt.Fprintf(os.Stderr, "dnsserver: %s mode, answering on %s\n", cfg.mode, a) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	v := st.Values()
	for i, s := range dnszone.StatInfos {
		fmt.Fprintf(os.Stderr, "%-18s %12d  %s\n", s.Name, v[i], s.Help)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dnsserver:", err)
		os.Exit(1)
	}
}

// run loads the zone and serves until ctx is done or serving fails.
func run(ctx context.Context, cfg config) error {
	z, err := dnszone.Load(cfg.zone, cfg.origin)
	if err != nil {
		return err
	}
	if cfg.stats == nil {
		cfg.stats = new(dnszone.Stats)
	}
	if cfg.batch <= 0 {
		cfg.batch = 1
	}
	switch cfg.mode {
	case "kernel":
		return runKernel(ctx, cfg, z)
	case "ingraph", "sock":
		return runVecnet(ctx, cfg, z)
	}
	return errors.New("unknown mode " + cfg.mode)
}
