package bridge

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Node names.
const (
	LearnName = "l2-learn"
	FwdName   = "l2-fwd"
	FloodName = "l2-flood"
)

// Error codes of l2-learn.
const (
	LearnErrNotBridged = iota
	LearnErrSrcMulticast
	LearnErrLearned
	LearnErrMoved
	LearnErrFull
	LearnErrAged
)

// Error codes of l2-fwd.
const (
	FwdErrNotBridged = iota
	FwdErrSameInterface
	FwdErrSplitHorizon
)

// Error codes of l2-flood.
const (
	FloodErrNoMember = iota
	FloodErrNoBuffer
	FloodErrNotBridged
)

// Edges of l2-fwd and l2-flood (both name the same nexts in this order).
const (
	edgeOutput   = 1 // interface-output
	edgeEthernet = 2 // ethernet-input, as received on the BVI
	edgeFlood    = 3 // l2-flood (l2-fwd only)
)

// Names is how the nodes name the nodes they send to.
type Names struct {
	Output   string // interface-output
	Ethernet string // ethernet-input
}

// state is one worker's bridging state, shared by its three nodes.
type state struct {
	macs *macTable
	tbl  *Table
}

// Nodes returns l2-learn, l2-fwd and l2-flood over the domains of t. Each
// worker's MAC table holds the MaxMACs of every domain set before the
// graph is built.
func Nodes(t *Table, names Names) []graph.Registration {
	return []graph.Registration{learnNode(t), fwdNode(t, names), floodNode(t, names)}
}

