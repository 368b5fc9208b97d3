package fib

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gaissmai/bart"

	"github.com/vecnet/vecnet/wire"
)

// ErrNotIPv6 is returned by Table6's writers for an IPv4 address or prefix.
var ErrNotIPv6 = errors.New("not an IPv6 address or prefix")

// Adjacency6 is the result of an IPv6 lookup: Adjacency with a 128-bit next
// hop. Views hold them by pointer and never change one in place.
type Adjacency6 struct {
	Kind AdjKind
	Port uint16
	MTU  uint16
	// NextHop is the next hop's address (AdjRewrite, AdjIncomplete) or the
	// interface address (AdjLocal).
	NextHop [16]byte
	// Rewrite is the Ethernet header the neighbour gave (destination MAC,
	// the interface's MAC, type 0x86dd) with a sub-interface's VLAN tags
	// inserted before the type: its first RewriteLen bytes. Valid for
	// AdjRewrite only.
	Rewrite    [MaxRewrite]byte
	RewriteLen uint8
}

// MAC returns the destination MAC of a rewrite adjacency.
func (a *Adjacency6) MAC() [6]byte { return [6]byte(a.Rewrite[:6]) }

type adj6Slot struct{ p atomic.Pointer[Adjacency6] }

var dropAdj6 = &Adjacency6{Kind: AdjDrop}

// View6 is a snapshot of a Table6 (see View).
type View6 struct {
	lk     *bart.Fast[uint32]
	adjs   []adj6Slot
	groups [][]AdjIndex
}

// Lookup returns the adjacency of the longest prefix holding dst (ECMP by
// hash, as View.Lookup). A miss returns AdjDropIndex. It does not allocate.
func (v *View6) Lookup(dst [16]byte, hash uint32) AdjIndex {
	r, ok := v.lk.Lookup(netip.AddrFrom16(dst))
	if !ok {
		return AdjDropIndex
	}
	if r&grpBit == 0 {
		return AdjIndex(r)
	}
	g := v.groups[r&^grpBit]
	return g[hash&uint32(len(g)-1)]
}

// Adj returns adjacency i, or the drop adjacency when i is out of range.
func (v *View6) Adj(i AdjIndex) *Adjacency6 {
	if uint64(i) >= uint64(len(v.adjs)) {
		return dropAdj6
	}
	return v.adjs[i].p.Load()
}

// Len returns the number of prefixes in the snapshot.
func (v *View6) Len() int { return v.lk.Size() }

type adjKey6 struct {
	port uint16
	ip   [16]byte
}

// Table6 is the IPv6 FIB: the same sources, kinds and ECMP as Table, over a
// BART trie (github.com/gaissmai/bart, its Fast variant: lookup speed over memory) published persistently (a change
// copies only the path it touches, readers keep their snapshot). Readers
// call Load; every other method is a writer and takes the mutex.
type Table6 struct {
	cur atomic.Pointer[View6]

	mu        sync.Mutex
	lk        *bart.Fast[uint32]
	rib       map[netip.Prefix]ribEntry
	adjs      []adj6Slot
	refs      []int32
	limbo     []AdjIndex
	ready     []AdjIndex
	free      []AdjIndex
	groups    [][]AdjIndex
	ginfo     []group
	gbyKey    map[string]uint32
	ifs       map[uint16]ifInfo
	nhAdj     map[adjKey6]AdjIndex
	glean     map[uint16]AdjIndex
	local     map[adjKey6]AdjIndex
	connected map[netip.Prefix]uint16
	locals    map[netip.Prefix]uint16
	neighbors map[netip.Prefix]AdjIndex
}

// NewTable6 returns an empty IPv6 table holding only the drop adjacency.
func NewTable6() *Table6 {
	t := &Table6{
		lk:        new(bart.Fast[uint32]),
		rib:       map[netip.Prefix]ribEntry{},
		adjs:      make([]adj6Slot, 1),
		refs:      []int32{1},
		gbyKey:    map[string]uint32{},
		ifs:       map[uint16]ifInfo{},
		nhAdj:     map[adjKey6]AdjIndex{},
		glean:     map[uint16]AdjIndex{},
		local:     map[adjKey6]AdjIndex{},
		connected: map[netip.Prefix]uint16{},
		locals:    map[netip.Prefix]uint16{},
		neighbors: map[netip.Prefix]AdjIndex{},
	}
	t.adjs[0].p.Store(dropAdj6)
	t.publish()
	return t
}

