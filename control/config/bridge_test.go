package config

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

const bridgeIfs = "interfaces:\n  - {name: eth1, driver: mem}\n  - {name: eth2, driver: mem}\n  - {name: eth3, driver: mem}\n  - {name: up, driver: mem, addresses: [10.0.1.1/24]}\n"

func TestBridgeBlock(t *testing.T) {
	src := bridgeIfs + `bridges:
  - id: 1
    members: [eth1, eth2, {name: eth3, split_horizon: 2}]
    bvi: {name: bvi1, addresses: [10.0.9.1/24]}
    age: 30s
    max_macs: 100
routes:
  - {prefix: 10.9.0.0/16, via: 10.0.9.254, interface: bvi1}
`
	c, err := Parse("b.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Bridge{{ID: 1, Members: []BridgeMember{{Interface: "eth1"}, {Interface: "eth2"}, {Interface: "eth3", SplitHorizon: 2}},
		BVI: &BVI{Name: "bvi1", MTU: DefaultMTU, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.9.1/24")}},
		Age: 30 * time.Second, MaxMACs: 100}}
	if !reflect.DeepEqual(c.Bridges, want) {
		t.Fatalf("bridges %+v, want %+v", c.Bridges, want)
	}
	if mac := c.Bridges[0].BVIMAC(); mac != [6]byte{2, 0xb1, 0, 0, 0, 1} {
		t.Fatalf("BVI MAC %x", mac)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("m.yaml", b)
	if err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	c, err = Parse("d.yaml", []byte(bridgeIfs+"bridges:\n  - {id: 7, members: [eth1]}\n"))
	if err != nil || c.Bridges[0].Age != DefaultBridgeAge || c.Bridges[0].MaxMACs != DefaultBridgeMaxMACs || c.Bridges[0].BVI != nil {
		t.Fatalf("defaults: %+v %v", c.Bridges, err)
	}
}

func TestBridgeErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		line, col  int
		want       string
	}{
		{"unknown member", "bridges:\n  - {id: 1, members: [eth1, eth9]}\n", 7, 29, `no interface named "eth9"`},
		{"member with addresses", "bridges:\n  - {id: 1, members: [up]}\n", 7, 23, "L2 only"},
		{"member twice", "bridges:\n  - {id: 1, members: [eth1]}\n  - {id: 2, members: [eth1]}\n", 8, 5, "already in the bridge at line 7"},
		{"id twice", "bridges:\n  - {id: 1, members: [eth1]}\n  - {id: 1, members: [eth2]}\n", 8, 5, "id already used at line 7"},
		{"id zero", "bridges:\n  - {id: 0, members: [eth1]}\n", 7, 10, "out of range"},
		{"no members", "bridges:\n  - {id: 1, members: []}\n", 7, 22, "at least one interface"},
		{"missing id", "bridges:\n  - {members: [eth1]}\n", 7, 5, `missing "id"`},
		{"unknown key", "bridges:\n  - {id: 1, members: [eth1], flood: no}\n", 7, 30, `unknown key "flood"`},
		{"bad age", "bridges:\n  - {id: 1, members: [eth1], age: 10ms}\n", 7, 35, "out of range"},
		{"bad max_macs", "bridges:\n  - {id: 1, members: [eth1], max_macs: 0}\n", 7, 40, "out of range"},
		{"bvi name taken", "bridges:\n  - {id: 1, members: [eth1], bvi: {name: up}}\n", 7, 42, "already an interface's name"},
		{"bvi bad address", "bridges:\n  - {id: 1, members: [eth1], bvi: {name: b, addresses: [10.0.9.0/24]}}\n", 7, 57, "network address"},
		{"bad split horizon", "bridges:\n  - {id: 1, members: [{name: eth1, split_horizon: 256}]}\n", 7, 51, "out of range"},
		{"route to unknown bvi", "bridges:\n  - {id: 1, members: [eth1]}\nroutes:\n  - {prefix: 10.9.0.0/16, via: 10.0.9.2, interface: bvi1}\n", 9, 53, `no interface "bvi1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(bridgeIfs+tt.yaml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v", err)
			}
			prefix := fmt.Sprintf("t.yaml:%d:", tt.line)
			if tt.col != 0 {
				prefix = fmt.Sprintf("t.yaml:%d:%d:", tt.line, tt.col)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want prefix %q and %q in it", msg, prefix, tt.want)
			}
		})
	}
}
