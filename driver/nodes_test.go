package driver_test

import (
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// TestInputNodeStampsEachBindingsPackets polls two ports into one vector:
// every packet must carry the interface of the port it came from, and a port
// that fills the vector alone must not starve the other.
func TestInputNodeStampsEachBindingsPackets(t *testing.T) {
	pool := pkttest.NewPool(t, 4096)
	c := pool.NewCache()
	p0, p1 := mem.NewPort(mem.Config{Name: "p0"}), mem.NewPort(mem.Config{Name: "p1"})
	frame := func(tag byte) []byte { f := make([]byte, 60); f[0] = tag; return f }
	for range 300 {
		p0.Inject(frame(0))
	}
	for range 10 {
		p1.Inject(frame(1))
	}
	var got []pkt.Meta
	var data []byte
	sink := graph.Registration{Name: "sink", Func: func(n *graph.Node, v *pkt.Vector) int {
		k := v.Len
		for _, i := range v.Idx[:k] {
			got = append(got, *n.Arena().Meta(i))
			data = append(data, n.Arena().Data(i)[0])
		}
		n.Cache().FreeN(v.Idx[:k])
		v.Reset()
		return k
	}}
	in := driver.InputNode(driver.PortInputName, []driver.Binding{{If: 3, Port: p0}, {If: 7, Port: p1}}, "sink")
	g, err := graph.Build(c, []graph.Registration{in, sink})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Close()
		p0.Close(c)
		p1.Close(c)
		c.Flush()
	})
	polls := 0
	for len(got) < 310 && polls < 10 {
		g.Poll()
		polls++
	}
	if len(got) != 310 {
		t.Fatalf("received %d of 310 packets in %d polls", len(got), polls)
	}
	per := map[uint16]int{}
	for k, m := range got {
		want := uint16(3)
		if data[k] == 1 {
			want = 7
		}
		if m.RxPort != want {
			t.Fatalf("packet %d from port %d stamped RxPort %d", k, want, m.RxPort)
		}
		per[m.RxPort]++
	}
	if per[3] != 300 || per[7] != 10 {
		t.Fatalf("per interface %v, want 300 and 10", per)
	}
	if polls > 2 {
		t.Fatalf("took %d polls for 310 packets: the second port was starved", polls)
	}
}

func TestDeriveMAC(t *testing.T) {
	for _, dev := range [][6]byte{{0x02, 0x76, 0x6e, 0, 1, 0x11}, {0x01, 0, 0x5e, 0, 0, 0x5a}, {}} {
		m := driver.DeriveMAC(dev)
		if m == dev || m[0]&0x01 != 0 || m[0]&0x02 == 0 {
			t.Errorf("DeriveMAC(% x) = % x: want a different, unicast, locally administered address", dev, m)
		}
	}
}

// TestOutputNodeInterfaceDown: interface-output drops what is routed to an
// interface set administratively down, as interface_down, whether the
// vector goes to that port alone or is split between ports, and sends to
// the others; with the interface up again it sends. No allocation.
func TestOutputNodeInterfaceDown(t *testing.T) {
	pool := pkttest.NewPool(t, 4096)
	c := pool.NewCache()
	ifs := iface.NewTable()
	for _, name := range []string{"a", "b"} {
		if _, err := ifs.Add(name, [6]byte{2, 0, 0, 0, 0, 1}, 1500); err != nil {
			t.Fatal(err)
		}
	}
	pa, pb := mem.NewPort(mem.Config{Name: "a"}), mem.NewPort(mem.Config{Name: "b"})
	g, err := graph.Build(c, []graph.Registration{driver.OutputNode([]driver.Port{pa, pb}, ifs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Close()
		pa.Close(c)
		pb.Close(c)
		c.Flush()
	})
	send := func(ports ...uint16) {
		var v pkt.Vector
		for _, p := range ports {
			i, ok := c.Alloc()
			if !ok {
				t.Fatal("pool empty")
			}
			m := pool.Arena().Meta(i)
			m.Off, m.Len, m.TxPort = pkt.Headroom, 60, p
			v.Append(i)
		}
		if err := g.Inject(driver.OutputNodeName, &v); err != nil {
			t.Fatal(err)
		}
		g.Dispatch()
	}
	down := func() uint64 {
		for _, e := range g.Errors(false) {
			if e.Name == "interface_down" {
				return e.Count
			}
		}
		return 0
	}
	if err := ifs.SetDown(1, true); err != nil {
		t.Fatal(err)
	}
	send(1, 1, 1)
	send(0, 1, 0)
	if a, b, d := len(pa.TakeSent()), len(pb.TakeSent()), down(); a != 2 || b != 0 || d != 4 {
		t.Fatalf("b down: a sent %d, b sent %d, interface_down %d; want 2, 0, 4", a, b, d)
	}
	if allocs := testing.AllocsPerRun(100, func() { send(1, 0) }); allocs != 0 {
		t.Errorf("%.1f allocations per vector", allocs)
	}
	pa.TakeSent()
	if err := ifs.SetDown(1, false); err != nil {
		t.Fatal(err)
	}
	send(1, 1)
	if b := len(pb.TakeSent()); b != 2 {
		t.Fatalf("b up again: sent %d, want 2", b)
	}
}
