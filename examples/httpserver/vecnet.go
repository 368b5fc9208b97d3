package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"

	vecnetconfig "vecnet/control/config"
	"vecnet/daemon"
	"vecnet/sock"
)

// runVecnet starts vecnet from cfg.vecnet (or the YAML file cfg.config)
// with the host stack and TCP, serves on cfg.listen (one of the configured
// interface addresses) until ctx is done, then closes the listener before
// stopping the daemon. A buffer leak reported by the daemon's Stop is an
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
	ap, err := netip.ParseAddrPort(cfg.listen)
	if err != nil {
		return fmt.Errorf("httpserver: -listen: %w", err)
	}
	logger := cfg.log
	if logger == nil {
		logger = log.New(os.Stderr, "vecnet: ", 0)
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
	l, err := sock.ListenTCP(d.Stack, ap)
	if err != nil {
		return err
	}
	defer l.Close()
	return serve(ctx, l, cfg.ready)
}
