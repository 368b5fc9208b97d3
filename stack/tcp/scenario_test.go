package tcp

import (
	"bytes"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

func readAll(c *Conn) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil || n == 0 {
			return out, err
		}
	}
}

func TestHalfClose(t *testing.T) {
	l := newLink(t, 11, Config{})
	c, s, _ := l.connect(t, 80)
	c.Write([]byte("request"))
	c.CloseWrite()
	var got []byte
	eof := false
	if !l.run(10e9, func() bool { return eof }, func() {
		b, err := readAll(s)
		got = append(got, b...)
		eof = eof || err == nil
	}) || !l.run(10e9, func() bool { return c.State() == StateFinWait2 }, nil) {
		t.Fatal("no end of stream at the server")
	}
	if string(got) != "request" || s.State() != StateCloseWait || c.State() != StateFinWait2 {
		t.Fatalf("got %q, server %v, client %v", got, s.State(), c.State())
	}
	// The half-closed client still reads what the server sends.
	reply := bytes.Repeat([]byte("reply "), 50000)
	p := &pipe{w: s, r: c, data: reply}
	if !l.run(60e9, p.done, p.pump) || p.err != nil || !bytes.Equal(p.got.Bytes(), reply) {
		t.Fatalf("reply: %d of %d bytes, err %v", p.got.Len(), len(reply), p.err)
	}
	if !l.run(10e9, func() bool { return s.State() == StateClosed && c.State() == StateTimeWait }, nil) {
		t.Fatalf("server %v client %v, want CLOSED and TIME-WAIT", s.State(), c.State())
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write after CloseWrite succeeded")
	}
	l.advance(2*30e9 + 1)
	if c.State() != StateClosed || c.Err() != nil || l.hosts[0].e.Conns() != 0 || l.hosts[1].e.Conns() != 0 {
		t.Fatalf("after 2MSL: client %v err %v, conns %d %d", c.State(), c.Err(), l.hosts[0].e.Conns(), l.hosts[1].e.Conns())
	}
	if l.hosts[0].e.budget.Used() != 0 || l.hosts[1].e.budget.Used() != 0 {
		t.Fatal("budget not returned")
	}
}

func TestSimultaneousOpenAndClose(t *testing.T) {
	l := newLink(t, 12, Config{})
	l.record = true
	a, err := l.hosts[0].e.Dial(l.ap(0, 5000), l.ap(1, 6000))
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.hosts[1].e.Dial(l.ap(1, 6000), l.ap(0, 5000))
	if err != nil {
		t.Fatal(err)
	}
	if !l.run(10e9, func() bool { return a.State() == StateEstablished && b.State() == StateEstablished }, nil) {
		t.Fatalf("states %v %v", a.State(), b.State())
	}
	// Each side sent SYN, then SYN-ACK.
	for i, h := range l.hosts {
		if len(h.sent) < 2 || h.sent[0].Flags() != flagSYN || h.sent[1].Flags() != flagSYN|flagACK {
			t.Fatalf("host %d did not go through SYN-RECEIVED", i)
		}
	}
	a.Write([]byte("ping"))
	b.Write([]byte("pong"))
	var ga, gb []byte
	l.run(10e9, func() bool { return len(ga) == 4 && len(gb) == 4 }, func() {
		x, _ := readAll(a)
		ga = append(ga, x...)
		y, _ := readAll(b)
		gb = append(gb, y...)
	})
	if string(ga) != "pong" || string(gb) != "ping" {
		t.Fatalf("got %q %q", ga, gb)
	}
	// Simultaneous close: both FINs cross, both go through CLOSING.
	a.CloseWrite()
	b.CloseWrite()
	sawClosing := false
	if !l.run(10e9, func() bool { return a.State() == StateTimeWait && b.State() == StateTimeWait }, func() {
		sawClosing = sawClosing || a.State() == StateClosing || b.State() == StateClosing
	}) {
		t.Fatalf("states %v %v, want TIME-WAIT both", a.State(), b.State())
	}
	if !sawClosing {
		t.Fatal("no side went through CLOSING")
	}
}

