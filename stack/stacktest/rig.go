// Package stacktest is a test harness for the host stack: one small graph
// per worker holding the stack's nodes and capture nodes named ip4-lookup,
// icmp4-error, ip6-lookup and icmp6-error (each family's lookup and error
// captures recorded together), a frame builder, and a mode in which goroutines run the
// workers' loops so that sockets can be exercised from other goroutines.
// It is for tests only.
package stacktest

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/host"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

// Captured is a packet a capture node saw.
type Captured struct {
	Data []byte   // Data(i) copied
	Meta pkt.Meta // its metadata
}

// Rig is the harness. Graph methods (Deliver, Poll) are for the test
// goroutine when Start was not called; after Start use Inject.
type Rig struct {
	T      testing.TB
	Arena  *pkt.Arena
	Pool   *pkt.Pool
	Stack  *stack.Stack
	UDP    *udp.UDP     // the stack's UDP
	TCP    *tcpnode.TCP // the stack's TCP; nil without Config.TCP
	Graphs []*graph.Graph
	Caches []*pkt.Cache

	mu     sync.Mutex
	lookup []Captured
	icmp   []Captured

	ops     []chan func(g *graph.Graph)
	stop    chan struct{}
	wg      sync.WaitGroup
	started bool
	// Reply, if set, runs on the worker for every packet captured at
	// ip4-lookup (a loopback peer, for example); it may return frames to
	// deliver to udp4-input on the same worker.
	Reply func(c *pkt.Cache, d Captured) []pkt.Index
	// Discard makes the capture nodes free packets without recording them
	// (for allocation tests and benchmarks); Discarded counts them.
	Discard   bool
	Discarded int
}

// New builds cfg.Workers graphs over an arena of slots buffers.
func New(t testing.TB, slots int, cfg stack.Config) *Rig {
	t.Helper()
	a, err := pkt.NewArena(slots)
	if err != nil {
		t.Fatal(err)
	}
	r := &Rig{T: t, Arena: a, Pool: pkt.NewPool(a)}
	r.Stack = host.New(r.Pool, cfg)
	r.UDP = udp.Of(r.Stack)
	r.TCP = tcpnode.Of(r.Stack)
	for w := 0; w < r.Stack.Workers(); w++ {
		c := r.Pool.NewCache()
		regs := append(r.Stack.Registrations(), r.capture(ip4.LookupName, &r.lookup), r.capture(ip4.ICMPErrorName, &r.icmp),
			r.capture(ip6.LookupName, &r.lookup), r.capture(ip6.ICMPErrorName, &r.icmp))
		g, err := graph.Build(c, regs)
		if err != nil {
			t.Fatal(err)
		}
		r.Graphs = append(r.Graphs, g)
		r.Caches = append(r.Caches, c)
		r.ops = append(r.ops, make(chan func(g *graph.Graph), 64))
	}
	return r
}

func (r *Rig) capture(name string, into *[]Captured) graph.Registration {
	return graph.Registration{
		Name: name,
		Func: func(n *graph.Node, v *pkt.Vector) int {
			if r.Discard {
				r.Discarded += v.Len
				k := v.Len
				n.Free(v, 0)
				return k
			}
			a := n.Arena()
			var again []pkt.Index
			r.mu.Lock()
			for _, i := range v.Idx[:v.Len] {
				c := Captured{Data: append([]byte(nil), a.Data(i)...), Meta: *a.Meta(i)}
				*into = append(*into, c)
				if r.Reply != nil && (name == ip4.LookupName || name == ip6.LookupName) {
					again = append(again, r.Reply(n.Cache(), c)...)
				}
			}
			r.mu.Unlock()
			k := v.Len
			n.Free(v, 0)
			if len(again) > 0 {
				var w pkt.Vector
				for _, i := range again {
					w.Append(i)
				}
				node := udp.InputName
				if name == ip6.LookupName {
					node = udp.Input6Name
				}
				if err := n.Graph().Inject(node, &w); err != nil {
					panic(err)
				}
			}
			return k
		},
		Errors: []graph.Error{{Name: "captured", Severity: graph.SevInfo}},
	}
}

