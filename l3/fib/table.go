package fib

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Errors returned by the table's writers (wrapped).
var (
	ErrNoRoute     = errors.New("no such route")
	ErrNoNextHop   = errors.New("a route needs at least one next hop")
	ErrNotIPv4     = errors.New("not an IPv4 address or prefix")
	ErrUnreachable = errors.New("next hop not on a connected subnet")
	ErrNoInterface = errors.New("unknown interface")
	ErrTableFull   = errors.New("too many /24s holding longer prefixes")
)

// NextHop is one path of a route. Port -1 resolves the interface through
// the connected routes.
type NextHop struct {
	Addr netip.Addr
	Port int
}

type ifInfo struct {
	mac [6]byte
	mtu uint16
	// tags are the VLAN tags of a sub-interface, pushed by its rewrites
	// (ntags bytes: 0, 4 or 8).
	tags  [MaxTagBytes]byte
	ntags uint8
}

// MaxTagBytes bounds the VLAN tag bytes a rewrite pushes (QinQ: two tags).
const MaxTagBytes = 8

// MaxRewrite is the longest link rewrite: an Ethernet header with two
// VLAN tags.
const MaxRewrite = 14 + MaxTagBytes

// encap returns the rewrite of Ethernet header h on an interface with
// tags: h's MACs, the tags, h's EtherType; and its length.
func (i ifInfo) encap(h [14]byte) (rw [MaxRewrite]byte, n uint8) {
	copy(rw[:12], h[:12])
	copy(rw[12:], i.tags[:i.ntags])
	copy(rw[12+i.ntags:], h[12:14])
	return rw, 14 + i.ntags
}

type adjKey struct {
	port uint16
	ip   [4]byte
}

// group is the writer's record of one ECMP bucket table.
type group struct {
	members []AdjIndex // one per path, in the route's order
	refs    int
}

// ribEntry is what the writer's RIB stores per installed prefix.
type ribEntry struct {
	res  uint32 // trie result: adjacency index or grpBit|group
	kind RouteKind
}

// Table is the IPv4 FIB. Readers call [Table.Load] (lock-free). Every other
// method is a writer: writers take the table's mutex, so they may be called
// from any goroutine; their changes are visible to readers as they make
// them (see the package doc).
type Table struct {
	cur atomic.Pointer[View]

	mu  sync.Mutex
	fib *dir24 // shared with the views, updated in place
	rib *rib4
	// dirty says the writer added ECMP groups that the current View lacks:
	// publish before an entry may name them.
	dirty bool

	// ApplyRoutes's working lists, kept between calls (batchScratch).
	spans []hopSpan
	flat  []AdjIndex

	adjs *adjDir // the adjacency slots, shared with the views
	nadj int     // slots in use or free (the next new one is nadj)
	refs []int32 // per adjacency: installed results, group memberships, neighbours
	// Freed adjacency slots: quarantined (limbo, then ready) and reusable.
	adjLimbo, adjReady, adjFree []AdjIndex
	groups                      [][]AdjIndex
	ginfo                       []group
	// Freed ECMP groups: quarantined like adjacency slots, then reusable.
	gLimbo, gReady, gfree []uint32
	gbyKey                map[string]uint32
	ifs                   map[uint16]ifInfo
	nhAdj                 map[adjKey]AdjIndex
	glean                 map[uint16]AdjIndex
	local                 map[adjKey]AdjIndex
	// Lower-priority sources per prefix; a static route shadows them and
	// they come back when it is deleted.
	connected map[netip.Prefix]uint16
	locals    map[netip.Prefix]uint16
	neighbors map[netip.Prefix]AdjIndex
}

// New returns an empty table holding only the drop adjacency.
func New() *Table {
	t := &Table{
		fib:       newDir24(),
		rib:       newRIB4(),
		adjs:      newAdjDir(),
		nadj:      1,
		refs:      []int32{1},
		gbyKey:    map[string]uint32{},
		ifs:       map[uint16]ifInfo{},
		nhAdj:     map[adjKey]AdjIndex{},
		glean:     map[uint16]AdjIndex{},
		local:     map[adjKey]AdjIndex{},
		connected: map[netip.Prefix]uint16{},
		locals:    map[netip.Prefix]uint16{},
		neighbors: map[netip.Prefix]AdjIndex{},
	}
	t.publish()
	return t
}

