package main

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/vecnet/vecnet/examples/trafficgen/gen"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/wire"
)

// benchRig is the forwarding benchmark's fixed part: the three namespaces,
// the generator's AF_XDP socket in host-a and the XDP drop-and-count sink
// on host-b's eth0. The router in the middle changes per configuration.
type benchRig struct {
	rig    *topo.Rig
	sender gen.Sender
	sink   *gen.XDPCounter
	links  map[string]*nsLinks // by role: "a", "r", "b"

	closeOnce sync.Once
}

// forwardRigOptions shape the forwarding benchmark's rig: peer offloads
// off, as before offloads were left at their defaults elsewhere — its
// generator writes whole 64-byte frames with complete checksums, so
// offloads would change nothing but the figures' comparability with
// earlier runs.
var forwardRigOptions = topo.RigOptions{Prefix: "vnb", OffloadsOff: true}

// The IPv6 addresses of "bench forward -6" (only inside its namespaces).
const (
	bench6HostA   = "2001:db8:70:1::2"
	bench6HostB   = "2001:db8:70:2::2"
	bench6RouterA = "2001:db8:70:1::1"
	bench6RouterB = "2001:db8:70:2::1"
)

// newBenchRig builds the rig with frames of size bytes (FCS included) whose
// UDP source port rotates over flows ports (0 or 1: one flow), IPv6 ones
// (bench6HostA -> bench6HostB) when v6 is set.
func newBenchRig(size, flows int, v6 bool) (br *benchRig, err error) {
	flows = max(flows, 1)
	rig, err := topo.NewRig(forwardRigOptions)
	if err != nil {
		return nil, err
	}
	br = &benchRig{rig: rig, links: map[string]*nsLinks{}}
	defer func() {
		if err != nil {
			br.Close()
		}
	}()
	if err = rig.StaticNeighbors(); err != nil {
		return nil, err
	}
	// IPv6 on: hosts would send router solicitations the sink counts.
	for _, ns := range []topo.NS{rig.A, rig.R, rig.B} {
		if _, err = ns.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"); err != nil {
			return nil, err
		}
	}
	for role, ns := range map[string]topo.NS{"a": rig.A, "r": rig.R, "b": rig.B} {
		if br.links[role], err = openNSLinks(ns); err != nil {
			return nil, err
		}
	}
	spec := gen.FrameSpec{
		SrcMAC: mustMAC(topo.HostAMAC), DstMAC: mustMAC(topo.RouterAMAC),
		Src: netip.MustParseAddr(topo.HostAAddr), Dst: netip.MustParseAddr(topo.HostBAddr),
		Size: size, Flows: flows,
	}
	if v6 {
		spec.Src, spec.Dst = netip.MustParseAddr(bench6HostA), netip.MustParseAddr(bench6HostB)
	}
	ia, err := br.links["a"].ifindex(topo.HostDev)
	if err != nil {
		return nil, err
	}
	ib, err := br.links["b"].ifindex(topo.HostDev)
	if err != nil {
		return nil, err
	}
	if err = rig.A.Do(func() (err error) { br.sender, err = gen.NewXDPSender(ia, 0, spec); return err }); err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	if err = rig.B.Do(func() (err error) { br.sink, err = gen.AttachXDPCounter(ib, false); return err }); err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	return br, nil
}

func mustMAC(s string) wire.MAC {
	var m wire.MAC
	if _, err := fmt.Sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]); err != nil {
		panic(err)
	}
	return m
}

// Close removes everything; safe from a signal handler and more than once.
func (br *benchRig) Close() error {
	var err error
	br.closeOnce.Do(func() {
		if br.sink != nil {
			br.sink.Close()
		}
		if br.sender != nil {
			br.sender.Close()
		}
		for _, l := range br.links {
			l.close()
		}
		err = br.rig.Close()
	})
	return err
}

// generator is one flood in progress.
type generator struct {
	stop chan struct{}
	done chan gen.SendResult
}

// startGenerator floods from host-a at maximum rate on a thread pinned to
// cpu until stopGenerator (or limit passes).
func (br *benchRig) startGenerator(cpu int, limit time.Duration, log io.Writer) *generator {
	g := &generator{stop: make(chan struct{}), done: make(chan gen.SendResult, 1)}
	go func() {
		r, err := br.sender.Send(gen.SendConfig{Duration: limit, CPU: cpu, Stop: g.stop})
		if err != nil {
			fmt.Fprintln(log, "bench: generator:", err)
		}
		g.done <- r
	}()
	return g
}

func (g *generator) wait() gen.SendResult {
	close(g.stop)
	return <-g.done
}
