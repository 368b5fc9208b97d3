package acl

import (
	"sync/atomic"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/service/policer"
	"github.com/vecnet/vecnet/wire"
)

// Node names: the inbound ACL on the ip4-unicast feature arc, the
// outbound one on the ip4-output arc.
const (
	NodeName    = "ip4-acl-in"
	OutNodeName = "ip4-acl-out"
)

// Feature is ip4-acl-in's place on the ip4-unicast arc: after the
// interface policer (a flood is metered before it costs a classification).
var Feature = graph.Feature{Node: NodeName, RunsAfter: []string{policer.NodeName}}

// OutFeature is ip4-acl-out's place on the ip4-output arc.
var OutFeature = graph.Feature{Node: OutNodeName}

// ACL is a named, compiled rule list with the action for packets no rule
// matches, and a hit counter per rule (updated once per run of packets
// that hit the same rule, not per packet).
type ACL struct {
	Name    string
	C       *Classifier
	Default Action // for packets that match no rule: Deny, as VPP's implicit deny
	hits    []atomic.Uint64
	misses  atomic.Uint64
	police  []*policer.Policer // per rule: the class policer of what it permits, or nil
}

// New returns an ACL over a compiled classifier.
func New(name string, c *Classifier, def Action) *ACL {
	return &ACL{Name: name, C: c, Default: def, hits: make([]atomic.Uint64, len(c.rules))}
}

// SetPolicer binds p as the class policer of rule (0-based), metering the
// packets the rule permits; call it before the ACL is published.
func (a *ACL) SetPolicer(rule int, p *policer.Policer) {
	if a.police == nil {
		a.police = make([]*policer.Policer, len(a.hits))
	}
	a.police[rule] = p
}

// Hits returns each rule's hit count, and the count of packets that
// matched no rule.
func (a *ACL) Hits() (perRule []uint64, noMatch uint64) {
	perRule = make([]uint64, len(a.hits))
	for i := range a.hits {
		perRule[i] = a.hits[i].Load()
	}
	return perRule, a.misses.Load()
}

func (a *ACL) count(rule int32, n uint64) {
	if rule < 0 {
		a.misses.Add(n)
	} else {
		a.hits[rule].Add(n)
	}
}

// Table maps interfaces to their ACL of one direction (nil: none): the
// receive interface for ip4-acl-in, the transmit interface for
// ip4-acl-out. It is published whole with Set and read once per vector.
type Table struct{ p atomic.Pointer[[]*ACL] }

// Set publishes byPort, indexed by interface index.
func (t *Table) Set(byPort []*ACL) { t.p.Store(&byPort) }

