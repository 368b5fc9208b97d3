package tcp

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

func TestSeq(t *testing.T) {
	cases := []struct {
		a, b        Seq
		lt, leq, gt bool
		sub         int
	}{
		{1, 2, true, true, false, -1},
		{2, 2, false, true, false, 0},
		{0xfffffff0, 0x10, true, true, false, -0x20}, // wrapped
		{0x10, 0xfffffff0, false, false, true, 0x20},
	}
	for _, c := range cases {
		if c.a.LT(c.b) != c.lt || c.a.LEQ(c.b) != c.leq || c.a.GT(c.b) != c.gt || c.a.Sub(c.b) != c.sub {
			t.Errorf("%#x vs %#x", c.a, c.b)
		}
	}
	if !Seq(0xfffffffe).InRange(0xfffffff0, 5) || Seq(5).InRange(0xfffffff0, 5) {
		t.Error("InRange across the wrap")
	}
}

func TestByteRing(t *testing.T) {
	r := newByteRing(8)
	if r.write([]byte("abcdef")) != 6 || r.read(make([]byte, 4)) != 4 {
		t.Fatal("write/read")
	}
	// Now head is 4: writes wrap.
	if n := r.write([]byte("ghijklmn")); n != 6 || r.free() != 0 {
		t.Fatalf("wrote %d, free %d", n, r.free())
	}
	got := make([]byte, 8)
	if n := r.peek(1, got); n != 7 || string(got[:n]) != "fghijkl" {
		t.Fatalf("peek %q", got[:n])
	}
	r.discard(8)
	// Out-of-order write ahead, then the gap, then commit.
	if r.writeAt(3, []byte("XYZ")) != 3 || r.len != 0 {
		t.Fatal("writeAt ahead")
	}
	r.writeAt(0, []byte("abc"))
	r.commit(6)
	if n := r.read(got); string(got[:n]) != "abcXYZ" {
		t.Fatalf("read %q", got[:n])
	}
	if r.writeAt(8, []byte("x")) != 0 || r.writeAt(-1, []byte("x")) != 0 || r.writeAt(6, []byte("xyz")) != 2 {
		t.Fatal("writeAt bounds")
	}
}

func TestOOOList(t *testing.T) {
	var l oooList
	for _, r := range []seqRange{{30, 40}, {10, 20}, {50, 60}, {20, 25}, {38, 52}} {
		if !l.add(r.left, r.right) {
			t.Fatalf("add %v", r)
		}
	}
	if l.n != 2 || l.r[0] != (seqRange{10, 25}) || l.r[1] != (seqRange{30, 60}) {
		t.Fatalf("ranges %v", l.r[:l.n])
	}
	var b [wire.TCPMaxSACKBlocks]wire.SACKBlock
	if n := l.blocks(&b); n != 2 || b[0] != (wire.SACKBlock{Left: 30, Right: 60}) || b[1] != (wire.SACKBlock{Left: 10, Right: 25}) {
		t.Fatalf("blocks %v: the most recent first", b[:n])
	}
	if nxt := l.advance(10); nxt != 25 || l.n != 1 {
		t.Fatalf("advance to %d, %d left", nxt, l.n)
	}
	for i := range maxRanges - 1 {
		l.add(Seq(100+10*i), Seq(105+10*i))
	}
	if l.add(1000, 1001) {
		t.Fatal("list over capacity")
	}
}

