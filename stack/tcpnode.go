package stack

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/wire"
)

// TCP node names.
const (
	// TCPInputName is the node ip4-local hands the host's TCP to.
	TCPInputName = "tcp4-input"
	// TCPOutputName is the input node that sends the segments an
	// application's calls into an engine produced.
	TCPOutputName = "tcp4-output"
)

// tcp4-input error codes: the node's own, then the engine's counters
// (tcp.Counter c is code tcpErrEngine+c).
const (
	TCPErrTooShort = iota
	TCPErrBadChecksum
	TCPErrHandlerPanic
	tcpErrEngine
)

const tcpNextLookup = 1

// tcpStack is the TCP half of the stack: one engine per worker.
type tcpStack struct {
	s       *Stack
	workers []*tcpWorker
	nextEph atomic.Uint32 // ephemeral port cursor for DialTCP
}

// tcpWorker is one worker's engine and what the worker and the
// applications share about it. mu serialises every entry into the engine:
// the worker takes it once per vector (tcp4-input), per tick and per
// tcp4-output pass; applications take it for each API call (Read, Write,
// Accept, ...). Nothing else on the per-packet path locks.
type tcpWorker struct {
	mu    sync.Mutex
	eng   *tcp.Engine
	ws    *workerShared
	arena *pkt.Arena

	// Output state, under mu.
	node     *graph.Node // tcp4-input, while the worker is inside the engine; nil for application calls
	appCache *pkt.Cache  // buffers for segments application calls produce
	cur      pkt.Index   // the buffer Buffer returned
	curOK    bool
	pending  []pkt.Index // application-produced packets for tcp4-output
	ipID     uint16

	listeners map[*tcp.Listener]*TCPListener // under mu
	fault     *tcpFaulter                    // under mu; nil unless Config.TCPFault

	// In-graph applications (tcpapp.go), under mu.
	graphListeners map[*tcp.Listener]*graphListener
	ready          []*GraphConn // connections with events to dispatch

	// Worker-only state.
	segs []tcp.Segment
	last [tcp.NumCounters]uint64 // engine counters already added to the node's
}

// monoClock is the engines' clock: monotonic nanoseconds.
type monoClock struct{}

var monoEpoch = time.Now()

// Now implements tcp.Clock.
func (monoClock) Now() int64 { return int64(time.Since(monoEpoch)) }

func newTCPStack(s *Stack, cfg tcp.Config) *tcpStack {
	t := &tcpStack{s: s}
	if cfg.Clock == nil {
		cfg.Clock = monoClock{}
	}
	for w := range s.workers {
		tw := &tcpWorker{ws: s.workers[w], arena: s.pool.Arena(), listeners: map[*tcp.Listener]*TCPListener{},
			appCache: s.pool.NewReserveCache(s.cfg.PoolReserve), segs: make([]tcp.Segment, 0, pkt.VectorSize)}
		if s.cfg.TCPFault != nil {
			tw.fault = newTCPFaulter(*s.cfg.TCPFault, w)
		}
		c := cfg
		c.Output = (*tcpOutput)(tw)
		c.Notify = tw.notify
		if c.Budget != nil { // a budget belongs to one worker
			c.Budget = tcp.NewBudget(0)
			*c.Budget = *cfg.Budget
		}
		tw.eng = tcp.New(c)
		t.workers = append(t.workers, tw)
	}
	return t
}

// flush returns the application-side caches, and packets still queued
// for tcp4-output (the workers stopped), to the pool.
func (t *tcpStack) flush() {
	for _, tw := range t.workers {
		tw.mu.Lock()
		if f := tw.fault; f != nil && f.heldOK {
			f.heldOK = false
			tw.appCache.Free(f.held)
		}
		tw.appCache.FreeN(tw.pending)
		tw.pending = tw.pending[:0]
		tw.appCache.Flush()
		tw.mu.Unlock()
	}
}

// TCPEnabled reports whether the stack has TCP (Config.TCP).
func (s *Stack) TCPEnabled() bool { return s.tcp != nil }

// TCPCounters returns the sum over the workers of the engines' counters.
// It locks each engine in turn.
func (s *Stack) TCPCounters() [tcp.NumCounters]uint64 {
	var sum [tcp.NumCounters]uint64
	if s.tcp == nil {
		return sum
	}
	for _, tw := range s.tcp.workers {
		tw.mu.Lock()
		for k, v := range tw.eng.Counters {
			sum[k] += v
		}
		tw.mu.Unlock()
	}
	return sum
}

// TCPConns returns the number of connections in the engines' tables.
func (s *Stack) TCPConns() int {
	n := 0
	if s.tcp == nil {
		return 0
	}
	for _, tw := range s.tcp.workers {
		tw.mu.Lock()
		n += tw.eng.Conns()
		tw.mu.Unlock()
	}
	return n
}

