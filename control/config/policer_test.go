package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/service/policer"
)

// TestParsePolicers: both markers, units, actions and defaults, and a
// Marshal round trip.
func TestParsePolicers(t *testing.T) {
	c, err := Parse("p.yaml", []byte(`interfaces:
  - {name: a, driver: mem}
  - {name: b, driver: mem}
policers:
  - {name: pa, interface: a, cir: 100mbit, cbs: 64k, ebs: 1m, yellow: mark-dscp 10}
  - {name: pb, interface: b, mode: trtcm, cir: 8000, cbs: 1500, pir: 2gbit, pbs: 3000, green: transmit, yellow: drop}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Policer{
		{Name: "pa", Interface: "a", Meter: policer.Config{Mode: policer.SingleRate, CIR: 12_500_000, CBS: 64 << 10, EBS: 1 << 20},
			Actions: [policer.NumColors]policer.Action{policer.Yellow: {Kind: policer.MarkDSCP, DSCP: 10}, policer.Red: {Kind: policer.Drop}}},
		{Name: "pb", Interface: "b", Meter: policer.Config{Mode: policer.TwoRate, CIR: 1000, CBS: 1500, PIR: 250_000_000, PBS: 3000},
			Actions: [policer.NumColors]policer.Action{policer.Yellow: {Kind: policer.Drop}, policer.Red: {Kind: policer.Drop}}},
	}
	if !reflect.DeepEqual(c.Policers, want) {
		t.Fatalf("got %+v\nwant %+v", c.Policers, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("again.yaml", b)
	if err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
}

func TestPolicerErrors(t *testing.T) {
	const ifs = "interfaces:\n  - {name: a, driver: mem}\npolicers:\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"pir below cir", "  - {name: p, interface: a, mode: trtcm, cir: 2mbit, cbs: 1k, pir: 1mbit, pbs: 2k}\n", "p.yaml:4:5: policer \"p\": trTCM: pir 125000 below cir 250000"},
		{"no interface", "  - {name: p, interface: z, cir: 1mbit, cbs: 1k}\n", `p.yaml:4:26: policer interface: no interface named "z"`},
		{"missing cbs", "  - {name: p, interface: a, cir: 1mbit}\n", "cbs"},
		{"bad rate", "  - {name: p, interface: a, cir: fast, cbs: 1k}\n", `policer cir: "fast" is not a rate`},
		{"bad size", "  - {name: p, interface: a, cir: 1mbit, cbs: 2g}\n", `policer cbs: "2g" is not a size`},
		{"bad action", "  - {name: p, interface: a, cir: 1mbit, cbs: 1k, red: mark-dscp 64}\n", "not transmit, drop or mark-dscp 0..63"},
		{"bad mode", "  - {name: p, interface: a, mode: fast, cir: 1mbit, cbs: 1k}\n", `"fast" is not one of srtcm, trtcm`},
		{"unknown key", "  - {name: p, interface: a, cir: 1mbit, cbs: 1k, colour: blind}\n", "colour"},
		{"two on one interface", "  - {name: p, interface: a, cir: 1mbit, cbs: 1k}\n  - {name: q, interface: a, cir: 1mbit, cbs: 1k}\n", "already has the policer at line 4"},
		{"duplicate name", "  - {name: p, interface: a, cir: 1mbit, cbs: 1k}\n  - {name: p, interface: a, cir: 1mbit, cbs: 1k}\n", "name already used at line 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(ifs+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
