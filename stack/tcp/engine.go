package tcp

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"

	"github.com/vecnet/vecnet/wire"
)

// Clock returns monotonic time in nanoseconds. The engine reads it once per
// entry point (Input, Tick, an API call) and never calls time.Now itself,
// so tests drive it with a fake clock.
type Clock interface {
	Now() int64
}

// Output is what the layer below implements to send the engine's segments:
// the engine asks for a buffer, writes the TCP header, options and payload
// and the checksum (over the IPv4 pseudo-header), and hands the segment
// back to be given an IP header and sent.
type Output interface {
	// Buffer returns room for a TCP segment of n bytes (header and
	// payload), or nil when no buffer is available (the engine counts it
	// and recovers through its timers). At most one buffer is outstanding:
	// the engine calls Send before asking for another.
	Buffer(n int) []byte
	// Send sends seg (a prefix of the last Buffer, its checksum set) from
	// src to dst.
	Send(src, dst netip.AddrPort, seg []byte)
	// Flush ends a batch: the engine calls it at the end of each entry point
	// that sent something (one vector of input, one tick, one API call).
	Flush()
}

// Event is a set of readiness changes reported to Config.Notify.
type Event uint8

// Events.
const (
	// EventReadable: data, end of stream or an error can be read.
	EventReadable Event = 1 << iota
	// EventWritable: send buffer space became free.
	EventWritable
	// EventAcceptable: a listener has a connection to Accept.
	EventAcceptable
	// EventConnected: an active open completed.
	EventConnected
	// EventClosed: the connection reached CLOSED (Err says why, nil for an
	// orderly close) and left the engine.
	EventClosed
)

// Config configures an Engine. Zero fields take the defaults shown.
type Config struct {
	Clock  Clock
	Output Output
	// Notify, if set, is called at the end of an entry point with the
	// events that happened to each connection (c) or listener (l, with c
	// nil) during it, once per object.
	Notify func(c *Conn, l *Listener, ev Event)
	// SendBuffer and RecvBuffer are the per-connection buffer sizes
	// (256 KiB each).
	SendBuffer, RecvBuffer int
	// Budget is the worker's buffer budget shared by its connections (a
	// budget of 64 MiB is made when nil).
	Budget *Budget
	// MTU is the interface MTU the MSS is derived from (1500).
	MTU int
	// MinRTO, InitialRTO and MaxRTO bound the retransmission timeout
	// (200 ms as Linux, 1 s per RFC 6298, 60 s).
	MinRTO, InitialRTO, MaxRTO int64
	// DelayedACK is the delayed ACK timeout (40 ms).
	DelayedACK int64
	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2*MSL (30 s).
	MSL int64
	// FinTimeout bounds FIN_WAIT_2 for a connection the application closed (60 s).
	FinTimeout int64
	// KeepIdle, KeepInterval and KeepCount are the keepalive defaults
	// (2 h, 75 s, 9).
	KeepIdle, KeepInterval int64
	KeepCount              int
	// Congestion picks the congestion control (CUBIC).
	Congestion CongestionAlgorithm
	// SynCookies enables SYN cookies when a listener's backlog is full.
	SynCookies bool
	// NoSACK and NoTimestamps disable those options (on by default).
	NoSACK, NoTimestamps bool
	// NoDSACK stops reporting data received twice in a D-SACK block
	// (RFC 2883; on by default with SACK, as Linux's tcp_dsack). A peer
	// takes a D-SACK for a spurious retransmission and widens its
	// reordering window, also for duplicates the network made.
	NoDSACK bool
	// ChallengeACKLimit bounds challenge ACKs per second (RFC 5961 section
	// 7; 1000).
	ChallengeACKLimit int
	// Secret keys ISNs and SYN cookies; random when zero.
	Secret [16]byte
	// Track, if set, is called when a connection enters the engine's
	// table (added true) and when it leaves it: a layer running one engine
	// per worker keeps its flow -> worker map with it.
	Track func(local, remote netip.AddrPort, added bool)
	// Miss, if set, is called for a well-formed segment that matches no
	// connection of the engine, before any listener sees it. Returning true
	// means the caller took the segment (another engine owns its flow, or
	// it was dropped on the way there): the engine neither counts nor
	// answers it.
	Miss func(s *Segment) bool
}

// Segment is one received TCP segment: TCP holds exactly the segment
// (header and payload, its checksum already verified by the caller), Src
// and Dst are the IPv4 addresses and ports from the IP and TCP headers.
type Segment struct {
	Src, Dst netip.AddrPort
	TCP      wire.TCP
	// Ref is the caller's: the engine hands it back with the segment to
	// Config.Miss and never reads it.
	Ref int
}

