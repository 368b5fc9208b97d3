package tcp

import (
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// quoteOf is what an ICMP error about c's segment with sequence number seq
// quotes: the IP header (total length n for IPv4) and the first 8 bytes
// of the TCP header.
func quoteOf(c *Conn, seq Seq, n int) []byte {
	var q []byte
	if c.v6 {
		q = make([]byte, wire.IPv6Len+8)
		q[0], q[6] = 6<<4, wire.IPProtoTCP
		la, ra := c.local.Addr().As16(), c.remote.Addr().As16()
		copy(q[8:24], la[:])
		copy(q[24:40], ra[:])
	} else {
		q = make([]byte, wire.IPv4MinLen+8)
		q[0], q[9] = 0x45, wire.IPProtoTCP
		binary.BigEndian.PutUint16(q[2:4], uint16(n))
		la, ra := c.local.Addr().As4(), c.remote.Addr().As4()
		copy(q[12:16], la[:])
		copy(q[16:20], ra[:])
	}
	th := q[len(q)-8:]
	binary.BigEndian.PutUint16(th[0:2], c.local.Port())
	binary.BigEndian.PutUint16(th[2:4], c.remote.Port())
	binary.BigEndian.PutUint32(th[4:8], uint32(seq))
	return q
}

// busy is an established connection (IPv6 when v6) with 4000 bytes in
// flight on a blackholed link.
func busy(t *testing.T, v6 bool) (*link, *Conn, *Conn) {
	l := newLink(t, 81, Config{})
	if v6 {
		l = newLink6(t, 81, Config{})
	}
	l.record = true
	c, s, _ := l.connect(t, 80)
	l.blackhole()
	c.SetNoDelay(true)
	if n, _ := c.Write(make([]byte, 4000)); n != 4000 || c.sndMax.Sub(c.sndUna) != 4000 {
		t.Fatalf("wrote %d, in flight %d", n, c.sndMax.Sub(c.sndUna))
	}
	return l, c, s
}

// TestICMPPathMTU: a fragmentation needed (IPv4) or packet too big (IPv6)
// quoting data in flight lowers the MSS and resends the flight in the new
// size; one quoting a sequence number outside SND.UNA..SND.NXT, an MTU
// below the family's minimum or not below the path MTU changes nothing
// and is counted.
func TestICMPPathMTU(t *testing.T) {
	tests := []struct {
		name    string
		v6      bool
		seq     int // relative to SND.UNA
		mtu     int
		total   int // the quoted datagram's length (for mtu 0)
		applied bool
		mss     int     // after
		counter Counter // moved by one
	}{
		{"v4 frag needed", false, 0, 1000, 1500, true, 960, StatPMTU},
		{"v4 frag needed for a later segment", false, 2000, 1280, 1500, true, 1240, StatPMTU},
		{"v4 no next-hop MTU: plateau below 1500", false, 0, 0, 1500, true, 1452, StatPMTU},
		{"v4 no next-hop MTU: plateau below 1006 is under 576", false, 0, 0, 1006, false, 1460, ErrPMTUIgnored},
		{"v4 sequence below SND.UNA", false, -1, 1000, 1500, false, 1460, ErrICMPBadSeq},
		{"v4 sequence at SND.NXT", false, 4000, 1000, 1500, false, 1460, ErrICMPBadSeq},
		{"v4 sequence far off", false, 1 << 30, 1000, 1500, false, 1460, ErrICMPBadSeq},
		{"v4 MTU below 576", false, 0, 575, 1500, false, 1460, ErrPMTUIgnored},
		{"v4 MTU equal to the path's", false, 0, 1500, 1500, false, 1460, ErrPMTUIgnored},
		{"v4 MTU above the path's", false, 0, 9000, 1500, false, 1460, ErrPMTUIgnored},
		{"v6 packet too big", true, 0, 1280, 0, true, 1220, StatPMTU},
		{"v6 packet too big 1400", true, 1000, 1400, 0, true, 1340, StatPMTU},
		{"v6 MTU below 1280", true, 0, 1279, 0, false, 1440, ErrPMTUIgnored},
		{"v6 MTU 0", true, 0, 0, 0, false, 1440, ErrPMTUIgnored},
		{"v6 sequence outside", true, -10, 1280, 0, false, 1440, ErrICMPBadSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, c, s := busy(t, tt.v6)
			e := l.hosts[0].e
			before := e.Counters
			sent := len(l.hosts[0].sent)
			got := e.ICMPError(quoteOf(c, c.sndUna.Add(tt.seq), tt.total), ICMPPacketTooBig, tt.mtu)
			if got != tt.applied || c.MSS() != tt.mss {
				t.Fatalf("applied %v mss %d, want %v %d", got, c.MSS(), tt.applied, tt.mss)
			}
			for k := range e.Counters {
				want := before[k]
				if Counter(k) == tt.counter {
					want++
				}
				if Counter(k) == StatRetransmit && tt.applied {
					continue // the flight resent
				}
				if e.Counters[k] != want {
					t.Fatalf("counter %v: %d, want %d", Counter(k), e.Counters[k], want)
				}
			}
			if c.State() != StateEstablished {
				t.Fatalf("state %v", c.State())
			}
			if !tt.applied {
				if n := len(l.hosts[0].sent) - sent; n != 0 {
					t.Fatalf("%d segments sent after an ignored error", n)
				}
				return
			}
			// The flight went out again at once, in the new size.
			resent := l.hosts[0].sent[sent:]
			if len(resent) == 0 {
				t.Fatal("nothing resent")
			}
			ipHdr, pathMTU := 20, tt.mss+40
			if tt.v6 {
				ipHdr, pathMTU = 40, tt.mss+60
			}
			for _, seg := range resent {
				if len(seg)+ipHdr > pathMTU {
					t.Fatalf("packet of %d bytes after a path MTU of %d", len(seg)+ipHdr, pathMTU)
				}
			}
			l.drop = nil
			if !l.run(10e9, func() bool { return s.Readable() == 4000 && c.sndUna == c.sndMax }, nil) {
				t.Fatal("data not delivered after the MTU drop")
			}
			checkInvariants(t, c)
		})
	}
}

