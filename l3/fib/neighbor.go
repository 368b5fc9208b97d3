package fib

import (
	"net/netip"

	"github.com/vecnet/vecnet/wire"
)

// SetNeighbor records that ip on port has MAC mac (ARP learned it): the
// adjacency of (port, ip) becomes a rewrite, and when ip is on a connected
// subnet of port a /32 neighbour route to it is installed, so traffic to
// the host stops gleaning. It takes the writer mutex and waits for it
// (readers are never blocked; a worker calls TrySetNeighbor instead). A
// changed MAC on a resolved neighbour costs one atomic store: no view is
// published and nothing is copied, whatever the size of the table.
func (t *Table) SetNeighbor(port uint16, ip [4]byte, mac [6]byte) {
	t.mu.Lock()
	t.setNeighbor(port, ip, mac)
	t.mu.Unlock()
}

// TrySetNeighbor is SetNeighbor when no writer holds the table, and nothing
// (false) when one does: a worker learning a neighbour must not wait for a
// batch of route changes (see TryReclaim).
func (t *Table) TrySetNeighbor(port uint16, ip [4]byte, mac [6]byte) bool {
	return tryLocked(&t.mu, func() { t.setNeighbor(port, ip, mac) })
}

func (t *Table) setNeighbor(port uint16, ip [4]byte, mac [6]byte) {
	addr := netip.AddrFrom4(ip)
	host := netip.PrefixFrom(addr, 32)
	i, ok := t.nhAdj[adjKey{port, ip}]
	if ok {
		if _, nb := t.neighbors[host]; nb && t.neighbors[host] == i && t.adjAt(i).Kind == AdjRewrite {
			t.setAdj(i, t.rewriteAdj(t.adjAt(i), mac)) // re-resolution: the route is in place
			return
		}
	}
	cp, onLink := t.connectedPort(addr)
	onLink = onLink && cp == port
	if !ok && !onLink {
		return
	}
	if !ok {
		i = t.nextHopAdj(port, ip)
	}
	t.setAdj(i, t.rewriteAdj(t.adjAt(i), mac))
	if onLink {
		if old, had := t.neighbors[host]; !had || old != i {
			t.refs[i]++
			t.neighbors[host] = i
			if had {
				t.unref(uint32(old))
			}
		}
		if e, ok := t.rib.Get(host); !ok || e.kind <= KindNeighbor {
			t.install(host, ribEntry{uint32(i), KindNeighbor})
		}
	}
	t.publish()
}

// rewriteAdj returns a completed with the rewrite to mac.
func (t *Table) rewriteAdj(a Adjacency, mac [6]byte) Adjacency {
	a.Kind = AdjRewrite
	ifc := t.ifs[a.Port]
	a.Rewrite, a.RewriteLen = ifc.encap(wire.EthernetHeader(mac, ifc.mac, wire.EtherTypeIPv4))
	return a
}

// DelNeighbor undoes SetNeighbor: the neighbour /32 is removed and the
// adjacency of (port, ip) goes back to incomplete if a route still uses it,
// or is freed.
func (t *Table) DelNeighbor(port uint16, ip [4]byte) {
	t.mu.Lock()
	t.delNeighbor(port, ip)
	t.mu.Unlock()
}

// TryDelNeighbor is DelNeighbor when no writer holds the table, and nothing
// (false) when one does (see TrySetNeighbor).
func (t *Table) TryDelNeighbor(port uint16, ip [4]byte) bool {
	return tryLocked(&t.mu, func() { t.delNeighbor(port, ip) })
}

func (t *Table) delNeighbor(port uint16, ip [4]byte) {
	i, ok := t.nhAdj[adjKey{port, ip}]
	if !ok {
		return
	}
	a := t.adjAt(i)
	a.Kind = AdjIncomplete
	a.Rewrite, a.RewriteLen = [MaxRewrite]byte{}, 0
	t.setAdj(i, a)
	host := netip.PrefixFrom(netip.AddrFrom4(ip), 32)
	if nb, ok := t.neighbors[host]; ok {
		delete(t.neighbors, host)
		if e, ok := t.rib.Get(host); ok && e.kind == KindNeighbor {
			t.restore(host, e)
		}
		t.unref(uint32(nb))
	}
	t.publish()
}
