package bridge

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

// BVIPort is a BVI's port on one worker: what interface-output sends to
// the BVI (packets routed out of it, ARP and ND it sends) enters the
// bridge at l2-fwd, as if received on the BVI. It receives nothing: frames
// for the BVI reach ethernet-input from l2-fwd and l2-flood.
type BVIPort struct {
	bvi   uint16
	g     *graph.Graph
	stats driver.Stats
}

// NewBVIPort returns the port of BVI interface bvi. Bind it to its
// worker's graph before the worker runs.
func NewBVIPort(bvi uint16) *BVIPort { return &BVIPort{bvi: bvi} }

// Bind sets the graph whose l2-fwd the port's packets enter.
func (p *BVIPort) Bind(g *graph.Graph) { p.g = g }

// Recv implements driver.Port; a BVI receives through the bridge nodes.
func (p *BVIPort) Recv(*pkt.Cache, *pkt.Vector) int { return 0 }

// Send implements driver.Port: v's packets go to l2-fwd with Meta.RxPort
// the BVI. It runs inside the worker's dispatch, whose pass then runs them.
func (p *BVIPort) Send(c *pkt.Cache, v *pkt.Vector) int {
	k := v.Len
	if k == 0 {
		return 0
	}
	a := c.Arena()
	var bytes uint64
	for _, i := range v.Idx[:k] {
		m := a.Meta(i)
		m.RxPort = p.bvi
		bytes += uint64(m.Len)
	}
	if p.g == nil || p.g.Inject(FwdName, v) != nil {
		c.FreeN(v.Idx[:k])
		v.Reset()
		p.stats.TxDrops += uint64(k)
		return 0
	}
	p.stats.TxPackets += uint64(k)
	p.stats.TxBytes += bytes
	return k
}

// Stats implements driver.Port.
func (p *BVIPort) Stats() driver.Stats { return p.stats }

// Close implements driver.Port; the port holds no buffers.
func (p *BVIPort) Close(*pkt.Cache) error { return nil }

// MAC is one learnt MAC as a worker's table holds it.
type MAC struct {
	Domain uint32
	MAC    [6]byte
	If     uint16
	// Idle is how long since a frame from the MAC was last seen.
	Idle int64 // ns
}

// MACs returns what graph g's MAC table learnt, for "show bridge macs".
// Call it on g's worker (worker.Do).
func MACs(g *graph.Graph) []MAC {
	n := g.Node(LearnName)
	if n == nil {
		return nil
	}
	st := n.State.(*state)
	s := st.tbl.cur.Load()
	var out []MAC
	now := g.Now()
	for _, e := range st.macs.slots {
		if e.key == 0 {
			continue
		}
		dom := int(e.key>>48) - 1
		if dom >= len(s.domains) {
			continue
		}
		k := e.key
		out = append(out, MAC{Domain: s.domains[dom].ID, If: e.If, Idle: now - e.seen,
			MAC: [6]byte{byte(k >> 40), byte(k >> 32), byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}})
	}
	return out
}
