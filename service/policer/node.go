package policer

import (
	"sync/atomic"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// NodeName is the policer's node on the ip4-unicast feature arc.
const NodeName = "ip4-policer"

// Feature is the node's place on the ip4-unicast arc. The ACL declares
// that it runs after it (a flood is metered before it costs a
// classification); the ACL also uses policers per class of its rules
// (ColorRun), so it imports this package, not the reverse.
var Feature = graph.Feature{Node: NodeName}

// ActionKind is what the node does with a packet of a colour.
type ActionKind uint8

const (
	// Transmit passes the packet on unchanged.
	Transmit ActionKind = iota
	// Drop drops the packet, counted under the colour's drop counter.
	Drop
	// MarkDSCP rewrites the packet's DSCP (keeping ECN) and passes it on.
	MarkDSCP
)

// Action is one colour's action.
type Action struct {
	Kind ActionKind
	DSCP uint8 // for MarkDSCP, 0..63
}

// Policer is a meter bound to the traffic received on one interface, with
// an action per colour. Its per-colour counters are updated by the workers
// once per vector.
type Policer struct {
	Name    string
	Meter   *Meter
	Actions [NumColors]Action
	counts  [NumColors]counter
}

type counter struct {
	packets, bytes atomic.Uint64
	_              [48]byte
}

// Counts returns the packets and bytes the policer coloured, per colour.
func (p *Policer) Counts() (packets, bytes [NumColors]uint64) {
	for c := range p.counts {
		packets[c], bytes[c] = p.counts[c].packets.Load(), p.counts[c].bytes.Load()
	}
	return packets, bytes
}

// ColorRun meters a run of packets of sizes (IP bytes) at time now into
// colors and adds them to the per-colour counters: one meter update and
// one counter update per colour for the run. The caller applies
// p.Actions[colors[k]] (SetDSCP for MarkDSCP).
func (p *Policer) ColorRun(now int64, sizes []uint32, colors []Color) {
	p.Meter.Color(now, sizes, colors)
	var pk, by [NumColors]uint64
	for k, c := range colors {
		pk[c]++
		by[c] += uint64(sizes[k])
	}
	for c := range pk {
		if pk[c] != 0 {
			p.counts[c].packets.Add(pk[c])
			p.counts[c].bytes.Add(by[c])
		}
	}
}

// Table maps receive interfaces to their policers (nil: not policed). The
// node reads the table once per vector; a new Table is published with
// Set, never edited in place.
type Table struct{ p atomic.Pointer[[]*Policer] }

// Set publishes byPort (indexed by interface index) as the table.
func (t *Table) Set(byPort []*Policer) { t.p.Store(&byPort) }

func (t *Table) load() []*Policer {
	if p := t.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Error codes of ip4-policer.
const (
	ErrGreenDrop = iota
	ErrYellowDrop
	ErrRedDrop
	ErrNotPoliced
)

var nodeErrors = []graph.Error{
	ErrGreenDrop:  {Name: "green_drop", Help: "conforming packets dropped by the policer's green action", Severity: graph.SevWarn},
	ErrYellowDrop: {Name: "yellow_drop", Help: "packets above the committed rate dropped by the policer", Severity: graph.SevWarn},
	ErrRedDrop:    {Name: "red_drop", Help: "packets above the excess or peak rate dropped by the policer", Severity: graph.SevWarn},
	ErrNotPoliced: {Name: "not_policed", Help: "packets on an interface with the feature on but no policer bound", Severity: graph.SevInfo},
}

// scratch is the node's per-worker state: the sizes and colours of one run
// of packets that share a policer.
type scratch struct {
	arc    int
	sizes  [pkt.VectorSize]uint32
	colors [pkt.VectorSize]Color
}

// Node returns ip4-policer, a feature of the ip4-unicast arc that meters
// each packet with the policer bound to its receive interface and applies
// the colour's action.
func Node(t *Table) graph.Registration {
	return graph.Registration{
		Name:   NodeName,
		Errors: nodeErrors,
		Init: func(n *graph.Node) error {
			arc, err := n.Graph().ArcID(ip4.UnicastArc)
			n.State = &scratch{arc: arc}
			return err
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return police(n, v, t.load()) },
	}
}

// police is the node function. Packets are metered in runs of consecutive
// packets that share a policer (a vector from one port is one run), so the
// meter's atomics are paid per run, not per packet.
func police(n *graph.Node, v *pkt.Vector, byPort []*Policer) int {
	s := n.State.(*scratch)
	a := n.Arena()
	now := n.Graph().Now()
	idx := v.Idx[:v.Len]
	for start := 0; start < len(idx); {
		m0 := a.Meta(idx[start])
		var p *Policer
		if int(m0.RxPort) < len(byPort) {
			p = byPort[m0.RxPort]
		}
		end := start + 1
		for end < len(idx) && samePolicer(a.Meta(idx[end]), byPort, p) {
			end++
		}
		if p == nil {
			for k := start; k < end; k++ {
				n.Nexts[k] = n.ArcNext(s.arc, a.Meta(idx[k]))
			}
			n.Count(ErrNotPoliced, uint64(end-start))
			start = end
			continue
		}
		for k := start; k < end; k++ {
			m := a.Meta(idx[k])
			s.sizes[k] = uint32(m.Len - m.L3)
		}
		p.Meter.Color(now, s.sizes[start:end], s.colors[start:end])
		var pk, by [NumColors]uint64
		for k := start; k < end; k++ {
			c := s.colors[k]
			pk[c]++
			by[c] += uint64(s.sizes[k])
			m := a.Meta(idx[k])
			switch act := p.Actions[c]; act.Kind {
			case Drop:
				n.Drop(m, k, ErrGreenDrop+int(c))
				continue
			case MarkDSCP:
				_, l3 := a.L3(idx[k])
				SetDSCP(wire.IPv4(l3), act.DSCP)
			}
			n.Nexts[k] = n.ArcNext(s.arc, m)
		}
		for c := range pk {
			if pk[c] != 0 {
				p.counts[c].packets.Add(pk[c])
				p.counts[c].bytes.Add(by[c])
			}
		}
		start = end
	}
	n.Enqueue(v, n.Nexts[:v.Len])
	return len(idx)
}

func samePolicer(m *pkt.Meta, byPort []*Policer, p *Policer) bool {
	if int(m.RxPort) < len(byPort) {
		return byPort[m.RxPort] == p
	}
	return p == nil
}

// SetDSCP sets the DSCP of ip (ip4-input has validated its header),
// keeping the ECN bits, and updates the header checksum (RFC 1624): the
// MarkDSCP action.
func SetDSCP(ip wire.IPv4, dscp uint8) {
	old := uint16(ip[0])<<8 | uint16(ip[1])
	ip[1] = dscp<<2 | ip[1]&3
	ip.SetChecksum(wire.ChecksumUpdate16(ip.Checksum(), old, uint16(ip[0])<<8|uint16(ip[1])))
}
