package iface

import (
	"strings"
	"testing"
)

func TestAddSub(t *testing.T) {
	tb := NewTable()
	if _, err := tb.Add("eth0", [6]byte{2, 0, 0, 0, 0, 1}, 1500); err != nil {
		t.Fatal(err)
	}
	q, err := tb.AddSub("eth0.100", Sub{Parent: 0, VLAN: 100}, 0)
	if err != nil {
		t.Fatal(err)
	}
	qq, err := tb.AddSub("eth0.200.300", Sub{Parent: 0, OuterVLAN: 200, VLAN: 300}, 1400)
	if err != nil {
		t.Fatal(err)
	}
	s := tb.Load()
	x, y := s.Get(q), s.Get(qq)
	if x.Kind != KindSub || x.MTU != 1496 || x.MAC != s.Get(0).MAC || x.Port() != 0 || x.TagsLen != 4 || string(x.Tags[:4]) != "\x81\x00\x00\x64" {
		t.Errorf("eth0.100: %+v", x)
	}
	if y.MTU != 1400 || y.Sub.OuterTPID != 0x88a8 || y.TagsLen != 8 || string(y.Tags[:8]) != "\x88\xa8\x00\xc8\x81\x00\x01\x2c" {
		t.Errorf("eth0.200.300: %+v", y)
	}
	if s.Get(0).Port() != 0 || !s.HasSubs(0) {
		t.Errorf("parent")
	}
	for _, tc := range []struct {
		name string
		sub  Sub
		mtu  uint16
		want string
	}{
		{"eth0.100", Sub{Parent: 0, VLAN: 101}, 0, "exists"},
		{"a", Sub{Parent: 9, VLAN: 1}, 0, "no parent"},
		{"b", Sub{Parent: q, VLAN: 1}, 0, "itself a sub-interface"},
		{"c", Sub{Parent: 0, VLAN: 0}, 0, "vlan 0"},
		{"d", Sub{Parent: 0, VLAN: 4095}, 0, "vlan 4095"},
		{"e", Sub{Parent: 0, VLAN: 100}, 0, "already has these tags"},
		{"f", Sub{Parent: 0, OuterVLAN: 200, OuterTPID: 0x88a8, VLAN: 300}, 0, "already has these tags"},
		{"g", Sub{Parent: 0, OuterVLAN: 5, OuterTPID: 0x9100, VLAN: 3}, 0, "outer TPID"},
		{"h", Sub{Parent: 0, OuterVLAN: 5, VLAN: 3}, 1493, "at most 1492"},
	} {
		if _, err := tb.AddSub(tc.name, tc.sub, tc.mtu); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: %v, want ...%s...", tc.name, tc.sub, err, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tb := NewTable()
	tb.Add("eth0", [6]byte{2}, 1500)
	tb.Add("eth1", [6]byte{2}, 1500)
	a, _ := tb.AddSub("eth0.7", Sub{Parent: 0, VLAN: 7}, 0)
	b, _ := tb.AddSub("eth0.7.8", Sub{Parent: 0, OuterVLAN: 7, OuterTPID: 0x8100, VLAN: 8}, 0)
	c, _ := tb.AddSub("eth0.7ad.8", Sub{Parent: 0, OuterVLAN: 7, VLAN: 8}, 0)
	s := tb.Load()
	for _, tc := range []struct {
		port       uint16
		tag1, tag2 uint32
		sub        uint16
		tags       int
		ok         bool
	}{
		{0, 0x81000007, 0, a, 1, true},
		{0, 0x8100e007, 0x08000000, a, 1, true}, // PCP bits ignored
		{0, 0x81000007, 0x81000008, b, 2, true},
		{0, 0x81000007, 0x81000009, a, 1, true}, // no QinQ match: the single tag's
		{0, 0x88a80007, 0x81000008, c, 2, true},
		{0, 0x88a80007, 0x81000009, 0, 0, false}, // an 802.1ad tag alone is no 802.1Q sub-interface
		{0, 0x81000008, 0, 0, 0, false},
		{0, 0x91000007, 0, 0, 0, false},
		{1, 0x81000007, 0, 0, 0, false},
		{9, 0x81000007, 0, 0, 0, false},
	} {
		sub, n, ok := s.Classify(tc.port, tc.tag1, tc.tag2)
		if sub != tc.sub || n != tc.tags || ok != tc.ok {
			t.Errorf("Classify(%d, %#x, %#x) = %d %d %v, want %d %d %v", tc.port, tc.tag1, tc.tag2, sub, n, ok, tc.sub, tc.tags, tc.ok)
		}
	}
}