func (t *Table) load() []*ACL {
	if p := t.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Error codes of ip4-acl-in and ip4-acl-out.
const (
	ErrDenied = iota
	ErrNoMatch
	ErrL4Truncated
	ErrNoACL
	ErrSessionHit
	ErrSessionOpened
	ErrSessionTableFull
	ErrSessionExpired
	ErrPoliceGreenDrop
	ErrPoliceYellowDrop
	ErrPoliceRedDrop
	ErrSessionRelated
	ErrICMPErrorUnrelated
)

var nodeErrors = []graph.Error{
	ErrDenied:      {Name: "denied", Help: "packets denied by an ACL rule", Severity: graph.SevWarn},
	ErrNoMatch:     {Name: "no_match_denied", Help: "packets that matched no rule of a default-deny ACL", Severity: graph.SevWarn},
	ErrL4Truncated: {Name: "l4_truncated", Help: "first fragments or packets too short for the ports or flags the ACL needs (RFC 1858)", Severity: graph.SevError},
	ErrNoACL:       {Name: "no_acl", Help: "packets on an interface with the feature on but no ACL bound", Severity: graph.SevInfo},

	ErrSessionHit:       {Name: "session_hit", Help: "packets admitted by an existing session (either direction)", Severity: graph.SevInfo},
	ErrSessionOpened:    {Name: "session_opened", Help: "sessions opened by permit+reflect rules", Severity: graph.SevInfo},
	ErrSessionTableFull: {Name: "session_table_full", Help: "new flows dropped: the worker's session table is full", Severity: graph.SevError},
	ErrSessionExpired:   {Name: "session_expired", Help: "sessions removed by their idle timeout", Severity: graph.SevInfo},

	ErrPoliceGreenDrop:  {Name: "police_green_drop", Help: "permitted packets dropped by their rule's class policer, green action", Severity: graph.SevWarn},
	ErrPoliceYellowDrop: {Name: "police_yellow_drop", Help: "permitted packets above their rule's class policer's committed rate, dropped", Severity: graph.SevWarn},
	ErrPoliceRedDrop:    {Name: "police_red_drop", Help: "permitted packets above their rule's class policer's excess or peak rate, dropped", Severity: graph.SevWarn},

	ErrSessionRelated:     {Name: "session_related", Help: "ICMP errors admitted because the datagram they quote belongs to a session", Severity: graph.SevInfo},
	ErrICMPErrorUnrelated: {Name: "icmp_error_unrelated", Help: "ICMP errors about no session (or a malformed quote) that the ACL denies", Severity: graph.SevWarn},
}

type scratch struct {
	arc      int
	tx       bool      // ACLs are per transmit interface (ip4-acl-out)
	sessions *Sessions // nil when no rule reflects
	shared   bool      // sessions belong to the other direction's node, which sweeps them
	keys     [pkt.VectorSize]Key
	rules    [pkt.VectorSize]int32
	short    [pkt.VectorSize / 64]uint64 // packets whose key could not be read
	hit      [pkt.VectorSize / 64]uint64 // packets admitted by a session
	policed  [pkt.VectorSize / 64]uint64 // permitted packets whose rule has a class policer
	icmpErr  [pkt.VectorSize / 64]uint64 // ICMP errors about no session (a deny names them)
	quoted   Key                         // scratch: the flow an ICMP error quotes
	sizes    [pkt.VectorSize]uint32      // one class policer's packets: IP lengths
	colors   [pkt.VectorSize]policer.Color
	at       [pkt.VectorSize]uint8 // their positions in the vector
}

// NodeConfig configures ip4-acl-in or ip4-acl-out.
type NodeConfig struct {
	Table *Table
	// Stateful gives each worker a session table (sized by Sessions) for
	// permit+reflect rules; without it, permit+reflect is permit.
	Stateful bool
	Sessions SessionConfig
}

// Node returns ip4-acl-in, a feature of the ip4-unicast arc that permits
// or denies what an interface receives by the interface's ACL and, when
// stateful, admits the packets of sessions that permit+reflect rules
// opened, in both directions, on any interface with an ACL.
func Node(cfg NodeConfig) graph.Registration {
	return node(NodeName, ip4.UnicastArc, false, OutNodeName, cfg)
}

// OutNode returns ip4-acl-out, a feature of the ip4-output arc that
// permits or denies what leaves an interface by the interface's outbound
// ACL (after ip4-rewrite chose the interface). When stateful it shares the
// worker's session table with ip4-acl-in: a session its permit+reflect
// rule opens admits the return traffic that ip4-acl-in sees, and the
// reverse.
func OutNode(cfg NodeConfig) graph.Registration {
	return node(OutNodeName, ip4.OutputArc, true, NodeName, cfg)
}

// node is either direction's node; peer is the other direction's, whose
// session table it shares when that one was set up first.
func node(name, arcName string, tx bool, peer string, cfg NodeConfig) graph.Registration {
	return graph.Registration{
		Name:   name,
		Errors: nodeErrors,
		Init: func(n *graph.Node) error {
			arc, err := n.Graph().ArcID(arcName)
			st := &scratch{arc: arc, tx: tx}
			if cfg.Stateful {
				if p := n.Graph().Node(peer); p != nil {
					if ps, ok := p.State.(*scratch); ok && ps.sessions != nil {
						st.sessions, st.shared = ps.sessions, true
					}
				}
				if st.sessions == nil {
					st.sessions = NewSessions(cfg.Sessions)
				}
			}
			n.State = st
			return err
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return classify(n, v, cfg.Table.load()) },
		Tick: func(n *graph.Node) {
			if s := n.State.(*scratch); s.sessions != nil && !s.shared {
				// A slice of the table per tick: the whole table every
				// 256 ticks (2.56 s).
				if k := s.sessions.Sweep(n.Graph().Now(), len(s.sessions.slots)/256+16); k > 0 {
					n.Count(ErrSessionExpired, uint64(k))
				}
			}
		},
	}
}

// NodeSessions returns the sessions of one worker's ACL nodes (call it on
// that worker; both directions share one table), or nil when the graph has
// no stateful ACL node.
func NodeSessions(g *graph.Graph) []SessionInfo {
	for _, name := range []string{NodeName, OutNodeName} {
		if n := g.Node(name); n != nil {
			if s := n.State.(*scratch).sessions; s != nil {
				return s.Snapshot(g.Now())
			}
		}
	}
	return nil
}

// classify is the node function: per run of packets that share an ACL,
// keys are read from the headers, classified together (LookupVector), and
// acted on.
func classify(n *graph.Node, v *pkt.Vector, byPort []*ACL) int {
	s := n.State.(*scratch)
	a := n.Arena()
	now := n.Graph().Now()
	idx := v.Idx[:v.Len]
	for start := 0; start < len(idx); {
		acl := aclOf(a.Meta(idx[start]), s.tx, byPort)
		end := start + 1
		for end < len(idx) && aclOf(a.Meta(idx[end]), s.tx, byPort) == acl {
			end++
		}
		if acl == nil {
			for k := start; k < end; k++ {
				n.Nexts[k] = n.ArcNext(s.arc, a.Meta(idx[k]))
			}
			n.Count(ErrNoACL, uint64(end-start))
			start = end
			continue
		}
		s.short = [pkt.VectorSize / 64]uint64{}
		s.hit = [pkt.VectorSize / 64]uint64{}
		s.icmpErr = [pkt.VectorSize / 64]uint64{}
		policed := false
		for k := start; k < end; k++ {
			m, l3 := a.L3(idx[k])
			ip := wire.IPv4(l3[:m.Len-m.L3])
			key := &s.keys[k]
			switch {
			case !readKey(key, ip, int(m.L4-m.L3)):
				s.short[k>>6] |= 1 << (k & 63)
			case s.sessions == nil:
			case key.Proto == ProtoICMP && !key.Fragment && isICMPError(uint8(key.SrcPort)):
				if readQuote(&s.quoted, ip, int(m.L4-m.L3)) && s.quoted.Src == key.Dst && s.sessions.Related(&s.quoted, now) {
					s.hit[k>>6] |= 1 << (k & 63)
					n.Count(ErrSessionRelated, 1)
				} else {
					s.icmpErr[k>>6] |= 1 << (k & 63)
				}
			case s.sessions.Track(key, now):
				s.hit[k>>6] |= 1 << (k & 63)
				n.Count(ErrSessionHit, 1)
			}
		}
		acl.C.LookupVector(s.keys[start:end], s.rules[start:end])
		run, runLen := int32(-2), uint64(0)
		for k := start; k < end; k++ {
			m := a.Meta(idx[k])
			r := s.rules[k]
			if s.short[k>>6]&(1<<(k&63)) != 0 {
				// Its key was left incomplete: whatever the lookup said.
				n.Drop(m, k, ErrL4Truncated)
				continue
			}
			if s.hit[k>>6]&(1<<(k&63)) != 0 {
				n.Nexts[k] = n.ArcNext(s.arc, m)
				continue
			}
			if r != run {
				if runLen > 0 {
					acl.count(run, runLen)
				}
				run, runLen = r, 0
			}
			runLen++
			act := acl.Default
			if r >= 0 {
				act = acl.C.rules[r].Action
			}
			if act == Deny {
				if s.icmpErr[k>>6]&(1<<(k&63)) != 0 {
					n.Drop(m, k, ErrICMPErrorUnrelated)
				} else if r >= 0 {
					n.Drop(m, k, ErrDenied)
				} else {
					n.Drop(m, k, ErrNoMatch)
				}
				continue
			}
			if act == PermitReflect && s.sessions != nil {
				switch s.sessions.Open(&s.keys[k], now) {
				case Opened:
					n.Count(ErrSessionOpened, 1)
				case TableFull:
					n.Drop(m, k, ErrSessionTableFull)
					continue
				}
			}
			n.Nexts[k] = n.ArcNext(s.arc, m)
			if r >= 0 && acl.police != nil && acl.police[r] != nil {
				s.policed[k>>6] |= 1 << (k & 63)
				policed = true
			}
		}
		if runLen > 0 {
			acl.count(run, runLen)
		}
		if policed {
			policeRun(n, s, acl, idx, start, end, now)
		}
		start = end
	}
	n.Enqueue(v, n.Nexts[:v.Len])
	return len(idx)
}

// aclOf is the ACL of m's receive interface, or of its transmit interface
// when tx.
// policeRun meters the permitted packets of idx[start:end] whose rule
// has a class policer, one run per policer (a vector of one flow is one
// run), and applies the colours' actions.
func policeRun(n *graph.Node, s *scratch, acl *ACL, idx []pkt.Index, start, end int, now int64) {
	a := n.Arena()
	for k := start; k < end; k++ {
		if s.policed[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		p := acl.police[s.rules[k]]
		cnt := 0
		for j := k; j < end; j++ {
			if s.policed[j>>6]&(1<<(j&63)) != 0 && acl.police[s.rules[j]] == p {
				s.policed[j>>6] &^= 1 << (j & 63)
				m := a.Meta(idx[j])
				s.sizes[cnt], s.at[cnt] = uint32(m.Len-m.L3), uint8(j)
				cnt++
			}
		}
		p.ColorRun(now, s.sizes[:cnt], s.colors[:cnt])
		for q := range cnt {
			j := int(s.at[q])
			switch act := p.Actions[s.colors[q]]; act.Kind {
			case policer.Drop:
				n.Drop(a.Meta(idx[j]), j, ErrPoliceGreenDrop+int(s.colors[q]))
			case policer.MarkDSCP:
				_, l3 := a.L3(idx[j])
				policer.SetDSCP(wire.IPv4(l3), act.DSCP)
			}
		}
	}
}

func aclOf(m *pkt.Meta, tx bool, byPort []*ACL) *ACL {
	port := m.RxPort
	if tx {
		port = m.TxPort
	}
	if int(port) < len(byPort) {
		return byPort[port]
	}
	return nil
}

// isICMPError reports whether ICMP type t quotes the datagram it is about
// (destination unreachable, time exceeded, parameter problem).
func isICMPError(t uint8) bool { return t == 3 || t == 11 || t == 12 }

// readQuote fills q with the flow of the datagram that ip, an ICMP error
// whose header is l4 bytes long, quotes (RFC 792: its IP header and at
// least 8 bytes of what follows). It reports false when the quote is cut
// short or is not an IPv4 first fragment.
func readQuote(q *Key, ip wire.IPv4, l4 int) bool {
	b := ip[l4:]
	if len(b) < 8+wire.IPv4MinLen {
		return false
	}
	in := wire.IPv4(b[8:])
	ihl := int(in[0]&0x0f) * 4
	if in[0]>>4 != 4 || ihl < wire.IPv4MinLen || len(in) < ihl+8 || in.FragOffset() != 0 {
		return false
	}
	*q = Key{Src: in.SrcBits(), Dst: in.DstBits(), Proto: in.Protocol()}
	p := in[ihl:]
	switch q.Proto {
	case ProtoTCP, ProtoUDP:
		q.SrcPort, q.DstPort = uint16(p[0])<<8|uint16(p[1]), uint16(p[2])<<8|uint16(p[3])
	case ProtoICMP:
		q.SrcPort, q.DstPort = uint16(p[0]), uint16(p[1])
		q.ICMPID = uint16(p[4])<<8 | uint16(p[5])
	}
	return true
}

// readKey fills k from an IPv4 packet whose header ip4-input validated
// (l4 is the header's length). It reports false when the transport header
// is too short for what a rule may test: such a first fragment is the
// tiny-fragment attack of RFC 1858.
func readKey(k *Key, ip wire.IPv4, l4 int) bool {
	*k = Key{Src: ip.SrcBits(), Dst: ip.DstBits(), Proto: ip.Protocol()}
	if ip.FragOffset() != 0 {
		k.Fragment = true
		return true
	}
	b := ip[l4:]
	var ok bool
	if k.SrcPort, k.DstPort, k.TCPFlags, ok = readPorts(b, k.Proto, ProtoICMP); !ok {
		return false
	}
	if k.Proto == ProtoICMP && len(b) >= 8 {
		k.ICMPID = uint16(b[4])<<8 | uint16(b[5])
	}
	return true
}

// readPorts reads what a rule may test in transport header b of protocol
// proto, for both families (icmp is the family's ICMP protocol number):
// TCP's and UDP's ports and TCP's flags, or an ICMP message's type and code
// as the source and destination "ports". It reports false when b is too
// short for them; other protocols have none.
func readPorts(b []byte, proto, icmp uint8) (src, dst uint16, flags uint8, ok bool) {
	switch proto {
	case ProtoTCP:
		if len(b) < 14 {
			return 0, 0, 0, false
		}
		return uint16(b[0])<<8 | uint16(b[1]), uint16(b[2])<<8 | uint16(b[3]), b[13], true
	case ProtoUDP:
		if len(b) < 4 {
			return 0, 0, 0, false
		}
		return uint16(b[0])<<8 | uint16(b[1]), uint16(b[2])<<8 | uint16(b[3]), 0, true
	case icmp:
		if len(b) < 2 {
			return 0, 0, 0, false
		}
		return uint16(b[0]), uint16(b[1]), 0, true
	}
	return 0, 0, 0, true
}
