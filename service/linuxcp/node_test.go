package linuxcp

import (
	"bytes"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/service/policer"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// pairs: phy 0 <-> host 2, phy 1 without a host interface; phy 0 policed
// at 1000 B/s with 1500-byte buckets.
func testPairs(t testing.TB) *Pairs {
	m, err := policer.NewMeter(policer.Config{Mode: policer.SingleRate, CIR: 1000, CBS: 1500, EBS: 1500}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Pairs{HostOf: []uint16{2, NoPair}, PhyOf: []uint16{NoPair, NoPair, 0}, Meter: []*policer.Meter{m}}
}

// tcp is a 1000-byte frame received on port.
func tcp(port uint16) graphtest.Packet {
	d := frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 0, 2}, Dst: [4]byte{10, 0, 0, 1}, Payload: 1000 - 14 - 28})
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: port, L3: wire.EthernetLen}}
}

func TestPunt(t *testing.T) {
	h := graphtest.New(t, PuntNode(testPairs(t)), graphtest.Options{})
	// Buckets of 1500 bytes (srTCM takes a packet whole from one): the
	// first 1000-byte frame is green, the second yellow, then red.
	in := []graphtest.Packet{tcp(0), tcp(0), tcp(0), tcp(0), tcp(1), tcp(7)}
	r := h.Run(in...)
	want := []string{driver.OutputNodeName, driver.OutputNodeName,
		"drop linux-cp-punt: policed", "drop linux-cp-punt: policed", "drop linux-cp-punt: no_host_interface", "drop linux-cp-punt: no_host_interface"}
	for i, w := range want {
		if got := r.Out[i].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", i, got, w)
		}
	}
	for i := range 2 {
		if o := r.Out[i]; o.Meta.TxPort != 2 || !bytes.Equal(o.Data, in[i].Data) {
			t.Errorf("packet %d: tx port %d, frame changed %v", i, o.Meta.TxPort, !bytes.Equal(o.Data, in[i].Data))
		}
	}
	if r.Counters["linux-cp-punt: punted"] != 2 || r.Counters["linux-cp-punt: policed"] != 2 {
		t.Errorf("counters %v", r.Counters)
	}
	h.Advance(1e9) // 1000 bytes more
	if got := h.Run(tcp(0), tcp(0)); got.Out[0].Where() != driver.OutputNodeName || got.Out[1].Where() != "drop linux-cp-punt: policed" {
		t.Errorf("after 1 s: %s, %s", got.Out[0].Where(), got.Out[1].Where())
	}
}

func TestARPMirror(t *testing.T) {
	h := graphtest.New(t, ARPNode(testPairs(t)), graphtest.Options{})
	mac := wire.MAC{2, 0, 0, 0, 0, 1}
	peer := wire.MAC{2, 0, 0, 0, 0, 2}
	reply := frames.ARP(wire.ARPReply, peer, [4]byte{10, 0, 0, 2}, mac, mac, [4]byte{10, 0, 0, 1})
	request := frames.ARP(wire.ARPRequest, peer, [4]byte{10, 0, 0, 2}, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 0, 1})
	in := []graphtest.Packet{
		{Data: reply, Meta: pkt.Meta{RxPort: 0}},
		{Data: request, Meta: pkt.Meta{RxPort: 0}},
		{Data: reply, Meta: pkt.Meta{RxPort: 1}}, // no host interface: not copied
		tcp(0),
		{Data: reply[:20], Meta: pkt.Meta{RxPort: 0}}, // truncated: not copied
	}
	r := h.Run(in...)
	for i, o := range r.Out {
		if o.Where() != "ethernet-input" || !bytes.Equal(o.Data, in[i].Data) {
			t.Errorf("packet %d: %s (changed %v), want ethernet-input unchanged", i, o.Where(), !bytes.Equal(o.Data, in[i].Data))
		}
	}
	out := r.At(driver.OutputNodeName)
	if len(out) != 1 || !bytes.Equal(out[0].Data, reply) || out[0].Meta.TxPort != 2 {
		t.Fatalf("copies to the host interface: %+v, want the one reply from phy 0", out)
	}
	if r.Counters["linux-cp-arp: punted"] != 1 {
		t.Errorf("counters %v", r.Counters)
	}
}

func TestInject(t *testing.T) {
	h := graphtest.New(t, InjectNode(testPairs(t)), graphtest.Options{})
	r := h.Run(tcp(2), tcp(0), tcp(9))
	if r.Out[0].Where() != driver.OutputNodeName || r.Out[0].Meta.TxPort != 0 {
		t.Errorf("from host 2: %s port %d, want phy 0", r.Out[0].Where(), r.Out[0].Meta.TxPort)
	}
	for i := 1; i < 3; i++ {
		if r.Out[i].Where() != "drop linux-cp-inject: no_phy" {
			t.Errorf("packet %d: %s, want no_phy", i, r.Out[i].Where())
		}
	}
}

// TestNoAllocs: the three nodes allocate nothing per vector.
func TestNoAllocs(t *testing.T) {
	pairs := testPairs(t)
	pairs.Meter = nil
	v := make([]graphtest.Packet, 64)
	for k := range v {
		v[k] = tcp(uint16(k % 3))
	}
	for _, tc := range []struct {
		name string
		h    *graphtest.Harness
	}{{PuntName, graphtest.New(t, PuntNode(pairs), graphtest.Options{})},
		{InjectName, graphtest.New(t, InjectNode(pairs), graphtest.Options{})},
		{ARPName, graphtest.New(t, ARPNode(pairs), graphtest.Options{})}} {
		tc.h.Send(tc.name, v...) // warm up
		if n := testing.AllocsPerRun(50, func() { tc.h.Send(tc.name, v...) }); n != 0 {
			t.Errorf("%s: %v allocations per vector", tc.name, n)
		}
	}
}
