package bridge

import (
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

const (
	outName = "interface-output"
	ethName = "ethernet-input"
)

var (
	macA   = wire.MAC{0x02, 0, 0, 0, 0, 0xa}
	macB   = wire.MAC{0x02, 0, 0, 0, 0, 0xb}
	macC   = wire.MAC{0x02, 0, 0, 0, 0, 0xc}
	macBVI = wire.MAC{0x02, 0xb1, 0, 0, 0, 1}
	mcast  = wire.MAC{0x01, 0, 0x5e, 0, 0, 1}
)

// Interfaces 1, 2, 3 (2 and 3 in split-horizon group 7) and the BVI 9 in
// domain 10; interface 5 alone in domain 20.
func testDomains() []Domain {
	return []Domain{
		{ID: 10, Members: []Member{{If: 1}, {If: 2, Group: 7}, {If: 3, Group: 7}}, HasBVI: true, BVI: 9, BVIMAC: macBVI,
			Age: 10 * time.Second, MaxMACs: 3},
		{ID: 20, Members: []Member{{If: 5}}},
	}
}

func newHarness(t *testing.T, ds []Domain) (*graphtest.Harness, *Table) {
	t.Helper()
	tbl := NewTable()
	if err := tbl.SetDomains(ds); err != nil {
		t.Fatal(err)
	}
	regs := Nodes(tbl, Names{Output: outName, Ethernet: ethName})
	return graphtest.New(t, regs[0], graphtest.Options{Also: regs[1:]}), tbl
}

func frame(dst, src wire.MAC) []byte {
	h := wire.EthernetHeader(dst, src, wire.EtherTypeIPv4)
	return append(h[:], make([]byte, 46)...)
}

func from(rx uint16, dst, src wire.MAC) graphtest.Packet {
	p := graphtest.Packet{Data: frame(dst, src)}
	p.Meta.RxPort = rx
	return p
}

// dests lists where copies of the one packet of r went: "out:N" for
// interface-output with TxPort N, "bvi" for ethernet-input on the BVI.
func dests(t *testing.T, r *graphtest.Result) []string {
	t.Helper()
	var got []string
	add := func(node string, tx, rx uint16) {
		switch node {
		case outName:
			got = append(got, "out:"+string(rune('0'+tx)))
		case ethName:
			got = append(got, "bvi:"+string(rune('0'+rx)))
		default:
			t.Fatalf("packet reached %q", node)
		}
	}
	for _, o := range r.Out {
		if o.Next != "" {
			add(o.Next, o.Meta.TxPort, o.Meta.RxPort)
		}
	}
	for _, c := range r.Extra {
		add(c.Node, c.Meta.TxPort, c.Meta.RxPort)
	}
	return got
}

func macsOf(h *graphtest.Harness) map[wire.MAC]uint16 {
	out := map[wire.MAC]uint16{}
	for _, m := range MACs(h.Graph()) {
		out[m.MAC] = m.If
	}
	return out
}

func TestLearnForwardFlood(t *testing.T) {
	h, _ := newHarness(t, testDomains())
	// A on 1 to unknown B: learnt, flooded to 2 and 3 (not to the BVI,
	// whose MAC is not B).
	r := h.Run(from(1, macB, macA))
	if got := dests(t, r); len(got) != 2 || !contains(got, "out:2", "out:3") {
		t.Fatalf("unknown unicast from 1 went to %v, want out:2 out:3", got)
	}
	if r.Counters["l2-learn: learned"] != 1 {
		t.Fatalf("counters %v", r.Counters)
	}
	if got := macsOf(h); got[macA] != 1 || len(got) != 1 {
		t.Fatalf("MAC table %v, want A on 1", got)
	}
	// B answers from 2: known unicast to 1 only.
	r = h.Run(from(2, macA, macB))
	if got := dests(t, r); len(got) != 1 || got[0] != "out:1" {
		t.Fatalf("known unicast to A went to %v, want out:1", got)
	}
	// Broadcast from 2: 1 and the BVI, not 3 (same split-horizon group 7).
	r = h.Run(from(2, wire.BroadcastMAC, macB))
	if got := dests(t, r); len(got) != 2 || !contains(got, "out:1", "bvi:9") {
		t.Fatalf("broadcast from 2 went to %v, want out:1 bvi:9 (split horizon keeps it from 3)", got)
	}
	// Multicast floods too; the copies carry the whole frame.
	r = h.Run(from(1, mcast, macA))
	if got := dests(t, r); len(got) != 3 {
		t.Fatalf("multicast from 1 went to %v", got)
	}
	for _, c := range r.Extra {
		if string(c.Data) != string(frame(mcast, macA)) {
			t.Fatalf("flood copy to %s differs from the frame", c.Node)
		}
	}
	// Known unicast between members of one group is dropped by name.
	h.Run(from(3, macA, macC))
	r = h.Run(from(2, macC, macB))
	if r.Out[0].Drop != "l2-fwd: split_horizon" {
		t.Fatalf("2 -> C on 3: %+v, want split_horizon drop", r.Out[0])
	}
	// Destination on the ingress member: filtered.
	r = h.Run(from(1, macA, macA))
	if r.Out[0].Drop != "l2-fwd: same_interface" {
		t.Fatalf("A -> A on 1: %+v", r.Out[0])
	}
	// A moves to 3.
	r = h.Run(from(3, macB, macA))
	if r.Counters["l2-learn: moved"] != 1 || macsOf(h)[macA] != 3 {
		t.Fatalf("move: counters %v table %v", r.Counters, macsOf(h))
	}
	// Frames for the BVI's MAC go to its L3 path as received on it.
	r = h.Run(from(1, macBVI, macA))
	if o := r.Out[0]; o.Next != ethName || o.Meta.RxPort != 9 || len(r.Extra) != 0 {
		t.Fatalf("frame for the BVI: %+v extra %d", o, len(r.Extra))
	}
	// A member alone in its domain floods to no one.
	r = h.Run(from(5, wire.BroadcastMAC, macA))
	if r.Out[0].Drop != "l2-flood: no_member" {
		t.Fatalf("alone: %+v", r.Out[0])
	}
	// Source multicast is dropped by name, not learnt.
	r = h.Run(from(1, macB, mcast))
	if r.Out[0].Drop != "l2-learn: src_multicast" {
		t.Fatalf("src multicast: %+v", r.Out[0])
	}
	// A frame from an interface in no domain.
	r = h.Run(from(4, macB, macA))
	if r.Out[0].Drop != "l2-learn: not_bridged" {
		t.Fatalf("unbridged: %+v", r.Out[0])
	}
}

func TestTrace(t *testing.T) {
	tbl := NewTable()
	if err := tbl.SetDomains(testDomains()); err != nil {
		t.Fatal(err)
	}
	regs := Nodes(tbl, Names{Output: outName, Ethernet: ethName})
	h := graphtest.New(t, regs[0], graphtest.Options{Also: regs[1:], Trace: true})
	h.Run(from(2, macA, macB))
	r := h.Run(from(1, macB, macA))
	var lines []string
	for _, rec := range r.Trace {
		lines = append(lines, rec.Node+": "+h.Graph().TraceDetail(&rec))
	}
	want := "l2-fwd: l2-fwd 02:00:00:00:00:0a -> 02:00:00:00:00:0b rx 1 tx 2"
	if !contains(lines, "l2-learn: l2-learn 02:00:00:00:00:0a -> 02:00:00:00:00:0b", want) {
		t.Fatalf("trace:\n%s", strings.Join(lines, "\n"))
	}
}

func TestBVIOutput(t *testing.T) {
	h, _ := newHarness(t, testDomains())
	h.Run(from(2, macA, macB)) // B learnt on 2
	// A routed packet out of the BVI to B: l2-fwd sends it to 2 only.
	r := h.RunNode(FwdName, from(9, macB, macBVI))
	if got := dests(t, r); len(got) != 1 || got[0] != "out:2" {
		t.Fatalf("BVI -> B went to %v", got)
	}
	// The BVI's broadcast (an ARP request) floods to every member, not back to the BVI.
	r = h.RunNode(FwdName, from(9, wire.BroadcastMAC, macBVI))
	if got := dests(t, r); len(got) != 3 || !contains(got, "out:1", "out:2", "out:3") {
		t.Fatalf("BVI broadcast went to %v", got)
	}
}

// TestBVIPort: what interface-output sends on the BVI's port enters
// l2-fwd in the same dispatch, as received on the BVI.
func TestBVIPort(t *testing.T) {
	h, _ := newHarness(t, testDomains())
	h.Run(from(2, macA, macB)) // B learnt on 2
	g := h.Graph()
	p := NewBVIPort(9)
	c := g.Cache()
	var v pkt.Vector
	i, ok := c.Alloc()
	if !ok {
		t.Fatal("no buffer")
	}
	d, _ := g.Arena().SetData(i, pkt.Headroom, 60)
	copy(d, frame(macB, macBVI))
	v.Append(i)
	if n := p.Send(c, &v); n != 0 || p.Stats().TxDrops != 1 || v.Len != 0 {
		t.Fatalf("unbound port sent %d, stats %+v", n, p.Stats())
	}
	p.Bind(g)
	fwd := g.Node(FwdName)
	before := fwd.Stats().Vectors
	for k := 0; k < 3; k++ {
		i, _ := c.Alloc()
		d, _ := g.Arena().SetData(i, pkt.Headroom, 60)
		copy(d, frame(macB, macBVI))
		v.Append(i)
	}
	if n := p.Send(c, &v); n != 3 || v.Len != 0 {
		t.Fatalf("sent %d", n)
	}
	g.Dispatch()
	if got := fwd.Stats().Vectors - before; got != 3 {
		t.Fatalf("l2-fwd saw %d packets, want 3", got)
	}
	if st := p.Stats(); st.TxPackets != 3 || st.TxBytes != 180 {
		t.Fatalf("port stats %+v", st)
	}
}

func TestAgeing(t *testing.T) {
	h, _ := newHarness(t, testDomains())
	h.Run(from(1, macB, macA))
	h.Advance(int64(6 * time.Second))
	h.Run(from(2, macA, macB))
	r := h.RunPoll()
	if len(macsOf(h)) != 2 || r.Counters["l2-learn: aged"] != 0 {
		t.Fatalf("before the age: %v %v", macsOf(h), r.Counters)
	}
	h.Advance(int64(5 * time.Second)) // A unseen 11 s, B 5 s
	r = h.RunPoll()
	if got := macsOf(h); len(got) != 1 || got[macB] != 2 || r.Counters["l2-learn: aged"] != 1 {
		t.Fatalf("after A's age: %v %v", got, r.Counters)
	}
	// A is flooded again (to 1 only: 3 shares 2's split-horizon group).
	r = h.Run(from(2, macA, macB))
	if got := dests(t, r); len(got) != 1 || got[0] != "out:1" {
		t.Fatalf("aged-out A: %v", got)
	}
	h.Advance(int64(20 * time.Second))
	h.RunPoll()
	if got := macsOf(h); len(got) != 0 {
		t.Fatalf("after every age: %v", got)
	}
}

func TestTableFull(t *testing.T) {
	h, tbl := newHarness(t, testDomains()) // domain 10 holds 3 MACs
	for k := byte(1); k <= 5; k++ {
		r := h.Run(from(1, wire.BroadcastMAC, wire.MAC{0x02, 0, 0, 0, 1, k}))
		if got := dests(t, r); len(got) != 3 {
			t.Fatalf("frame %d went to %v: a full table still bridges", k, got)
		}
		want := map[bool]string{true: "l2-learn: learned", false: "l2-learn: table_full"}[k <= 3]
		if r.Counters[want] != 1 {
			t.Fatalf("frame %d: counters %v, want %s", k, r.Counters, want)
		}
	}
	if n := len(macsOf(h)); n != 3 {
		t.Fatalf("%d MACs, want 3", n)
	}
	tbl.ClearMACs()
	h.RunPoll()
	if n := len(macsOf(h)); n != 0 {
		t.Fatalf("%d MACs after clear", n)
	}
	r := h.Run(from(1, wire.BroadcastMAC, wire.MAC{0x02, 0, 0, 0, 1, 9}))
	if r.Counters["l2-learn: learned"] != 1 {
		t.Fatalf("after clear: %v", r.Counters)
	}
}

// TestRemoveKeepsProbeRuns fills a small table with colliding keys and
// removes them in every order, checking lookups after each step.
func TestRemoveKeepsProbeRuns(t *testing.T) {
	m := newMACTable(8)
	var keys []uint64
	for k := 0; k < 8; k++ {
		key := macKey(0, []byte{2, 0, 0, 0, byte(k >> 8), byte(k)})
		keys = append(keys, key)
		if m.learn(key, 0, uint16(k), int64(k), 100) != learnNew {
			t.Fatal("not learnt")
		}
	}
	for drop := range keys {
		if i := m.find(keys[drop]); i >= 0 {
			m.remove(uint64(i))
		}
		for k, key := range keys {
			if got := m.find(key) >= 0; got != (k > drop) {
				t.Fatalf("after removing %d: key %d found=%v", drop, k, got)
			}
		}
	}
	// Expire half by age.
	for k, key := range keys {
		m.learn(key, 0, 1, int64(k), 100)
	}
	if n := m.expire(10, func(int32) int64 { return 6 }); n != 5 {
		t.Fatalf("expired %d, want 5 (seen at 0..4)", n)
	}
	for k, key := range keys {
		if got := m.find(key) >= 0; got != (k >= 5) {
			t.Fatalf("key %d found=%v", k, got)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	h, _ := newHarness(t, testDomains())
	h.Run(from(1, macB, macA))
	h.Run(from(2, macA, macB))
	pkts := []graphtest.Packet{from(1, macB, macA), from(2, macA, macB), from(2, wire.BroadcastMAC, macB), from(1, macBVI, macA), from(3, macC, macA)}
	var big []graphtest.Packet
	for len(big) < 256 {
		big = append(big, pkts...)
	}
	big = big[:256]
	h.Send(LearnName, big...)
	if n := testing.AllocsPerRun(100, func() { h.Send(LearnName, big...) }); n != 0 {
		t.Fatalf("%v allocations per vector of learn, forward and flood", n)
	}
}

func TestSetDomainsRejects(t *testing.T) {
	tbl := NewTable()
	if err := tbl.SetDomains([]Domain{{ID: 1, Members: []Member{{If: 1}}}, {ID: 2, Members: []Member{{If: 1}}}}); err == nil {
		t.Fatal("an interface in two domains accepted")
	}
	if err := tbl.SetDomains([]Domain{{ID: 1}, {ID: 1}}); err == nil {
		t.Fatal("a domain id twice accepted")
	}
	if err := tbl.SetDomains(testDomains()); err != nil {
		t.Fatal(err)
	}
	br := tbl.Bridged()
	if !br[1] || !br[2] || !br[3] || br[4] || br[9] || !br[5] {
		t.Fatalf("bridged %v: members yes, BVI and others no", br)
	}
}

func contains(got []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}

// FuzzBridge runs any bytes from any port through learn, forward and
// flood: nothing panics, every buffer comes back (the harness audits).
func FuzzBridge(f *testing.F) {
	f.Add(frame(macB, macA), uint16(1))
	f.Add(frame(wire.BroadcastMAC, macB), uint16(2))
	f.Add(frame(macBVI, macC), uint16(3))
	f.Add([]byte{1, 2, 3}, uint16(1))
	f.Add(frame(macA, mcast), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, rx uint16) {
		if len(data) > 2000 {
			return
		}
		h, _ := newHarness(t, testDomains())
		p := graphtest.Packet{Data: data}
		p.Meta.RxPort = rx % 12
		h.Run(p, p)
		h.RunNode(FwdName, p)
		h.Advance(int64(graph.TickInterval))
		h.RunPoll()
	})
}

// BenchmarkL2Forward runs vectors of 256 known-unicast frames through
// l2-learn and l2-fwd; BenchmarkL2Flood the same as broadcasts (three
// members: two copies and the original).
func BenchmarkL2Forward(b *testing.B) { benchL2(b, macA) }

// BenchmarkL2Flood: see BenchmarkL2Forward.
func BenchmarkL2Flood(b *testing.B) { benchL2(b, wire.BroadcastMAC) }

func benchL2(b *testing.B, dst wire.MAC) {
	tbl := NewTable()
	if err := tbl.SetDomains([]Domain{{ID: 1, Members: []Member{{If: 1}, {If: 2}, {If: 3}}}}); err != nil {
		b.Fatal(err)
	}
	regs := Nodes(tbl, Names{Output: outName, Ethernet: ethName})
	h := graphtest.New(b, regs[0], graphtest.Options{Also: regs[1:], Slots: 2048})
	h.Send(LearnName, from(1, macB, macA))
	pkts := make([]graphtest.Packet, 256)
	for k := range pkts {
		pkts[k] = from(2, dst, macB)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.Send(LearnName, pkts...)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/packet")
}
