package fib

import (
	"errors"
	"testing"
)

// TestApplyRoutes: a batch deletes, replaces and adds in one View; a batch
// with one bad change changes nothing.
func TestApplyRoutes(t *testing.T) {
	f := newTestTable(t)
	viaB := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}
	viaA := []NextHop{{Addr: ip("10.0.1.2"), Port: -1}}
	for _, p := range []string{"192.168.1.0/24", "192.168.2.0/24"} {
		if err := f.AddRoute(pfx(p), viaB); err != nil {
			t.Fatal(err)
		}
	}
	before := f.Load()
	bad := []RouteChange{
		{Prefix: pfx("192.168.1.0/24")},                                                      // delete
		{Prefix: pfx("192.168.3.0/24"), Hops: viaA},                                          // add
		{Prefix: pfx("192.168.4.0/24"), Hops: []NextHop{{Addr: ip("172.16.0.1"), Port: -1}}}, // unreachable
	}
	if err := f.ApplyRoutes(bad); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("ApplyRoutes with an unreachable hop: %v, want ErrUnreachable", err)
	}
	if err := f.ApplyRoutes([]RouteChange{{Prefix: pfx("192.168.9.0/24")}}); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("deleting a route that is not there: %v, want ErrNoRoute", err)
	}
	if a := look(f, "192.168.1.1"); a.Port != 1 {
		t.Errorf("after a failed batch 192.168.1.1 goes to port %d (%v), want 1: the batch changed the table", a.Port, a.Kind)
	}
	if a := look(f, "192.168.3.1"); a.Kind != AdjDrop {
		t.Errorf("after a failed batch 192.168.3.1 is %v, want drop", a.Kind)
	}
	if f.Load().Len() != before.Len() {
		t.Errorf("route count %d after a failed batch, was %d", f.Load().Len(), before.Len())
	}
	good := []RouteChange{
		{Prefix: pfx("192.168.1.0/24")},             // delete
		{Prefix: pfx("192.168.2.0/24"), Hops: viaA}, // replace
		{Prefix: pfx("192.168.3.0/24"), Hops: viaA}, // add
	}
	v0 := f.Load()
	if err := f.ApplyRoutes(good); err != nil {
		t.Fatal(err)
	}
	v1 := f.Load()
	if v0 == v1 {
		t.Fatal("no new view published")
	}
	for dst, port := range map[string]int{"192.168.1.1": -1, "192.168.2.1": 0, "192.168.3.1": 0} {
		a := look(f, dst)
		if port < 0 && a.Kind != AdjDrop || port >= 0 && (a.Kind == AdjDrop || int(a.Port) != port) {
			t.Errorf("%s: %v port %d, want port %d (-1: drop)", dst, a.Kind, a.Port, port)
		}
	}
}

// TestDelInterface: the port's subnet and address go; next hops on it no
// longer resolve.
func TestDelInterface(t *testing.T) {
	f := newTestTable(t)
	// A second address on eth1's subnet: deleting it keeps the subnet.
	if err := f.AddConnected(1, pfx("10.0.2.254/24")); err != nil {
		t.Fatal(err)
	}
	if err := f.DelConnected(1, pfx("10.0.2.254/24")); err != nil {
		t.Fatal(err)
	}
	if a := look(f, "10.0.2.254"); a.Kind != AdjGlean {
		t.Errorf("10.0.2.254 after its address went: %v, want glean (the subnet stays)", a.Kind)
	}
	if a := look(f, "10.0.2.1"); a.Kind != AdjLocal {
		t.Errorf("10.0.2.1 after another address went: %v, want local", a.Kind)
	}
	if err := f.DelConnected(1, pfx("10.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	if a := look(f, "10.0.2.7"); a.Kind != AdjDrop {
		t.Errorf("10.0.2.7 after DelConnected: %v, want drop", a.Kind)
	}
	if a := look(f, "10.0.2.1"); a.Kind != AdjDrop {
		t.Errorf("10.0.2.1 after DelConnected: %v, want drop", a.Kind)
	}
	f.DelInterface(0)
	if a := look(f, "10.0.1.1"); a.Kind != AdjDrop {
		t.Errorf("10.0.1.1 after DelInterface: %v, want drop", a.Kind)
	}
	if err := f.AddRoute(pfx("192.168.1.0/24"), []NextHop{{Addr: ip("10.0.1.2"), Port: 0}}); !errors.Is(err, ErrNoInterface) {
		t.Errorf("a route via a deleted port: %v, want ErrNoInterface", err)
	}
}
