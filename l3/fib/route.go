package fib

import (
	"fmt"
	"net/netip"
	"strings"
)

// RouteKind says where a route came from. When several sources hold the
// same prefix the highest kind is installed: Static > Local > Connected >
// Neighbor.
type RouteKind uint8

// Route kinds, lowest priority first.
const (
	// KindNeighbor is a /32 host route to a neighbour ARP resolved on a
	// connected subnet (VPP's adj-fib).
	KindNeighbor RouteKind = 1 + iota
	// KindConnected is an interface's subnet: it gleans.
	KindConnected
	// KindLocal is an interface's own address.
	KindLocal
	// KindStatic is a route added with AddRoute.
	KindStatic
)

var routeKindNames = [...]string{KindNeighbor: "neighbor", KindConnected: "connected", KindLocal: "local", KindStatic: "static"}

// String returns the kind's lower-case name.
func (k RouteKind) String() string {
	if k > 0 && int(k) < len(routeKindNames) {
		return routeKindNames[k]
	}
	return "kind?"
}

// Path is one way out of a route, as "show fib" prints it.
type Path struct {
	// NextHop is the next hop's address; invalid for a connected (glean)
	// route; the interface address for a local one.
	NextHop netip.Addr
	Port    uint16
	Adj     AdjIndex
	AdjKind AdjKind
	// MAC is the next hop's MAC when AdjKind is AdjRewrite.
	MAC [6]byte
}

// Route is one installed prefix with its paths (several for ECMP).
type Route struct {
	Prefix netip.Prefix
	Kind   RouteKind
	Paths  []Path
}

// Routes returns every installed route sorted by prefix. It takes the
// writer mutex and allocates; it is for the control plane.
func (t *Table) Routes() []Route {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Route, 0, t.rib.Size())
	for p, e := range t.rib.AllSorted4() {
		r := Route{Prefix: p, Kind: e.kind}
		var members []AdjIndex
		if e.res&grpBit != 0 {
			members = t.ginfo[e.res&^grpBit].members
		} else {
			members = []AdjIndex{AdjIndex(e.res)}
		}
		for _, i := range members {
			a := t.adjAt(i)
			ph := Path{Port: a.Port, Adj: i, AdjKind: a.Kind}
			if a.Kind != AdjGlean && a.Kind != AdjDrop {
				ph.NextHop = netip.AddrFrom4(a.NextHop)
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

// String formats r on one line for "show fib", naming ports with ifName:
//
//	10.0.2.0/24        connected via eth1 glean
//	192.168.0.0/16     static    via 10.0.2.2 eth1 rewrite 02:00:00:00:0b:02
//
// ECMP paths are separated by ", ".
func (r Route) String(ifName func(uint16) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %-9s", r.Prefix, r.Kind)
	for k, p := range r.Paths {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" via ")
		if p.NextHop.IsValid() && p.AdjKind != AdjLocal {
			b.WriteString(p.NextHop.String())
			b.WriteByte(' ')
		}
		b.WriteString(ifName(p.Port))
		b.WriteByte(' ')
		b.WriteString(p.AdjKind.String())
		if p.AdjKind == AdjRewrite {
			m := p.MAC
			fmt.Fprintf(&b, " %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
		}
	}
	return b.String()
}
