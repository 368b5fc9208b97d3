package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/examples/dnsserver/dnszone"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/udp"
)

// runVecnet starts vecnet from cfg.vecnet (or the YAML file cfg.config)
// with the host stack, serves z on cfg.listen (one of the configured
// interface addresses) in the in-graph or the socket mode until ctx is
// done, then removes the handler or closes the socket before stopping the
// daemon. A buffer leak reported by the daemon's Stop is an error.
func runVecnet(ctx context.Context, cfg config, z *dnszone.Zone) (err error) {
	vc := cfg.vecnet
	if vc == nil {
		if cfg.config == "" {
			return errors.New("dnsserver: -vecnet needs -config FILE (vecnet's YAML)")
		}
		if vc, err = vecnetconfig.Load(cfg.config); err != nil {
			return err
		}
	}
	ap, err := netip.ParseAddrPort(cfg.listen)
	if err != nil {
		return fmt.Errorf("dnsserver: -listen: %w", err)
	}
	logger := cfg.log
	if logger == nil {
		logger = slog.Default()
	}
	d, err := daemon.Start(vc, daemon.Options{
		NoCLI: vc.Socket == "", HostStack: true, Logger: logger,
		BeforeRun: func(d *daemon.Daemon) error {
			if cfg.pin {
				for _, wk := range d.Workers {
					wk.CPU = cfg.cpu
				}
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		if e := d.Stop(); e != nil {
			err = errors.Join(err, fmt.Errorf("dnsserver: daemon stop: %w", e))
		}
	}()
	if cfg.started != nil {
		cfg.started(d)
	}
	switch cfg.mode {
	case "ingraph":
		total, err := serveIngraphStats(d.Stack, z, ap.Port())
		if err != nil {
			return err
		}
		if cfg.ready != nil {
			cfg.ready(net.UDPAddrFromAddrPort(ap))
		}
		<-ctx.Done()
		udp.Of(d.Stack).RemoveHandler(ap.Port())
		total.into(cfg.stats)
		return nil
	default: // "sock"
		c, err := sock.ListenUDP(d.Stack, ap)
		if err != nil {
			return err
		}
		if cfg.ready != nil {
			cfg.ready(c.LocalAddr())
		}
		errc := make(chan error, 1)
		go func() { errc <- serveSock(c, z, cfg.batch, cfg.stats) }()
		select {
		case <-ctx.Done():
			c.Close()
			err = <-errc
			if errors.Is(err, net.ErrClosed) {
				err = nil
			}
		case err = <-errc:
			c.Close()
		}
		return err
	}
}

// sharedStats sums per-batch counters from any worker with atomics, once
// per vector rather than per packet.
type sharedStats struct {
	v [len(dnszone.StatInfos)]atomic.Uint64
}

func (s *sharedStats) add(st *dnszone.Stats) {
	for i, x := range st.Values() {
		if x != 0 {
			s.v[i].Add(x)
		}
	}
}

// into adds the totals to st (read once the handler is removed).
func (s *sharedStats) into(st *dnszone.Stats) {
	v := &s.v
	st.Add(&dnszone.Stats{
		Queries: v[0].Load(), Answers: v[1].Load(), NoData: v[2].Load(), NXDomain: v[3].Load(),
		Truncated: v[4].Load(), Refused: v[5].Load(), NotImp: v[6].Load(), BadVers: v[7].Load(),
		FormErr: v[8].Load(), DroppedShort: v[9].Load(), DroppedResponse: v[10].Load(), DroppedNoSpace: v[11].Load(),
	})
}

// serveIngraph installs z as the UDP handler of port on s: every datagram
// of a vector is answered in its own packet buffer (Payload(k) grown to
// MaxReply(k)) and sent back by the stack, or dropped. The handler runs on
// the stack's workers; counters are accumulated per vector on the stack
// and added atomically to the returned totals.
func serveIngraph(s *stack.Stack, z *dnszone.Zone, port uint16) error {
	_, err := serveIngraphStats(s, z, port)
	return err
}

func serveIngraphStats(s *stack.Stack, z *dnszone.Zone, port uint16) (*sharedStats, error) {
	total := new(sharedStats)
	err := udp.Of(s).Handle(port, func(b *udp.Batch) {
		var st dnszone.Stats
		for k := range b.Len() {
			p := b.Payload(k)
			n := z.Answer(p, p[:b.MaxReply(k)], &st)
			if n == 0 {
				b.Drop(k)
				continue
			}
			b.Reply(k, n)
		}
		total.add(&st)
	})
	return total, err
}

// serveSock answers on vecnet's UDPConn c until it fails or is closed:
// it reads up to batch queued datagrams at once (ReadBatch), answers each
// in its buffer and writes the replies back in one WriteBatch. The
// counters go to st, owned by this goroutine until it returns.
func serveSock(c *sock.UDPConn, z *dnszone.Zone, batch int, st *dnszone.Stats) error {
	rx := make([]sock.Message, batch)
	tx := make([]sock.Message, batch)
	bufs := make([][]byte, batch)
	for i := range rx {
		bufs[i] = make([]byte, bufSize)
		rx[i].Buf = bufs[i]
	}
	for {
		n, err := c.ReadBatch(rx)
		if err != nil {
			return err
		}
		k := 0
		for i := range n {
			b := bufs[i]
			m := z.Answer(b[:rx[i].N], b, st)
			if m == 0 {
				continue
			}
			tx[k] = sock.Message{Buf: b[:m], N: m, Addr: rx[i].Addr}
			k++
		}
		for sent := 0; sent < k; {
			s, err := c.WriteBatch(tx[sent:k])
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			if err != nil || s == 0 {
				s = 1 // skip the datagram the stack refused
			}
			sent += s
		}
	}
}
