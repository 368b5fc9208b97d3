package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

func TestIP4Rewrite(t *testing.T) {
	tp := newTopo(t)
	fwd := func(s frames.Spec) graphtest.Packet {
		p := ipFrame(host0, remote, s)
		p.Meta.Adj = tp.adj(remote)
		return p
	}
	local := func(p graphtest.Packet) graphtest.Packet { p.Meta.Flags |= pkt.FlagLocal; return p }
	const big = 1400 - 28 + 1 // UDP payload making a 1401-byte IP packet on eth1 (MTU 1400)
	tests := []struct {
		name    string
		p       graphtest.Packet
		want    string // next node or "drop ..."
		counter string
		aux     uint32 // Meta.ICMP and Meta.MTU, packed (packICMP)
		ttl     uint8  // TTL as the packet leaves
	}{
		{name: "forward", p: fwd(frames.Spec{TTL: 64}), want: driver.OutputNodeName, ttl: 63},
		{name: "forward ttl 2", p: fwd(frames.Spec{TTL: 2}), want: driver.OutputNodeName, ttl: 1},
		{name: "ttl 1", p: fwd(frames.Spec{TTL: 1}), want: ICMPErrorName, counter: "ttl_expired",
			aux: packICMP(wire.ICMPv4TimeExceeded, wire.ICMPv4TTLExceeded, 0), ttl: 1},
		{name: "ttl 0", p: edit(fwd(frames.Spec{}), func(ip wire.IPv4) { ip.SetTTL(0) }), want: ICMPErrorName, counter: "ttl_expired",
			aux: packICMP(wire.ICMPv4TimeExceeded, wire.ICMPv4TTLExceeded, 0)},
		{name: "local keeps ttl", p: local(fwd(frames.Spec{TTL: 64})), want: driver.OutputNodeName, ttl: 64},
		{name: "local ttl 1 is sent", p: local(fwd(frames.Spec{TTL: 1})), want: driver.OutputNodeName, ttl: 1},
		{name: "at mtu", p: fwd(frames.Spec{Payload: big - 1, DF: true}), want: driver.OutputNodeName, ttl: 63},
		{name: "over mtu with df", p: fwd(frames.Spec{Payload: big, DF: true}), want: ICMPErrorName, counter: "fragmentation_needed",
			aux: packICMP(wire.ICMPv4DestUnreachable, wire.ICMPv4FragNeeded, 1400), ttl: 64},
		{name: "over mtu without df is fragmented", p: fwd(frames.Spec{Payload: big}), want: FragName, aux: 1400, ttl: 63},
		{name: "local over mtu is fragmented", p: local(fwd(frames.Spec{Payload: big})), want: FragName, aux: 1400, ttl: 64},
		{name: "local over mtu with df", p: local(fwd(frames.Spec{Payload: big, DF: true})), want: "drop " + graphtest.Label(RewriteName, "mtu_exceeded"), counter: "mtu_exceeded"},
		{name: "stale adjacency", p: func() graphtest.Packet { p := fwd(frames.Spec{}); p.Meta.Adj = tp.adj(host0); return p }(),
			want: "drop " + graphtest.Label(RewriteName, "stale_adjacency"), counter: "stale_adjacency"},
		{name: "adjacency out of view", p: func() graphtest.Packet { p := fwd(frames.Spec{}); p.Meta.Adj = 1 << 30; return p }(),
			want: "drop " + graphtest.Label(RewriteName, "stale_adjacency"), counter: "stale_adjacency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, RewriteNode(tp.fib), graphtest.Options{})
			in := append([]byte(nil), tc.p.Data...)
			r := h.Run(tc.p)
			o := &r.Out[0]
			if got := o.Where(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.counter == "" {
				checkCounters(t, r, nil)
			} else {
				checkCounters(t, r, one(RewriteName, tc.counter))
			}
			if o.Next == "" {
				return
			}
			ip := ipOf(o)
			if ip.TTL() != tc.ttl || !ip.ChecksumValid() {
				t.Errorf("TTL %d (checksum ok %v), want %d", ip.TTL(), ip.ChecksumValid(), tc.ttl)
			}
			if o.Next == ICMPErrorName {
				if packed(&o.Meta) != tc.aux {
					t.Errorf("ICMP/MTU %#x, want %#x", packed(&o.Meta), tc.aux)
				}
				if string(o.Data) != string(in) {
					t.Errorf("packet for icmp4-error changed")
				}
				return
			}
			if o.Next == FragName && packed(&o.Meta) != tc.aux {
				t.Errorf("ICMP/MTU %#x, want the MTU %d", packed(&o.Meta), tc.aux)
			}
			want := append([]byte(nil), peer1MAC[:]...)
			want = append(append(want, mac1[:]...), 0x08, 0x00)
			if string(o.Data[:14]) != string(want) {
				t.Errorf("ethernet % x, want % x", o.Data[:14], want)
			}
			if o.Meta.TxPort != 1 || string(o.Data[14+wire.IPv4MinLen:]) != string(in[14+wire.IPv4MinLen:]) {
				t.Errorf("TxPort %d, or payload changed", o.Meta.TxPort)
			}
		})
	}
}