// TakeLookup returns and forgets what ip4-lookup captured.
func (r *Rig) TakeLookup() []Captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.lookup
	r.lookup = nil
	return s
}

// TakeICMP returns and forgets what icmp4-error captured.
func (r *Rig) TakeICMP() []Captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.icmp
	r.icmp = nil
	return s
}

// Frame builds an Ethernet/IPv4/UDP frame from src to dst in a buffer of
// cache c, with Meta.L3 and Meta.L4 set as ip4-input leaves them; for IPv6
// addresses an Ethernet/IPv6/UDP frame (deliver it to udp6-input).
func Frame(c *pkt.Cache, src, dst netip.AddrPort, payload []byte) pkt.Index {
	if src.Addr().Is6() && !src.Addr().Is4In6() {
		return frame6(c, src, dst, payload)
	}
	i, ok := c.Alloc()
	if !ok {
		panic("stacktest: pool exhausted")
	}
	a := c.Arena()
	n := wire.EthernetLen + wire.IPv4MinLen + wire.UDPLen + len(payload)
	d, _ := a.SetData(i, pkt.Headroom, n)
	clear(d[:wire.EthernetLen])
	d[12] = 0x08
	ip := wire.IPv4(d[wire.EthernetLen:])
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(n - wire.EthernetLen), TTL: 64, Protocol: wire.IPProtoUDP, Src: src.Addr().As4(), Dst: dst.Addr().As4()})
	u := wire.UDP(d[wire.EthernetLen+wire.IPv4MinLen:])
	u.Encode(&wire.UDPFields{SrcPort: src.Port(), DstPort: dst.Port(), Length: uint16(wire.UDPLen + len(payload))})
	copy(u[wire.UDPLen:], payload)
	u.SetChecksum(u.ComputeChecksum(src.Addr().As4(), dst.Addr().As4()))
	m := a.Meta(i)
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv4MinLen
	return i
}

// frame6 is Frame for IPv6.
func frame6(c *pkt.Cache, src, dst netip.AddrPort, payload []byte) pkt.Index {
	i, ok := c.Alloc()
	if !ok {
		panic("stacktest: pool exhausted")
	}
	a := c.Arena()
	n := wire.EthernetLen + wire.IPv6Len + wire.UDPLen + len(payload)
	d, _ := a.SetData(i, pkt.Headroom, n)
	clear(d[:wire.EthernetLen])
	d[12], d[13] = 0x86, 0xdd
	s16, d16 := src.Addr().As16(), dst.Addr().As16()
	wire.IPv6(d[wire.EthernetLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(wire.UDPLen + len(payload)), NextHeader: wire.IPProtoUDP, HopLimit: 64, Src: s16, Dst: d16})
	u := wire.UDP(d[wire.EthernetLen+wire.IPv6Len:])
	u.Encode(&wire.UDPFields{SrcPort: src.Port(), DstPort: dst.Port(), Length: uint16(wire.UDPLen + len(payload))})
	copy(u[wire.UDPLen:], payload)
	u.SetChecksum(u.ComputeChecksum6(s16, d16))
	m := a.Meta(i)
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv6Len
	return i
}

// Frame builds a frame in worker w's cache (see Frame).
func (r *Rig) Frame(w int, src, dst netip.AddrPort, payload []byte) pkt.Index {
	return Frame(r.Caches[w], src, dst, payload)
}

// Deliver hands idx to worker w's udp4-input and dispatches. Not after Start.
func (r *Rig) Deliver(w int, idx ...pkt.Index) { r.DeliverTo(w, udp.InputName, idx...) }

// DeliverTo hands idx to worker w's node named node and dispatches. Not
// after Start.
func (r *Rig) DeliverTo(w int, node string, idx ...pkt.Index) {
	var v pkt.Vector
	for _, i := range idx {
		v.Append(i)
	}
	if err := r.Graphs[w].Inject(node, &v); err != nil {
		r.T.Fatal(err)
	}
	r.Graphs[w].Dispatch()
}

