package tcp

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// fakeClock is the injected clock: tests move it by hand.
type fakeClock struct{ t int64 }

func (c *fakeClock) Now() int64 { return c.t }

const ms = int64(1e6)

// packet is a segment in flight on the link.
type packet struct {
	at       int64
	to       int
	src, dst netip.AddrPort
	data     []byte
}

// host is one side of the link: an Engine and its Output.
type host struct {
	l       *link
	id      int
	e       *Engine
	addr    netip.Addr
	scratch []byte
	sent    []wire.TCP // every segment sent, if the link records
	flushes int
}

func (h *host) Buffer(n int) []byte {
	if h.l.noBuf > 0 && h.l.rng.Float64() < h.l.noBuf {
		return nil
	}
	return h.scratch[:n]
}
func (h *host) Flush() { h.flushes++ }
func (h *host) Send(src, dst netip.AddrPort, seg []byte) {
	if len(seg) == 0 {
		return
	}
	h.l.transmit(h, src, dst, seg)
}

// link connects two engines with a delay and seeded loss, duplication and
// reordering, on a fake clock. drop, if set, drops the segments it
// returns true for (after the random faults); hold, if set, delays
// segments by what it returns.
type link struct {
	t       testing.TB
	clock   *fakeClock
	rng     *rand.Rand
	hosts   [2]*host
	delay   int64
	loss    float64
	dup     float64
	reorder float64
	noBuf   float64 // probability that Output has no buffer
	record  bool
	drop    func(from int, seg wire.TCP) bool
	hold    func(from int, seg wire.TCP) int64 // extra delay of a segment (reordering), if set
	q       []packet
	vec     []Segment
	dropped int
}

func newLink(t testing.TB, seed uint64, cfg Config) *link {
	return newLinkAddrs(t, seed, cfg, netip.AddrFrom4([4]byte{10, 0, 0, 1}), netip.AddrFrom4([4]byte{10, 0, 0, 2}))
}

// newLink6 is newLink between two IPv6 hosts.
func newLink6(t testing.TB, seed uint64, cfg Config) *link {
	return newLinkAddrs(t, seed, cfg, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"))
}

func newLinkAddrs(t testing.TB, seed uint64, cfg Config, addrs ...netip.Addr) *link {
	l := &link{t: t, clock: &fakeClock{t: 1e12}, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), delay: 5 * ms}
	for i := range l.hosts {
		h := &host{l: l, id: i, addr: addrs[i], scratch: make([]byte, 2048)}
		c := cfg
		c.Clock, c.Output = l.clock, h
		c.Secret = [16]byte{byte(seed), byte(i), 1}
		h.e = New(c)
		l.hosts[i] = h
	}
	return l
}

func (l *link) ap(i int, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(l.hosts[i].addr, port)
}

func (l *link) transmit(h *host, src, dst netip.AddrPort, seg []byte) {
	if l.record {
		h.sent = append(h.sent, wire.TCP(slices.Clone(seg)))
	}
	to := 1 - h.id
	if dst.Addr() != l.hosts[to].addr {
		l.t.Fatalf("segment to %v, not on the link", dst)
	}
	if t := wire.TCP(seg); dst.Addr().Is4() && !t.ChecksumValid(src.Addr().As4(), dst.Addr().As4(), uint16(len(seg))) ||
		dst.Addr().Is6() && !t.ChecksumValid6(src.Addr().As16(), dst.Addr().As16(), uint16(len(seg))) {
		l.t.Fatalf("segment %v -> %v with a bad checksum", src, dst)
	}
	if l.loss > 0 && l.rng.Float64() < l.loss {
		l.dropped++
		return
	}
	if l.drop != nil && l.drop(h.id, wire.TCP(seg)) {
		l.dropped++
		return
	}
	copies := 1
	if l.dup > 0 && l.rng.Float64() < l.dup {
		copies = 2
	}
	for range copies {
		at := l.clock.t + l.delay
		if l.hold != nil {
			at += l.hold(h.id, wire.TCP(seg))
		}
		if l.reorder > 0 && l.rng.Float64() < l.reorder {
			at += l.rng.Int64N(3 * l.delay)
		}
		l.q = append(l.q, packet{at: at, to: to, src: src, dst: dst, data: slices.Clone(seg)})
	}
}

// next returns the time of the next event (a delivery or a timer), or -1.
func (l *link) next() int64 {
	t := int64(-1)
	for _, p := range l.q {
		if t < 0 || p.at < t {
			t = p.at
		}
	}
	for _, h := range l.hosts {
		if d := h.e.NextDeadline(); d >= 0 && (t < 0 || d < t) {
			t = d
		}
	}
	return t
}

// step advances the clock to the next event and runs it: delivers the
// segments due to each host as one vector, then ticks. It reports false
// when nothing is left to happen.
func (l *link) step() bool {
	t := l.next()
	if t < 0 {
		return false
	}
	l.clock.t = max(l.clock.t, t)
	for to := range l.hosts {
		l.vec = l.vec[:0]
		rest := l.q[:0]
		var due []packet
		for _, p := range l.q {
			if p.at <= l.clock.t && p.to == to {
				due = append(due, p)
			} else {
				rest = append(rest, p)
			}
		}
		l.q = rest
		slices.SortStableFunc(due, func(a, b packet) int { return int(a.at - b.at) })
		for _, p := range due {
			l.vec = append(l.vec, Segment{Src: p.src, Dst: p.dst, TCP: wire.TCP(p.data)})
		}
		if len(l.vec) > 0 {
			l.hosts[to].e.Input(l.vec)
		}
	}
	for _, h := range l.hosts {
		if d := h.e.NextDeadline(); d >= 0 && d <= l.clock.t {
			h.e.Tick()
		}
	}
	return true
}

// run steps until cond holds (true) or virtual time passes limit or
// nothing is left to happen (false). pump, if set, runs after every step.
func (l *link) run(limit int64, cond func() bool, pump func()) bool {
	end := l.clock.t + limit
	for {
		if pump != nil {
			pump()
		}
		if cond() {
			return true
		}
		if l.clock.t > end || !l.step() {
			return cond()
		}
	}
}

// advance moves the clock by d, running every event on the way.
func (l *link) advance(d int64) {
	end := l.clock.t + d
	for {
		t := l.next()
		if t < 0 || t > end {
			break
		}
		l.step()
	}
	l.clock.t = end
}

// connect opens a connection from host 0 to a listener on host 1 and
// returns both ends.
func (l *link) connect(t testing.TB, port uint16) (client, server *Conn, ln *Listener) {
	t.Helper()
	ln, err := l.hosts[1].e.Listen(l.ap(1, port), 16)
	if err != nil {
		t.Fatal(err)
	}
	client, err = l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, port))
	if err != nil {
		t.Fatal(err)
	}
	ok := l.run(60e9, func() bool {
		if server == nil {
			server, _ = ln.Accept()
		}
		return server != nil && client.State() == StateEstablished
	}, nil)
	if !ok {
		t.Fatalf("handshake: client %v, server %v", client.State(), server)
	}
	return client, server, ln
}
