package tcp

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// viewPipe is pipe with the reader on ReceiveView/Consume, consuming an
// odd-sized prefix of each view so the ring wraps and is rotated.
type viewPipe struct {
	pipe
	step int
}

func (p *viewPipe) pump() {
	for p.off < len(p.data) {
		n, err := p.w.Write(p.data[p.off:min(len(p.data), p.off+20000)])
		p.off += n
		if err != nil {
			break
		}
	}
	if p.off == len(p.data) && !p.closed {
		p.closed = true
		p.w.CloseWrite()
	}
	for !p.eof {
		v := p.r.ReceiveView()
		if len(v) == 0 {
			p.eof = p.r.ReceiveClosed()
			return
		}
		n := min(len(v), p.step)
		p.got.Write(v[:n])
		p.r.Consume(n)
	}
}

func TestReceiveViewTransfer(t *testing.T) {
	for _, tc := range []struct {
		name string
		loss float64
		step int
	}{{"clean-step-1000", 0, 1000}, {"loss2%-step-777", 0.02, 777}, {"loss2%-all", 0.02, 1 << 30}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(t, 11, Config{SendBuffer: 16 << 10, RecvBuffer: 10 << 10})
			c, s, _ := l.connect(t, 80)
			l.loss = tc.loss
			data := randomData(11, 1<<20)
			p := &viewPipe{pipe: pipe{w: c, r: s, data: data}, step: tc.step}
			if !l.run(600e9, p.done, p.pump) {
				t.Fatalf("transfer stalled at %d/%d bytes written, %d read", p.off, len(data), p.got.Len())
			}
			if sha256.Sum256(p.got.Bytes()) != sha256.Sum256(data) {
				t.Fatalf("received %d bytes, hash differs from the %d sent", p.got.Len(), len(data))
			}
			checkInvariants(t, s)
		})
	}
}

func TestByteRingRotate(t *testing.T) {
	r := newByteRing(10)
	r.write([]byte("0123456789"))
	r.discard(7)
	r.write([]byte("abcd"))       // wraps: 789abcd, head 7
	r.writeAt(r.len, []byte("X")) // written ahead (out of order) at offset 7
	r.rotate()
	if r.head != 0 || !bytes.Equal(r.buf[:8], []byte("789abcdX")) {
		t.Fatalf("rotated to head %d %q", r.head, r.buf)
	}
}

// TestTimeWaitReleasesBuffers: a server that closes first (HTTP's
// "Connection: close") keeps no buffer reserved in TIME-WAIT once all was
// read, so thousands of short connections within 2*MSL do not exhaust its
// budget; with data left unread the receive buffer stays.
func TestTimeWaitReleasesBuffers(t *testing.T) {
	for _, unread := range []bool{false, true} {
		l := newLink(t, 3, Config{})
		c, s, _ := l.connect(t, 80)
		if unread {
			c.Write([]byte("left unread"))
			l.run(1e9, func() bool { return s.Readable() > 0 }, nil)
			s.CloseWrite() // a half-close keeps the data readable
		} else {
			s.Close()
		}
		if !l.run(10e9, func() bool { return s.State() == StateTimeWait }, func() {
			if c.State() == StateCloseWait {
				c.Close()
			}
		}) {
			t.Fatalf("unread %v: server %v client %v, want TIME-WAIT", unread, s.State(), c.State())
		}
		want := 0
		if unread {
			want = len(s.rcv.buf)
		}
		if u := l.hosts[1].e.budget.Used(); u != want || want == 0 && len(s.rcv.buf) != 0 {
			t.Fatalf("unread %v: server budget %d in TIME-WAIT, want %d", unread, u, want)
		}
		l.advance(2*30e9 + 1)
		if u := l.hosts[1].e.budget.Used(); u != 0 || s.State() != StateClosed {
			t.Fatalf("unread %v: after 2MSL %v budget %d", unread, s.State(), u)
		}
	}
}

// TestBuffersReused: a closed connection's buffers serve the next
// connection (no allocation and zeroing of hundreds of KiB per
// connection), and the data through it is intact.
func TestBuffersReused(t *testing.T) {
	l := newLink(t, 5, Config{})
	c, s, _ := l.connect(t, 80)
	old := &s.rcv.buf[0]
	p := &pipe{w: c, r: s, data: randomData(5, 100000)}
	if !l.run(10e9, p.done, p.pump) || !bytes.Equal(p.got.Bytes(), p.data) {
		t.Fatal("first transfer")
	}
	s.Close()
	l.run(10e9, func() bool { return s.State() == StateTimeWait && c.State() == StateClosed }, func() {
		if c.State() == StateCloseWait {
			c.Close()
		}
	})
	l.advance(2*30e9 + 1)
	if u := l.hosts[1].e.budget.Used(); u != 0 || len(l.hosts[1].e.rcvPool.free) != 1 || len(l.hosts[1].e.sndPool.free) != 1 {
		t.Fatalf("budget %d, pooled %d/%d", u, len(l.hosts[1].e.rcvPool.free), len(l.hosts[1].e.sndPool.free))
	}
	c2, s2, _ := l.connect(t, 81)
	if &s2.rcv.buf[0] != old {
		t.Fatal("the second connection did not get the first one's receive buffer")
	}
	p = &pipe{w: c2, r: s2, data: randomData(6, 300000)}
	if !l.run(60e9, p.done, p.pump) || !bytes.Equal(p.got.Bytes(), p.data) {
		t.Fatalf("second transfer: %d of %d bytes", p.got.Len(), len(p.data))
	}
}
