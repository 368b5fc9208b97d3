package neighbor

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
)

// glean6Topo is one interface with 2001:db8:70:2::1/64, its FIB and ND
// table.
type glean6Topo struct {
	ifs *iface.Table
	fib *fib.Table6
	nt  *NDTable
}

var host6 = netip.MustParseAddr("2001:db8:70:2::9").As16()

func newGlean6Topo(t *testing.T) *glean6Topo {
	tp := &glean6Topo{ifs: iface.NewTable(), fib: fib.NewTable6()}
	port, err := tp.ifs.Add("eth0", mac0, 1500)
	if err != nil {
		t.Fatal(err)
	}
	tp.fib.AddInterface(port, mac0, 1500)
	tp.nt = NewNDTable(tp.fib, tp.ifs)
	pfx := netip.MustParsePrefix("2001:db8:70:2::1/64")
	if err := tp.ifs.AddAddress(port, pfx); err != nil {
		t.Fatal(err)
	}
	if err := tp.fib.AddConnected(port, pfx); err != nil {
		t.Fatal(err)
	}
	return tp
}

// harness builds one worker's ip6-glean.
func (tp *glean6Topo) harness(t *testing.T, cfg GleanConfig) *graphtest.Harness {
	return graphtest.New(t, Glean6Node(tp.ifs, tp.fib, tp.nt, cfg), graphtest.Options{})
}

// toHost is a packet for dst as ip6-lookup hands it to ip6-glean.
func (tp *glean6Topo) toHost(dst [16]byte) graphtest.Packet {
	d := frames.IPv6(frames.Spec6{SrcMAC: peerMAC, DstMAC: mac0, Src: netip.MustParseAddr("2001:db8:9::1").As16(), Dst: dst, Payload: 8})
	return graphtest.Packet{Data: d, Meta: pkt.Meta{L3: 14, L4: 54, Adj: uint32(tp.fib.Load().Lookup(dst, 0))}}
}

func label6(err string) string { return graphtest.Label(Glean6Name, err) }

// TestGlean6TimeoutAndReleasedElsewhere: ip6-glean holds packets while
// its solicitation is out; held packets are dropped after TimeoutNs
// (resolution_timeout) on the timer; and when another worker learns the
// target, the timer hands them to ip6-lookup (released_resolved_elsewhere)
// instead.
func TestGlean6TimeoutAndReleasedElsewhere(t *testing.T) {
	tp := newGlean6Topo(t)
	g := tp.harness(t, GleanConfig{TimeoutNs: 1e9})
	r := g.Run(tp.toHost(host6), tp.toHost(host6))
	if ns := r.At(driver.OutputNodeName); len(ns) != 1 {
		t.Fatalf("%d solicitations, want 1", len(ns))
	}
	checkCounters(t, r, map[string]uint64{label6("queued"): 2, label6("solicits_sent"): 1})
	g.Advance(2e9)
	r = g.RunPoll()
	checkCounters(t, r, map[string]uint64{label6("resolution_timeout"): 2})

	a := tp.harness(t, GleanConfig{TimeoutNs: 1e9})
	r = a.Run(tp.toHost(host6), tp.toHost(host6))
	// The advertisement reaches another worker, which learns the host.
	if res := tp.nt.Observe(0, host6, peerMAC, ReplyForUs, a.Now()); res != Created {
		t.Fatalf("Observe = %v, want Created", res)
	}
	a.Advance(graph.TickInterval)
	ra := a.RunPoll()
	if got := ra.At(ip6.LookupName); len(got) != 2 || got[0].ID != r.Out[0].ID || got[1].ID != r.Out[1].ID {
		t.Fatalf("released %d packets to %s, want both held ones", len(got), ip6.LookupName)
	}
	checkCounters(t, ra, map[string]uint64{label6("released_resolved_elsewhere"): 2})
	a.Advance(2e9)
	if ra := a.RunPoll(); ra.Counters[label6("resolution_timeout")] != 0 {
		t.Fatalf("released packets timed out: %v", ra.Counters)
	}
}