// TestIP4RewriteVLAN checks a frame received with an 802.1Q tag: the new
// Ethernet header replaces MACs and tag, and Meta moves with it.
func TestIP4RewriteVLAN(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, RewriteNode(tp.fib), graphtest.Options{})
	p := ipFrame(host0, remote, frames.Spec{Payload: 8})
	plain := p.Data
	p.Data = append(append(append([]byte(nil), plain[:12]...), 0x81, 0x00, 0x00, 0x0a), plain[12:]...)
	p.Meta = pkt.Meta{L3: 18, L4: 38, Adj: tp.adj(remote), VLAN: 10}
	r := h.Run(p)
	o := &r.Out[0]
	if o.Next != driver.OutputNodeName {
		t.Fatalf("got %s", o.Where())
	}
	if o.Meta.Off != pkt.Headroom+4 || int(o.Meta.Len) != len(plain) || o.Meta.L3 != 14 || o.Meta.L4 != 34 {
		t.Errorf("Meta Off %d Len %d L3 %d L4 %d", o.Meta.Off, o.Meta.Len, o.Meta.L3, o.Meta.L4)
	}
	if len(o.Data) != len(plain) || string(o.Data[12:14]) != "\x08\x00" || [6]byte(o.Data[:6]) != peer1MAC {
		t.Errorf("frame % x", o.Data[:20])
	}
}

func TestIP4RewriteAllocs(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, RewriteNode(tp.fib), graphtest.Options{})
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = ipFrame(host0, remote, frames.Spec{Payload: 64})
		pkts[k].Meta.Adj = tp.adj(remote)
	}
	pkts[9].Data[14+8] = 1 // TTL 1: one packet to icmp4-error
	if n := testing.AllocsPerRun(100, func() { h.Send(RewriteName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestIP4RewriteOutputArc: with the ip4-output arc declared, a rewritten
// packet goes to the features enabled on its egress interface, and straight
// to interface-output when none is; fragments and errors keep their nodes.
func TestIP4RewriteOutputArc(t *testing.T) {
	tp := newTopo(t)
	arc := graph.Arc{Name: OutputArc, Start: RewriteName, End: driver.OutputNodeName, ByTxPort: true,
		Features: []graph.Feature{{Node: "out-feature"}}}
	h := graphtest.New(t, RewriteNode(tp.fib), graphtest.Options{Arcs: []graph.Arc{arc}})
	fwd := func(s frames.Spec) graphtest.Packet {
		p := ipFrame(host0, remote, s)
		p.Meta.Adj = tp.adj(remote)
		return p
	}
	if r := h.Run(fwd(frames.Spec{TTL: 64})); r.Out[0].Where() != driver.OutputNodeName {
		t.Fatalf("no feature enabled: %s", r.Out[0].Where())
	}
	if err := h.Graph().EnableFeature(OutputArc, "out-feature", 0, true); err != nil { // eth0: not this packet's egress
		t.Fatal(err)
	}
	if r := h.Run(fwd(frames.Spec{TTL: 64})); r.Out[0].Where() != driver.OutputNodeName {
		t.Fatalf("feature on another interface: %s", r.Out[0].Where())
	}
	if err := h.Graph().EnableFeature(OutputArc, "out-feature", 1, true); err != nil {
		t.Fatal(err)
	}
	const big = 1400 - 28 + 1
	r := h.Run(fwd(frames.Spec{TTL: 64}), fwd(frames.Spec{TTL: 1}), fwd(frames.Spec{Payload: big}))
	for k, want := range []string{"out-feature", ICMPErrorName, FragName} {
		if got := r.Out[k].Where(); got != want {
			t.Errorf("packet %d: %s, want %s", k, got, want)
		}
	}
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = fwd(frames.Spec{Payload: 64})
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(RewriteName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector through the output arc", n)
	}
}
