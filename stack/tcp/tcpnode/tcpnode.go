package tcpnode

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/wire"
)

// Node names.
const (
	// InputName is the node ip4-local hands the host's TCP to.
	InputName = "tcp4-input"
	// Input6Name is the node ip6-local hands the host's TCP to (the same
	// engines as tcp4-input's).
	Input6Name = "tcp6-input"
	// OutputName is the input node that sends the segments an
	// application's calls into an engine produced.
	OutputName = "tcp4-output"
)

// tcp4-input error codes: the node's own, then the engine's counters
// (tcp.Counter c is code errEngine+c).
const (
	ErrTooShort = iota
	ErrBadChecksum
	ErrHandlerPanic
	ErrHandedOff
	ErrHandoffFull
	errEngine
)

const (
	tcpNextLookup = 1 + iota
	tcpNextLookup6
)

// TCP is the TCP transport of one Stack: one engine per worker.
type TCP struct {
	s       *stack.Stack
	cfg     stack.Config
	workers []*tcpWorker
	nextEph atomic.Uint32 // ephemeral port cursor for Dial
	nextW   atomic.Uint32 // worker cursor for Dial
	flows   *flowTable    // 4-tuple -> owning worker; nil with one worker
}

// tcpWorker is one worker's engine and what the worker and the
// applications share about it. mu serialises every entry into the engine:
// the worker takes it once per vector (tcp4-input), per tick and per
// tcp4-output pass; applications take it for each API call (Read, Write,
// Accept, ...). Nothing else on the per-packet path locks.
type tcpWorker struct {
	mu    sync.Mutex
	eng   *tcp.Engine
	ws    *stack.Worker
	kick  atomic.Bool // tcp4-output has application-sent segments to drain
	arena *pkt.Arena

	// Output state, under mu.
	node     *graph.Node // tcp4-input, while the worker is inside the engine; nil for application calls
	appCache *pkt.Cache  // buffers for segments application calls produce
	cur      pkt.Index   // the buffer Buffer returned
	curOK    bool
	pending  []pkt.Index      // application-produced packets for tcp4-output
	ip       wire.IPv4Emitter // DF: the engine does path MTU discovery

	handoff   *handoffState               // nil with one worker
	listeners map[*tcp.Listener]*Listener // under mu
	fault     *tcpFaulter                 // under mu; nil unless Config.TCPFault

	// In-graph applications (tcpapp.go), under mu.
	graphListeners map[*tcp.Listener]*graphListener
	ready          []*GraphConn // connections with events to dispatch

	// Worker-only state.
	segs        []tcp.Segment
	last        [tcp.NumCounters]uint64 // engine counters already added to the node's
	lastCounted uint64                  // the engine's Counted at the last countEngine
}

// monoClock is the engines' clock: monotonic nanoseconds.
type monoClock struct{}

var monoEpoch = time.Now()

// Now implements tcp.Clock.
func (monoClock) Now() int64 { return int64(time.Since(monoEpoch)) }

// New makes the TCP transport of s, configured by s.Config().TCP (its
// Clock, Output and Notify are the transport's; nil means the defaults)
// and s.Config().TCPFault, and attaches it.
func New(s *stack.Stack) *TCP {
	scfg := s.Config()
	var cfg tcp.Config
	if scfg.TCP != nil {
		cfg = *scfg.TCP
	}
	t := &TCP{s: s, cfg: scfg}
	if cfg.Clock == nil {
		cfg.Clock = monoClock{}
	}
	pool := s.Pool()
	nw := s.Workers()
	if nw > 1 {
		t.flows = newFlowTable()
	}
	for w := range nw {
		tw := &tcpWorker{ws: s.Worker(w), arena: pool.Arena(), listeners: map[*tcp.Listener]*Listener{}, ip: wire.IPv4Emitter{Flags: wire.IPv4FlagDF},
			appCache: pool.NewReserveCache(scfg.PoolReserve), segs: make([]tcp.Segment, 0, pkt.VectorSize)}
		tw.ws.AddFlag(&tw.kick)
		if scfg.TCPFault != nil {
			tw.fault = newTCPFaulter(*scfg.TCPFault, w)
		}
		c := cfg
		c.Output = (*tcpOutput)(tw)
		c.Notify = tw.notify
		if nw > 1 {
			h := &handoffState{t: t, id: w, in: make([]*stack.Ring, nw), wake: make([]bool, nw)}
			for from := range nw {
				if from != w {
					h.in[from] = stack.NewRing(HandoffRing)
				}
			}
			tw.handoff = h
			tw.ws.AddFlag(&h.kick)
			c.Track = h.track
			c.Miss = tw.miss
		}
		if c.Budget != nil { // a budget belongs to one worker
			c.Budget = tcp.NewBudget(0)
			*c.Budget = *cfg.Budget
		}
		tw.eng = tcp.New(c)
		t.workers = append(t.workers, tw)
	}
	s.Attach(t)
	return t
}