func TestRefusedAndReset(t *testing.T) {
	l := newLink(t, 13, Config{})
	c, _ := l.hosts[0].e.Dial(l.ap(0, 40001), l.ap(1, 9))
	if !l.run(10e9, func() bool { return c.State() == StateClosed }, nil) || c.Err() != ErrRefused {
		t.Fatalf("dial to a closed port: %v %v", c.State(), c.Err())
	}
	if l.hosts[1].e.Counters[ErrNoConnection] != 1 {
		t.Fatal("no-connection not counted")
	}
	// Abort: the peer sees a reset.
	c, s, _ := l.connect(t, 80)
	c.Abort()
	if !l.run(10e9, func() bool { return s.State() == StateClosed }, nil) || s.Err() != ErrReset || c.Err() != ErrAborted {
		t.Fatalf("abort: server %v %v, client %v", s.State(), s.Err(), c.Err())
	}
	if _, err := s.Read(make([]byte, 10)); err != ErrReset {
		t.Fatalf("read after reset: %v", err)
	}
	// Close with unread data resets (RFC 2525).
	l2 := newLink(t, 14, Config{})
	c, s, _ = l2.connect(t, 80)
	c.Write([]byte("unread"))
	l2.run(10e9, func() bool { return s.Readable() > 0 }, nil)
	s.Close()
	if !l2.run(10e9, func() bool { return c.State() == StateClosed }, nil) || c.Err() != ErrReset {
		t.Fatalf("close with unread data: client %v %v", c.State(), c.Err())
	}
	// Linger zero: Close resets.
	l3 := newLink(t, 15, Config{})
	c, s, _ = l3.connect(t, 80)
	c.SetLingerZero(true)
	c.Close()
	if !l3.run(10e9, func() bool { return s.State() == StateClosed }, nil) || s.Err() != ErrReset {
		t.Fatalf("linger zero: server %v %v", s.State(), s.Err())
	}
}

func TestChallengeACKRateLimit(t *testing.T) {
	l := newLink(t, 16, Config{NoTimestamps: true, ChallengeACKLimit: 5})
	l.record = true
	c, _, _ := l.connect(t, 80)
	l.blackhole()
	for range 20 {
		l.inject(c, segFields{seq: c.rcvNxt.Add(10), flags: flagRST})
	}
	e := l.hosts[0].e
	if e.Counters[StatChallengeACK] != 5 || e.Counters[ErrChallengeACKLimited] != 15 || c.State() != StateEstablished {
		t.Fatalf("challenge %d limited %d state %v", e.Counters[StatChallengeACK], e.Counters[ErrChallengeACKLimited], c.State())
	}
	l.clock.t += 1e9
	if sent := l.inject(c, segFields{seq: c.rcvNxt, ack: c.sndMax, flags: flagSYN}); len(sent) != 1 || sent[0].Flags() != flagACK {
		t.Fatal("no challenge ACK a second later")
	}
}

func TestTimeWaitReuse(t *testing.T) {
	for _, ts := range []bool{true, false} {
		l := newLink(t, 17, Config{NoTimestamps: !ts})
		ln, _ := l.hosts[1].e.Listen(l.ap(1, 80), 4)
		// The server closes first, so the server holds TIME-WAIT.
		c, err := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80))
		if err != nil {
			t.Fatal(err)
		}
		var s *Conn
		l.run(10e9, func() bool { s, _ = ln.Accept(); return s != nil }, nil)
		s.CloseWrite()
		l.run(10e9, func() bool { return c.State() == StateCloseWait }, nil)
		c.CloseWrite()
		if !l.run(10e9, func() bool { return s.State() == StateTimeWait && c.State() == StateClosed }, nil) {
			t.Fatalf("server %v client %v", s.State(), c.State())
		}
		l.clock.t += 1e9 // the clock (ISN and timestamps) moves on
		c2, err := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80))
		if err != nil {
			t.Fatal(err)
		}
		var s2 *Conn
		if !l.run(10e9, func() bool { s2, _ = ln.Accept(); return s2 != nil && c2.State() == StateEstablished }, nil) {
			t.Fatalf("ts %v: new connection over TIME-WAIT: client %v", ts, c2.State())
		}
		if s.State() != StateClosed || l.hosts[1].e.Counters[StatTimeWaitReuse] != 1 {
			t.Fatalf("ts %v: old connection %v, reuse counted %d", ts, s.State(), l.hosts[1].e.Counters[StatTimeWaitReuse])
		}
		// A Dial over the client's own TIME-WAIT is allowed too.
		c2.CloseWrite()
		s2.CloseWrite()
		l.run(10e9, func() bool { return c2.State() == StateTimeWait }, nil)
		l.clock.t += 1e9
		c3, err := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80))
		if err != nil || !l.run(10e9, func() bool { return c3.State() == StateEstablished }, nil) {
			t.Fatalf("ts %v: dial over own TIME-WAIT: %v %v", ts, err, c3.State())
		}
	}
}