// Load returns the current snapshot. It is the readers' only entry point:
// call it once per vector.
func (t *Table) Load() *View { return t.cur.Load() }

// publish makes the writer's adjacency and ECMP arrays the current View's.
// The lookup structure needs no publication: it is updated in place. Called
// with mu held (or from New).
func (t *Table) publish() {
	t.cur.Store(&View{fib: t.fib, adjs: t.adjs, adj0: t.adjs[0].Load(), groups: t.groups, n: t.rib.Size(), t: t})
	t.dirty = false
}

// AddInterface records port's MAC (the source of every rewrite on it) and
// IP MTU. Adjacencies already on the port are updated.
func (t *Table) AddInterface(port uint16, mac [6]byte, mtu uint16) {
	t.mu.Lock()
	t.ifs[port] = ifInfo{mac: mac, mtu: mtu, tags: t.ifs[port].tags, ntags: t.ifs[port].ntags}
	for i := 1; i < t.nadj; i++ {
		a := t.adjAt(AdjIndex(i))
		if a.Port != port || a.Kind == AdjDrop {
			continue
		}
		a.MTU = mtu
		copy(a.Rewrite[6:12], mac[:])
		t.setAdj(AdjIndex(i), a)
	}
	t.publish()
	t.mu.Unlock()
}

// AddConnected installs interface address p (like 10.0.1.1/24) on port:
// the subnet p.Masked() gleans on port and p's address is local.
func (t *Table) AddConnected(port uint16, p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("fib: connected %v: %w", p, ErrNotIPv4)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.ifs[port]; !ok {
		return fmt.Errorf("fib: connected %v on port %d: %w", p, port, ErrNoInterface)
	}
	sub := p.Masked()
	t.connected[sub] = port
	if e, ok := t.rib.Get(sub); !ok || e.kind < KindConnected {
		t.install(sub, ribEntry{t.gleanAdj(port), KindConnected})
	}
	host := netip.PrefixFrom(p.Addr(), 32)
	t.locals[host] = port
	if e, ok := t.rib.Get(host); !ok || e.kind < KindLocal {
		t.install(host, ribEntry{uint32(t.localAdj(port, p.Addr().As4())), KindLocal})
	}
	t.publish()
	return nil
}

func (t *Table) gleanAdj(port uint16) uint32 {
	if i, ok := t.glean[port]; ok {
		return uint32(i)
	}
	i := t.newAdj(Adjacency{Kind: AdjGlean, Port: port, MTU: t.ifs[port].mtu})
	t.glean[port] = i
	return uint32(i)
}

func (t *Table) localAdj(port uint16, ip [4]byte) AdjIndex {
	k := adjKey{port, ip}
	if i, ok := t.local[k]; ok {
		return i
	}
	i := t.newAdj(Adjacency{Kind: AdjLocal, Port: port, MTU: t.ifs[port].mtu, NextHop: ip})
	t.local[k] = i
	return i
}

// nextHopAdj returns the shared adjacency of (port, ip), INCOMPLETE when new.
func (t *Table) nextHopAdj(port uint16, ip [4]byte) AdjIndex {
	k := adjKey{port, ip}
	if i, ok := t.nhAdj[k]; ok {
		return i
	}
	i := t.newAdj(Adjacency{Kind: AdjIncomplete, Port: port, MTU: t.ifs[port].mtu, NextHop: ip})
	t.nhAdj[k] = i
	return i
}

// install puts e at p in the RIB and the lookup structure, then releases
// the adjacency or group the previous entry used (no entry names it any
// more). A View holding e's adjacency or group is published first.
func (t *Table) install(p netip.Prefix, e ribEntry) {
	t.ref(e.res)
	old, had := t.rib.swap(p, e)
	if t.dirty {
		t.publish()
	}
	t.fib.insert(p, e.res)
	if had {
		t.release(old.res)
	}
}