func tcpErrors() []graph.Error {
	errs := []graph.Error{
		TCPErrTooShort:    {Name: "too_short", Help: "TCP header truncated or IP length out of range"},
		TCPErrBadChecksum: {Name: "bad_checksum", Help: "TCP checksum is wrong"},
		TCPErrHandlerPanic: {Name: "handler_panic", Help: "in-graph TCP handler panicked (its connection reset; the router goes on)",
			Severity: graph.SevError},
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

// tcpWorkerOf binds the node's graph to its worker's engine.
func (s *Stack) tcpWorkerOf(n *graph.Node) (*tcpWorker, error) {
	w, err := s.workerOf(n.Graph())
	if err != nil {
		return nil, err
	}
	return s.tcp.workers[w], nil
}

func (s *Stack) tcpInputNode() graph.Registration {
	return graph.Registration{
		Name:   TCPInputName,
		Next:   []string{s.cfg.LookupNode},
		Errors: tcpErrors(),
		Init: func(n *graph.Node) error {
			tw, err := s.tcpWorkerOf(n)
			if err != nil {
				return err
			}
			n.State = tw
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return tcpInput(n, n.State.(*tcpWorker), v) },
		Tick: func(n *graph.Node) {
			tw := n.State.(*tcpWorker)
			tw.mu.Lock()
			tw.node = n
			tw.eng.Tick()
			tw.runApps(n)
			tw.node = nil
			tw.countEngine(n)
			tw.mu.Unlock()
		},
	}
}

// tcpInput validates v's segments, hands them to the engine in one call
// and frees the buffers.
func tcpInput(n *graph.Node, tw *tcpWorker, v *pkt.Vector) int {
	a := n.Arena()
	cnt := v.Len
	segs := tw.segs[:0]
	for _, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		d := a.Data(i)
		l3, l4 := int(m.L3), int(m.L4)
		if l3+wire.IPv4MinLen > len(d) || l4 < l3+wire.IPv4MinLen {
			n.Count(TCPErrTooShort, 1)
			continue
		}
		ip := wire.IPv4(d[l3:])
		end := l3 + int(ip.TotalLen())
		if end > len(d) || l4+wire.TCPMinLen > end {
			n.Count(TCPErrTooShort, 1)
			continue
		}
		seg := wire.TCP(d[l4:end])
		src, dst := ip.Src(), ip.Dst()
		if m.Flags&pkt.FlagL4ChecksumOK == 0 && !seg.ChecksumValid(src, dst, uint16(len(seg))) {
			n.Count(TCPErrBadChecksum, 1)
			continue
		}
		ts := tcp.Segment{
			Src: netip.AddrPortFrom(netip.AddrFrom4(src), seg.SrcPort()),
			Dst: netip.AddrPortFrom(netip.AddrFrom4(dst), seg.DstPort()),
			TCP: seg,
		}
		if tw.fault != nil {
			segs = tw.fault.receive(segs, ts)
			continue
		}
		segs = append(segs, ts)
	}
	if len(segs) > 0 {
		tw.mu.Lock()
		tw.node = n
		tw.eng.Input(segs)
		tw.runApps(n)
		tw.node = nil
		tw.countEngine(n)
		tw.mu.Unlock()
	}
	clear(segs) // drop the references into the buffers
	tw.segs = segs[:0]
	n.Cache().FreeN(v.Idx[:cnt])
	v.Reset()
	return cnt
}

// countEngine adds what the engine counted since the last call to the
// node's error counters. Caller holds tw.mu.
func (tw *tcpWorker) countEngine(n *graph.Node) {
	for c := range tw.eng.Counters {
		if d := tw.eng.Counters[c] - tw.last[c]; d != 0 {
			n.Count(tcpErrEngine+c, d)
			tw.last[c] = tw.eng.Counters[c]
		}
	}
}

func (s *Stack) tcpOutputNode() graph.Registration {
	return graph.Registration{
		Name: TCPOutputName,
		Kind: graph.Input,
		Next: []string{s.cfg.LookupNode},
		Init: func(n *graph.Node) error {
			tw, err := s.tcpWorkerOf(n)
			if err != nil {
				return err
			}
			n.State = tw
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			tw := n.State.(*tcpWorker)
			if !tw.ws.tcpKick.Load() {
				return 0
			}
			tw.ws.tcpKick.Store(false)
			tw.mu.Lock()
			k := copy(v.Idx[:], tw.pending)
			v.Len = k
			rest := copy(tw.pending, tw.pending[k:])
			tw.pending = tw.pending[:rest]
			if rest > 0 {
				tw.ws.tcpKick.Store(true)
			}
			tw.mu.Unlock()
			n.EnqueueAll(v, tcpNextLookup)
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

// Layout of a TCP packet in its buffer from pkt.Headroom: a placeholder
// Ethernet header, IPv4, the segment.
const tcpSegOff = txL4

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
	a := tw.arena
	d, _ := a.SetData(i, pkt.Headroom, tcpSegOff+len(seg))
	clear(d[:txL3])
	tw.ipID++
	f := wire.IPv4Fields{
		TotalLen: uint16(wire.IPv4MinLen + len(seg)),
		ID:       tw.ipID,
		Flags:    wire.IPv4FlagDF,
		TTL:      DefaultTTL,
		Protocol: wire.IPProtoTCP,
		Src:      src.Addr().As4(),
		Dst:      dst.Addr().As4(),
	}
	wire.IPv4(d[txL3:txL4]).Encode(&f)
	m := a.Meta(i)
	m.L3, m.L4 = txL3, txL4
	m.RxPort = LocalPort
	m.Flags = pkt.FlagLocal
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
		tw.node.EnqueueOne(i, tcpNextLookup)
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
	ws := tw.ws
	old := ws.tcpKick.Swap(true)
	if ws.hasWaiter.Load() {
		if ws.sleepy.Load() && ws.sleepy.CompareAndSwap(true, false) {
			ws.signalFD()
		}
		return
	}
	if !old {
		if f := ws.wake.Load(); f != nil {
			(*f)()
		}
	}
}