func TestZeroWindowProbe(t *testing.T) {
	l := newLink(t, 18, Config{RecvBuffer: 16 << 10})
	c, s, _ := l.connect(t, 80)
	data := randomData(18, 400<<10)
	off := 0
	write := func() {
		n, _ := c.Write(data[off:])
		off += n
	}
	// The server does not read: the window closes, the sender probes
	// with a growing interval.
	l.run(2e9, func() bool { return false }, write)
	e := l.hosts[0].e
	// The slow reader throttles the sender through the window: the
	// server holds its receive buffer's worth, the rest waits in the
	// client's send buffer, Write would block, the budgets are unchanged.
	if c.sndWnd != 0 || s.Readable() != 16<<10 || c.Writable() != 0 {
		t.Fatalf("window %d, server holds %d, client can write %d", c.sndWnd, s.Readable(), c.Writable())
	}
	if n, err := c.Write([]byte("x")); n != 0 || err != ErrWouldBlock {
		t.Fatalf("write to a full buffer: %d %v", n, err)
	}
	if u := l.hosts[1].e.budget.Used(); u != (256<<10)+(16<<10) {
		t.Fatalf("server budget %d", u)
	}
	probes := e.Counters[StatZeroWindowProbe]
	if probes < 2 || probes > 6 {
		t.Fatalf("%d probes in 2 s", probes)
	}
	l.advance(20e9)
	if p := e.Counters[StatZeroWindowProbe] - probes; p < 1 || p > 6 {
		t.Fatalf("%d probes in 20 s more: no backoff", p)
	}
	if c.State() != StateEstablished {
		t.Fatalf("state %v", c.State())
	}
	// Lose the server's window updates: the probes find the open window.
	l.drop = func(from int, seg wire.TCP) bool {
		return from == 1 && len(seg.Payload()) == 0 && l.clock.t < 1e12+30e9
	}
	var got bytes.Buffer
	buf := make([]byte, 4096)
	if !l.run(600e9, func() bool { return got.Len() == len(data) }, func() {
		write()
		for {
			n, err := s.Read(buf)
			got.Write(buf[:n])
			if err != nil || n == 0 {
				break
			}
		}
	}) {
		t.Fatalf("got %d of %d", got.Len(), len(data))
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("data differs")
	}
}

func TestRetransmitTimeoutBackoff(t *testing.T) {
	l := newLink(t, 19, Config{})
	c, _, _ := l.connect(t, 80)
	srtt := c.SRTT()
	rto := c.RTO()
	l.record = true
	l.blackhole()
	c.Write([]byte("lost"))
	sent := func() int { return len(l.hosts[0].sent) }
	times := []int64{l.clock.t}
	last := sent()
	l.run(1000e9, func() bool { return c.State() == StateClosed }, func() {
		if n := sent(); n != last {
			last = n
			times = append(times, l.clock.t)
		}
	})
	if c.Err() != ErrTimeout || len(times) != 1+maxRetries {
		t.Fatalf("err %v after %d transmissions", c.Err(), len(times))
	}
	for i := 2; i < len(times); i++ {
		d0, d1 := times[i-1]-times[i-2], times[i]-times[i-1]
		if d1 != min(2*d0, 60e9) {
			t.Fatalf("interval %d: %d after %d, not doubled", i, d1, d0)
		}
	}
	if times[1]-times[0] != rto || c.SRTT() != srtt {
		t.Fatalf("first retransmission after %d (RTO %d); SRTT %d changed from %d", times[1]-times[0], rto, c.SRTT(), srtt)
	}
}

func TestKarn(t *testing.T) {
	// The first transmission is lost; the ACK of the retransmission must
	// not be taken as an RTT sample (with or without timestamps the
	// sample must not include the RTO).
	for _, ts := range []bool{false, true} {
		l := newLink(t, 20, Config{NoTimestamps: !ts})
		c, s, _ := l.connect(t, 80)
		srtt := c.SRTT()
		first := true
		l.drop = func(from int, seg wire.TCP) bool {
			if from == 0 && len(seg.Payload()) > 0 && first {
				first = false
				return true
			}
			return false
		}
		c.Write([]byte("x"))
		l.run(10e9, func() bool { return s.Readable() == 1 && c.sndUna == c.sndMax }, nil)
		if c.SRTT() > 2*srtt {
			t.Fatalf("ts %v: SRTT %d after a retransmission, was %d", ts, c.SRTT(), srtt)
		}
	}
}