func TestScoreboard(t *testing.T) {
	c := &Conn{mss: 1000, sndUna: 0, sndMax: 10000}
	var s scoreboard
	o := wire.TCPOptions{NSACK: 3, SACK: [4]wire.SACKBlock{{Left: 2000, Right: 3000}, {Left: 4000, Right: 7000}, {Left: 9000, Right: 11000}}}
	if grew, dsack := s.update(&o, 0, 10000); !grew || dsack || s.n != 2 {
		t.Fatalf("update: %v (a block past sndMax is ignored)", s.r[:s.n])
	}
	if grew, _ := s.update(&o, 0, 10000); grew {
		t.Fatal("the same blocks again are not news")
	}
	// The sent ranges: 10000 bytes in one burst, SACKed as the scoreboard says.
	c.rack.init(0)
	c.rack.sent(0, 10000, 1, false)
	for i := 0; i < s.n; i++ {
		c.rack.split(s.r[i].left)
		c.rack.split(s.r[i].right)
	}
	for i := 0; i < c.rack.n; i++ {
		if r := &c.rack.r[i]; r.start == 2000 || r.start == 4000 {
			r.flags |= sentSACKed
		}
	}
	c.sack = s
	// Bytes 0-2000 have 4000 SACKed above: lost. 3000-4000 has 3000 above: lost.
	// 7000-10000 has none above: not lost.
	if !s.lost(c, 0) || !s.lost(c, 3000) || s.lost(c, 4000+2500) || s.lost(c, 7000) {
		t.Fatal("IsLost")
	}
	if p := s.pipe(c); p != 3000 {
		t.Fatalf("pipe %d, want the 3000 not lost", p)
	}
	s.highRxt = 0
	c.sack = s
	if seq, n := s.nextSeg(c); seq != 0 || n != 2000 {
		t.Fatalf("nextSeg %d %d", seq, n)
	}
	s.highRxt = 2000
	c.rack.sent(0, 2000, 2, true)
	c.sack = s
	if seq, n := s.nextSeg(c); seq != 3000 || n != 1000 {
		t.Fatalf("nextSeg after the first hole: %d %d", seq, n)
	}
	if p := s.pipe(c); p != 5000 {
		t.Fatalf("pipe with 2000 retransmitted: %d", p)
	}
	s.highRxt = 4000
	c.sndNxt = 10000
	if seq, n := s.nextSeg(c); seq != 10000 || n != 0 {
		t.Fatalf("nextSeg with no lost hole: %d %d (new data)", seq, n)
	}
	s.update(&wire.TCPOptions{}, 5000, 10000)
	if s.n != 1 || s.r[0] != (seqRange{5000, 7000}) {
		t.Fatalf("after una 5000: %v", s.r[:s.n])
	}
}

func TestConnTable(t *testing.T) {
	tb := newConnTable(7)
	conns := map[connKey]*Conn{}
	for i := range 1000 {
		k := keyOf(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), 80),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(1024+i%7)))
		c := &Conn{}
		tb.insert(k, c)
		conns[k] = c
	}
	n := 0
	for k, c := range conns {
		if tb.lookup(k) != c {
			t.Fatal("lookup")
		}
		if n%2 == 0 {
			tb.remove(k, c)
			if tb.lookup(k) != nil {
				t.Fatal("removed key found")
			}
			delete(conns, k)
		}
		n++
	}
	for k, c := range conns {
		if tb.lookup(k) != c {
			t.Fatal("lookup after removals")
		}
	}
	if tb.used != len(conns) {
		t.Fatalf("used %d, want %d", tb.used, len(conns))
	}
}

func TestCubic(t *testing.T) {
	const mss = 1000
	const rtt = int64(100e6)
	grow := func(alg CongestionAlgorithm, seconds float64) (cwnd float64, after float64) {
		var cc congestion
		cc.init(alg, mss)
		cc.cwnd, cc.ssthresh = 100*mss, 100*mss
		cc.wMax = 100
		cc.onLoss(100 * mss)
		cc.cwnd = cc.ssthresh
		after = float64(cc.cwnd) / mss
		now := int64(1e12)
		for end := now + int64(seconds*1e9); now < end; now += rtt {
			for range cc.cwnd / mss {
				cc.onAck(mss, now, rtt)
			}
		}
		return float64(cc.cwnd) / mss, after
	}
	k := math.Cbrt(100 * (1 - cubicBeta) / cubicC) // RFC 9438 eq. 2
	w, after := grow(CUBIC, k)
	if after != 70 || w < 95 || w > 106 {
		t.Fatalf("CUBIC: %v after the loss, %v at K=%.1fs, want ~100 (W_max)", after, w, k)
	}
	if w2, _ := grow(CUBIC, k/2); w2 < 85 || w2 > 100 {
		t.Fatalf("CUBIC at K/2: %v, want the concave approach (~%.0f)", w2, 100-cubicC*math.Pow(k/2, 3))
	}
	if w3, _ := grow(CUBIC, 2*k); w3 < 120 {
		t.Fatalf("CUBIC at 2K: %v, want convex probing past W_max", w3)
	}
	r, after := grow(NewReno, k)
	if after != 50 || math.Abs(r-(50+k*10)) > 2 {
		t.Fatalf("NewReno: %v after the loss, %v after %.1fs, want one segment per RTT", after, r, k)
	}
}

