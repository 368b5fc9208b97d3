package config

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

const subConfig = `interfaces:
  - name: eth0
    driver: mem
    mtu: 1500
    addresses: [10.0.0.1/24]
  - name: eth0.100
    parent: eth0
    vlan: 100
    addresses: [10.0.100.1/24, "2001:db8:100::1/64"]
  - name: eth0.200.300
    parent: eth0
    outer_vlan: 200
    vlan: 300
    mtu: 1400
  - {name: eth0.7.8, parent: eth0, outer_vlan: 7, outer_tpid: 0x8100, vlan: 8}
routes:
  - prefix: 192.168.0.0/16
    via: 10.0.100.2
    interface: eth0.100
`

func TestParseSubInterfaces(t *testing.T) {
	c, err := Parse("s.yaml", []byte(subConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []SubInterface{
		{Name: "eth0.100", Parent: "eth0", VLAN: 100, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.100.1/24"), netip.MustParsePrefix("2001:db8:100::1/64")}},
		{Name: "eth0.200.300", Parent: "eth0", OuterVLAN: 200, OuterTPID: 0x88a8, VLAN: 300, MTU: 1400},
		{Name: "eth0.7.8", Parent: "eth0", OuterVLAN: 7, OuterTPID: 0x8100, VLAN: 8},
	}
	if len(c.Interfaces) != 1 || !reflect.DeepEqual(c.SubInterfaces, want) {
		t.Fatalf("interfaces %+v\nsubs %+v\nwant %+v", c.Interfaces, c.SubInterfaces, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("m.yaml", b)
	if err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
}

func TestSubInterfaceErrors(t *testing.T) {
	head := "interfaces:\n  - {name: eth0, driver: mem, mtu: 1500}\n"
	tests := []struct {
		name, yaml string
		line, col  int
		want       string
	}{
		{"no vlan", "  - {name: s, parent: eth0}\n", 3, 5, `missing "vlan"`},
		{"vlan 0", "  - {name: s, parent: eth0, vlan: 0}\n", 3, 35, "0 is out of range 1..4094"},
		{"vlan 4095", "  - {name: s, parent: eth0, vlan: 4095}\n", 3, 35, "4095 is out of range 1..4094"},
		{"unknown parent", "  - {name: s, parent: eth9, vlan: 5}\n", 3, 5, `parent "eth9" is not an interface`},
		{"parent is a sub", "  - {name: s, parent: eth0, vlan: 5}\n  - {name: t, parent: s, vlan: 6}\n", 4, 5, `parent "s" is a sub-interface`},
		{"driver key", "  - {name: s, parent: eth0, vlan: 5, driver: mem}\n", 3, 38, `unknown key "driver"`},
		{"bad tpid", "  - {name: s, parent: eth0, outer_vlan: 2, vlan: 5, outer_tpid: 0x9100}\n", 3, 65, "outer_tpid 0x9100"},
		{"tpid alone", "  - {name: s, parent: eth0, vlan: 5, outer_tpid: 0x8100}\n", 3, 50, "outer_tpid without outer_vlan"},
		{"mtu too big", "  - {name: s, parent: eth0, outer_vlan: 2, vlan: 5, mtu: 1496}\n", 3, 5, "mtu 1496 is more than parent eth0's 1500 less 8 tag bytes"},
		{"same tags", "  - {name: s, parent: eth0, vlan: 5}\n  - {name: t, parent: eth0, vlan: 5}\n", 4, 5, `already has these tags (sub-interface "s")`},
		{"same name", "  - {name: eth0, parent: eth0, vlan: 5}\n", 3, 5, `name already used at line 2`},
		{"same address", "  - {name: s, parent: eth0, vlan: 5, addresses: [10.0.0.1/24]}\n  - {name: t, parent: eth0, vlan: 6, addresses: [10.0.0.1/24]}\n", 4, 5, "address 10.0.0.1 already used at line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(head+tc.yaml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an error", err)
			}
			if e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Msg, tc.want) {
				t.Fatalf("got %d:%d %q, want %d:%d ...%q...", e.Line, e.Column, e.Msg, tc.line, tc.col, tc.want)
			}
		})
	}
}
