package iface

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestTable(t *testing.T) {
	tb := NewTable()
	a, err := tb.Add("eth0", [6]byte{2, 0, 0, 0, 0, 1}, 1500)
	if err != nil || a != 0 {
		t.Fatal(a, err)
	}
	b, _ := tb.Add("eth1", [6]byte{2, 0, 0, 0, 0, 2}, 9000)
	if _, err := tb.Add("eth0", [6]byte{}, 1500); err == nil {
		t.Fatal("duplicate name accepted")
	}
	before := tb.Load()
	if err := tb.AddAddress(b, netip.MustParsePrefix("10.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddAddress(b, netip.MustParsePrefix("10.0.2.1/24")); err == nil {
		t.Fatal("duplicate address accepted")
	}
	if err := tb.AddAddress(b, netip.MustParsePrefix("2001:db8::1/64")); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddAddress(b, netip.MustParsePrefix("2001:db8::1/64")); err == nil {
		t.Fatal("duplicate IPv6 address accepted")
	}
	if err := tb.AddTentative6(b, netip.MustParsePrefix("fe80::1/64")); err != nil {
		t.Fatal(err)
	}
	if x := tb.Load().Get(b); !x.IsTentative6(netip.MustParseAddr("fe80::1").As16()) || x.Has6(netip.MustParseAddr("fe80::1").As16()) {
		t.Fatal("tentative address in use")
	}
	if !tb.Confirm6(b, netip.MustParseAddr("fe80::1"), 64) {
		t.Fatal("Confirm6")
	}
	ll, g := netip.MustParseAddr("fe80::1").As16(), netip.MustParseAddr("2001:db8::1").As16()
	if x := tb.Load().Get(b); !x.Has6(ll) || x.LinkLocal != ll || x.Addr6 != g || len(x.Addrs) != 1 || !tb.Load().IsLocal6(binary.BigEndian.Uint64(g[:8]), binary.BigEndian.Uint64(g[8:])) {
		t.Fatalf("IPv6 addresses per family: %+v", x)
	}
	if err := tb.AddAddress(7, netip.MustParsePrefix("10.0.3.1/24")); err == nil {
		t.Fatal("unknown interface accepted")
	}
	s := tb.Load()
	if len(before.Get(b).Addrs) != 0 {
		t.Fatal("old snapshot changed")
	}
	if x := s.Get(b); x.Addr4 != [4]byte{10, 0, 2, 1} || !x.Has([4]byte{10, 0, 2, 1}) || x.Has([4]byte{10, 0, 2, 2}) {
		t.Fatalf("%+v", x)
	}
	if s.Owner([4]byte{10, 0, 2, 1}).Name != "eth1" || s.Owner([4]byte{1, 1, 1, 1}) != nil {
		t.Fatal("Owner")
	}
	if !s.IsLocal4(10<<24|2<<8|1) || s.IsLocal4(10<<24|2<<8|2) || before.IsLocal4(10<<24|2<<8|1) {
		t.Fatal("IsLocal4")
	}
	if s.Get(9) != nil || s.ByName("eth0").Index != 0 || len(s.All()) != 2 {
		t.Fatal("lookups")
	}
}

func TestRemoveAndDelAddress(t *testing.T) {
	tb := NewTable()
	a, _ := tb.Add("a", [6]byte{2}, 1500)
	b, _ := tb.Add("b", [6]byte{2, 1}, 1500)
	p1, p2 := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.1.1/24")
	for _, p := range []netip.Prefix{p1, p2} {
		if err := tb.AddAddress(a, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.DelAddress(a, p1); err != nil {
		t.Fatal(err)
	}
	x := tb.Load().Get(a)
	if len(x.Addrs) != 1 || x.Addr4 != p2.Addr().As4() || tb.Load().IsLocal4(0x0a000001) {
		t.Errorf("after DelAddress: %+v, 10.0.0.1 local %v", x, tb.Load().IsLocal4(0x0a000001))
	}
	if err := tb.DelAddress(a, p1); err == nil {
		t.Error("deleting an address twice succeeded")
	}
	if err := tb.Remove(a); err != nil {
		t.Fatal(err)
	}
	s := tb.Load()
	if s.Get(a) != nil || s.ByName("a") != nil || s.Get(b) == nil || s.IsLocal4(0x0a000101) {
		t.Errorf("after Remove(a): Get(a) %v, ByName %v, Get(b) %v", s.Get(a), s.ByName("a"), s.Get(b))
	}
	c, err := tb.Add("a", [6]byte{2, 2}, 1500)
	if err != nil || c == a {
		t.Errorf("re-adding a: index %d (old %d), %v; want a new index", c, a, err)
	}
}

func TestKind(t *testing.T) {
	tb := NewTable()
	i, err := tb.Add("bvi1", [6]byte{2, 0xb1, 0, 0, 0, 1}, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if k := tb.Load().Get(i).Kind; k != KindHW || k.String() != "hw" {
		t.Fatalf("new interface kind %v", k)
	}
	if err := tb.SetKind(i, KindBVI); err != nil {
		t.Fatal(err)
	}
	if k := tb.Load().Get(i).Kind; k != KindBVI || k.String() != "bvi" {
		t.Fatalf("kind %v after SetKind(bvi)", k)
	}
}