func TestCounterNames(t *testing.T) {
	seen := map[string]bool{}
	for c := Counter(0); c < NumCounters; c++ {
		n := c.String()
		if n == "" || seen[n] || bytes.ContainsAny([]byte(n), " _") {
			t.Fatalf("counter %d name %q", c, n)
		}
		seen[n] = true
	}
}

func TestTimerWheel(t *testing.T) {
	clock := &fakeClock{t: 1e12 + 123456}
	closedAt := map[*Conn]int64{}
	e := New(Config{Clock: clock, Output: &staging{}, SendBuffer: 1, RecvBuffer: 1,
		Notify: func(c *Conn, _ *Listener, ev Event) {
			if ev&EventClosed != 0 {
				closedAt[c] = clock.t
			}
		}})
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[*Conn]int64{}
	for i := range 3000 {
		k := keyOf(netip.MustParseAddrPort("10.0.0.1:80"), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 1000))
		c, err := e.newConn(k, netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.9.0.0:1000"))
		if err != nil {
			t.Fatal(err)
		}
		c.state = StateTimeWait
		e.addConn(c)
		// Deadlines from now to 5 s (several rotations); some moved later
		// or earlier after scheduling, as RTO re-arming does.
		c.closeAt = clock.t + rng.Int64N(5e9)
		e.schedule(c)
		switch i % 3 {
		case 1:
			c.closeAt += rng.Int64N(1e9)
		case 2:
			c.closeAt -= rng.Int64N(c.closeAt - clock.t + 1)
			e.schedule(c)
		}
		want[c] = c.closeAt
	}
	for clock.t < 1e12+7e9 {
		if i := rng.IntN(100); i == 0 {
			clock.t += 1500 * ms // a long gap: catch up
		} else {
			clock.t += rng.Int64N(2 * ms)
		}
		if d := e.NextDeadline(); d >= 0 && d < clock.t-2000*ms {
			t.Fatalf("NextDeadline %d far in the past", d)
		}
		e.Tick()
	}
	if e.Conns() != 0 {
		t.Fatalf("%d connections left", e.Conns())
	}
	late := int64(0)
	for c, at := range closedAt {
		if at < want[c] {
			t.Fatalf("timer ran %d ns early", want[c]-at)
		}
		late = max(late, at-want[c])
	}
	if late > 1600*ms {
		t.Fatalf("a timer ran %d ms late", late/ms)
	}
}

func TestTimerWheelPrecision(t *testing.T) {
	// Ticking every millisecond, a timer runs within a tick of its deadline.
	clock := &fakeClock{t: 5e12}
	var ranAt int64
	e := New(Config{Clock: clock, Output: &staging{}, SendBuffer: 1, RecvBuffer: 1,
		Notify: func(c *Conn, _ *Listener, ev Event) { ranAt = clock.t }})
	for _, d := range []int64{0, 1, ms / 2, ms, 7*ms + 3, 999 * ms, 1024 * ms, 3*1024*ms + 5} {
		k := keyOf(netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:1"))
		c, _ := e.newConn(k, netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:1"))
		c.state = StateTimeWait
		e.addConn(c)
		c.closeAt = clock.t + d
		due := c.closeAt
		e.schedule(c)
		ranAt = 0
		for ranAt == 0 {
			clock.t += ms / 4
			e.Tick()
		}
		if ranAt < due || ranAt > due+ms {
			t.Fatalf("deadline +%d: ran %d ns after it", d, ranAt-due)
		}
	}
}

func TestTimerWheelCount(t *testing.T) {
	l := newLink(t, 30, Config{})
	c, s, _ := l.connect(t, 80)
	c.Write(make([]byte, 100000))
	l.run(10e9, func() bool { return s.Readable() == 100000 }, nil)
	c.Close()
	s.Close()
	l.advance(100e9)
	for _, h := range l.hosts {
		n := 0
		for _, sl := range h.e.wheel.slots {
			n += len(sl)
		}
		if n != h.e.wheel.n || h.e.NextDeadline() != -1 || h.e.Conns() != 0 {
			t.Fatalf("wheel holds %d entries, counted %d; next %d", n, h.e.wheel.n, h.e.NextDeadline())
		}
	}
}