// Load returns the current snapshot; call it once per vector.
func (t *Table6) Load() *View6 { return t.cur.Load() }

func (t *Table6) publish() {
	t.cur.Store(&View6{lk: t.lk, adjs: t.adjs, groups: t.groups})
}

func (t *Table6) adjAt(i AdjIndex) Adjacency6 { return *t.adjs[i].p.Load() }

func (t *Table6) setAdj(i AdjIndex, a Adjacency6) {
	p := new(Adjacency6)
	*p = a
	t.adjs[i].p.Store(p)
}

func (t *Table6) newAdj(a Adjacency6) AdjIndex {
	var i AdjIndex
	if k := len(t.free); k > 0 {
		i, t.free = t.free[k-1], t.free[:k-1]
	} else {
		t.adjs = append(t.adjs, adj6Slot{})
		t.refs = append(t.refs, 0)
		i = AdjIndex(len(t.adjs) - 1)
	}
	t.refs[i] = 0
	t.setAdj(i, a)
	return i
}

func (t *Table6) ref(res uint32) {
	if res&grpBit == 0 {
		t.refs[res]++
	}
}

func (t *Table6) unref(res uint32) {
	if res&grpBit != 0 {
		return
	}
	if t.refs[res]--; t.refs[res] > 0 {
		return
	}
	t.maybeFree(AdjIndex(res))
}

// maybeFree frees an unused next-hop adjacency into quarantine (see
// Table.maybeFree).
func (t *Table6) maybeFree(i AdjIndex) {
	if t.refs[i] > 0 {
		return
	}
	a := t.adjAt(i)
	if a.Kind != AdjIncomplete && a.Kind != AdjRewrite {
		return
	}
	k := adjKey6{a.Port, a.NextHop}
	if j, ok := t.nhAdj[k]; !ok || j != i {
		return
	}
	delete(t.nhAdj, k)
	t.adjs[i].p.Store(dropAdj6)
	t.limbo = append(t.limbo, i)
}

// Reclaim ages the quarantine of freed adjacency slots (see Table.Reclaim).
func (t *Table6) Reclaim() {
	t.mu.Lock()
	t.reclaim()
	t.mu.Unlock()
}

// TryReclaim is Reclaim when no writer holds the table, and nothing (false)
// when one does (see Table.TryReclaim): what a worker calls.
func (t *Table6) TryReclaim() bool {
	return tryLocked(&t.mu, t.reclaim)
}

func (t *Table6) reclaim() {
	t.free = append(t.free, t.ready...)
	t.ready = append(t.ready[:0], t.limbo...)
	t.limbo = t.limbo[:0]
}

// AdjStats returns the adjacency counts.
func (t *Table6) AdjStats() AdjStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := len(t.limbo) + len(t.ready)
	free := q + len(t.free)
	return AdjStats{Live: len(t.adjs) - free, Free: free, Quarantined: q, Slots: len(t.adjs)}
}