func TestSynRetransmitAndTimeout(t *testing.T) {
	l := newLink(t, 21, Config{})
	l.blackhole()
	c, _ := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80))
	start := l.clock.t
	l.run(1000e9, func() bool { return c.State() == StateClosed }, nil)
	// 1+2+4+...+32 s of timeouts for 6 retries, then the last wait capped
	// at MaxRTO (60 s).
	if c.Err() != ErrTimeout || l.clock.t-start != 123e9 {
		t.Fatalf("err %v after %d s", c.Err(), (l.clock.t-start)/1e9)
	}
}

func TestDelayedACKAndNagle(t *testing.T) {
	l := newLink(t, 22, Config{NoTimestamps: true})
	l.record = true
	c, s, _ := l.connect(t, 80)
	srv := l.hosts[1]
	n0 := len(srv.sent)
	c.Write([]byte("a"))
	l.advance(5*ms + 1) // delivered, not yet acknowledged
	if len(srv.sent) != n0 || s.Readable() != 1 {
		t.Fatalf("ACK not delayed: %d segments", len(srv.sent)-n0)
	}
	// Nagle: small writes while "a" is unacknowledged wait and go as one.
	cl := l.hosts[0]
	m0 := len(cl.sent)
	for range 10 {
		c.Write([]byte("b"))
	}
	if len(cl.sent) != m0 {
		t.Fatalf("Nagle: %d small segments sent", len(cl.sent)-m0)
	}
	l.advance(40 * ms)
	if len(srv.sent) != n0+1 {
		t.Fatalf("delayed ACK: %d segments after 40 ms", len(srv.sent)-n0)
	}
	l.advance(20 * ms)
	if len(cl.sent) != m0+1 || len(cl.sent[m0].Payload()) != 10 {
		t.Fatalf("coalesced write: %d segments", len(cl.sent)-m0)
	}
	// Two full segments are acknowledged at once.
	l.advance(100 * ms)
	n1 := len(srv.sent)
	c.Write(make([]byte, 2*c.smss()))
	l.advance(5*ms + 1)
	if len(srv.sent) != n1+1 {
		t.Fatalf("two segments: %d ACKs at once", len(srv.sent)-n1)
	}
	// NoDelay: a small write goes at once even with data in flight.
	c.SetNoDelay(true)
	c.Write([]byte("c"))
	m1 := len(cl.sent)
	c.Write([]byte("d"))
	if len(cl.sent) != m1+1 {
		t.Fatal("NoDelay write waited")
	}
}

func TestKeepalive(t *testing.T) {
	l := newLink(t, 23, Config{})
	c, s, _ := l.connect(t, 80)
	c.SetKeepAlive(true, 10e9, 1e9, 3)
	l.advance(35e9)
	e := l.hosts[0].e
	if e.Counters[StatKeepalive] != 3 || c.State() != StateEstablished || s.State() != StateEstablished {
		t.Fatalf("probes %d, state %v", e.Counters[StatKeepalive], c.State())
	}
	l.blackhole()
	l.advance(20e9)
	if c.State() != StateClosed || c.Err() != ErrTimeout {
		t.Fatalf("dead peer: %v %v after %d probes", c.State(), c.Err(), e.Counters[StatKeepalive])
	}
}