// Of returns the TCP transport attached to s, or nil.
func Of(s *stack.Stack) *TCP {
	for _, x := range s.Transports() {
		if t, ok := x.(*TCP); ok {
			return t
		}
	}
	return nil
}

// Registrations implements stack.Transport: tcp4-input, tcp6-input,
// tcp4-output (which sends both families) and tcp-handoff (segments other
// workers hand over; idle with one worker).
func (t *TCP) Registrations() []graph.Registration {
	return []graph.Registration{t.inputNode(false), t.inputNode(true), t.outputNode(), t.handoffNode()}
}

// Protocols6 implements stack.Transport6: TCP over IPv6 goes to tcp6-input.
func (t *TCP) Protocols6() []ip6.ProtocolNode {
	return []ip6.ProtocolNode{{Protocol: wire.IPProtoTCP, Node: Input6Name}}
}

// Protocols implements stack.Transport: TCP goes to tcp4-input.
func (t *TCP) Protocols() []ip4.ProtocolNode {
	return []ip4.ProtocolNode{{Protocol: wire.IPProtoTCP, Node: InputName}}
}

// Flush implements stack.Transport: it returns the application-side
// caches, and packets still queued for tcp4-output (the workers stopped),
// to the pool.
func (t *TCP) Flush() {
	for _, tw := range t.workers {
		tw.mu.Lock()
		if f := tw.fault; f != nil && f.heldOK {
			f.heldOK = false
			tw.appCache.Free(f.held)
		}
		tw.appCache.FreeN(tw.pending)
		tw.pending = tw.pending[:0]
		if tw.handoff != nil {
			tw.handoff.drain(tw.appCache)
		}
		tw.appCache.Flush()
		tw.mu.Unlock()
	}
}

// Counters returns the sum over the workers of the engines' counters.
// It locks each engine in turn.
func (t *TCP) Counters() [tcp.NumCounters]uint64 {
	var sum [tcp.NumCounters]uint64
	for _, tw := range t.workers {
		tw.mu.Lock()
		for k, v := range tw.eng.Counters {
			sum[k] += v
		}
		tw.mu.Unlock()
	}
	return sum
}

// Conns returns the number of connections in the engines' tables.
func (t *TCP) Conns() int {
	n := 0
	for _, tw := range t.workers {
		tw.mu.Lock()
		n += tw.eng.Conns()
		tw.mu.Unlock()
	}
	return n
}

func tcpErrors() []graph.Error {
	errs := []graph.Error{
		ErrTooShort:    {Name: "too_short", Help: "TCP header truncated or IP length out of range"},
		ErrBadChecksum: {Name: "bad_checksum", Help: "TCP checksum is wrong"},
		ErrHandlerPanic: {Name: "handler_panic", Help: "in-graph TCP handler panicked (its connection reset; the router goes on)",
			Severity: graph.SevError},
		ErrHandedOff:   {Name: "handed_off", Help: "segment of another worker's connection handed to that worker", Severity: graph.SevInfo},
		ErrHandoffFull: {Name: "handoff_full", Help: "segment of another worker's connection dropped: its hand-off ring is full"},
	}
	for c := tcp.Counter(0); c < tcp.NumCounters; c++ {
		sev := graph.SevWarn
		if c >= tcp.StatChallengeACK {
			sev = graph.SevInfo
		}
		name := []byte(c.String())
		for k, b := range name {
			if b == '-' {
				name[k] = '_'
			}
		}
		errs = append(errs, graph.Error{Name: string(name), Help: "TCP engine: " + c.String(), Severity: sev})
	}
	return errs
}

// workerOf binds the node's graph to its worker's engine.
func (t *TCP) workerOf(n *graph.Node) (*tcpWorker, error) {
	w, err := t.s.WorkerOf(n.Graph())
	if err != nil {
		return nil, err
	}
	return t.workers[w], nil
}

// inputNode returns tcp4-input, or tcp6-input when v6: both hand the
// worker's one engine its segments (and send what it answers to either
// family's lookup); only tcp4-input ticks the engine.
func (t *TCP) inputNode(v6 bool) graph.Registration {
	name := InputName
	if v6 {
		name = Input6Name
	}
	var tick func(n *graph.Node)
	if !v6 {
		tick = t.tick
	}
	return graph.Registration{
		Name:   name,
		Next:   []string{t.cfg.LookupNode, t.cfg.LookupNode6},
		Errors: tcpErrors(),
		Init: func(n *graph.Node) error {
			tw, err := t.workerOf(n)
			if err != nil {
				return err
			}
			n.State = tw
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return tcpInput(n, n.State.(*tcpWorker), v, v6) },
		Tick: tick,
	}
}

