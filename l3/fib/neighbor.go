package fib

import "net/netip"

// SetNeighbor records that ip on port has MAC mac (ARP learned it): the
// adjacency of (port, ip) becomes a rewrite, and when ip is on a connected
// subnet of port a /32 neighbour route to it is installed, so traffic to
// the host stops gleaning. It takes the writer mutex (workers may call it;
// readers are never blocked).
func (t *Table) SetNeighbor(port uint16, ip [4]byte, mac [6]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := netip.AddrFrom4(ip)
	cp, onLink := t.connectedPort(addr)
	onLink = onLink && cp == port
	i, ok := t.nhAdj[adjKey{port, ip}]
	if !ok && !onLink {
		return
	}
	if !ok {
		i = t.nextHopAdj(port, ip)
	}
	t.adjs = append([]Adjacency(nil), t.adjs...)
	a := &t.adjs[i]
	a.Kind = AdjRewrite
	copy(a.Rewrite[0:6], mac[:])
	src := t.ifs[port].mac
	copy(a.Rewrite[6:12], src[:])
	a.Rewrite[12], a.Rewrite[13] = 0x08, 0x00
	if onLink {
		host := netip.PrefixFrom(addr, 32)
		t.neighbors[host] = i
		if e, ok := t.rib.Get(host); !ok || e.kind <= KindNeighbor {
			t.install(host, ribEntry{uint32(i), KindNeighbor})
		}
	}
	t.publish()
}

// DelNeighbor undoes SetNeighbor: the adjacency of (port, ip) goes back to
// incomplete and the neighbour /32 is removed.
func (t *Table) DelNeighbor(port uint16, ip [4]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.nhAdj[adjKey{port, ip}]
	if !ok {
		return
	}
	t.adjs = append([]Adjacency(nil), t.adjs...)
	a := &t.adjs[i]
	a.Kind = AdjIncomplete
	a.Rewrite = [14]byte{}
	host := netip.PrefixFrom(netip.AddrFrom4(ip), 32)
	if _, ok := t.neighbors[host]; ok {
		delete(t.neighbors, host)
		if e, ok := t.rib.Get(host); ok && e.kind == KindNeighbor {
			t.restore(host, e)
		}
	}
	t.publish()
}