func TestSynBacklogAndCookies(t *testing.T) {
	for _, cookies := range []bool{false, true} {
		l := newLink(t, 24, Config{SynCookies: cookies})
		ln, _ := l.hosts[1].e.Listen(l.ap(1, 80), 2)
		var cs []*Conn
		for i := range 6 {
			c, err := l.hosts[0].e.Dial(l.ap(0, uint16(41000+i)), l.ap(1, 80))
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		var accepted []*Conn
		wrote := map[*Conn]bool{}
		pump := func() {
			// Each client speaks first: a cookie ACK dropped for a full
			// accept queue is rebuilt from the data segment's retransmission.
			for _, c := range cs {
				if c.State() == StateEstablished && !wrote[c] {
					wrote[c] = true
					c.Write([]byte("hi"))
				}
			}
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted = append(accepted, c)
			}
		}
		e := l.hosts[1].e
		if !cookies {
			// Past the backlog SYNs are dropped; the clients retransmit
			// them after the initial RTO and get in once there is room.
			l.run(500*ms, func() bool { return false }, pump)
			if len(accepted) != 2 || e.Counters[ErrBacklogFull] != 4 {
				t.Fatalf("backlog: accepted %d, dropped %d", len(accepted), e.Counters[ErrBacklogFull])
			}
		}
		l.run(5e9, func() bool { return false }, pump)
		if cookies {
			if len(accepted) != 6 || e.Counters[StatSynCookieSent] != 4 || e.Counters[StatSynCookieOK] != 4 || accepted[5].Readable() != 2 {
				t.Fatalf("cookies: accepted %d, sent %d ok %d", len(accepted), e.Counters[StatSynCookieSent], e.Counters[StatSynCookieOK])
			}
			// A cookie connection carries data both ways.
			readAll(accepted[5])
			p := &pipe{w: cs[5], r: accepted[5], data: randomData(5, 100000)}
			if !l.run(60e9, p.done, p.pump) || !bytes.Equal(p.got.Bytes(), p.data) {
				t.Fatal("cookie connection transfer failed")
			}
		} else if len(accepted) != 6 {
			t.Fatalf("backlog: %d accepted after SYN retransmissions", len(accepted))
		}
	}
	// A forged cookie is answered with RST.
	l := newLink(t, 25, Config{SynCookies: true, NoTimestamps: true})
	l.record = true
	l.hosts[1].e.Listen(l.ap(1, 80), 2)
	l.hosts[1].e.Input([]Segment{makeSeg(l.ap(0, 999), l.ap(1, 80), segFields{seq: 1, ack: 12345, flags: flagACK})})
	if l.hosts[1].e.Counters[ErrBadCookie] != 1 || l.hosts[1].e.Conns() != 0 {
		t.Fatal("forged cookie accepted")
	}
}