// tick runs the worker's engine timers and in-graph applications.
func (t *TCP) tick(n *graph.Node) {
	tw := n.State.(*tcpWorker)
	tw.mu.Lock()
	tw.node = n
	tw.eng.Tick()
	tw.runApps(n)
	tw.node = nil
	tw.countEngine(n)
	tw.mu.Unlock()
}

// parseSegment reads the IP header (per family) of a segment for the host
// and verifies the TCP checksum. It returns the segment, or the error code
// to count it under and ok false.
func parseSegment(m *pkt.Meta, d []byte, v6 bool) (tcp.Segment, int, bool) {
	l3, l4 := int(m.L3), int(m.L4)
	if v6 {
		if l3+wire.IPv6Len > len(d) || l4 < l3+wire.IPv6Len {
			return tcp.Segment{}, ErrTooShort, false
		}
		ip := wire.IPv6(d[l3:])
		end := l3 + wire.IPv6Len + int(ip.PayloadLen())
		if end > len(d) || l4+wire.TCPMinLen > end {
			return tcp.Segment{}, ErrTooShort, false
		}
		seg := wire.TCP(d[l4:end])
		src, dst := ip.Src(), ip.Dst()
		if m.Flags&pkt.FlagL4ChecksumOK == 0 && !seg.ChecksumValid6(src, dst, uint16(len(seg))) {
			return tcp.Segment{}, ErrBadChecksum, false
		}
		return tcp.Segment{
			Src: netip.AddrPortFrom(netip.AddrFrom16(src), seg.SrcPort()),
			Dst: netip.AddrPortFrom(netip.AddrFrom16(dst), seg.DstPort()),
			TCP: seg,
		}, 0, true
	}
	if l3+wire.IPv4MinLen > len(d) || l4 < l3+wire.IPv4MinLen {
		return tcp.Segment{}, ErrTooShort, false
	}
	ip := wire.IPv4(d[l3:])
	end := l3 + int(ip.TotalLen())
	if end > len(d) || l4+wire.TCPMinLen > end {
		return tcp.Segment{}, ErrTooShort, false
	}
	seg := wire.TCP(d[l4:end])
	src, dst := ip.Src(), ip.Dst()
	if m.Flags&pkt.FlagL4ChecksumOK == 0 && !seg.ChecksumValid(src, dst, uint16(len(seg))) {
		return tcp.Segment{}, ErrBadChecksum, false
	}
	return tcp.Segment{
		Src: netip.AddrPortFrom(netip.AddrFrom4(src), seg.SrcPort()),
		Dst: netip.AddrPortFrom(netip.AddrFrom4(dst), seg.DstPort()),
		TCP: seg,
	}, 0, true
}

// tcpInput validates v's segments, hands them to the engine in one call
// and frees the buffers.
func tcpInput(n *graph.Node, tw *tcpWorker, v *pkt.Vector, v6 bool) int {
	a := n.Arena()
	cnt := v.Len
	segs := tw.segs[:0]
	for j, i := range v.Idx[:cnt] {
		ts, e, ok := parseSegment(a.Meta(i), a.Data(i), v6)
		if !ok {
			n.Count(e, 1)
			continue
		}
		ts.Ref = j
		if tw.fault != nil {
			segs = tw.fault.receive(segs, ts)
			continue
		}
		segs = append(segs, ts)
	}
	h := tw.handoff
	if len(segs) > 0 {
		tw.mu.Lock()
		tw.node = n
		if h != nil {
			h.vec = v.Idx[:cnt]
		}
		tw.eng.Input(segs)
		tw.runApps(n)
		tw.node = nil
		tw.countEngine(n)
		tw.mu.Unlock()
	}
	clear(segs) // drop the references into the buffers
	tw.segs = segs[:0]
	if h != nil && h.count > 0 {
		h.settle(n.Cache(), v.Idx[:cnt]) // settle frees what stayed
	} else {
		n.Cache().FreeN(v.Idx[:cnt])
	}
	if h != nil {
		h.vec = nil
	}
	v.Reset()
	return cnt
}

// countEngine adds what the engine counted since the last call to the
// node's error counters. Caller holds tw.mu.
func (tw *tcpWorker) countEngine(n *graph.Node) {
	k := tw.eng.Counted()
	if k == tw.lastCounted {
		return // nothing counted: most vectors of an established flow
	}
	tw.lastCounted = k
	for c := range tw.eng.Counters {
		if d := tw.eng.Counters[c] - tw.last[c]; d != 0 {
			n.Count(errEngine+c, d)
			tw.last[c] = tw.eng.Counters[c]
		}
	}
}

