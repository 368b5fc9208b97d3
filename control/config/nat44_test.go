package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/service/nat44"
)

func TestParseNAT44(t *testing.T) {
	c, err := Parse("n.yaml", []byte(`interfaces:
  - {name: in0, driver: mem}
  - {name: out, driver: mem}
nat44:
  inside: [in0]
  outside: out
  address: 203.0.113.1
  ports: 20000-29999
  static: [{proto: tcp, inside: 10.0.1.5:80, port: 8080}]
  timeouts: {udp: 30s, icmp: 10s}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &NAT44{Inside: []string{"in0"}, Outside: "out", Address: netip.MustParseAddr("203.0.113.1"), PortLo: 20000, PortHi: 29999,
		Static:   []nat44.Static{{Proto: 6, Inside: netip.MustParseAddrPort("10.0.1.5:80"), External: 8080}},
		Timeouts: NAT44Timeouts{UDP: 30 * time.Second, ICMP: 10 * time.Second}}
	if !reflect.DeepEqual(c.NAT44, want) {
		t.Fatalf("got %+v\nwant %+v", c.NAT44, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := Parse("again.yaml", b); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
}

// TestParseNAT44Pool: a pool of ranges and single addresses, expanded in
// order, written back as ranges; overlaps and mixing with address are
// reported at their place.
func TestParseNAT44Pool(t *testing.T) {
	c, err := Parse("n.yaml", []byte(`interfaces:
  - {name: in0, driver: mem}
  - {name: out, driver: mem}
nat44:
  inside: [in0]
  outside: out
  pool: [198.51.100.10-198.51.100.20, 198.51.100.30]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.NAT44.Pool
	if len(p) != 12 || p[0] != netip.MustParseAddr("198.51.100.10") || p[10] != netip.MustParseAddr("198.51.100.20") || p[11] != netip.MustParseAddr("198.51.100.30") {
		t.Fatalf("pool %v", p)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "pool: [198.51.100.10-198.51.100.20, 198.51.100.30]") {
		t.Fatalf("marshalled:\n%s", b)
	}
	if c2, err := Parse("again.yaml", b); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	e, err := c.NAT44.Engine(1, func(name string) (uint16, bool) { return map[string]uint16{"in0": 0, "out": 1}[name], true }, netip.MustParseAddr("203.0.113.1"))
	if err != nil || len(e.Pool) != 12 {
		t.Fatalf("engine: %v, pool %v", err, e.Pool)
	}
}

func TestNAT44Errors(t *testing.T) {
	const head = "interfaces:\n  - {name: a, driver: mem}\n  - {name: b, driver: mem}\nnat44:\n"
	for _, tc := range []struct{ name, body, want string }{
		{"unknown inside", "  inside: [z]\n  outside: b\n", `nat44 inside: no interface named "z"`},
		{"both sides", "  inside: [a]\n  outside: a\n", `"a" is also inside`},
		{"small range", "  inside: [a]\n  outside: b\n  ports: 1000-1010\n", "at least 64 ports"},
		{"bad static", "  inside: [a]\n  outside: b\n  static: [{proto: icmp, inside: 10.0.0.1:1, port: 1}]\n", `"icmp" is not one of tcp, udp`},
		{"missing outside", "  inside: [a]\n", "outside"},
		{"pool and address", "  inside: [a]\n  outside: b\n  address: 192.0.2.1\n  pool: [192.0.2.2]\n", "n.yaml:8:9: nat44 pool: give address or pool, not both"},
		{"pool overlap", "  inside: [a]\n  outside: b\n  pool: [192.0.2.1-192.0.2.4, 192.0.2.3]\n", `n.yaml:7:31: nat44 pool: 192.0.2.3 given twice`},
		{"pool reversed", "  inside: [a]\n  outside: b\n  pool: [192.0.2.4-192.0.2.1]\n", `"192.0.2.4-192.0.2.1" is not an IPv4 address or a range A-B`},
		{"pool too big", "  inside: [a]\n  outside: b\n  pool: [10.0.0.0-10.0.255.255]\n", "more than 256 addresses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("n.yaml", []byte(head+tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