func TestPathMTU(t *testing.T) {
	l := newLink(t, 26, Config{})
	l.record = true
	c, s, _ := l.connect(t, 80)
	l.blackhole()
	c.Write(make([]byte, 4000))
	l.drop = nil
	l.hosts[0].e.PathMTU(c.local, c.remote, 1000)
	if c.MSS() != 960 {
		t.Fatalf("mss %d", c.MSS())
	}
	n := len(l.hosts[0].sent)
	if !l.run(10e9, func() bool { return s.Readable() == 4000 }, nil) {
		t.Fatal("data not delivered after the MTU drop")
	}
	for _, seg := range l.hosts[0].sent[n:] {
		if len(seg) > 1000-20 {
			t.Fatalf("segment of %d bytes after PathMTU(1000)", len(seg))
		}
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(3 * 2 * (64 << 10))
	l := newLink(t, 27, Config{SendBuffer: 64 << 10, RecvBuffer: 64 << 10, Budget: b})
	l.hosts[1].e.Listen(l.ap(1, 80), 8)
	for i := range 3 {
		if _, err := l.hosts[0].e.Dial(l.ap(0, uint16(42000+i)), l.ap(1, 80)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.hosts[0].e.Dial(l.ap(0, 42009), l.ap(1, 80)); err != ErrNoBuffers {
		t.Fatalf("dial past the budget: %v", err)
	}
}

func TestListenerClose(t *testing.T) {
	l := newLink(t, 28, Config{})
	ln, _ := l.hosts[1].e.Listen(l.ap(1, 80), 8)
	var cs []*Conn
	for i := range 3 {
		c, _ := l.hosts[0].e.Dial(l.ap(0, uint16(43000+i)), l.ap(1, 80))
		cs = append(cs, c)
	}
	if !l.run(10e9, func() bool { return len(ln.queue) == 3 }, nil) {
		t.Fatal("connections not queued")
	}
	// One more stays in SYN-RECEIVED: its ACK is lost.
	l.drop = func(from int, seg wire.TCP) bool {
		return from == 0 && seg.SrcPort() == 43009 && seg.Flags() == flagACK
	}
	c, _ := l.hosts[0].e.Dial(l.ap(0, 43009), l.ap(1, 80))
	if !l.run(10e9, func() bool { return ln.pending == 1 && c.State() == StateEstablished }, nil) {
		t.Fatal("no connection in SYN-RECEIVED")
	}
	l.drop = nil
	ln.Close()
	if l.hosts[1].e.Conns() != 0 {
		t.Fatalf("%d connections left after the listener closed", l.hosts[1].e.Conns())
	}
	if _, err := ln.Accept(); err != ErrClosed {
		t.Fatalf("accept on a closed listener: %v", err)
	}
	cs = append(cs, c)
	if !l.run(10e9, func() bool {
		for _, c := range cs {
			if c.State() != StateClosed {
				return false
			}
		}
		return true
	}, nil) {
		t.Fatal("clients not reset")
	}
	for _, c := range cs {
		if c.Err() != ErrReset {
			t.Fatalf("client err %v", c.Err())
		}
	}
	if _, err := l.hosts[1].e.Listen(l.ap(1, 80), 8); err != nil {
		t.Fatalf("listen again: %v", err)
	}
}

func TestFastRetransmitRightAfterRecovery(t *testing.T) {
	// A loss of the first segment after a recovery episode (the
	// cumulative ACK equals the old recovery point) starts a new fast
	// retransmit: recovery is only suppressed below that point.
	for _, cfg := range []Config{{NoTimestamps: true}, {NoTimestamps: true, NoSACK: true, Congestion: NewReno}} {
		frozenCfg = cfg
		l, c := inEstablished(t)
		frozenCfg = Config{NoTimestamps: true}
		mss := c.smss()
		dupacks := func(una Seq) {
			for i := 1; i <= 3; i++ {
				var o *wire.TCPOptions
				if c.sackOK {
					o = &wire.TCPOptions{NSACK: 1, SACK: [4]wire.SACKBlock{{Left: uint32(una.Add(mss)), Right: uint32(una.Add((i + 1) * mss))}}}
				}
				l.inject(c, segFields{seq: c.rcvNxt, ack: una, flags: flagACK, wnd: uint16(c.sndWnd >> c.sndShift), opts: o})
			}
		}
		e := c.e
		l.inject(c, segFields{seq: c.rcvNxt, ack: c.sndUna, flags: flagACK, wnd: 20000}) // a window in the scale
		c.Write(make([]byte, 8*mss))
		dupacks(c.sndUna)
		if e.Counters[StatFastRetransmit] != 1 || !c.inRecovery {
			t.Fatalf("sack %v: first loss: %d fast retransmits, dupacks %d, una %d max %d recover %d", c.sackOK, e.Counters[StatFastRetransmit], c.dupAcks, c.sndUna, c.sndMax, c.recover)
		}
		l.inject(c, segFields{seq: c.rcvNxt, ack: c.recover, flags: flagACK, wnd: uint16(c.sndWnd >> c.sndShift)})
		if c.inRecovery || c.sndUna != c.recover {
			t.Fatalf("still in recovery after the full ACK")
		}
		c.Write(make([]byte, 8*mss))
		dupacks(c.sndUna)
		if e.Counters[StatFastRetransmit] != 2 {
			t.Fatalf("sack %v: loss right after recovery: %d fast retransmits, want 2", cfg.NoSACK == false, e.Counters[StatFastRetransmit])
		}
	}
}

func TestNotify(t *testing.T) {
	type rec struct {
		c  *Conn
		l  *Listener
		ev Event
	}
	var got []rec
	cfg := Config{SendBuffer: 8 << 10}
	cfg.Notify = func(c *Conn, l *Listener, ev Event) { got = append(got, rec{c, l, ev}) }
	l := newLink(t, 29, cfg)
	ln, _ := l.hosts[1].e.Listen(l.ap(1, 80), 4)
	c, _ := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80))
	events := func(c *Conn, l *Listener) (all Event, calls int) {
		for _, r := range got {
			if r.c == c && r.l == l {
				all |= r.ev
				calls++
			}
		}
		return
	}
	l.run(1e9, func() bool { ev, _ := events(nil, ln); return ev&EventAcceptable != 0 }, nil)
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if ev, _ := events(c, nil); ev != EventConnected|EventWritable {
		t.Fatalf("client events %#x", ev)
	}
	got = nil
	// A vector of several segments is one Readable per connection.
	c.Write(make([]byte, 8<<10))
	l.advance(6 * ms)
	if ev, n := events(s, nil); ev != EventReadable || n != 1 {
		t.Fatalf("server events %#x in %d calls", ev, n)
	}
	l.advance(60 * ms) // the last small segment goes after the first ACK (Nagle)
	if ev, _ := events(c, nil); ev&EventWritable == 0 || c.Writable() != 8<<10 {
		t.Fatalf("client: %#x, writable %d", ev, c.Writable())
	}
	got = nil
	s.Abort()
	l.advance(6 * ms)
	if ev, _ := events(c, nil); ev&(EventClosed|EventReadable) != EventClosed|EventReadable {
		t.Fatalf("client events after reset %#x", ev)
	}
	if ev, _ := events(s, nil); ev&EventClosed == 0 {
		t.Fatalf("server events after abort %#x", ev)
	}
}

func TestReceiverSWSAvoidance(t *testing.T) {
	// A reader that takes 100 bytes at a time from a full buffer must not
	// open the window by 100 bytes at a time: the sender would send
	// tinygrams (RFC 9293 section 3.8.6.2.2).
	l := newLink(t, 31, Config{RecvBuffer: 16 << 10})
	l.record = true
	c, s, _ := l.connect(t, 80)
	data := randomData(31, 200<<10)
	off := 0
	l.run(2e9, func() bool { return false }, func() {
		n, _ := c.Write(data[off:])
		off += n
	})
	if c.sndWnd != 0 {
		t.Fatalf("window %d, want 0", c.sndWnd)
	}
	n0 := len(l.hosts[0].sent)
	var got bytes.Buffer
	buf := make([]byte, 100)
	next := l.clock.t
	l.run(600e9, func() bool { return got.Len()+s.Readable() == len(data) }, func() {
		n, _ := c.Write(data[off:])
		off += n
		if l.clock.t >= next {
			next = l.clock.t + 2*ms
			for range 10 {
				n, _ := s.Read(buf)
				got.Write(buf[:n])
			}
		}
	})
	rest, _ := readAll(s)
	got.Write(rest)
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d of %d; readable %d, sndWnd %d, una %d nxt %d max %d, unsent %d, persist %d, rto %d, next %d",
			got.Len(), len(data), s.Readable(), c.sndWnd, c.sndUna-c.iss, c.sndNxt-c.iss, c.sndMax-c.iss,
			c.snd.len-c.sndNxt.Sub(c.sndBase), c.persistAt, c.rtoAt, l.next())
	}
	small := 0
	for _, seg := range l.hosts[0].sent[n0:] {
		if n := len(seg.Payload()); n > 0 && n < 1000 {
			small++
		}
	}
	if small > 2 {
		t.Fatalf("%d tinygrams sent to a slow reader", small)
	}
	// The right edge the reader advertises moves by at least an MSS.
	edge := Seq(0)
	for i, seg := range l.hosts[1].sent {
		e := Seq(seg.Ack()).Add(int(seg.Window()) << s.rcvShift)
		if i > 3 && e.GT(edge) && e.Sub(edge) < 1460 {
			t.Fatalf("segment %d moves the window's right edge by %d bytes", i, e.Sub(edge))
		}
		edge = seqMax(edge, e)
	}
}

