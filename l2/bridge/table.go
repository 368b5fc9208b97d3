// Package bridge is VPP's L2 bridging: bridge domains of member
// interfaces, each with a MAC table learnt from the source addresses of
// what the members receive, known unicast forwarded to its member, unknown
// unicast, broadcast and multicast flooded to every member but the one it
// came from (and none of that member's split-horizon group), and a bridge
// virtual interface (BVI) through which the bridge is routed.
//
// The nodes: ethernet-input diverts a frame received on a member (a
// per-interface mode, one array index per packet) to l2-learn, which
// learns its source MAC; l2-fwd looks its destination up and sends it to
// the member's interface-output, to the BVI's L3 path (ethernet-input as if
// received on the BVI) or to l2-flood. A packet routed out of the BVI
// reaches the BVI's port (BVIPort), which hands it to l2-fwd.
//
// The domains (Table) are shared by all workers and read lock-free; each
// worker has its own MAC table (shared-nothing: a MAC learnt on one worker
// is flooded on another until learnt there too), sized once at start-up,
// aged from the worker's timer (graph Tick), never per packet.
//
// Flooding clones by buffer copy: the arena has no reference counts, so
// each extra copy is a fresh slot from the worker's cache with the frame
// copied into it; the last member gets the original index.
package bridge

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAge is how long a learnt MAC lives without being seen again.
const DefaultAge = 300 * time.Second

// DefaultMaxMACs bounds a domain's MAC table when its config does not.
const DefaultMaxMACs = 4096

// Member is one interface of a domain.
type Member struct {
	If uint16
	// Group is the member's split-horizon group: members of the same
	// non-zero group never forward to each other.
	Group uint8
}

// Domain is one bridge domain.
type Domain struct {
	ID      uint32
	Members []Member
	// BVI is the bridge virtual interface's index, when HasBVI; its MAC is
	// BVIMAC.
	BVI    uint16
	HasBVI bool
	BVIMAC [6]byte
	// Age is how long a learnt MAC lives unseen (DefaultAge when zero);
	// MaxMACs bounds the domain's MAC table (DefaultMaxMACs when zero).
	Age     time.Duration
	MaxMACs int
}

// port is one interface's bridge mode.
type port struct {
	dom   int32 // index into snapshot.domains, -1 when not bridged
	group uint8
	bvi   bool
}

// domainRT is a domain as the nodes read it.
type domainRT struct {
	Domain
	age     int64 // ns
	members []Member
}

// snapshot is an immutable view of every domain.
type snapshot struct {
	domains []domainRT
	ports   []port // by interface index
	bridged []bool // by interface index: a member received on (not the BVI)
	macs    int    // sum of the domains' MaxMACs
}

func (s *snapshot) port(i uint16) *port {
	if int(i) < len(s.ports) {
		return &s.ports[i]
	}
	return &unbridged
}

var unbridged = port{dom: -1}

// Table holds the bridge domains. Writers serialise on a mutex; the nodes
// load an immutable snapshot once per vector.
type Table struct {
	mu  sync.Mutex
	cur atomic.Pointer[snapshot]
	// clear is bumped by ClearMACs; each worker's table empties itself when
	// it sees a new value.
	clear atomic.Uint64
}

// NewTable returns a table without domains.
func NewTable() *Table {
	t := &Table{}
	t.cur.Store(&snapshot{})
	return t
}

// SetDomains replaces every domain. An interface may be in one domain
// only; a domain's id is unique. The workers' MAC tables are sized when
// their graphs are built: domains set afterwards share that capacity.
func (t *Table) SetDomains(ds []Domain) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &snapshot{}
	seen := map[uint16]uint32{}
	ids := map[uint32]bool{}
	grow := func(i uint16) {
		for int(i) >= len(s.ports) {
			s.ports = append(s.ports, unbridged)
			s.bridged = append(s.bridged, false)
		}
	}
	for k, d := range ds {
		if ids[d.ID] {
			return fmt.Errorf("bridge: domain %d twice", d.ID)
		}
		ids[d.ID] = true
		if d.Age <= 0 {
			d.Age = DefaultAge
		}
		if d.MaxMACs <= 0 {
			d.MaxMACs = DefaultMaxMACs
		}
		rt := domainRT{Domain: d, age: int64(d.Age), members: slices.Clone(d.Members)}
		if d.HasBVI {
			rt.members = append(rt.members, Member{If: d.BVI})
		}
		for _, m := range rt.members {
			if other, dup := seen[m.If]; dup {
				return fmt.Errorf("bridge: interface %d in domains %d and %d", m.If, other, d.ID)
			}
			seen[m.If] = d.ID
			grow(m.If)
			s.ports[m.If] = port{dom: int32(k), group: m.Group, bvi: d.HasBVI && m.If == d.BVI}
			s.bridged[m.If] = !(d.HasBVI && m.If == d.BVI)
		}
		s.domains = append(s.domains, rt)
		s.macs += d.MaxMACs
	}
	t.cur.Store(s)
	return nil
}

// Domains returns the domains as set.
func (t *Table) Domains() []Domain {
	s := t.cur.Load()
	out := make([]Domain, len(s.domains))
	for k := range s.domains {
		out[k] = s.domains[k].Domain
	}
	return out
}

// Bridged returns, by interface index, whether a frame received on the
// interface is bridged (the interface is a member of a domain): what
// ethernet-input reads once per vector and indexes once per packet.
func (t *Table) Bridged() []bool { return t.cur.Load().bridged }

// ClearMACs asks every worker to forget its learnt MACs (at its next
// timer tick, within graph.TickInterval).
func (t *Table) ClearMACs() { t.clear.Add(1) }
