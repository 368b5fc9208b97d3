package neighbor

import (
	"maps"
	"net/netip"
	"testing"

	"vecnet/graph/graphtest"
	"vecnet/iface"
	"vecnet/internal/frames"
	"vecnet/l3/fib"
	"vecnet/pkt"
	"vecnet/pkt/pkttest"
	"vecnet/wire"
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

func TestARPInput(t *testing.T) {
	req := func(sip, tip [4]byte) graphtest.Packet {
		return arpPacket(wire.ARPRequest, peerMAC, sip, wire.BroadcastMAC, wire.MAC{}, tip)
	}
	tests := []struct {
		name    string
		p       graphtest.Packet
		rxPort  uint16
		want    string // next node, or the drop counter
		counter string
		learned bool
	}{
		{name: "request for us", p: req(host, addr0), want: outputName, counter: "replies_sent", learned: true},
		{name: "reply to us", p: arpPacket(wire.ARPReply, peerMAC, host, mac0, mac0, addr0), want: "replies_received", learned: true},
		{name: "gratuitous for another host", p: req(host, host), want: "not_for_us"},
		{name: "request for another host", p: req(host, [4]byte{10, 0, 0, 9}), want: "not_for_us"},
		{name: "multicast sender mac", p: arpPacket(wire.ARPRequest, wire.MAC{0x01, 0, 0x5e, 0, 0, 1}, host, wire.BroadcastMAC, wire.MAC{}, addr0), want: "bad_sender"},
		{name: "sender ip is ours", p: req(addr0, addr0), want: "bad_sender"},
		{name: "sender off subnet", p: req([4]byte{10, 9, 0, 2}, addr0), want: "sender_not_on_subnet"},
		{name: "truncated", p: func() graphtest.Packet { p := req(host, addr0); p.Data = p.Data[:14+27]; return p }(), want: "malformed"},
		{name: "not ethernet/ipv4", p: func() graphtest.Packet { p := req(host, addr0); p.Data[14+1] = 2; return p }(), want: "malformed"},
		{name: "no interface", p: req(host, addr0), rxPort: 4, want: "no_interface"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTopo(t)
			h := graphtest.New(t, ARPNode(tp.ifs, tp.nt), graphtest.Options{})
			tc.p.Meta.RxPort = tc.rxPort
			r := h.Run(tc.p)
			o := &r.Out[0]
			if tc.counter == "" {
				tc.counter = tc.want
			}
			checkCounters(t, r, map[string]uint64{graphtest.Label(ARPInputName, tc.counter): 1})
			_, learned := tp.nt.Lookup(0, host)
			if learned != tc.learned {
				t.Errorf("learned %v, want %v", learned, tc.learned)
			}
			if learned && tp.fib.Load().Adj(tp.fib.Load().Lookup(host, 0)).Kind != fib.AdjRewrite {
				t.Errorf("FIB not programmed")
			}
			if tc.want != outputName {
				if got, want := o.Where(), "drop "+graphtest.Label(ARPInputName, tc.want); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
				return
			}
			if o.Next != outputName || o.Meta.TxPort != 0 || o.Meta.Flags&pkt.FlagLocal == 0 {
				t.Fatalf("got %s TxPort %d flags %#x", o.Where(), o.Meta.TxPort, o.Meta.Flags)
			}
			want := frames.ARP(wire.ARPReply, mac0, addr0, peerMAC, peerMAC, host)
			if string(o.Data) != string(want) {
				t.Errorf("reply\n got % x\nwant % x", o.Data, want)
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
