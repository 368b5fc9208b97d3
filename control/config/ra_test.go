package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseRA: an interface's ra: block, with and without its defaults.
func TestParseRA(t *testing.T) {
	const y = `interfaces:
  - name: eth0
    driver: mem
    addresses: ["2001:db8:1::1/64"]
    ra: {interval: 200s, lifetime: 1800s, prefixes: ["2001:db8:1::/64", "2001:db8:2::/48"], managed: true, other: false, mtu: false}
  - name: eth1
    driver: mem
    ra: {}
  - name: eth2
    driver: mem
`
	c, err := Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := &RA{Interval: 200 * time.Second, Lifetime: 1800 * time.Second, Managed: true,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/64"), netip.MustParsePrefix("2001:db8:2::/48")}}
	if got := c.Interfaces[0].RA; !reflect.DeepEqual(got, want) {
		t.Errorf("eth0 ra %+v, want %+v", got, want)
	}
	if got, want := c.Interfaces[1].RA, (&RA{Interval: 200 * time.Second, Lifetime: 600 * time.Second, MTU: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("eth1 ra %+v, want defaults %+v", got, want)
	}
	if c.Interfaces[2].RA != nil {
		t.Errorf("eth2 without ra: %+v, want off", c.Interfaces[2].RA)
	}
	// Marshal writes the blocks back (lifetime 0 included).
	c.Interfaces[1].RA.Lifetime = 0
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("m.yaml", b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for k := range c.Interfaces {
		if !reflect.DeepEqual(back.Interfaces[k].RA, c.Interfaces[k].RA) {
			t.Errorf("interface %d ra after Marshal/Parse %+v, want %+v\n%s", k, back.Interfaces[k].RA, c.Interfaces[k].RA, b)
		}
	}
}

// TestRAErrors: every bad ra: value is reported at its file:line:column.
func TestRAErrors(t *testing.T) {
	head := "interfaces:\n  - name: eth0\n    driver: mem\n    ra:\n"
	for _, c := range []struct {
		body string
		col  int
		want string
	}{
		{"      interval: 1s\n", 17, "out of range 4s..30m0s"},
		{"      interval: soon\n", 17, "not a duration"},
		{"      lifetime: 10000s\n", 17, "out of range"},
		{"      interval: 100s\n      lifetime: 50s\n", 17, "shorter than the interval"},
		{"      lifetime: 1500ms\n", 17, "not a whole number of seconds"},
		{"      prefixes: [10.0.0.0/8]\n", 18, "want an IPv6 prefix"},
		{"      prefixes: [\"2001:db8::1/64\"]\n", 18, "host bits set"},
		{"      prefixes: [\"fe80::/64\"]\n", 18, "link-local or multicast"},
		{"      prefixes: [\"2001:db8::/64\", \"2001:db8::/64\"]\n", 35, "listed twice"},
		{"      managed: yes\n", 16, `"yes" is not one of true, false`},
		{"      mtu: 1500\n", 12, "is not one of true, false"},
		{"      hops: 64\n", 7, `unknown key "hops"`},
	} {
		_, err := Parse("t.yaml", []byte(head+c.body))
		if err == nil {
			t.Errorf("%q: no error, want %q", c.body, c.want)
			continue
		}
		line := 5 + strings.Count(c.body, "\n") - 1
		if c.want == "shorter than the interval" {
			line = 6
		}
		prefix := fmt.Sprintf("t.yaml:%d:%d:", line, c.col)
		if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, c.want) {
			t.Errorf("%q: error %q, want prefix %q and %q", c.body, msg, prefix, c.want)
		}
	}
	const nine = `["2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/64", "2001:db8:4::/64", "2001:db8:5::/64", "2001:db8:6::/64", "2001:db8:7::/64", "2001:db8:8::/64", "2001:db8:9::/64"]`
	if _, err := Parse("t.yaml", []byte(head+"      prefixes: "+nine+"\n")); err == nil || !strings.Contains(err.Error(), "more than 8 prefixes") {
		t.Errorf("nine prefixes: %v, want more than 8", err)
	}
}
