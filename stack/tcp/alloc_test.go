package tcp

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// staging is an Output that keeps the segments sent in preallocated
// buffers until they are handed to the other engine.
type staging struct {
	bufs [256][2048]byte
	segs []Segment
}

func (s *staging) Buffer(n int) []byte { return s.bufs[len(s.segs)][:n] }
func (s *staging) Flush()              {}
func (s *staging) Send(src, dst netip.AddrPort, seg []byte) {
	if len(seg) > 0 {
		s.segs = append(s.segs, Segment{Src: src, Dst: dst, TCP: wire.TCP(seg)})
	}
}

// deliver hands what from staged to e and empties it.
func (s *staging) deliver(e *Engine) {
	if len(s.segs) > 0 {
		e.Input(s.segs)
	}
	s.segs = s.segs[:0]
}

// TestSteadyStateAllocs: no allocation per segment once a transfer runs,
// with SACK and timestamps or without, and with losses (every fifth
// round's second data segment is dropped: SACK recovery, RACK's sent
// ranges, loss marks and reordering timer, D-SACKs of the copies that
// arrive twice).
func TestSteadyStateAllocs(t *testing.T) {
	for i, cfg := range []Config{{}, {Congestion: NewReno, NoSACK: true, NoTimestamps: true}, {}} {
		lossy := i == 2
		clock := &fakeClock{t: 1e12}
		var out [2]staging
		for i := range out {
			out[i].segs = make([]Segment, 0, 64)
		}
		cfg.Clock = clock
		ca, cb := cfg, cfg
		ca.Output, cb.Output = &out[0], &out[1]
		a, b := New(ca), New(cb)
		ln, _ := b.Listen(netip.MustParseAddrPort("10.0.0.2:80"), 4)
		c, _ := a.Dial(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"))
		for range 3 {
			clock.t += ms
			out[0].deliver(b)
			out[1].deliver(a)
		}
		s, err := ln.Accept()
		if err != nil || c.State() != StateEstablished {
			t.Fatalf("handshake: %v %v", err, c.State())
		}
		data := make([]byte, 4*1448)
		rbuf := make([]byte, 64<<10)
		rounds := 0
		round := func() {
			clock.t += ms
			c.Write(data)
			if rounds++; lossy && rounds%5 == 0 && len(out[0].segs) > 1 {
				out[0].segs = append(out[0].segs[:1], out[0].segs[2:]...) // lose one
			}
			out[0].deliver(b) // data segments in, one ACK out
			s.Read(rbuf)
			out[1].deliver(a) // ACK in
			b.Tick()
			a.Tick()
		}
		for range 100 {
			round() // grow the window, the tables and the dirty lists
		}
		if n := testing.AllocsPerRun(200, round); n != 0 {
			t.Fatalf("%+v lossy %v: %v allocations per round", cfg.Congestion, lossy, n)
		}
		if lossy {
			e := a.Counters
			t.Logf("lossy: %d retransmits, %d fast, %d RACK lost, %d reordering timeouts, %d timeouts, %d D-SACKs",
				e[StatRetransmit], e[StatFastRetransmit], e[StatRACKLost], e[StatReorderTimeout], e[StatTimeout], e[StatDSACK])
			if e[StatRetransmit] == 0 || e[StatRACKLost] == 0 {
				t.Fatal("the lossy run did not go through RACK's recovery")
			}
			continue
		}
		if moved := c.sndUna.Sub(c.iss); moved < 290*len(data) {
			t.Fatalf("only %d bytes acknowledged", moved)
		}
	}
}

func BenchmarkSegment(b *testing.B) {
	clock := &fakeClock{t: 1e12}
	var out [2]staging
	cfg := Config{Clock: clock}
	ca, cb := cfg, cfg
	ca.Output, cb.Output = &out[0], &out[1]
	ea, eb := New(ca), New(cb)
	ln, _ := eb.Listen(netip.MustParseAddrPort("10.0.0.2:80"), 4)
	c, _ := ea.Dial(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"))
	for range 3 {
		out[0].deliver(eb)
		out[1].deliver(ea)
	}
	s, _ := ln.Accept()
	data := make([]byte, 16*1448)
	rbuf := make([]byte, 64<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		clock.t += ms
		c.Write(data)
		out[0].deliver(eb)
		s.Read(rbuf)
		out[1].deliver(ea)
	}
}

func TestStretchACKBound(t *testing.T) {
	clock := &fakeClock{t: 1e12}
	var out [2]staging
	cfg := Config{Clock: clock, NoTimestamps: true}
	ca, cb := cfg, cfg
	ca.Output, cb.Output = &out[0], &out[1]
	a, b := New(ca), New(cb)
	ln, _ := b.Listen(netip.MustParseAddrPort("10.0.0.2:80"), 4)
	c, _ := a.Dial(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"))
	for range 3 {
		out[0].deliver(b)
		out[1].deliver(a)
	}
	ln.Accept()
	// Grow cwnd past 64 KiB first.
	for range 4 {
		c.Write(make([]byte, 60<<10))
		out[0].deliver(b)
		out[1].deliver(a)
		b.all[0].Read(make([]byte, 1<<20))
	}
	c.Write(make([]byte, 100<<10))
	if len(out[0].segs) < 64 {
		t.Fatalf("only %d segments in the vector", len(out[0].segs))
	}
	out[0].segs = out[0].segs[:60] // 60 segments, ~85 KiB: one vector
	out[0].deliver(b)
	if n := len(out[1].segs); n != 2 {
		t.Fatalf("%d ACKs for 85 KiB in one vector, want 2 (one at 64 KiB, one at the end)", n)
	}
}