// TestICMPUnreachable: port or protocol unreachable aborts a connect
// (SYN-SENT) at once; host and net unreachable do not, but become the
// error of the connect's timeout; in ESTABLISHED no unreachable aborts,
// and the last one is the error of an RTO give-up unless data was
// acknowledged since. Quotes outside SND.UNA..SND.NXT are counted and
// ignored.
func TestICMPUnreachable(t *testing.T) {
	tests := []struct {
		name        string
		synSent     bool
		kind        ICMPKind
		seq         int  // relative to SND.UNA
		ackedSince  bool // data acknowledged after the error
		applied     bool
		abortAtOnce bool
		err         error // the connection's error in the end
		counter     Counter
	}{
		{"connect: port unreachable", true, ICMPPortUnreachable, 0, false, true, true, ErrRefused, StatICMPAbort},
		{"connect: protocol unreachable", true, ICMPProtoUnreachable, 0, false, true, true, ErrProtoUnreachable, StatICMPAbort},
		{"connect: host unreachable", true, ICMPHostUnreachable, 0, false, true, false, ErrHostUnreachable, StatICMPSoftError},
		{"connect: net unreachable", true, ICMPNetUnreachable, 0, false, true, false, ErrNetUnreachable, StatICMPSoftError},
		{"connect: prohibited", true, ICMPProhibited, 0, false, true, false, ErrProhibited, StatICMPSoftError},
		{"connect: port unreachable, bad sequence", true, ICMPPortUnreachable, 1, false, false, false, ErrTimeout, ErrICMPBadSeq},
		{"connect: host unreachable, bad sequence", true, ICMPHostUnreachable, -1, false, false, false, ErrTimeout, ErrICMPBadSeq},
		{"established: port unreachable", false, ICMPPortUnreachable, 0, false, true, false, ErrRefused, StatICMPSoftError},
		{"established: host unreachable", false, ICMPHostUnreachable, 100, false, true, false, ErrHostUnreachable, StatICMPSoftError},
		{"established: net unreachable", false, ICMPNetUnreachable, 3999, false, true, false, ErrNetUnreachable, StatICMPSoftError},
		{"established: net unreachable, then data acknowledged", false, ICMPNetUnreachable, 0, true, true, false, ErrTimeout, StatICMPSoftError},
		{"established: bad sequence", false, ICMPHostUnreachable, 4000, false, false, false, ErrTimeout, ErrICMPBadSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l *link
			var c *Conn
			if tt.synSent {
				l = newLink(t, 82, Config{})
				l.blackhole()
				var err error
				if c, err = l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80)); err != nil {
					t.Fatal(err)
				}
			} else {
				l, c, _ = busy(t, false)
			}
			e := l.hosts[0].e
			before := e.Counters[tt.counter]
			if got := e.ICMPError(quoteOf(c, c.sndUna.Add(tt.seq), 40), tt.kind, 0); got != tt.applied {
				t.Fatalf("applied %v, want %v", got, tt.applied)
			}
			if e.Counters[tt.counter] != before+1 {
				t.Fatalf("counter %v: %d, want %d", tt.counter, e.Counters[tt.counter], before+1)
			}
			if closed := c.State() == StateClosed; closed != tt.abortAtOnce {
				t.Fatalf("state %v after the error", c.State())
			}
			if tt.ackedSince {
				l.drop = nil
				if !l.run(10e9, func() bool { return c.sndUna == c.sndMax }, nil) {
					t.Fatal("data not acknowledged")
				}
				l.blackhole()
				c.Write([]byte("more"))
			}
			if !l.run(3000e9, func() bool { return c.State() == StateClosed }, nil) {
				t.Fatalf("still %v", c.State())
			}
			if c.Err() != tt.err {
				t.Fatalf("error %v, want %v", c.Err(), tt.err)
			}
		})
	}
}

