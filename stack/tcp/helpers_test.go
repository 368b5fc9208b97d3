package tcp

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// segFields describes a crafted segment.
type segFields struct {
	seq, ack Seq
	flags    uint8
	wnd      uint16
	opts     *wire.TCPOptions
	payload  []byte
}

// makeSeg builds a segment from src to dst with a valid checksum.
func makeSeg(src, dst netip.AddrPort, f segFields) Segment {
	ol := 0
	if f.opts != nil {
		ol = wire.TCPOptionsLen(f.opts)
	}
	hl := wire.TCPMinLen + ol
	b := make([]byte, hl+len(f.payload))
	t := wire.TCP(b)
	t.Encode(&wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: uint32(f.seq), Ack: uint32(f.ack),
		DataOffset: uint8(hl / 4), Flags: f.flags, Window: f.wnd})
	if f.opts != nil {
		wire.PutTCPOptions(b[wire.TCPMinLen:], f.opts)
	}
	copy(b[hl:], f.payload)
	t.SetChecksum(t.ComputeChecksum(src.Addr().As4(), dst.Addr().As4(), uint16(len(b))))
	return Segment{Src: src, Dst: dst, TCP: t}
}

// inject hands c's engine a crafted segment from c's peer and returns the
// segments c's host sent in answer.
func (l *link) inject(c *Conn, f segFields) []wire.TCP {
	h := l.hostOf(c.e)
	before := len(h.sent)
	c.e.Input([]Segment{makeSeg(c.remote, c.local, f)})
	return h.sent[before:]
}

func (l *link) hostOf(e *Engine) *host {
	for _, h := range l.hosts {
		if h.e == e {
			return h
		}
	}
	panic("no host")
}

// serverConn returns the one connection of host i's engine other than except.
func (l *link) serverConn(t testing.TB, i int) *Conn {
	t.Helper()
	for _, c := range l.hosts[i].e.all {
		return c
	}
	t.Fatal("no connection")
	return nil
}

// blackhole drops everything from now on (what is in flight too).
func (l *link) blackhole() {
	l.drop = func(int, wire.TCP) bool { return true }
	l.q = l.q[:0]
}

// checkInvariants fails t when c's state is inconsistent.
func checkInvariants(t testing.TB, c *Conn) {
	t.Helper()
	if c.state > StateTimeWait {
		t.Fatalf("state %d", c.state)
	}
	if c.state == StateClosed {
		if c.allIndex >= 0 || c.e.conns.lookup(c.key) == c {
			t.Fatalf("closed connection still in the table")
		}
		return
	}
	if c.e.conns.lookup(c.key) != c || c.e.all[c.allIndex] != c {
		t.Fatalf("%v connection not in the table", c.state)
	}
	if c.sndUna.GT(c.sndNxt) || c.sndNxt.GT(c.sndMax) {
		t.Fatalf("una %d nxt %d max %d", c.sndUna, c.sndNxt, c.sndMax)
	}
	if c.snd.len < 0 || c.snd.len > len(c.snd.buf) || c.rcv.len < 0 || c.rcv.len > len(c.rcv.buf) {
		t.Fatalf("ring lengths %d/%d %d/%d", c.snd.len, len(c.snd.buf), c.rcv.len, len(c.rcv.buf))
	}
	if c.state >= StateEstablished && c.sndBase.Add(c.snd.len).GT(c.sndMax) && c.sndBase.GT(c.sndUna) {
		t.Fatalf("send base %d past una %d", c.sndBase, c.sndUna)
	}
	for i := 0; i < c.ooo.n; i++ {
		r := c.ooo.r[i]
		if !r.left.LT(r.right) || !r.left.GT(c.rcvNxt) || (i > 0 && !c.ooo.r[i-1].right.LT(r.left)) {
			t.Fatalf("out-of-order ranges %v above rcvNxt %d", c.ooo.r[:c.ooo.n], c.rcvNxt)
		}
		if r.right.Sub(c.rcvNxt)+c.rcv.len > len(c.rcv.buf) {
			t.Fatalf("out-of-order range %v beyond the buffer", r)
		}
	}
	k := &c.rack
	for i := 0; i < k.n; i++ {
		r := k.r[i]
		if !r.start.LT(r.end) || r.start.LT(c.sndUna) || r.end.GT(c.sndMax) || i > 0 && k.r[i-1].end.GT(r.start) {
			t.Fatalf("sent ranges %v outside [una %d, max %d] or unsorted", k.r[:k.n], c.sndUna, c.sndMax)
		}
	}
	if c.cc.cwnd < c.cc.mss || c.e.budget.used < 0 {
		t.Fatalf("cwnd %d mss %d budget %d", c.cc.cwnd, c.cc.mss, c.e.budget.used)
	}
}