// ICMPError builds an Ethernet/IPv4 frame from from to the address of
// orig's source carrying an ICMP error (typ, code) that quotes orig's IP
// header and 8 bytes of payload, as a router or host would send it. orig
// starts at its IP header.
func ICMPError(c *pkt.Cache, from [4]byte, typ, code uint8, orig []byte) pkt.Index {
	q := orig[:min(len(orig), wire.IPv4(orig).HeaderLen()+8)]
	i, ok := c.Alloc()
	if !ok {
		panic("stacktest: pool exhausted")
	}
	a := c.Arena()
	n := wire.EthernetLen + wire.IPv4MinLen + wire.ICMPv4MinLen + len(q)
	d, _ := a.SetData(i, pkt.Headroom, n)
	clear(d[:wire.EthernetLen])
	d[12] = 0x08
	ip := wire.IPv4(d[wire.EthernetLen:])
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(n - wire.EthernetLen), TTL: 64, Protocol: wire.IPProtoICMP, Src: from, Dst: wire.IPv4(orig).Src()})
	ic := wire.ICMPv4(d[wire.EthernetLen+wire.IPv4MinLen:])
	clear(ic[:wire.ICMPv4MinLen])
	ic.SetType(typ)
	ic.SetCode(code)
	copy(ic[wire.ICMPv4MinLen:], q)
	ic.SetChecksum(ic.ComputeChecksum())
	m := a.Meta(i)
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv4MinLen
	return i
}

// Poll runs one pass of worker w's graph. Not after Start.
func (r *Rig) Poll(w int) int { return r.Graphs[w].Poll() }

// Start runs every worker's loop in a goroutine until Close.
func (r *Rig) Start() {
	r.started = true
	r.stop = make(chan struct{})
	for w := range r.Graphs {
		kick := make(chan struct{}, 1)
		if err := r.Stack.SetWaker(r.Graphs[w], func() {
			select {
			case kick <- struct{}{}:
			default:
			}
		}); err != nil {
			r.T.Fatal(err)
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			g := r.Graphs[w]
			idle := time.NewTimer(time.Millisecond)
			defer idle.Stop()
			for {
				select {
				case <-r.stop:
					return
				case f := <-r.ops[w]:
					f(g)
				default:
				}
				if g.Poll() > 0 || g.Pending() {
					continue
				}
				idle.Reset(time.Millisecond)
				select {
				case <-r.stop:
					return
				case f := <-r.ops[w]:
					f(g)
				case <-kick:
				case <-idle.C:
				}
			}
		}()
	}
}

// Do runs f on worker w's goroutine and waits for it. After Start only.
func (r *Rig) Do(w int, f func(g *graph.Graph)) {
	done := make(chan struct{})
	r.ops[w] <- func(g *graph.Graph) { f(g); close(done) }
	<-done
}

// Inject builds frames with build on worker w (its cache is the worker's)
// and delivers them to udp4-input there. After Start only.
func (r *Rig) Inject(w int, build func(c *pkt.Cache) []pkt.Index) {
	r.Do(w, func(g *graph.Graph) {
		var v pkt.Vector
		for _, i := range build(g.Cache()) {
			v.Append(i)
		}
		if err := g.Inject(udp.InputName, &v); err != nil {
			panic(err)
		}
	})
}

// Errors returns worker w's count of node's error name, safely in either mode.
func (r *Rig) Errors(w int, node, name string) uint64 {
	var n uint64
	if !r.started {
		return r.Graphs[w].ErrorByName(node, name)
	}
	r.Do(w, func(g *graph.Graph) { n = g.ErrorByName(node, name) })
	return n
}

// Close stops the workers, closes the graphs and checks that every buffer
// went back to the pool.
func (r *Rig) Close() {
	if r.started {
		close(r.stop)
		r.wg.Wait()
		r.started = false
	}
	for _, g := range r.Graphs {
		g.Close()
	}
	r.Stack.Flush()
	for _, c := range r.Caches {
		c.Flush()
	}
	if n := r.Pool.InUse(); n != 0 {
		r.T.Errorf("stacktest: %d buffers still in use", n)
	}
	if err := r.Pool.Check(); err != nil {
		r.T.Error(err)
	}
	_ = r.Arena.Close()
}