// AddInterface records port's MAC and IPv6 MTU.
func (t *Table6) AddInterface(port uint16, mac [6]byte, mtu uint16) {
	t.mu.Lock()
	t.ifs[port] = ifInfo{mac: mac, mtu: mtu, tags: t.ifs[port].tags, ntags: t.ifs[port].ntags}
	for i := 1; i < len(t.adjs); i++ {
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

func is6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// AddConnected installs interface address p (like 2001:db8:1::1/64) on
// port: the subnet gleans (neighbour solicitation) on port, the address
// is local. A link-local address (fe80::/10) installs only its /128: the
// link-local subnet exists on every port and is never routed.
func (t *Table6) AddConnected(port uint16, p netip.Prefix) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addConnected(port, p)
}

// TryAddConnected is AddConnected when no writer holds the table; when one
// does, it changes nothing and done is false: duplicate address detection
// on a worker must not wait for a batch of route changes (see
// Table.TryReclaim), it tries again at its next tick.
func (t *Table6) TryAddConnected(port uint16, p netip.Prefix) (done bool, err error) {
	tryLocked(&t.mu, func() { done, err = true, t.addConnected(port, p) })
	return done, err
}

func (t *Table6) addConnected(port uint16, p netip.Prefix) error {
	if !p.IsValid() || !is6(p.Addr()) {
		return fmt.Errorf("fib: connected %v: %w", p, ErrNotIPv6)
	}
	if _, ok := t.ifs[port]; !ok {
		return fmt.Errorf("fib: connected %v on port %d: %w", p, port, ErrNoInterface)
	}
	if !p.Addr().IsLinkLocalUnicast() {
		sub := p.Masked()
		t.connected[sub] = port
		if e, ok := t.rib[sub]; !ok || e.kind < KindConnected {
			t.install(sub, ribEntry{t.gleanAdj(port), KindConnected})
		}
	}
	host := netip.PrefixFrom(p.Addr(), 128)
	t.locals[host] = port
	if e, ok := t.rib[host]; !ok || e.kind < KindLocal {
		t.install(host, ribEntry{uint32(t.localAdj(port, p.Addr().As16())), KindLocal})
	}
	t.publish()
	return nil
}

func (t *Table6) gleanAdj(port uint16) uint32 {
	if i, ok := t.glean[port]; ok {
		return uint32(i)
	}
	i := t.newAdj(Adjacency6{Kind: AdjGlean, Port: port, MTU: t.ifs[port].mtu})
	t.glean[port] = i
	return uint32(i)
}

func (t *Table6) localAdj(port uint16, ip [16]byte) AdjIndex {
	k := adjKey6{port, ip}
	if i, ok := t.local[k]; ok {
		return i
	}
	i := t.newAdj(Adjacency6{Kind: AdjLocal, Port: port, MTU: t.ifs[port].mtu, NextHop: ip})
	t.local[k] = i
	return i
}

func (t *Table6) nextHopAdj(port uint16, ip [16]byte) AdjIndex {
	k := adjKey6{port, ip}
	if i, ok := t.nhAdj[k]; ok {
		return i
	}
	i := t.newAdj(Adjacency6{Kind: AdjIncomplete, Port: port, MTU: t.ifs[port].mtu, NextHop: ip})
	t.nhAdj[k] = i
	return i
}

// install puts e at p, releasing what the previous entry used. The
// readers' trie is updated persistently (published by the caller).
func (t *Table6) install(p netip.Prefix, e ribEntry) {
	t.ref(e.res)
	if old, ok := t.rib[p]; ok {
		t.release(old.res)
	}
	t.rib[p] = e
	t.lk = t.lk.InsertPersist(p, e.res)
}

func (t *Table6) uninstall(p netip.Prefix, old ribEntry) {
	t.release(old.res)
	delete(t.rib, p)
	t.lk = t.lk.DeletePersist(p)
}

func (t *Table6) connectedPort(a netip.Addr) (uint16, bool) {
	best, port := -1, uint16(0)
	for p, pt := range t.connected {
		if p.Contains(a) && p.Bits() > best {
			best, port = p.Bits(), pt
		}
	}
	return port, best >= 0
}

func (t *Table6) resolve(hops []NextHop) ([]AdjIndex, error) {
	if len(hops) == 0 {
		return nil, ErrNoNextHop
	}
	out := make([]AdjIndex, 0, len(hops))
	for _, h := range hops {
		if !is6(h.Addr) {
			return out, fmt.Errorf("next hop %v: %w", h.Addr, ErrNotIPv6)
		}
		var port uint16
		if h.Port < 0 {
			p, ok := t.connectedPort(h.Addr.WithZone(""))
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
		out = append(out, t.nextHopAdj(port, h.Addr.As16()))
	}
	return out, nil
}

func (t *Table6) result(adjs []AdjIndex) uint32 {
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
	g := uint32(len(t.groups))
	for k, b := range t.groups {
		if b == nil {
			g = uint32(k)
			break
		}
	}
	t.groups = slices.Clone(t.groups)
	if int(g) == len(t.groups) {
		t.groups = append(t.groups, buckets)
		t.ginfo = append(t.ginfo, group{members: adjs, refs: 1})
	} else {
		t.groups[g] = buckets
		t.ginfo[g] = group{members: adjs, refs: 1}
	}
	t.gbyKey[string(key)] = g
	return grpBit | g
}

func (t *Table6) release(res uint32) {
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
	t.groups = slices.Clone(t.groups)
	t.groups[g] = nil
}

// AddRoute installs (or replaces) the static route p via hops; several
// hops make an ECMP route.
func (t *Table6) AddRoute(p netip.Prefix, hops []NextHop) error {
	return t.AddRoutes([]netip.Prefix{p}, hops)
}

// AddRoutes installs every prefix of ps via the same hops and publishes
// once. A large batch is inserted into a private copy of the trie rather
// than persistently, one prefix at a time.
func (t *Table6) AddRoutes(ps []netip.Prefix, hops []NextHop) error {
	for _, p := range ps {
		if !p.IsValid() || !is6(p.Addr()) {
			return fmt.Errorf("fib: route %v: %w", p, ErrNotIPv6)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	adjs, err := t.resolve(hops)
	if err != nil {
		for _, a := range adjs {
			t.maybeFree(a)
		}
		t.publish()
		return fmt.Errorf("fib: route %v: %w", ps, err)
	}
	if len(ps) > 64 {
		lk := t.lk.Clone()
		for _, p := range ps {
			p = p.Masked()
			e := ribEntry{t.result(adjs), KindStatic}
			t.ref(e.res)
			if old, ok := t.rib[p]; ok {
				t.release(old.res)
			}
			t.rib[p] = e
			lk.Insert(p, e.res)
		}
		t.lk = lk
	} else {
		for _, p := range ps {
			t.install(p.Masked(), ribEntry{t.result(adjs), KindStatic})
		}
	}
	t.publish()
	return nil
}

// DelRoute removes the static route p; a connected, local or neighbour
// route it shadowed comes back.
func (t *Table6) DelRoute(p netip.Prefix) error {
	if !p.IsValid() || !is6(p.Addr()) {
		return fmt.Errorf("fib: route %v: %w", p, ErrNotIPv6)
	}
	p = p.Masked()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.rib[p]
	if !ok || e.kind != KindStatic {
		return fmt.Errorf("fib: route %v: %w", p, ErrNoRoute)
	}
	t.restore(p, e)
	t.publish()
	return nil
}

func (t *Table6) restore(p netip.Prefix, e ribEntry) {
	if port, ok := t.locals[p]; ok && e.kind > KindLocal {
		t.install(p, ribEntry{uint32(t.localAdj(port, p.Addr().As16())), KindLocal})
	} else if port, ok := t.connected[p]; ok && e.kind > KindConnected {
		t.install(p, ribEntry{t.gleanAdj(port), KindConnected})
	} else if a, ok := t.neighbors[p]; ok && e.kind > KindNeighbor {
		t.install(p, ribEntry{uint32(a), KindNeighbor})
	} else {
		t.uninstall(p, e)
	}
}

// SetNeighbor records that ip on port has MAC mac (ND learned it): the
// adjacency of (port, ip) becomes a rewrite to mac from port's MAC, and
// when ip is on a connected subnet of port a /128 neighbour route is
// installed. It takes the writer mutex and waits for it (readers are never
// blocked; a worker calls TrySetNeighbor instead).
func (t *Table6) SetNeighbor(port uint16, ip [16]byte, mac [6]byte) {
	t.mu.Lock()
	t.setNeighbor(port, ip, mac)
	t.mu.Unlock()
}

// TrySetNeighbor is SetNeighbor when no writer holds the table, and nothing
// (false) when one does: a worker learning a neighbour must not wait for a
// batch of route changes (see Table.TrySetNeighbor).
func (t *Table6) TrySetNeighbor(port uint16, ip [16]byte, mac [6]byte) bool {
	return tryLocked(&t.mu, func() { t.setNeighbor(port, ip, mac) })
}

func (t *Table6) setNeighbor(port uint16, ip [16]byte, mac [6]byte) {
	addr := netip.AddrFrom16(ip)
	host := netip.PrefixFrom(addr, 128)
	i, ok := t.nhAdj[adjKey6{port, ip}]
	cp, onLink := t.connectedPort(addr)
	onLink = onLink && cp == port
	if !ok && !onLink {
		return
	}
	if !ok {
		i = t.nextHopAdj(port, ip)
	}
	a := t.adjAt(i)
	a.Kind = AdjRewrite
	ifc := t.ifs[port]
	a.Rewrite, a.RewriteLen = ifc.encap(wire.EthernetHeader(mac, ifc.mac, wire.EtherTypeIPv6))
	t.setAdj(i, a)
	if onLink {
		if old, had := t.neighbors[host]; !had || old != i {
			t.refs[i]++
			t.neighbors[host] = i
			if had {
				t.unref(uint32(old))
			}
		}
		if e, ok := t.rib[host]; !ok || e.kind <= KindNeighbor {
			if !ok || e.res != uint32(i) {
				t.install(host, ribEntry{uint32(i), KindNeighbor})
			}
		}
	}
	t.publish()
}

// DelNeighbor undoes SetNeighbor, waiting for the writer mutex.
func (t *Table6) DelNeighbor(port uint16, ip [16]byte) {
	t.mu.Lock()
	t.delNeighbor(port, ip)
	t.mu.Unlock()
}

// TryDelNeighbor is DelNeighbor when no writer holds the table, and nothing
// (false) when one does (see TrySetNeighbor).
func (t *Table6) TryDelNeighbor(port uint16, ip [16]byte) bool {
	return tryLocked(&t.mu, func() { t.delNeighbor(port, ip) })
}

func (t *Table6) delNeighbor(port uint16, ip [16]byte) {
	i, ok := t.nhAdj[adjKey6{port, ip}]
	if !ok {
		return
	}
	a := t.adjAt(i)
	a.Kind = AdjIncomplete
	a.Rewrite, a.RewriteLen = [MaxRewrite]byte{}, 0
	t.setAdj(i, a)
	host := netip.PrefixFrom(netip.AddrFrom16(ip), 128)
	if nb, ok := t.neighbors[host]; ok {
		delete(t.neighbors, host)
		if e, ok := t.rib[host]; ok && e.kind == KindNeighbor {
			t.restore(host, e)
		}
		t.unref(uint32(nb))
	}
	t.publish()
}

// MAC returns the MAC of port (zero when unknown).
func (t *Table6) MAC(port uint16) [6]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ifs[port].mac
}

// Routes returns every installed IPv6 route sorted by prefix, for "show fib".
func (t *Table6) Routes() []Route {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Route, 0, len(t.rib))
	for p, res := range t.lk.AllSorted6() {
		e := t.rib[p]
		r := Route{Prefix: p, Kind: e.kind}
		members := []AdjIndex{AdjIndex(res)}
		if res&grpBit != 0 {
			members = t.ginfo[res&^grpBit].members
		}
		for _, i := range members {
			a := t.adjAt(i)
			ph := Path{Port: a.Port, Adj: i, AdjKind: a.Kind}
			if a.Kind != AdjGlean && a.Kind != AdjDrop {
				ph.NextHop = netip.AddrFrom16(a.NextHop)
			}
			if a.Kind == AdjRewrite {
				ph.MAC = a.MAC()
			}
			r.Paths = append(r.Paths, ph)
		}
		out = append(out, r)
	}
	return out
}

// SetTags is Table.SetTags for IPv6's rewrites.
func (t *Table6) SetTags(port uint16, tags [MaxTagBytes]byte, n uint8) {
	t.mu.Lock()
	i := t.ifs[port]
	i.tags, i.ntags = tags, n
	t.ifs[port] = i
	t.mu.Unlock()
}