func TestTailLossProbe(t *testing.T) {
	// The last segment of a burst is lost: no duplicate ACK follows it, and
	// without a probe only the RTO would find out.
	l := newLink(t, 32, Config{})
	c, s, _ := l.connect(t, 80)
	mss := c.smss()
	data := randomData(32, 4*mss)
	dropped := false
	l.drop = func(from int, seg wire.TCP) bool {
		if from == 0 && !dropped && Seq(seg.Seq()).Add(len(seg.Payload())) == c.sndBase.Add(len(data)) {
			dropped = true
			return true
		}
		return false
	}
	start := l.clock.t
	c.Write(data)
	if !l.run(10e9, func() bool { return s.Readable() == len(data) && c.sndUna == c.sndMax }, nil) || !dropped {
		t.Fatalf("not delivered (dropped %v)", dropped)
	}
	e := l.hosts[0].e
	took := l.clock.t - start
	if e.Counters[StatTailLossProbe] != 1 || e.Counters[StatTimeout] != 0 || took >= c.RTO() {
		t.Fatalf("probes %d, timeouts %d, recovered in %d ms (RTO %d ms)", e.Counters[StatTailLossProbe],
			e.Counters[StatTimeout], took/ms, c.RTO()/ms)
	}
	got, _ := readAll(s)
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

// TestTimeWaitReleasesBudget: a server that closes first leaves each
// connection in TIME-WAIT for 2*MSL; with nothing left to read, those
// connections hold none of the buffer budget, so a budget for two
// connections serves any number of them in a row (it ran dry after three
// when TIME-WAIT kept the receive buffer).
func TestTimeWaitReleasesBudget(t *testing.T) {
	l := newLink(t, 29, Config{SendBuffer: 64 << 10, RecvBuffer: 64 << 10})
	srv := l.hosts[1].e
	srv.budget = NewBudget(2 * 2 * (64 << 10))
	ln, err := srv.Listen(l.ap(1, 80), 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		c, err := l.hosts[0].e.Dial(l.ap(0, uint16(45000+i)), l.ap(1, 80))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("request"))
		var s *Conn
		var got []byte
		if !l.run(10e9, func() bool { return len(got) == len("request") }, func() {
			if s == nil {
				s, _ = ln.Accept()
			}
			if s != nil {
				b, _ := readAll(s)
				got = append(got, b...)
			}
		}) {
			t.Fatalf("connection %d: not served (server budget used %d, budget errors %d)", i, srv.budget.Used(), srv.Counters[ErrBudget])
		}
		s.Write([]byte("reply"))
		s.Close()
		if !l.run(10e9, func() bool { return s.State() == StateTimeWait && c.State() == StateClosed }, func() {
			if c.State() == StateCloseWait {
				readAll(c)
				c.Close()
			}
		}) {
			t.Fatalf("connection %d: server %v client %v, want TIME-WAIT and CLOSED", i, s.State(), c.State())
		}
		if u := srv.budget.Used(); u != 0 {
			t.Fatalf("connection %d in TIME-WAIT holds %d bytes of the budget", i, u)
		}
	}
}