func (t *TCP) outputNode() graph.Registration {
	return graph.Registration{
		Name: OutputName,
		Kind: graph.Input,
		Next: []string{t.cfg.LookupNode, t.cfg.LookupNode6},
		Init: func(n *graph.Node) error {
			tw, err := t.workerOf(n)
			if err != nil {
				return err
			}
			n.State = tw
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			tw := n.State.(*tcpWorker)
			if !tw.kick.Load() {
				return 0
			}
			tw.kick.Store(false)
			tw.mu.Lock()
			k := copy(v.Idx[:], tw.pending)
			v.Len = k
			rest := copy(tw.pending, tw.pending[k:])
			tw.pending = tw.pending[:rest]
			if rest > 0 {
				tw.kick.Store(true)
			}
			tw.mu.Unlock()
			a := n.Arena()
			for j, i := range v.Idx[:k] {
				n.Nexts[j] = lookupEdge(a, i)
			}
			n.Enqueue(v, n.Nexts[:])
			return k
		},
		Close: func(n *graph.Node) {
			tw := n.State.(*tcpWorker)
			tw.mu.Lock()
			n.Cache().FreeN(tw.pending)
			tw.pending = tw.pending[:0]
			tw.mu.Unlock()
		},
	}
}

// tcpOutput is a worker's tcp.Output: segments produced on the worker
// (Input, Tick) are built in buffers of the worker's cache and enqueued to
// ip4-lookup; those produced by an application's call are built in the
// application cache and queued for tcp4-output, and the worker is woken
// at Flush.
type tcpOutput tcpWorker

// Layout of a TCP packet in its buffer: the segment where an IPv6 packet
// from Originate6 has it (an IPv4 one starts 20 bytes later, OriginateAt).
const tcpSegOff = stack.OriginL4v6

// lookupEdge returns the lookup edge for the packet in buffer i (its IP
// version).
func lookupEdge(a *pkt.Arena, i pkt.Index) uint16 {
	if m := a.Meta(i); a.Data(i)[m.L3]>>4 == 6 {
		return tcpNextLookup6
	}
	return tcpNextLookup
}

// Buffer implements tcp.Output.
func (o *tcpOutput) Buffer(n int) []byte {
	tw := (*tcpWorker)(o)
	if n > pkt.DataCap-tcpSegOff {
		return nil
	}
	i, ok := tw.cur, tw.curOK // a buffer the engine never sent: reuse it
	if !ok {
		i, ok = tw.alloc()
	}
	if !ok {
		return nil
	}
	tw.cur, tw.curOK = i, true
	d, _ := tw.arena.SetData(i, pkt.Headroom, tcpSegOff+n)
	return d[tcpSegOff:]
}

// Send implements tcp.Output.
func (o *tcpOutput) Send(src, dst netip.AddrPort, seg []byte) {
	tw := (*tcpWorker)(o)
	if !tw.curOK {
		return
	}
	i := tw.cur
	tw.curOK = false
	if len(seg) < wire.TCPMinLen { // the engine gives the buffer back
		tw.free(i)
		return
	}
	if sa := src.Addr(); sa.Is6() && !sa.Is4In6() {
		stack.Originate6(tw.arena, i, wire.IPProtoTCP, sa.As16(), dst.Addr().As16(), len(seg))
	} else {
		stack.OriginateAt(tw.arena, i, pkt.Headroom+stack.OriginL4v6-stack.OriginL4, &tw.ip, wire.IPProtoTCP, sa.As4(), dst.Addr().As4(), len(seg))
	}
	if tw.fault != nil {
		tw.send(i)
		return
	}
	tw.enqueue(i)
}

// alloc takes a buffer from the worker's cache inside the worker, from
// the application cache in an application's call. Caller holds tw.mu.
func (tw *tcpWorker) alloc() (pkt.Index, bool) {
	if tw.node != nil {
		return tw.node.Cache().Alloc()
	}
	return tw.appCache.Alloc()
}

// free gives back a buffer alloc returned. Caller holds tw.mu.
func (tw *tcpWorker) free(i pkt.Index) {
	if tw.node != nil {
		tw.node.Cache().Free(i)
		return
	}
	tw.appCache.Free(i)
}

// enqueue sends the finished segment in buffer i: to ip4-lookup inside
// the worker, queued for tcp4-output in an application's call. Caller
// holds tw.mu.
func (tw *tcpWorker) enqueue(i pkt.Index) {
	if tw.node != nil {
		tw.node.EnqueueOne(i, lookupEdge(tw.arena, i))
		return
	}
	tw.pending = append(tw.pending, i)
}

// Flush implements tcp.Output: after an application's call, it wakes the
// worker to send what the call queued.
func (o *tcpOutput) Flush() {
	tw := (*tcpWorker)(o)
	tw.releaseHeld()
	if tw.node != nil || len(tw.pending) == 0 {
		return
	}
	tw.ws.Signal(&tw.kick)
}
