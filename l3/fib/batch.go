package fib

import (
	"fmt"
	"net/netip"
	"slices"
)

// RouteChange is one change of a batch (ApplyRoutes): install the static
// route Prefix via Hops (replacing one already there), or, with no Hops,
// delete the static route at Prefix.
type RouteChange struct {
	Prefix netip.Prefix
	Hops   []NextHop
}

// ApplyRoutes makes a batch of static route changes under one hold of the
// writer lock. Every change is checked first (prefixes, next hops, routes
// to delete, room for second-level groups): on error nothing changes. The
// changes are then applied in order, in place, as VPP and DPDK do: readers
// see each address's result change once, from the old route to the new
// one (a replaced route is never missing in between), but not the whole
// batch at once — during the batch some of its routes are in and others
// not yet.
func (t *Table) ApplyRoutes(changes []RouteChange) error {
	long := 0
	for _, c := range changes {
		if !c.Prefix.IsValid() || !c.Prefix.Addr().Is4() {
			return fmt.Errorf("fib: route %v: %w", c.Prefix, ErrNotIPv4)
		}
		if c.Prefix.Bits() > 24 && len(c.Hops) > 0 {
			long++
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if long > t.fib.groupRoom()-groupReserve {
		return fmt.Errorf("fib: %d routes longer than /24: %w", long, ErrTableFull)
	}
	resolved, flat := t.batchScratch(len(changes)) // change k's adjacencies: flat[resolved[k].lo:.hi]
	var recent hopCache
	fail := func(err error) error {
		for _, a := range flat {
			t.maybeFree(a) // those no route uses yet
		}
		t.publish() // resolve may have appended adjacencies
		t.keepScratch(resolved, flat)
		return err
	}
	for k, c := range changes {
		p := c.Prefix.Masked()
		if len(c.Hops) == 0 {
			if e, ok := t.rib.Get(p); !ok || e.kind != KindStatic {
				return fail(fmt.Errorf("fib: route %v: %w", p, ErrNoRoute))
			}
			continue
		}
		if sp, ok := recent.get(c.Hops); ok { // a feed sends many routes via the same few hops
			resolved[k] = sp
			continue
		}
		start := len(flat)
		var err error
		flat, err = t.resolveInto(flat, c.Hops)
		sp := hopSpan{uint32(start), uint32(len(flat))}
		resolved[k] = sp
		if err != nil {
			return fail(fmt.Errorf("fib: route %v: %w", p, err))
		}
		recent.put(c.Hops, sp)
	}
	// Hold the resolved adjacencies for the batch: an earlier change may
	// drop the last route through a next hop that a later one installs.
	for _, a := range flat {
		t.refs[a]++
	}
	for k, c := range changes {
		p := c.Prefix.Masked()
		if len(c.Hops) == 0 {
			if e, ok := t.rib.Get(p); ok && e.kind == KindStatic {
				t.restore(p, e)
			}
			continue
		}
		sp := resolved[k]
		t.install(p, ribEntry{t.result(flat[sp.lo:sp.hi:sp.hi]), KindStatic})
	}
	for _, a := range flat {
		t.unref(uint32(a))
	}
	t.publish()
	t.keepScratch(resolved, flat)
	return nil
}

// hopSpan is where a change's resolved adjacencies sit in a batch's flat
// list: flat[lo:hi].
type hopSpan struct{ lo, hi uint32 }

// maxBatchScratch bounds the per-change and per-adjacency scratch space an
// ApplyRoutes call leaves to the next (1 MiB and 512 KiB): feeds of
// batches up to this size reuse it instead of allocating per batch.
const maxBatchScratch = 1 << 17

// batchScratch returns ApplyRoutes's working lists for n changes: spans
// zeroed, flat empty; the table's own when they are large enough.
func (t *Table) batchScratch(n int) ([]hopSpan, []AdjIndex) {
	spans, flat := t.spans, t.flat
	t.spans, t.flat = nil, nil
	if cap(spans) < n {
		spans = make([]hopSpan, n)
	} else {
		spans = spans[:n]
		clear(spans)
	}
	if flat == nil {
		flat = make([]AdjIndex, 0, min(n, 1<<16))
	}
	return spans, flat[:0]
}

// keepScratch gives ApplyRoutes's working lists back for the next call
// when they are within maxBatchScratch.
func (t *Table) keepScratch(spans []hopSpan, flat []AdjIndex) {
	if cap(spans) <= maxBatchScratch {
		t.spans = spans
	}
	if cap(flat) <= maxBatchScratch {
		t.flat = flat
	}
}

// DelConnected removes interface address p from port: its local /32 and,
// unless another address of port is on it, its subnet (a lower source they
// shadowed comes back). A static route at either prefix stays.
func (t *Table) DelConnected(port uint16, p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("fib: connected %v: %w", p, ErrNotIPv4)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.delConnected(port, p)
	t.publish()
	return nil
}

func (t *Table) delConnected(port uint16, p netip.Prefix) {
	sub := p.Masked()
	host := netip.PrefixFrom(p.Addr(), 32)
	shared := false // another address of port on the same subnet keeps it
	for h, pt := range t.locals {
		if pt == port && h != host && sub.Contains(h.Addr()) {
			shared = true
		}
	}
	if pt, ok := t.connected[sub]; ok && pt == port && !shared {
		delete(t.connected, sub)
		if e, ok := t.rib.Get(sub); ok && e.kind == KindConnected {
			t.restore(sub, e)
		}
	}
	if pt, ok := t.locals[host]; ok && pt == port {
		delete(t.locals, host)
		if e, ok := t.rib.Get(host); ok && e.kind == KindLocal {
			t.restore(host, e)
		}
	}
}

// DelInterface forgets port: its connected subnets and local addresses go,
// and next hops can no longer resolve to it. Routes and neighbours on the
// port are the caller's to delete first (ApplyRoutes, the neighbour
// table); an adjacency still on it forwards to a port that is gone, which
// interface-output drops as no_port.
func (t *Table) DelInterface(port uint16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for host, pt := range t.locals { // first: a local keeps its subnet
		if pt == port {
			t.delConnected(port, host)
		}
	}
	for sub, pt := range t.connected {
		if pt == port {
			t.delConnected(port, sub)
		}
	}
	delete(t.ifs, port)
	t.publish()
}

// hopCache remembers the last few hop lists a batch resolved.
type hopCache struct {
	hops [4][]NextHop
	adjs [4]hopSpan
	next int
}

func (c *hopCache) get(hops []NextHop) (hopSpan, bool) {
	for i := range c.hops {
		if c.hops[i] != nil && slices.Equal(c.hops[i], hops) {
			return c.adjs[i], true
		}
	}
	return hopSpan{}, false
}

func (c *hopCache) put(hops []NextHop, adjs hopSpan) {
	c.hops[c.next], c.adjs[c.next] = hops, adjs
	c.next = (c.next + 1) % len(c.hops)
}