// uninstall removes p from the RIB and the lookup structure: its entries
// pass to the longest prefix covering it.
func (t *Table) uninstall(p netip.Prefix, old ribEntry) {
	t.rib.Delete(p)
	var repl uint32
	var bits int
	if p.Bits() > 0 {
		if cp, ce, ok := t.rib.cover(p, 0); ok {
			repl, bits = ce.res, cp.Bits()
		}
	}
	t.fib.remove(p, repl, bits)
	t.release(old.res)
}

// resolve turns hops into adjacency indices. On error it returns those
// resolved before it, for the caller to free if nothing uses them.
func (t *Table) resolve(hops []NextHop) ([]AdjIndex, error) {
	return t.resolveInto(nil, hops)
}

// resolveInto is resolve appending to dst (a batch resolves into one array).
func (t *Table) resolveInto(dst []AdjIndex, hops []NextHop) ([]AdjIndex, error) {
	if len(hops) == 0 {
		return dst, ErrNoNextHop
	}
	out := dst
	for _, h := range hops {
		if !h.Addr.Is4() {
			return out, fmt.Errorf("next hop %v: %w", h.Addr, ErrNotIPv4)
		}
		var port uint16
		if h.Port < 0 {
			p, ok := t.connectedPort(h.Addr)
			if !ok {
				return out, fmt.Errorf("next hop %v: %w", h.Addr, ErrUnreachable)
			}
			port = p
		} else {
			if _, ok := t.ifs[uint16(h.Port)]; !ok || h.Port > 0xffff {
				return out, fmt.Errorf("next hop %v port %d: %w", h.Addr, h.Port, ErrNoInterface)
			}
			port = uint16(h.Port)
		}
		out = append(out, t.nextHopAdj(port, h.Addr.As4()))
	}
	return out, nil
}

// connectedPort returns the port of the longest connected subnet holding a.
func (t *Table) connectedPort(a netip.Addr) (uint16, bool) {
	best, port := -1, uint16(0)
	for p, pt := range t.connected {
		if p.Contains(a) && p.Bits() > best {
			best, port = p.Bits(), pt
		}
	}
	return port, best >= 0
}

// result returns the trie result for a path set: the adjacency itself, or
// a shared ECMP group.
func (t *Table) result(adjs []AdjIndex) uint32 {
	if len(adjs) == 1 {
		return uint32(adjs[0])
	}
	key := make([]byte, 0, 4*len(adjs))
	for _, a := range adjs {
		key = strconv.AppendUint(key, uint64(a), 36)
		key = append(key, ',')
	}
	if g, ok := t.gbyKey[string(key)]; ok {
		t.ginfo[g].refs++
		return grpBit | g
	}
	nb := 1
	for nb < 16*len(adjs) {
		nb <<= 1
	}
	for _, a := range adjs {
		t.ref(uint32(a))
	}
	buckets := make([]AdjIndex, nb)
	for i := range buckets {
		buckets[i] = adjs[i%len(adjs)]
	}
	var g uint32
	if n := len(t.gfree); n > 0 {
		g, t.gfree = t.gfree[n-1], t.gfree[:n-1]
		t.groups = slices.Clone(t.groups)
		t.groups[g] = buckets
		t.ginfo[g] = group{members: slices.Clone(adjs), refs: 1}
	} else {
		g = uint32(len(t.groups))
		t.groups = append(t.groups, buckets)
		t.ginfo = append(t.ginfo, group{members: slices.Clone(adjs), refs: 1})
	}
	t.gbyKey[string(key)] = g
	t.dirty = true
	return grpBit | g
}

// release drops one reference to res's adjacency or group.
func (t *Table) release(res uint32) {
	if res&grpBit == 0 {
		t.unref(res)
		return
	}
	g := res &^ grpBit
	gi := &t.ginfo[g]
	if gi.refs--; gi.refs > 0 {
		return
	}
	for k, v := range t.gbyKey {
		if v == g {
			delete(t.gbyKey, k)
		}
	}
	for _, m := range gi.members {
		t.unref(uint32(m))
	}
	*gi = group{}
	t.gLimbo = append(t.gLimbo, g) // its buckets stay until reuse: a reader may hold g
}

