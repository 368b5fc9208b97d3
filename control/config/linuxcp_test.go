package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/service/policer"
)

// TestParseLinuxCP: defaults and explicit punt policer settings.
func TestParseLinuxCP(t *testing.T) {
	c, err := Parse("l.yaml", []byte(`interfaces:
  - {name: a, driver: mem}
  - {name: b, driver: mem}
linux_cp:
  - {interface: a, host_if: lcp-a}
  - {interface: b, host_if: lcp-b, netns: router, punt_rate: 1mbit, punt_burst: 16k}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []LinuxCP{
		{Interface: "a", HostIf: "lcp-a", Punt: policer.Config{Mode: policer.SingleRate, CIR: DefaultPuntRate, CBS: DefaultPuntBurst, EBS: DefaultPuntBurst}},
		{Interface: "b", HostIf: "lcp-b", Netns: "router", Punt: policer.Config{Mode: policer.SingleRate, CIR: 125_000, CBS: 16 << 10, EBS: 16 << 10}},
	}
	if !reflect.DeepEqual(c.LinuxCP, want) {
		t.Fatalf("got %+v\nwant %+v", c.LinuxCP, want)
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

func TestLinuxCPErrors(t *testing.T) {
	const ifs = "interfaces:\n  - {name: a, driver: mem}\nlinux_cp:\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"no interface", "  - {interface: z, host_if: t}\n", `l.yaml:4:17: linux_cp interface: no interface named "z"`},
		{"missing host_if", "  - {interface: a}\n", "host_if"},
		{"long host_if", "  - {interface: a, host_if: abcdefghijklmnop}\n", `l.yaml:4:29: linux_cp host_if: "abcdefghijklmnop" is not a device name`},
		{"bad rate", "  - {interface: a, host_if: t, punt_rate: fast}\n", `linux_cp punt_rate: "fast" is not a rate`},
		{"zero burst", "  - {interface: a, host_if: t, punt_burst: 0}\n", "punt_burst: must be above 0"},
		{"unknown key", "  - {interface: a, host_if: t, mirror: yes}\n", "mirror"},
		{"twice", "  - {interface: a, host_if: t}\n  - {interface: a, host_if: u}\n", "already has a host interface at line 4"},
		{"not a list", "  interface: a\n", "linux_cp: want a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("l.yaml", []byte(ifs+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
