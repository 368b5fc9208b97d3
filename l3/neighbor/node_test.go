package neighbor

import (
	"maps"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

var (
	mac0    = wire.MAC{0x02, 0, 0, 0, 0, 0x10}
	peerMAC = wire.MAC{0x02, 0, 0, 0, 0, 0x20}
	addr0   = [4]byte{10, 0, 0, 1}
	host    = [4]byte{10, 0, 0, 5}
)

type topo struct {
	ifs *iface.Table
	fib *fib.Table
	nt  *Table
}

// newTopo: eth0 (port 0) 10.0.0.1/24.
func newTopo(t testing.TB) *topo {
	tp := &topo{ifs: iface.NewTable(), fib: fib.New()}
	tp.nt = NewTable(tp.fib)
	i, err := tp.ifs.Add("eth0", mac0, 1500)
	if err != nil {
		t.Fatal(err)
	}
	tp.fib.AddInterface(i, mac0, 1500)
	pfx := netip.MustParsePrefix("10.0.0.1/24")
	if err := tp.ifs.AddAddress(i, pfx); err != nil {
		t.Fatal(err)
	}
	if err := tp.fib.AddConnected(i, pfx); err != nil {
		t.Fatal(err)
	}
	return tp
}

func arpPacket(op uint16, smac wire.MAC, sip [4]byte, dmac, tmac wire.MAC, tip [4]byte) graphtest.Packet {
	return graphtest.Packet{Data: frames.ARP(op, smac, sip, dmac, tmac, tip), Meta: pkt.Meta{L3: wire.EthernetLen}}
}

func checkCounters(t *testing.T, r *graphtest.Result, want map[string]uint64) {
	t.Helper()
	if !maps.Equal(r.Counters, want) {
		t.Errorf("counters %v, want %v", r.Counters, want)
	}
}

var otherMAC = wire.MAC{0x02, 0, 0, 0, 0, 0x21}

// TestARPInput: one case per rule of arp-input (answering, RFC 826
// learning, bounds). pre prepares the table; wantMAC is the entry of host
// afterwards (nil: none) and wantState its state.
func TestARPInput(t *testing.T) {
	req := func(sip, tip [4]byte) graphtest.Packet {
		return arpPacket(wire.ARPRequest, peerMAC, sip, wire.BroadcastMAC, wire.MAC{}, tip)
	}
	reply := arpPacket(wire.ARPReply, peerMAC, host, mac0, mac0, addr0)
	known := func(tp *topo) { tp.nt.Learn(0, host, otherMAC, 0) }
	tests := []struct {
		name      string
		pre       func(tp *topo)
		p         graphtest.Packet
		rxPort    uint16
		want      string // next node, or the drop counter
		counters  []string
		wantMAC   *wire.MAC
		wantState State
	}{
		{name: "request for us", p: req(host, addr0), want: driver.OutputNodeName, counters: []string{"replies_sent", "learned"}, wantMAC: &peerMAC},
		{name: "unsolicited reply is not learned", p: reply, want: "unsolicited_reply"},
		{name: "solicited reply is learned", pre: func(tp *topo) { tp.nt.Solicit(0, host, 0) }, p: reply, want: "replies_received", counters: []string{"learned"}, wantMAC: &peerMAC},
		{name: "solicitation expired", pre: func(tp *topo) { tp.nt.Solicit(0, host, -DefaultSolicitNs) }, p: reply, want: "unsolicited_reply"},
		{name: "reply from a known sender confirms it", pre: known, p: reply, want: "replies_received", wantMAC: &peerMAC},
		{name: "gratuitous from an unknown host", p: req(host, host), want: "not_for_us"},
		{name: "gratuitous from a known host updates it (merge)", pre: known, p: req(host, host), want: "not_for_us", wantMAC: &peerMAC, wantState: StateStale},
		{name: "request for another host from a known sender updates it", pre: known, p: req(host, [4]byte{10, 0, 0, 9}), want: "not_for_us", wantMAC: &peerMAC, wantState: StateStale},
		{name: "request for another host from an unknown sender", p: req(host, [4]byte{10, 0, 0, 9}), want: "not_for_us"},
		{name: "multicast sender mac", p: arpPacket(wire.ARPRequest, wire.MAC{0x01, 0, 0x5e, 0, 0, 1}, host, wire.BroadcastMAC, wire.MAC{}, addr0), want: "bad_sender"},
		{name: "sender ip is ours", p: req(addr0, addr0), want: "bad_sender"},
		{name: "sender ip is the subnet broadcast", p: req([4]byte{10, 0, 0, 255}, addr0), want: "bad_sender"},
		{name: "sender ip is the subnet address", p: req([4]byte{10, 0, 0, 0}, addr0), want: "bad_sender"},
		{name: "sender off subnet", p: req([4]byte{10, 9, 0, 2}, addr0), want: "sender_not_on_subnet"},
		{name: "truncated", p: func() graphtest.Packet { p := req(host, addr0); p.Data = p.Data[:14+27]; return p }(), want: "malformed"},
		{name: "not ethernet/ipv4", p: func() graphtest.Packet { p := req(host, addr0); p.Data[14+1] = 2; return p }(), want: "malformed"},
		{name: "no interface", p: req(host, addr0), rxPort: 4, want: "no_interface"},
		{name: "table full of reachable entries", pre: func(tp *topo) {
			tp.nt.SetConfig(Config{MaxEntries: 1})
			tp.nt.Learn(0, [4]byte{10, 0, 0, 7}, otherMAC, 0)
		}, p: req(host, addr0), want: driver.OutputNodeName, counters: []string{"replies_sent", "table_full"}},
		{name: "table full evicts the oldest stale entry", pre: func(tp *topo) {
			tp.nt.SetConfig(Config{MaxEntries: 1})
			tp.nt.Learn(0, [4]byte{10, 0, 0, 7}, otherMAC, -100e9)
			tp.nt.Age(0, nil)
		}, p: req(host, addr0), want: driver.OutputNodeName, counters: []string{"replies_sent", "learned"}, wantMAC: &peerMAC},
		{name: "static entry is kept", pre: func(tp *topo) { tp.nt.AddStatic(0, host, otherMAC) }, p: req(host, addr0), want: driver.OutputNodeName, counters: []string{"replies_sent"}, wantMAC: &otherMAC, wantState: StateStatic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTopo(t)
			h := graphtest.New(t, ARPNode(tp.ifs, tp.nt), graphtest.Options{})
			if tc.pre != nil {
				tc.pre(tp)
			}
			tc.p.Meta.RxPort = tc.rxPort
			r := h.Run(tc.p)
			o := &r.Out[0]
			if tc.counters == nil && tc.want != driver.OutputNodeName {
				tc.counters = []string{tc.want}
			} else if tc.want != driver.OutputNodeName {
				tc.counters = append(tc.counters, tc.want)
			}
			want := map[string]uint64{}
			for _, c := range tc.counters {
				want[graphtest.Label(ARPInputName, c)]++
			}
			checkCounters(t, r, want)
			e, ok := tp.nt.Get(0, host)
			switch {
			case tc.wantMAC == nil && ok:
				t.Errorf("learned %+v, want no entry", e)
			case tc.wantMAC != nil && !ok:
				t.Errorf("not learned")
			case ok && (e.MAC != *tc.wantMAC || e.State != tc.wantState):
				t.Errorf("entry %x %v, want %x %v", e.MAC, e.State, *tc.wantMAC, tc.wantState)
			}
			if ok {
				a := tp.fib.Load().Adj(tp.fib.Load().Lookup(host, 0))
				if a.Kind != fib.AdjRewrite || a.MAC() != e.MAC {
					t.Errorf("FIB %v %x, want rewrite to %x", a.Kind, a.MAC(), e.MAC)
				}
			}
			if tc.want != driver.OutputNodeName {
				if got, want := o.Where(), "drop "+graphtest.Label(ARPInputName, tc.want); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
				return
			}
			if o.Next != driver.OutputNodeName || o.Meta.TxPort != 0 || o.Meta.Flags&pkt.FlagLocal == 0 {
				t.Fatalf("got %s TxPort %d flags %#x", o.Where(), o.Meta.TxPort, o.Meta.Flags)
			}
			wantReply := frames.ARP(wire.ARPReply, mac0, addr0, peerMAC, peerMAC, host)
			if string(o.Data) != string(wantReply) {
				t.Errorf("reply\n got % x\nwant % x", o.Data, wantReply)
			}
		})
	}
}