// groupReserve is the room in second-level groups kept for neighbour and
// local /32s when a batch of static routes is checked against MaxGroups.
const groupReserve = 4096

// AddRoute installs (or replaces) the static route p via hops; several hops
// make an ECMP route. A static route shadows a connected, local or
// neighbour route at the same prefix.
func (t *Table) AddRoute(p netip.Prefix, hops []NextHop) error {
	return t.AddRoutes([]netip.Prefix{p}, hops)
}

// AddRoutes installs every prefix of ps via the same hops under one hold
// of the writer lock (each address's lookup result changes once, in
// place). On error nothing is installed.
func (t *Table) AddRoutes(ps []netip.Prefix, hops []NextHop) error {
	long := 0
	for _, p := range ps {
		if !p.IsValid() || !p.Addr().Is4() {
			return fmt.Errorf("fib: route %v: %w", p, ErrNotIPv4)
		}
		if p.Bits() > 24 {
			long++
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if long > t.fib.groupRoom()-groupReserve {
		return fmt.Errorf("fib: %d routes longer than /24: %w", long, ErrTableFull)
	}
	adjs, err := t.resolve(hops)
	if err != nil {
		for _, a := range adjs { // the hops resolved before the error: free the new ones
			t.maybeFree(a)
		}
		t.publish() // resolve may have appended adjacencies
		return fmt.Errorf("fib: route %v: %w", ps, err)
	}
	for _, p := range ps {
		t.install(p.Masked(), ribEntry{t.result(adjs), KindStatic})
	}
	t.publish()
	return nil
}

// DelRoute removes the static route p; a connected, local or neighbour
// route it shadowed comes back.
func (t *Table) DelRoute(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("fib: route %v: %w", p, ErrNotIPv4)
	}
	p = p.Masked()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.rib.Get(p)
	if !ok || e.kind != KindStatic {
		return fmt.Errorf("fib: route %v: %w", p, ErrNoRoute)
	}
	t.restore(p, e)
	t.publish()
	return nil
}

// DelRoutes removes the static routes of ps under one hold of the writer
// lock. Prefixes without a static route
// are skipped; the error then counts them.
func (t *Table) DelRoutes(ps []netip.Prefix) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	missing := 0
	for _, p := range ps {
		if !p.IsValid() || !p.Addr().Is4() {
			missing++
			continue
		}
		p = p.Masked()
		e, ok := t.rib.Get(p)
		if !ok || e.kind != KindStatic {
			missing++
			continue
		}
		t.restore(p, e)
	}
	t.publish()
	if missing > 0 {
		return fmt.Errorf("fib: %d of %d routes: %w", missing, len(ps), ErrNoRoute)
	}
	return nil
}

// restore replaces the installed entry e at p by the best lower source, or
// removes p.
func (t *Table) restore(p netip.Prefix, e ribEntry) {
	if port, ok := t.locals[p]; ok && e.kind > KindLocal {
		t.install(p, ribEntry{uint32(t.localAdj(port, p.Addr().As4())), KindLocal})
	} else if port, ok := t.connected[p]; ok && e.kind > KindConnected {
		t.install(p, ribEntry{t.gleanAdj(port), KindConnected})
	} else if a, ok := t.neighbors[p]; ok && e.kind > KindNeighbor {
		t.install(p, ribEntry{uint32(a), KindNeighbor})
	} else {
		t.uninstall(p, e)
	}
}

// SetTags records the VLAN tags (tags[:n], TPID and TCI per tag, outer
// first) that port's rewrites push after the source MAC: port is a
// sub-interface. Call it before neighbours on port resolve.
func (t *Table) SetTags(port uint16, tags [MaxTagBytes]byte, n uint8) {
	t.mu.Lock()
	i := t.ifs[port]
	i.tags, i.ntags = tags, n
	t.ifs[port] = i
	t.mu.Unlock()
}
