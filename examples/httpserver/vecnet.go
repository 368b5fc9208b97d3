package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
)

// runVecnet starts vecnet from cfg.vecnet (or the YAML file cfg.config)
// with the host stack and TCP, serves on cfg.listen (one of the configured
// interface addresses) until ctx is done, then closes the listener before
// stopping the daemon: net/http on sock's listener (mode nethttp, the
// workers shared with its goroutines unless cfg.workerThread says
// dedicated) or the
// in-graph responder (mode ingraph, ingraph.go). A buffer leak reported by the daemon's Stop is an
// error.
func runVecnet(ctx context.Context, cfg config) (err error) {
	vc := cfg.vecnet
	if vc == nil {
		if cfg.config == "" {
			return errors.New("httpserver: -vecnet needs -config FILE (vecnet's YAML)")
		}
		if vc, err = vecnetconfig.Load(cfg.config); err != nil {
			return err
		}
	}
	switch {
	case cfg.workerThread == "shared" || cfg.workerThread == "" && cfg.mode == "nethttp":
		c := *vc // the caller's config stays as it was
		c.WorkerShared = true
		vc = &c
	case cfg.workerThread == "dedicated":
		c := *vc
		c.WorkerShared = false
		vc = &c
	case cfg.workerThread != "":
		return fmt.Errorf("httpserver: -worker-thread %q: want shared or dedicated", cfg.workerThread)
	}
	ap, err := netip.ParseAddrPort(cfg.listen)
	if err != nil {
		return fmt.Errorf("httpserver: -listen: %w", err)
	}
	logger := cfg.log
	if logger == nil {
		logger = slog.Default()
	}
	d, err := daemon.Start(vc, daemon.Options{NoCLI: vc.Socket == "", HostTCP: true, Logger: logger, TCPFault: cfg.fault})
	if err != nil {
		return err
	}
	defer func() {
		if e := d.Stop(); e != nil {
			err = errors.Join(err, fmt.Errorf("httpserver: daemon stop: %w", e))
		}
	}()
	if cfg.started != nil {
		cfg.started(d)
	}
	if cfg.mode == "ingraph" {
		t := tcpnode.Of(d.Stack)
		if t == nil {
			return tcpnode.ErrNoTCP
		}
		if err := t.Handle(ap, inGraphApp{}); err != nil {
			return err
		}
		if cfg.ready != nil {
			cfg.ready(net.TCPAddrFromAddrPort(ap))
		}
		<-ctx.Done() // the handler runs on the workers until the daemon stops
		return nil
	}
	l, err := sock.ListenTCP(d.Stack, ap)
	if err != nil {
		return err
	}
	defer l.Close()
	return serve(ctx, l, cfg.ready)
}