// TestSynFloodHalfOpenCap: SYNs whose SYN-ACKs are never answered (a
// flood from absent addresses) take at most half the budget as half-open
// connections, the rest are answered with cookies, and a real client
// still connects during the flood (before, the half-open connections took
// the whole budget and every further SYN was dropped).
func TestSynFloodHalfOpenCap(t *testing.T) {
	const need = 2 * (64 << 10)
	l := newLink(t, 30, Config{SendBuffer: 64 << 10, RecvBuffer: 64 << 10, SynCookies: true})
	srv := l.hosts[1].e
	srv.budget = NewBudget(8 * need)
	ln, err := srv.Listen(l.ap(1, 80), 100)
	if err != nil {
		t.Fatal(err)
	}
	l.drop = func(from int, seg wire.TCP) bool { return from == 1 && seg.DstPort() != 47000 } // the flood never answers
	for i := range 20 {
		if _, err := l.hosts[0].e.Dial(l.ap(0, uint16(46000+i)), l.ap(1, 80)); err != nil {
			t.Fatal(err)
		}
	}
	l.run(1e9, func() bool { return false }, nil)
	if ln.pending > 4 || srv.Counters[StatSynCookieSent] == 0 {
		t.Fatalf("%d half-open connections (budget for 8), %d cookies sent; want at most 4 and cookies", ln.pending, srv.Counters[StatSynCookieSent])
	}
	c, err := l.hosts[0].e.Dial(l.ap(0, 47000), l.ap(1, 80))
	if err != nil {
		t.Fatal(err)
	}
	var s *Conn
	if !l.run(10e9, func() bool { return s != nil && c.State() == StateEstablished }, func() {
		for s == nil {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			if a.RemoteAddr().Port() == 47000 {
				s = a
			}
		}
	}) {
		t.Fatalf("client during the flood: %v, accepted %v; budget errors %d", c.State(), s != nil, srv.Counters[ErrBudget])
	}
}

// TestLostRetransmission: a segment lost twice, the retransmission as
// well, with data flowing after it. The SACKs of data sent after the
// retransmission show it lost (RACK's rule), and it is sent a third time
// within the recovery: no retransmission timeout (RFC 6675 alone waits
// for the RTO, 200 ms or more, each time).
func TestLostRetransmission(t *testing.T) {
	l := newLink(t, 33, Config{})
	c, s, _ := l.connect(t, 80)
	mss := c.smss()
	data := randomData(33, 60*mss)
	lostSeq := c.sndBase.Add(5 * mss)
	drops := 0
	l.drop = func(from int, seg wire.TCP) bool {
		if from == 0 && Seq(seg.Seq()) == lostSeq && len(seg.Payload()) > 0 && drops < 2 {
			drops++
			return true
		}
		return false
	}
	start := l.clock.t
	done := 0
	got := make([]byte, 0, len(data))
	buf := make([]byte, 64<<10)
	if !l.run(10e9, func() bool {
		for done < len(data) {
			n, _ := c.Write(data[done:])
			if n == 0 {
				break
			}
			done += n
		}
		for {
			n, _ := s.Read(buf)
			if n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		return len(got) == len(data) && c.sndUna == c.sndMax
	}, nil) || drops != 2 {
		t.Fatalf("not delivered: %d of %d bytes, %d drops", len(got), len(data), drops)
	}
	e := l.hosts[0].e
	took := l.clock.t - start
	if e.Counters[StatTimeout] != 0 || e.Counters[StatLostRetransmit] == 0 || took >= e.cfg.MinRTO {
		t.Fatalf("timeouts %d, lost retransmissions found %d, delivered in %d ms", e.Counters[StatTimeout],
			e.Counters[StatLostRetransmit], took/ms)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
	t.Logf("delivered in %.1f ms, %d retransmissions", float64(took)/float64(ms), e.Counters[StatRetransmit])
}
