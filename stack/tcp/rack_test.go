package tcp

import (
	"bytes"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// rackLink is a connection on a link of 10 ms RTT that has moved some
// data without faults, so that SRTT and RACK's minimum RTT are known.
type rackLink struct {
	*link
	c, s  *Conn
	seed  uint64
	limit int // transfer writes at most this many bytes until it is 0
}

func newRACKLink(t *testing.T, seed uint64) *rackLink {
	t.Helper()
	l := newLink(t, seed, Config{})
	c, s, _ := l.connect(t, 80)
	r := &rackLink{link: l, c: c, s: s, seed: seed}
	r.transfer(t, 30*c.smss(), nil)
	if c.SRTT() == 0 || c.rack.minRTT != 10*ms {
		t.Fatalf("after the warm-up: SRTT %d, RACK min RTT %d", c.SRTT(), c.rack.minRTT)
	}
	return r
}

// transfer writes n bytes from c to s and reads them, with extra (if set)
// called after every step; it returns the time until all was delivered
// and acknowledged.
func (r *rackLink) transfer(t *testing.T, n int, extra func()) int64 {
	t.Helper()
	r.seed++
	data := randomData(r.seed, n)
	start := r.clock.t
	done := 0
	got := make([]byte, 0, n)
	buf := make([]byte, 64<<10)
	if !r.run(10e9, func() bool {
		for done < len(data) {
			to := len(data)
			if r.limit > 0 {
				to = min(to, r.limit)
			}
			m, _ := r.c.Write(data[done:to])
			if m == 0 {
				break
			}
			done += m
		}
		for {
			m, _ := r.s.Read(buf)
			if m == 0 {
				break
			}
			got = append(got, buf[:m]...)
		}
		checkInvariants(t, r.c)
		return len(got) == len(data) && r.c.sndUna == r.c.sndMax
	}, extra) {
		t.Fatalf("not delivered: %d of %d bytes", len(got), len(data))
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
	return r.clock.t - start
}

// segAt returns the index of seg's payload in a burst of full segments
// that starts at base, or -1 (no payload, or not from the client).
func segAt(from int, seg wire.TCP, base Seq, mss int) int {
	if from != 0 || len(seg.Payload()) == 0 {
		return -1
	}
	return Seq(seg.Seq()).Sub(base) / mss
}

// counters returns the sender's counters now, to compare after.
func (r *rackLink) counters() [NumCounters]uint64 { return r.hosts[0].e.Counters }

// TestRACKTailLoss: the last three segments of a burst are lost. The tail
// loss probe (the last segment again) draws a SACK, and RACK marks the
// two segments sent before it lost (sent earlier, a round trip and the
// reordering window ago): a recovery repairs them in about three RTTs.
// Before RACK, one SACKed segment was below RFC 6675's DupThresh and the
// two waited for the RTO.
func TestRACKTailLoss(t *testing.T) {
	r := newRACKLink(t, 40)
	mss := r.c.smss()
	base := r.c.sndMax
	dropped := map[int]bool{}
	r.drop = func(from int, seg wire.TCP) bool {
		if i := segAt(from, seg, base, mss); i >= 7 && !dropped[i] {
			dropped[i] = true
			return true
		}
		return false
	}
	before := r.counters()
	took := r.transfer(t, 10*mss, nil)
	after := r.counters()
	d := func(k Counter) uint64 { return after[k] - before[k] }
	t.Logf("delivered in %d ms: probes %d, RACK lost %d, retransmits %d, timeouts %d", took/ms,
		d(StatTailLossProbe), d(StatRACKLost), d(StatRetransmit), d(StatTimeout))
	if len(dropped) != 3 || d(StatTailLossProbe) != 1 || d(StatRACKLost) == 0 || d(StatTimeout) != 0 || took >= r.c.e.cfg.MinRTO {
		t.Fatalf("dropped %d: want one probe, RACK's loss marks and no timeout, delivered before the minimum RTO", len(dropped))
	}
}

// TestRACKReorderTimerLostRetransmission: after reordering was seen (so
// the reordering window is a quarter of the minimum RTT), a segment is
// lost, and so is its fast retransmission; the last new data, sent with
// that retransmission, is SACKed a round trip later, within the
// window, and nothing follows it. The reordering timer marks the
// retransmission lost when the window has passed and it goes a third
// time. The old rule (SACK of later data a quarter RTT after the
// retransmission) had no ACK left to run on: the RTO did it.
func TestRACKReorderTimerLostRetransmission(t *testing.T) {
	r := newRACKLink(t, 41)
	mss := r.c.smss()
	// Reordering within the window: the second of three segments is 1 ms late.
	base := r.c.sndMax
	r.hold = func(from int, seg wire.TCP) int64 {
		if segAt(from, seg, base, mss) == 1 {
			return ms
		}
		return 0
	}
	r.transfer(t, 3*mss, nil)
	r.hold = nil
	if !r.c.rack.reordering {
		t.Fatal("reordering not seen")
	}
	base = r.c.sndMax
	drops := 0
	r.drop = func(from int, seg wire.TCP) bool {
		if segAt(from, seg, base, mss) == 4 && drops < 2 {
			drops++
			return true
		}
		return false
	}
	before := r.counters()
	more := false
	r.limit = 12 * mss
	took := r.transfer(t, 14*mss, func() {
		if r.c.inRecovery && !more {
			more = true
			r.limit = 0 // two segments of new data right after the retransmission, then no more
		}
	})
	after := r.counters()
	d := func(k Counter) uint64 { return after[k] - before[k] }
	t.Logf("delivered in %d ms: reordering timeouts %d, lost retransmissions %d, retransmits %d, timeouts %d",
		took/ms, d(StatReorderTimeout), d(StatLostRetransmit), d(StatRetransmit), d(StatTimeout))
	if drops != 2 || !more || d(StatReorderTimeout) == 0 || d(StatLostRetransmit) == 0 || d(StatTimeout) != 0 || took >= r.c.e.cfg.MinRTO {
		t.Fatalf("drops %d, more %v: want the lost retransmission found by the reordering timer, no timeout", drops, more)
	}
}

// TestRACKReorderWithinWindow: a segment delivered 1 ms late (the
// reordering window is 2.5 ms: a quarter of the 10 ms RTT) is not
// retransmitted; the reordering is noticed.
func TestRACKReorderWithinWindow(t *testing.T) {
	r := newRACKLink(t, 42)
	mss := r.c.smss()
	base := r.c.sndMax
	r.hold = func(from int, seg wire.TCP) int64 {
		if segAt(from, seg, base, mss) == 8 {
			return ms
		}
		return 0
	}
	before := r.counters()
	r.transfer(t, 10*mss, nil)
	after := r.counters()
	if n := after[StatRetransmit] - before[StatRetransmit]; n != 0 || after[StatFastRetransmit] != before[StatFastRetransmit] {
		t.Fatalf("%d spurious retransmissions", n)
	}
	if !r.c.rack.reordering {
		t.Fatal("reordering not seen")
	}
}

// TestRACKLossBeyondWindow: the second to last segment of a burst is
// lost; the last is SACKed. With one segment SACKed (below DupThresh) the
// reordering timer marks the hole lost once the window passed since it
// was sent, and it is resent before the tail loss probe would go. Before
// RACK the probe's SACK was again one segment, and the RTO resent it.
func TestRACKLossBeyondWindow(t *testing.T) {
	r := newRACKLink(t, 43)
	mss := r.c.smss()
	base := r.c.sndMax
	dropped := false
	r.drop = func(from int, seg wire.TCP) bool {
		if segAt(from, seg, base, mss) == 8 && !dropped {
			dropped = true
			return true
		}
		return false
	}
	before := r.counters()
	took := r.transfer(t, 10*mss, nil)
	after := r.counters()
	d := func(k Counter) uint64 { return after[k] - before[k] }
	t.Logf("delivered in %d ms: reordering timeouts %d, RACK lost %d, probes %d, timeouts %d", took/ms,
		d(StatReorderTimeout), d(StatRACKLost), d(StatTailLossProbe), d(StatTimeout))
	if !dropped || d(StatReorderTimeout) == 0 || d(StatRACKLost) == 0 || d(StatTailLossProbe) != 0 || d(StatTimeout) != 0 ||
		took > 2*r.c.SRTT()+r.c.SRTT()/2 {
		t.Fatal("want the hole resent by the reordering timer within 2.5 RTTs, no probe, no timeout")
	}
}

// TestRACKDSACKWidensWindow: a segment 4 ms late is past the 2.5 ms
// window: it is retransmitted (spuriously), the receiver reports the
// copy it got twice with a D-SACK (RFC 2883), and the sender doubles the
// reordering window (RFC 8985 section 6.2 step 4), so the same delay next
// time causes no retransmission.
func TestRACKDSACKWidensWindow(t *testing.T) {
	r := newRACKLink(t, 44)
	mss := r.c.smss()
	round := func() uint64 {
		base := r.c.sndMax
		r.hold = func(from int, seg wire.TCP) int64 {
			if segAt(from, seg, base, mss) == 8 {
				return 4 * ms
			}
			return 0
		}
		before := r.counters()
		r.transfer(t, 10*mss, nil)
		// Let the D-SACK of the retransmitted copy come back.
		r.advance(3 * r.c.SRTT())
		return r.counters()[StatRetransmit] - before[StatRetransmit]
	}
	first := round()
	e := r.hosts[0].e
	if first != 1 || e.Counters[StatDSACK] != 1 || r.c.rack.reoMult != 2 {
		t.Fatalf("first round: %d retransmissions, %d D-SACKs, window multiplier %d; want 1, 1, 2", first,
			e.Counters[StatDSACK], r.c.rack.reoMult)
	}
	if second := round(); second != 0 {
		t.Fatalf("second round: %d retransmissions with the window widened", second)
	}
}

// TestDSACKReport: data received twice is reported in the first SACK
// block of the answer (RFC 2883 section 4): a segment below rcvNxt, and
// out-of-order data already held (the block holding it comes second).
// With NoDSACK nothing is reported.
func TestDSACKReport(t *testing.T) {
	for _, off := range []bool{false, true} {
		frozenCfg = Config{NoTimestamps: true, NoDSACK: off}
		l, c := inEstablished(t)
		frozenCfg = Config{NoTimestamps: true}
		l.record = true
		answer := func(seq Seq) wire.TCPOptions {
			t.Helper()
			sent := l.inject(c, segFields{seq: seq, ack: c.sndUna, flags: flagACK, wnd: 1000, payload: make([]byte, 100)})
			if len(sent) == 0 {
				t.Fatalf("NoDSACK %v: no answer to the segment at %d", off, seq)
			}
			var o wire.TCPOptions
			if !wire.ParseTCPOptions(sent[len(sent)-1].Options(), &o) {
				t.Fatal("bad options")
			}
			return o
		}
		old := c.rcvNxt
		l.inject(c, segFields{seq: old, ack: c.sndUna, flags: flagACK, wnd: 1000, payload: make([]byte, 100)})
		dup := wire.SACKBlock{Left: uint32(old), Right: uint32(old + 100)}
		if o := answer(old); !off && (o.NSACK != 1 || o.SACK[0] != dup) || off && o.NSACK != 0 {
			t.Fatalf("NoDSACK %v: duplicate below rcvNxt answered with SACK blocks %v", off, o.SACK[:o.NSACK])
		}
		ahead := c.rcvNxt.Add(1000)
		held := wire.SACKBlock{Left: uint32(ahead), Right: uint32(ahead + 100)}
		if o := answer(ahead); o.NSACK != 1 || o.SACK[0] != held {
			t.Fatalf("NoDSACK %v: out-of-order segment answered with %v", off, o.SACK[:o.NSACK])
		}
		if o := answer(ahead); !off && (o.NSACK != 2 || o.SACK[0] != held || o.SACK[1] != held) || off && (o.NSACK != 1 || o.SACK[0] != held) {
			t.Fatalf("NoDSACK %v: out-of-order duplicate answered with %v", off, o.SACK[:o.NSACK])
		}
	}
}