// TestICMPErrorNoConnection: a quote about no connection of the engine,
// or one it cannot read, is not applied; the unreadable one is counted.
func TestICMPErrorNoConnection(t *testing.T) {
	l, c, _ := busy(t, false)
	e := l.hosts[0].e
	q := quoteOf(c, c.sndUna, 40)
	binary.BigEndian.PutUint16(q[22:24], 81) // another remote port
	if e.ICMPError(q, ICMPPortUnreachable, 0) {
		t.Fatal("applied to no connection")
	}
	for _, q := range [][]byte{nil, {0x45}, quoteOf(c, c.sndUna, 40)[:27], append([]byte{0x46}, quoteOf(c, c.sndUna, 40)[1:]...),
		func() []byte { q := quoteOf(c, c.sndUna, 40); q[9] = wire.IPProtoUDP; return q }()} {
		before := e.Counters[ErrICMPBadQuote]
		if e.ICMPError(q, ICMPPacketTooBig, 1000) || e.Counters[ErrICMPBadQuote] != before+1 {
			t.Fatalf("quote % x: applied or not counted", q)
		}
	}
	if c.State() != StateEstablished || c.MSS() != 1460 {
		t.Fatalf("state %v mss %d", c.State(), c.MSS())
	}
}

// FuzzICMPError hands ICMPError arbitrary quoted bytes (as the ICMP
// messages' payload is, a router's or an attacker's) of every kind, to an
// engine with a connection in each state: it never panics, the
// connection's invariants hold, and the connection then still completes
// its timers.
func FuzzICMPError(f *testing.F) {
	l := newLink(f, 83, Config{})
	c, _, _ := l.connect(f, 80)
	l6 := newLink6(f, 83, Config{})
	c6, _, _ := l6.connect(f, 80)
	q4, q6 := quoteOf(c, c.sndUna, 1500), quoteOf(c6, c6.sndUna, 0)
	for k := range ICMPPacketTooBig + 1 {
		f.Add(uint8(0), uint8(k), uint16(1000), q4)
		f.Add(uint8(3), uint8(k), uint16(0), q4)
		f.Add(uint8(9), uint8(k), uint16(1280), q6)
	}
	f.Add(uint8(0), uint8(ICMPPacketTooBig), uint16(1280), []byte{0x60, 0, 0, 0, 0, 0, 6, 64})
	f.Add(uint8(0), uint8(ICMPPacketTooBig), uint16(0), q4[:27])
	f.Add(uint8(0), uint8(ICMPPacketTooBig), uint16(0), append([]byte{0x4f}, q4[1:]...))
	f.Fuzz(func(t *testing.T, st, kind uint8, mtu uint16, quote []byte) {
		if len(quote) > 200 {
			return
		}
		l, c := fuzzStates[int(st)%len(fuzzStates)](t)
		// Aim the quote at c: the fuzzer's bytes, with c's 4-tuple where
		// they have room for it, so that the checks past the lookup run.
		q := append([]byte(nil), quote...)
		if len(q) >= 28 && q[0]>>4 == 4 {
			ref := quoteOf(c, 0, 0)
			copy(q[12:20], ref[12:20])
			if ihl := int(q[0]&0xf) * 4; ihl >= 20 && len(q) >= ihl+4 {
				copy(q[ihl:ihl+4], ref[20:24])
			}
		}
		c.e.ICMPError(q, ICMPKind(kind), int(mtu))
		checkInvariants(t, c)
		l.advance(200e9)
		checkInvariants(t, c)
	})
}

// TestICMPErrorAllocs: applying an ICMP error allocates nothing.
func TestICMPErrorAllocs(t *testing.T) {
	l, c, _ := busy(t, false)
	e := l.hosts[0].e
	bad := quoteOf(c, c.sndUna.Add(-1), 1500)
	soft := quoteOf(c, c.sndUna, 1500)
	if n := testing.AllocsPerRun(100, func() {
		e.ICMPError(bad, ICMPPacketTooBig, 1000)
		e.ICMPError(soft, ICMPHostUnreachable, 0)
		e.ICMPError(soft, ICMPPacketTooBig, 9000)
	}); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}