func learnNode(t *Table) graph.Registration {
	return graph.Registration{
		Name: LearnName,
		Next: []string{FwdName},
		Errors: []graph.Error{
			LearnErrNotBridged:   {Name: "not_bridged", Help: "frame from an interface in no bridge domain"},
			LearnErrSrcMulticast: {Name: "src_multicast", Help: "multicast or broadcast source MAC (not learnt, not bridged)", Severity: graph.SevWarn},
			LearnErrLearned:      {Name: "learned", Help: "MACs learnt", Severity: graph.SevInfo},
			LearnErrMoved:        {Name: "moved", Help: "learnt MACs seen on another member (moved)", Severity: graph.SevInfo},
			LearnErrFull:         {Name: "table_full", Help: "MACs not learnt: the domain's MAC table is full (the frame is still bridged)", Severity: graph.SevWarn},
			LearnErrAged:         {Name: "aged", Help: "learnt MACs removed after their age passed unseen", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			s := t.cur.Load()
			macs := newMACTable(s.macs)
			macs.count = make([]int, len(s.domains)) // no growth on the first packets
			n.State = &state{macs: macs, tbl: t}
			return nil
		},
		Tick: func(n *graph.Node) { tick(n, n.State.(*state)) },
		Func: func(n *graph.Node, v *pkt.Vector) int { return learn(n, v, t.cur.Load(), n.State.(*state).macs) },
		Format: func(r *graph.TraceRecord) string {
			if r.Len < wire.EthernetLen {
				return "short frame"
			}
			e := wire.Ethernet(r.Data[:r.Len])
			return "l2-learn " + e.Src().String() + " -> " + e.Dst().String()
		},
	}
}

// ageScan is how often the timer scans the MAC table for expired entries.
const ageScan = int64(1e9)

// tick clears the table when asked and expires entries about once a second.
func tick(n *graph.Node, st *state) {
	now := n.Graph().Now()
	if c := st.tbl.clear.Load(); c != st.macs.clear {
		st.macs.clear = c
		st.macs.reset()
	}
	if now < st.macs.nextAge {
		return
	}
	s := st.tbl.cur.Load()
	scan := ageScan
	for k := range s.domains {
		scan = min(scan, max(s.domains[k].age/4, int64(graph.TickInterval)))
	}
	st.macs.nextAge = now + scan
	aged := st.macs.expire(now, func(dom int32) int64 {
		if int(dom) < len(s.domains) {
			return s.domains[dom].age
		}
		return 0 // the domain is gone
	})
	if aged > 0 {
		n.Count(LearnErrAged, uint64(aged))
	}
}

func learn(n *graph.Node, v *pkt.Vector, s *snapshot, macs *macTable) int {
	a := n.Arena()
	now := n.Graph().Now()
	cnt := v.Len
	var learnt, moved, full uint64
	for k, i := range v.Idx[:cnt] {
		m, d := a.Packet(i)
		p := s.port(m.RxPort)
		if p.dom < 0 || p.bvi || len(d) < wire.EthernetLen {
			n.Drop(m, k, LearnErrNotBridged)
			continue
		}
		src := d[6:12]
		if src[0]&1 != 0 {
			n.Drop(m, k, LearnErrSrcMulticast)
			continue
		}
		switch macs.learn(macKey(p.dom, src), p.dom, m.RxPort, now, s.domains[p.dom].MaxMACs) {
		case learnNew:
			learnt++
		case learnMoved:
			moved++
		case learnFull:
			full++
		}
		n.Nexts[k] = 1
	}
	if learnt|moved|full != 0 {
		n.Count(LearnErrLearned, learnt)
		n.Count(LearnErrMoved, moved)
		n.Count(LearnErrFull, full)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func fwdNode(t *Table, names Names) graph.Registration {
	return graph.Registration{
		Name: FwdName,
		Next: []string{names.Output, names.Ethernet, FloodName},
		Errors: []graph.Error{
			FwdErrNotBridged:    {Name: "not_bridged", Help: "frame from an interface in no bridge domain"},
			FwdErrSameInterface: {Name: "same_interface", Help: "destination MAC learnt on the member the frame came from (filtered)", Severity: graph.SevWarn},
			FwdErrSplitHorizon:  {Name: "split_horizon", Help: "destination MAC on a member of the ingress member's split-horizon group", Severity: graph.SevWarn},
		},
		Init: func(n *graph.Node) error {
			l := n.Graph().Node(LearnName)
			if l == nil {
				return errNoLearn
			}
			n.State = l.State
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return fwd(n, v, t.cur.Load(), n.State.(*state).macs) },
		Format: formatL2("l2-fwd"),
	}
}

// formatL2 renders a traced frame with the port it goes to.
func formatL2(node string) func(r *graph.TraceRecord) string {
	return func(r *graph.TraceRecord) string {
		if r.Len < wire.EthernetLen {
			return "short frame"
		}
		e := wire.Ethernet(r.Data[:r.Len])
		return node + " " + e.Src().String() + " -> " + e.Dst().String() + " rx " + itoa(r.Meta.RxPort) + " tx " + itoa(r.Meta.TxPort)
	}
}

func itoa(x uint16) string {
	var b [5]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			return string(b[i:])
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoLearn = errString("bridge: l2-learn is not in the graph")

func fwd(n *graph.Node, v *pkt.Vector, s *snapshot, macs *macTable) int {
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m, d := a.Packet(i)
		p := s.port(m.RxPort)
		if p.dom < 0 || len(d) < wire.EthernetLen {
			n.Drop(m, k, FwdErrNotBridged)
			continue
		}
		dst := d[0:6]
		if dst[0]&1 != 0 {
			n.Nexts[k] = edgeFlood
			continue
		}
		dom := &s.domains[p.dom]
		if dom.HasBVI && [6]byte(dst) == dom.BVIMAC {
			if p.bvi {
				n.Drop(m, k, FwdErrSameInterface)
				continue
			}
			m.RxPort = dom.BVI
			n.Nexts[k] = edgeEthernet
			continue
		}
		e := macs.find(macKey(p.dom, dst))
		if e < 0 {
			n.Nexts[k] = edgeFlood
			continue
		}
		out := macs.slots[e].If
		if out == m.RxPort {
			n.Drop(m, k, FwdErrSameInterface)
			continue
		}
		if q := s.port(out); q.dom != p.dom {
			n.Nexts[k] = edgeFlood // learnt before the member left the domain
			continue
		} else if q.group != 0 && q.group == p.group {
			n.Drop(m, k, FwdErrSplitHorizon)
			continue
		}
		m.TxPort = out
		n.Nexts[k] = edgeOutput
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func floodNode(t *Table, names Names) graph.Registration {
	return graph.Registration{
		Name: FloodName,
		Next: []string{names.Output, names.Ethernet},
		Errors: []graph.Error{
			FloodErrNoMember:   {Name: "no_member", Help: "flooded frame with no member to go to (the ingress is alone in its domain or group)", Severity: graph.SevWarn},
			FloodErrNoBuffer:   {Name: "no_buffer", Help: "flood copies not made: no packet buffer free"},
			FloodErrNotBridged: {Name: "not_bridged", Help: "frame from an interface in no bridge domain"},
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return flood(n, v, t.cur.Load()) },
		Format: formatL2("l2-flood"),
	}
}

// flood sends each packet to every member of its domain but the ingress
// and its split-horizon group (and the BVI, for unknown unicast): copies
// to all but the last, the original to the last.
func flood(n *graph.Node, v *pkt.Vector, s *snapshot) int {
	a := n.Arena()
	c := n.Cache()
	cnt := v.Len
	var nobuf uint64
	for k, i := range v.Idx[:cnt] {
		m, d := a.Packet(i)
		p := s.port(m.RxPort)
		if p.dom < 0 {
			n.Drop(m, k, FloodErrNotBridged)
			continue
		}
		dom := &s.domains[p.dom]
		in := m.RxPort
		// Unknown unicast is not for the BVI (l2-fwd matched its MAC):
		// only broadcast and multicast go to its L3 path.
		skipBVI := dom.HasBVI && (len(d) == 0 || d[0]&1 == 0)
		last := -1
		for j := range dom.members {
			mb := &dom.members[j]
			if mb.If == in || (mb.Group != 0 && mb.Group == p.group) || (skipBVI && mb.If == dom.BVI) {
				continue
			}
			if last >= 0 {
				ci, ok := c.Alloc()
				if !ok {
					nobuf++
					continue
				}
				cm := a.Meta(ci)
				cd, _ := a.SetData(ci, pkt.Headroom, len(d))
				copy(cd, d)
				cm.RxPort, cm.Flags, cm.VLAN, cm.Seq = in, m.Flags, m.VLAN, m.Seq
				n.EnqueueOne(ci, target(cm, dom, dom.members[last].If))
			}
			last = j
		}
		if last < 0 {
			n.Drop(m, k, FloodErrNoMember)
			continue
		}
		n.Nexts[k] = target(m, dom, dom.members[last].If)
	}
	if nobuf > 0 {
		n.Count(FloodErrNoBuffer, nobuf)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// target points m at member out: the BVI's L3 path or out's port.
func target(m *pkt.Meta, dom *domainRT, out uint16) uint16 {
	if dom.HasBVI && out == dom.BVI {
		m.RxPort = out
		return edgeEthernet
	}
	m.TxPort = out
	return edgeOutput
}