// Engine is one worker's TCP: its connections, listeners and timers. It
// is not safe for concurrent use: every method runs on the worker that
// owns it.
type Engine struct {
	cfg    Config
	clock  Clock
	out    Output
	budget *Budget
	secret [16]byte
	now    int64

	conns     connTable
	all       []*Conn // every connection in the table, for timer scans
	listeners map[uint16]*Listener

	wheel     timerWheel
	dirty     []*Conn // connections with output or events pending
	dirtyL    []*Listener
	sent      bool
	opts      wire.TCPOptions // scratch for parsing
	chalStart int64
	chalCount int
	held      []*Conn // connections whose pure ACK waits for FlushACKs (view.go)
	sndPool   bufPool // idle ring buffers (bufpool.go)
	rcvPool   bufPool
	flushing  bool
	deferring bool // DeferCalls: API calls neither read the clock nor send (view.go)

	// Counters are the engine's error and event counters, indexed by the
	// Counter constants and named by Counter.String.
	Counters [NumCounters]uint64
	counted  uint64 // increments of Counters, see Counted
}

// New returns an engine configured by cfg.
func New(cfg Config) *Engine {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	const ms = int64(1e6)
	def(&cfg.MinRTO, 200*ms)
	def(&cfg.InitialRTO, 1000*ms)
	def(&cfg.MaxRTO, 60000*ms)
	def(&cfg.DelayedACK, 40*ms)
	def(&cfg.MSL, 30000*ms)
	def(&cfg.FinTimeout, 60000*ms)
	def(&cfg.KeepIdle, 7200000*ms)
	def(&cfg.KeepInterval, 75000*ms)
	if cfg.KeepCount == 0 {
		cfg.KeepCount = 9
	}
	if cfg.SendBuffer == 0 {
		cfg.SendBuffer = 256 << 10
	}
	if cfg.RecvBuffer == 0 {
		cfg.RecvBuffer = 256 << 10
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.ChallengeACKLimit == 0 {
		cfg.ChallengeACKLimit = 1000
	}
	e := &Engine{cfg: cfg, clock: cfg.Clock, out: cfg.Output, budget: cfg.Budget, secret: cfg.Secret,
		listeners: map[uint16]*Listener{}}
	if e.budget == nil {
		e.budget = NewBudget(64 << 20)
	}
	if e.secret == ([16]byte{}) {
		_, _ = rand.Read(e.secret[:])
	}
	e.conns = newConnTable(binary.LittleEndian.Uint64(e.secret[8:]))
	e.now = e.clock.Now()
	e.wheel.cursor = e.now / wheelTick
	return e
}

// Input processes a vector of received segments, then sends what they
// call for (ACKs coalesced per connection) and reports events.
func (e *Engine) Input(segs []Segment) {
	e.now = e.clock.Now()
	for i := range segs {
		e.input(&segs[i])
	}
	e.finish()
}

// input processes one segment.
func (e *Engine) input(s *Segment) {
	t := s.TCP
	if len(t) < wire.TCPMinLen || t.HeaderLen() < wire.TCPMinLen || t.HeaderLen() > len(t) {
		e.count(ErrBadHeader)
		return
	}
	if !sameFamily(s.Src.Addr(), s.Dst.Addr()) {
		e.count(ErrFamily)
		return
	}
	if !wire.ParseTCPOptions(t.Options(), &e.opts) {
		e.count(ErrBadOptions)
		return
	}
	flags := t.Flags()
	if flags&(wire.TCPFlagSYN|wire.TCPFlagFIN) == wire.TCPFlagSYN|wire.TCPFlagFIN ||
		flags&(wire.TCPFlagSYN|wire.TCPFlagRST) == wire.TCPFlagSYN|wire.TCPFlagRST {
		e.count(ErrBadFlags)
		return
	}
	k := keyOf(s.Dst, s.Src)
	if c := e.conns.lookup(k); c != nil {
		c.segmentArrives(s, &e.opts)
		return
	}
	if e.cfg.Miss != nil && e.cfg.Miss(s) {
		return
	}
	if l := e.listenerFor(s); l != nil {
		l.segmentArrives(s, &k, &e.opts)
		return
	}
	e.count(ErrNoConnection)
	e.replyRST(s)
}

// Tick runs the timers that are due and sends what they call for. Call it
// every millisecond or so (or at NextDeadline); its cost is the slots of
// the timer wheel that passed and the connections in them.
func (e *Engine) Tick() {
	e.now = e.clock.Now()
	e.runWheel()
	e.finish()
}

// NextDeadline returns the earliest time a timer is due, or -1 when no
// timer is armed.
func (e *Engine) NextDeadline() int64 { return e.nextWheelDeadline() }

// Conns returns the number of connections in the engine's table.
func (e *Engine) Conns() int { return len(e.all) }

// enter starts an API call: it reads the clock, unless calls are deferred
// (DeferCalls) and the time of the last entry point serves.
func (e *Engine) enter() {
	if !e.deferring {
		e.now = e.clock.Now()
	}
}

// leave ends an API call: it sends what the call owes and reports events,
// unless calls are deferred (then FlushACKs does it).
func (e *Engine) leave() {
	if !e.deferring {
		e.finish()
	}
}

// markDirty queues c for output and event dispatch at the end of the entry point.
func (e *Engine) markDirty(c *Conn) {
	if !c.dirty {
		c.dirty = true
		e.dirty = append(e.dirty, c)
	}
}

// finish sends what the connections touched in this entry point owe, then
// dispatches events and flushes the output batch.
func (e *Engine) finish() {
	for i := 0; i < len(e.dirty); i++ {
		c := e.dirty[i]
		if c.state != StateClosed {
			c.output()
			e.schedule(c)
		}
	}
	for i, c := range e.dirty {
		c.dirty = false
		ev := c.events
		c.events = 0
		e.dirty[i] = nil
		if ev != 0 && e.cfg.Notify != nil {
			e.cfg.Notify(c, nil, ev)
		}
	}
	e.dirty = e.dirty[:0]
	for i, l := range e.dirtyL {
		ev := l.events
		l.events, l.dirty = 0, false
		e.dirtyL[i] = nil
		if ev != 0 && e.cfg.Notify != nil {
			e.cfg.Notify(nil, l, ev)
		}
	}
	e.dirtyL = e.dirtyL[:0]
	if e.sent {
		e.sent = false
		e.out.Flush()
	}
}

// addConn enters c into the table and the timer scan.
func (e *Engine) addConn(c *Conn) {
	e.conns.insert(c.key, c)
	c.allIndex = len(e.all)
	e.all = append(e.all, c)
	if e.cfg.Track != nil {
		e.cfg.Track(c.local, c.remote, true)
	}
}

// removeConn takes c out of the table and the timer scan and returns its
// buffers to the budget.
func (e *Engine) removeConn(c *Conn) {
	if c.allIndex < 0 {
		return
	}
	e.conns.remove(c.key, c)
	last := e.all[len(e.all)-1]
	e.all[c.allIndex] = last
	last.allIndex = c.allIndex
	e.all[len(e.all)-1] = nil
	e.all = e.all[:len(e.all)-1]
	c.allIndex = -1
	if e.cfg.Track != nil {
		e.cfg.Track(c.local, c.remote, false)
	}
	c.releaseBuffers(true, true)
	e.budget.release(c.reserved) // a receive buffer still holding data: dropped with c
	c.reserved = 0
}

// challengeAllowed applies the global challenge ACK rate limit.
func (e *Engine) challengeAllowed() bool {
	if e.now-e.chalStart >= 1e9 {
		e.chalStart, e.chalCount = e.now, 0
	}
	if e.chalCount >= e.cfg.ChallengeACKLimit {
		e.count(ErrChallengeACKLimited)
		return false
	}
	e.chalCount++
	e.count(StatChallengeACK)
	return true
}

func (e *Engine) count(c Counter) {
	e.Counters[c]++
	e.counted++
}

// Counted returns how many times any of Counters was incremented: a layer
// that mirrors the counters (into its node's error counters, say) compares
// the whole array only when this moved, not after every vector.
func (e *Engine) Counted() uint64 { return e.counted }

// mssFor returns the MSS to advertise: the MTU less the IPv4 (or, when v6,
// IPv6) and TCP headers.
func (e *Engine) mssFor(v6 bool) int {
	if v6 {
		return e.cfg.MTU - 60
	}
	return e.cfg.MTU - 40
}

// sameFamily reports whether a and b are both IPv4 or both IPv6 (IPv4-mapped
// addresses count as IPv4).
func sameFamily(a, b netip.Addr) bool {
	return a.IsValid() && b.IsValid() && a.Unmap().Is4() == b.Unmap().Is4()
}

// isV6 reports whether a is an IPv6 address (not IPv4-mapped).
func isV6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// tsNow returns the timestamp clock in milliseconds.
func (e *Engine) tsNow() uint32 { return uint32(e.now / 1e6) }

// listenerFor returns the listener that takes s's SYN, or nil.
func (e *Engine) listenerFor(s *Segment) *Listener {
	l := e.listeners[s.Dst.Port()]
	if l == nil {
		return nil
	}
	la := l.addr.Addr()
	switch {
	case la == s.Dst.Addr():
		return l
	case la.IsUnspecified() && la.Is6(): // ::, both families (bindv6only=0)
		return l
	case la.IsUnspecified(): // 0.0.0.0, IPv4 only
		if !isV6(s.Dst.Addr()) {
			return l
		}
	}
	return nil
}
