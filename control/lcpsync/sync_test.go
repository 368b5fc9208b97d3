package lcpsync

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/l3/fib"
)

func cidr(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// testMirror mirrors host interface ifindex 7 to vecnet port 1 into a FIB
// with port 1 on 10.0.2.1/24.
func testMirror(t *testing.T) *Mirror {
	f := fib.New()
	f.AddInterface(1, [6]byte{2, 0, 0, 0, 0, 1}, 1500)
	if err := f.AddConnected(1, netip.MustParsePrefix("10.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	return &Mirror{cfg: Config{Links: map[int]uint16{7: 1}, FIB: f}, installed: map[netip.Prefix]struct{}{}}
}

func route(dst string, link int, gw string) netlink.Route {
	r := netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, LinkIndex: link}
	if dst != "" {
		r.Dst = cidr(dst)
	}
	if gw != "" {
		r.Gw = net.ParseIP(gw)
	}
	return r
}

func TestConvert(t *testing.T) {
	m := testMirror(t)
	local := route("10.0.2.1/32", 7, "")
	local.Table = unix.RT_TABLE_LOCAL
	blackhole := route("10.9.0.0/16", 0, "")
	blackhole.Type = unix.RTN_BLACKHOLE
	ecmp := route("10.8.0.0/16", 0, "")
	ecmp.MultiPath = []*netlink.NexthopInfo{{LinkIndex: 7, Gw: net.ParseIP("10.0.2.2")}, {LinkIndex: 7, Gw: net.ParseIP("10.0.2.3")}}
	ecmpOff := route("10.8.0.0/16", 0, "")
	ecmpOff.MultiPath = []*netlink.NexthopInfo{{LinkIndex: 7, Gw: net.ParseIP("10.0.2.2")}, {LinkIndex: 3, Gw: net.ParseIP("10.0.3.3")}}
	for _, tc := range []struct {
		name string
		r    netlink.Route
		want string // prefix, "" for not mirrored
		hops int
	}{
		{"gateway on a host interface", route("10.128.0.0/24", 7, "10.0.2.2"), "10.128.0.0/24", 1},
		{"default route", route("", 7, "10.0.2.2"), "0.0.0.0/0", 1},
		{"connected (no gateway)", route("10.0.2.0/24", 7, ""), "", 0},
		{"other interface", route("10.128.0.0/24", 3, "10.0.3.2"), "", 0},
		{"local table", local, "", 0},
		{"blackhole", blackhole, "", 0},
		{"ECMP on host interfaces", ecmp, "10.8.0.0/16", 2},
		{"ECMP with a hop elsewhere", ecmpOff, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, hops, ok := m.convert(tc.r)
			if tc.want == "" {
				if ok {
					t.Fatalf("mirrored as %v via %v", p, hops)
				}
				return
			}
			if !ok || p.String() != tc.want || len(hops) != tc.hops || hops[0].Port != 1 {
				t.Fatalf("got %v via %v (%v), want %s with %d hops on port 1", p, hops, ok, tc.want, tc.hops)
			}
		})
	}
}

// TestApply: a burst coalesces per prefix (the last update wins), and a
// kernel deletion removes only what the mirror installed.
func TestApply(t *testing.T) {
	m := testMirror(t)
	if err := m.cfg.FIB.AddRoute(netip.MustParsePrefix("172.16.0.0/12"), []fib.NextHop{{Addr: netip.MustParseAddr("10.0.2.9"), Port: 1}}); err != nil {
		t.Fatal(err)
	}
	batch := map[netip.Prefix]op{}
	for _, u := range []netlink.RouteUpdate{
		{Type: unix.RTM_NEWROUTE, Route: route("10.128.0.0/24", 7, "10.0.2.2")},
		{Type: unix.RTM_NEWROUTE, Route: route("10.128.1.0/24", 7, "10.0.2.2")},
		{Type: unix.RTM_NEWROUTE, Route: route("10.128.2.0/24", 7, "10.0.2.3")},
		{Type: unix.RTM_DELROUTE, Route: route("10.128.1.0/24", 7, "10.0.2.2")},
		{Type: unix.RTM_NEWROUTE, Route: route("10.0.2.0/24", 7, "")}, // skipped
	} {
		m.collect(batch, u)
	}
	m.apply(batch)
	s := m.Stats()
	if s.Installed != 2 || s.RoutesAdded != 2 || s.RoutesSkipped != 1 || s.Batches != 2 {
		t.Fatalf("stats %+v, want 2 installed in 2 publications, 1 skipped", s)
	}
	clear(batch)
	for _, u := range []netlink.RouteUpdate{
		{Type: unix.RTM_DELROUTE, Route: route("10.128.0.0/24", 7, "10.0.2.2")},
		{Type: unix.RTM_DELROUTE, Route: route("10.128.2.0/24", 7, "10.0.2.3")},
		{Type: unix.RTM_DELROUTE, Route: route("172.16.0.0/12", 7, "10.0.2.9")}, // configured, not ours
	} {
		m.collect(batch, u)
	}
	m.apply(batch)
	if s := m.Stats(); s.Installed != 0 || s.RoutesDeleted != 2 || s.RouteErrors != 0 {
		t.Fatalf("stats %+v, want both mirrored routes deleted", s)
	}
	v := m.cfg.FIB.Load()
	if a := v.Adj(v.Lookup([4]byte{172, 16, 1, 1}, 0)); a.Kind == fib.AdjDrop {
		t.Error("the configured static route was deleted by a kernel deletion")
	}
	if a := v.Adj(v.Lookup([4]byte{10, 128, 0, 1}, 0)); a.Kind != fib.AdjDrop {
		t.Errorf("10.128.0.1 still routed: %v", a.Kind)
	}
}