func TestARPInputAllocs(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, ARPNode(tp.ifs, tp.nt), graphtest.Options{})
	pkts := make([]graphtest.Packet, 32)
	for k := range pkts {
		pkts[k] = arpPacket(wire.ARPRequest, peerMAC, host, wire.BroadcastMAC, wire.MAC{}, addr0)
	}
	h.Send(ARPInputName, pkts...) // learn once: the table allocates its entry
	if n := testing.AllocsPerRun(100, func() { h.Send(ARPInputName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestARPInputMixedAllocs: a vector mixing requests for us, overheard ARP
// and replies from known senders (confirmations, merges without change)
// allocates nothing; neither does ip4-glean's timer with nothing due.
func TestARPInputMixedAllocs(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{})
	var pkts []graphtest.Packet
	for b := byte(10); b < 40; b++ {
		ip := [4]byte{10, 0, 0, b}
		pkts = append(pkts,
			arpPacket(wire.ARPRequest, peerMAC, ip, wire.BroadcastMAC, wire.MAC{}, addr0),
			arpPacket(wire.ARPRequest, peerMAC, ip, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 0, 99}),
			arpPacket(wire.ARPReply, peerMAC, ip, mac0, mac0, addr0))
	}
	h.Send(ARPInputName, pkts...) // learn: the table allocates its entries
	now := h.Now()
	if n := testing.AllocsPerRun(100, func() {
		now += graph.TickInterval
		h.SetNow(now)
		h.Graph().Poll()
		h.Send(ARPInputName, pkts...)
	}); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}
