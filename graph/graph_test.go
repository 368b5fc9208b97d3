package graph

import (
	"strings"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

func testCache(t testing.TB, n int) (*pkt.Pool, *pkt.Cache) {
	t.Helper()
	p := pkttest.NewPool(t, n)
	return p, p.NewCache()
}

// leakGate fails t if buffers remain in flight once the test ends.
func leakGate(t *testing.T, p *pkt.Pool) {
	t.Cleanup(func() {
		if n := p.InUse(); n != 0 {
			t.Errorf("%d buffers leaked", n)
		}
		if err := p.Check(); err != nil {
			t.Error(err)
		}
	})
}

// sink counts what reaches it and frees it.
type sink struct{ got []pkt.Index }

func sinkReg(name string, s *sink) Registration {
	return Registration{Name: name, Func: func(n *Node, v *pkt.Vector) int {
		s.got = append(s.got, v.Idx[:v.Len]...)
		k := v.Len
		n.Cache().FreeN(v.Idx[:v.Len])
		v.Reset()
		return k
	}}
}

// splitter sends even Hash to edge 1 ("even"), odd to edge 2 ("odd"), and
// Hash%5==0 to drop with error 0.
func splitterReg() Registration {
	return Registration{
		Name:   "split",
		Next:   []string{"even", "odd"},
		Errors: []Error{{Name: "fives", Help: "multiples of five"}},
		Func: func(n *Node, v *pkt.Vector) int {
			a := n.Arena()
			for k, i := range v.Idx[:v.Len] {
				m := a.Meta(i)
				switch {
				case m.Hash%5 == 0:
					n.Drop(m, k, 0)
				case m.Hash%2 == 0:
					n.Nexts[k] = 1
				default:
					n.Nexts[k] = 2
				}
			}
			k := v.Len
			n.Enqueue(v, n.Nexts[:])
			return k
		},
	}
}

func fill(t testing.TB, c *pkt.Cache, v *pkt.Vector, aux ...uint32) {
	for _, x := range aux {
		i, ok := c.Alloc()
		if !ok {
			t.Fatal("pool empty")
		}
		c.Arena().Meta(i).Hash = x
		v.Append(i)
	}
}

func TestBuildRejectsUnknownNext(t *testing.T) {
	_, c := testCache(t, 16)
	_, err := Build(c, []Registration{{Name: "a", Next: []string{"ip4-lookpu"}, Func: func(*Node, *pkt.Vector) int { return 0 }}})
	if err == nil || !strings.Contains(err.Error(), `"ip4-lookpu"`) {
		t.Fatalf("err = %v, want it to name the unknown next", err)
	}
}

func TestBuildRejectsDuplicateAndNameless(t *testing.T) {
	_, c := testCache(t, 16)
	f := func(*Node, *pkt.Vector) int { return 0 }
	for name, regs := range map[string][]Registration{
		"duplicate": {{Name: "a", Func: f}, {Name: "a", Func: f}},
		"no name":   {{Func: f}},
		"no func":   {{Name: "a"}},
		"drop name": {{Name: DropNodeName, Func: f}},
	} {
		if _, err := Build(c, regs); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
}

func TestEnqueueScatterAndDrop(t *testing.T) {
	p, c := testCache(t, 1024)
	leakGate(t, p)
	var even, odd sink
	g, err := Build(c, []Registration{splitterReg(), sinkReg("even", &even), sinkReg("odd", &odd)})
	if err != nil {
		t.Fatal(err)
	}
	var v pkt.Vector
	for x := uint32(1); x <= 200; x++ {
		fill(t, c, &v, x)
	}
	if err := g.Inject("split", &v); err != nil {
		t.Fatal(err)
	}
	g.Dispatch()
	// 1..200: 40 multiples of 5; of the other 160, 80 even and 80 odd.
	if len(even.got) != 80 || len(odd.got) != 80 {
		t.Fatalf("even %d odd %d, want 80/80", len(even.got), len(odd.got))
	}
	if got := g.ErrorByName("split", "fives"); got != 40 {
		t.Fatalf("fives = %d, want 40", got)
	}
	for _, i := range even.got {
		if x := c.Arena().Meta(i).Hash; x%2 != 0 || x%5 == 0 {
			t.Fatalf("aux %d reached even", x)
		}
	}
	errs := g.Errors(false)
	if len(errs) != 1 || errs[0].Node != "split" || errs[0].Name != "fives" || errs[0].Count != 40 {
		t.Fatalf("Errors() = %+v", errs)
	}
	st := g.Node("split").Stats()
	if st.Calls != 1 || st.Vectors != 200 {
		t.Fatalf("split stats %+v", st)
	}
}

func TestWholeVectorMovesWithoutCopy(t *testing.T) {
	p, c := testCache(t, 1024)
	leakGate(t, p)
	var seen *pkt.Vector
	var s sink
	g, err := Build(c, []Registration{
		{Name: "pass", Next: []string{"last"}, Func: func(n *Node, v *pkt.Vector) int {
			for k := range v.Len {
				n.Nexts[k] = 1
			}
			k := v.Len
			seen = v
			n.Enqueue(v, n.Nexts[:])
			return k
		}},
		{Name: "last", Func: func(n *Node, v *pkt.Vector) int {
			if v != seen {
				t.Error("vector was copied, not moved")
			}
			return sinkReg("x", &s).Func(n, v)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var v pkt.Vector
	for range 256 {
		fill(t, c, &v, 2)
	}
	g.Inject("pass", &v)
	g.Dispatch()
	if len(s.got) != 256 {
		t.Fatalf("got %d", len(s.got))
	}
}

func TestFramesSplitWhenFull(t *testing.T) {
	p, c := testCache(t, 2048)
	leakGate(t, p)
	var even, odd sink
	g, _ := Build(c, []Registration{splitterReg(), sinkReg("even", &even), sinkReg("odd", &odd)})
	// Three vectors of odd numbers not divisible by five: odd's frames overflow 256.
	for range 3 {
		var v pkt.Vector
		for k := 0; len(v.Slice()) < 200; k++ {
			if x := uint32(2*k + 1); x%5 != 0 {
				fill(t, c, &v, x)
			}
		}
		g.Inject("split", &v)
	}
	g.Dispatch()
	if len(odd.got) != 600 {
		t.Fatalf("odd got %d, want 600", len(odd.got))
	}
	if st := g.Node("odd").Stats(); st.Calls < 3 || st.Vectors != 600 {
		t.Fatalf("odd stats %+v", st)
	}
}

func TestInputNodePoll(t *testing.T) {
	p, c := testCache(t, 1024)
	leakGate(t, p)
	var s sink
	left := 300
	g, err := Build(c, []Registration{
		{Name: "gen", Kind: Input, Next: []string{"out"}, Func: func(n *Node, v *pkt.Vector) int {
			k := min(left, pkt.VectorSize)
			left -= k
			for range k {
				i, _ := n.Cache().Alloc()
				v.Append(i)
			}
			n.TraceStart(v)
			n.EnqueueAll(v, 1)
			return k
		}},
		sinkReg("out", &s),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.TraceAdd(3)
	if got := g.Poll(); got != 256 {
		t.Fatalf("first poll %d", got)
	}
	if got := g.Poll(); got != 44 {
		t.Fatalf("second poll %d", got)
	}
	if g.Poll() != 0 || len(s.got) != 300 {
		t.Fatalf("sink got %d", len(s.got))
	}
	recs := g.TraceRecords()
	if len(recs) != 3 || recs[0].Node != "gen" || recs[0].Next != "out" || recs[2].Packet != 3 {
		t.Fatalf("trace %+v", recs)
	}
	var b strings.Builder
	g.FormatTrace(&b, g.TraceCopy())
	if !strings.Contains(b.String(), "Packet 3\n  gen -> out") {
		t.Fatalf("FormatTrace:\n%s", b.String())
	}
}

func TestTraceRecordsDrops(t *testing.T) {
	p, c := testCache(t, 64)
	leakGate(t, p)
	var even, odd sink
	g, _ := Build(c, []Registration{splitterReg(), sinkReg("even", &even), sinkReg("odd", &odd)})
	var v pkt.Vector
	fill(t, c, &v, 5, 6)
	for _, i := range v.Slice() {
		c.Arena().Meta(i).Flags |= pkt.FlagTraced
	}
	v.Traced = true
	g.Inject("split", &v)
	g.Dispatch()
	var b strings.Builder
	g.FormatTrace(&b, g.TraceCopy())
	out := b.String()
	if !strings.Contains(out, "split -> error-drop") || !strings.Contains(out, "dropped: split: fives") || !strings.Contains(out, "split -> even") {
		t.Fatalf("trace:\n%s", out)
	}
}

func TestFeatureArc(t *testing.T) {
	p, c := testCache(t, 256)
	leakGate(t, p)
	var order []string
	var end sink
	var arc int
	feature := func(name string) Registration {
		return Registration{Name: name, Func: func(n *Node, v *pkt.Vector) int {
			order = append(order, name)
			for k, i := range v.Idx[:v.Len] {
				n.Nexts[k] = n.ArcNext(arc, n.Arena().Meta(i))
			}
			k := v.Len
			n.Enqueue(v, n.Nexts[:])
			return k
		}}
	}
	start := Registration{Name: "start", Init: func(n *Node) (err error) {
		arc, err = n.Graph().ArcID("test-arc")
		return err
	}, Func: func(n *Node, v *pkt.Vector) int {
		for k, i := range v.Idx[:v.Len] {
			n.Nexts[k] = n.ArcStart(arc, n.Arena().Meta(i))
		}
		k := v.Len
		n.Enqueue(v, n.Nexts[:])
		return k
	}}
	g, err := Build(c, []Registration{start, feature("acl"), feature("policer"), feature("nat"), sinkReg("end", &end)},
		Arc{Name: "test-arc", Start: "start", End: "end", Features: []Feature{
			{Node: "nat", RunsAfter: []string{"acl"}},
			{Node: "policer", RunsBefore: []string{"acl"}},
			{Node: "acl"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(port uint16) {
		order = nil
		var v pkt.Vector
		fill(t, c, &v, 1)
		c.Arena().Meta(v.Idx[0]).RxPort = port
		g.Inject("start", &v)
		g.Dispatch()
	}
	run(0)
	if len(order) != 0 {
		t.Fatalf("no feature enabled, yet ran %v", order)
	}
	for _, f := range []string{"nat", "policer", "acl"} {
		if err := g.EnableFeature("test-arc", f, 3, true); err != nil {
			t.Fatal(err)
		}
	}
	run(3)
	if strings.Join(order, ",") != "policer,acl,nat" {
		t.Fatalf("order %v, want policer,acl,nat", order)
	}
	g.EnableFeature("test-arc", "acl", 3, false)
	run(3)
	if strings.Join(order, ",") != "policer,nat" {
		t.Fatalf("order %v after disabling acl", order)
	}
	run(1)
	if len(order) != 0 || len(end.got) != 4 {
		t.Fatalf("port 1 ran %v; end got %d", order, len(end.got))
	}
	if err := g.EnableFeature("test-arc", "nope", 0, true); err == nil {
		t.Fatal("enabling a non-feature succeeded")
	}
}

// TestFeatureArcByTxPort: an output arc's features are enabled per
// transmit interface; the receive interface does not matter.
func TestFeatureArcByTxPort(t *testing.T) {
	p, c := testCache(t, 64)
	leakGate(t, p)
	var ran int
	var end sink
	var arc int
	feat := Registration{Name: "acl-out", Func: func(n *Node, v *pkt.Vector) int {
		ran += v.Len
		for k, i := range v.Idx[:v.Len] {
			n.Nexts[k] = n.ArcNext(arc, n.Arena().Meta(i))
		}
		k := v.Len
		n.Enqueue(v, n.Nexts[:])
		return k
	}}
	start := Registration{Name: "rewrite", Init: func(n *Node) (err error) {
		arc, err = n.Graph().ArcID("out-arc")
		return err
	}, Func: func(n *Node, v *pkt.Vector) int {
		for k, i := range v.Idx[:v.Len] {
			n.Nexts[k] = n.ArcStart(arc, n.Arena().Meta(i))
		}
		k := v.Len
		n.Enqueue(v, n.Nexts[:])
		return k
	}}
	g, err := Build(c, []Registration{start, feat, sinkReg("tx", &end)},
		Arc{Name: "out-arc", Start: "rewrite", End: "tx", ByTxPort: true, Features: []Feature{{Node: "acl-out"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.EnableFeature("out-arc", "acl-out", 2, true); err != nil {
		t.Fatal(err)
	}
	run := func(rx, tx uint16) int {
		ran = 0
		var v pkt.Vector
		fill(t, c, &v, 1)
		m := c.Arena().Meta(v.Idx[0])
		m.RxPort, m.TxPort = rx, tx
		g.Inject("rewrite", &v)
		g.Dispatch()
		return ran
	}
	if n := run(2, 1); n != 0 {
		t.Fatalf("received on 2, sent on 1: the feature ran (%d)", n)
	}
	if n := run(1, 2); n != 1 {
		t.Fatalf("sent on 2: the feature ran %d times, want 1", n)
	}
	if len(end.got) != 2 {
		t.Fatalf("end got %d packets, want 2", len(end.got))
	}
}

func TestArcCycleRejected(t *testing.T) {
	_, c := testCache(t, 16)
	f := func(*Node, *pkt.Vector) int { return 0 }
	_, err := Build(c, []Registration{{Name: "s", Func: f}, {Name: "e", Func: f}, {Name: "a", Func: f}, {Name: "b", Func: f}},
		Arc{Name: "x", Start: "s", End: "e", Features: []Feature{{Node: "a", RunsBefore: []string{"b"}}, {Node: "b", RunsBefore: []string{"a"}}}})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v", err)
	}
}

func TestDispatchNoAllocs(t *testing.T) {
	p, c := testCache(t, 2048)
	leakGate(t, p)
	var even, odd sink
	even.got = make([]pkt.Index, 0, 1<<20)
	odd.got = make([]pkt.Index, 0, 1<<20)
	g, _ := Build(c, []Registration{splitterReg(), sinkReg("even", &even), sinkReg("odd", &odd)})
	var v pkt.Vector
	run := func() {
		for x := uint32(0); x < 256; x++ {
			fill(t, c, &v, x)
		}
		g.Inject("split", &v)
		g.Dispatch()
	}
	run() // warm the frame pool
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("%v allocs per vector", n)
	}
}

func TestTickRunsEveryIntervalWithoutTraffic(t *testing.T) {
	_, c := testCache(t, 64)
	ticks := 0
	reg := Registration{Name: "timer", Func: func(n *Node, v *pkt.Vector) int { return 0 },
		Tick: func(n *Node) { ticks++ }}
	g, err := Build(c, []Registration{reg})
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	g.SetClock(func() int64 { return now })
	for _, step := range []struct {
		at    int64
		ticks int
	}{{0, 1}, {TickInterval / 2, 1}, {TickInterval, 2}, {TickInterval + 1, 2}, {5 * TickInterval, 3}} {
		now = step.at
		g.Poll()
		if ticks != step.ticks {
			t.Fatalf("at %d ns: %d ticks, want %d", step.at, ticks, step.ticks)
		}
	}
}

// TestArcActive: an arc is active while some interface has a feature on
// it, so that a Start node may skip ArcStart per packet when none has.
func TestArcActive(t *testing.T) {
	_, c := testCache(t, 8)
	var end sink
	var arc int
	start := Registration{Name: "rewrite", Init: func(n *Node) (err error) {
		arc, err = n.Graph().ArcID("out-arc")
		return err
	}, Func: func(n *Node, v *pkt.Vector) int { return 0 }}
	feat := Registration{Name: "acl-out", Func: func(n *Node, v *pkt.Vector) int { return 0 }}
	g, err := Build(c, []Registration{start, feat, sinkReg("tx", &end)},
		Arc{Name: "out-arc", Start: "rewrite", End: "tx", ByTxPort: true, Features: []Feature{{Node: "acl-out"}}})
	if err != nil {
		t.Fatal(err)
	}
	probe := func() bool { return g.Node("rewrite").ArcActive(arc) }
	steps := []struct {
		port uint16
		on   bool
		want bool
	}{{3, true, true}, {1, true, true}, {3, false, true}, {1, false, false}}
	if probe() {
		t.Fatal("active with no feature enabled")
	}
	for _, s := range steps {
		if err := g.EnableFeature("out-arc", "acl-out", s.port, s.on); err != nil {
			t.Fatal(err)
		}
		if got := probe(); got != s.want {
			t.Fatalf("after port %d on=%v: active %v, want %v", s.port, s.on, got, s.want)
		}
	}
}
