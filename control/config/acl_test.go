package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/service/acl"
)

func TestParseACLs(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`interfaces:
  - {name: a, driver: mem}
acls:
  - name: in
    interface: a
    rules:
      - {action: permit, proto: tcp, dst: 10.0.2.0/24, dport: 80-443, tcp_flags: "syn !ack"}
      - {action: deny, src: 10.0.1.66/32}
      - {action: permit+reflect, proto: icmp, icmp_type: 8, icmp_code: 0}
      - {action: permit, proto: 47}
      - {action: permit, proto: udp, sport: 53}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []ACL{{Name: "in", Interface: "a", Default: acl.Deny, Rules: []acl.Rule{
		{Action: acl.Permit, Proto: acl.ProtoTCP, Dst: netip.MustParsePrefix("10.0.2.0/24"), DstPorts: acl.PortRange{Lo: 80, Hi: 443}, TCPFlags: 0x02, TCPFlagsMask: 0x12},
		{Action: acl.Deny, Src: netip.MustParsePrefix("10.0.1.66/32")},
		{Action: acl.PermitReflect, Proto: acl.ProtoICMP, SrcPorts: acl.PortRange{Lo: 8, Hi: 8}, DstPorts: acl.PortRange{}},
		{Action: acl.Permit, Proto: 47},
		{Action: acl.Permit, Proto: acl.ProtoUDP, SrcPorts: acl.PortRange{Lo: 53, Hi: 53}},
	}}}
	if !reflect.DeepEqual(c.ACLs, want) {
		t.Fatalf("got %+v\nwant %+v", c.ACLs, want)
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

func TestACLErrors(t *testing.T) {
	const head = "interfaces:\n  - {name: a, driver: mem}\nacls:\n  - name: x\n    interface: a\n    rules:\n"
	for _, tc := range []struct{ name, rule, want string }{
		{"bad action", "      - {action: allow}\n", `a.yaml:7:18: acl rule action: "allow" is not one of permit, deny, permit+reflect`},
		{"bad prefix", "      - {action: deny, src: 10.0.0.300/8}\n", `acl rule src: "10.0.0.300/8" is not an IPv4 or IPv6 prefix`},
		{"mapped prefix", "      - {action: deny, dst: \"::ffff:10.0.0.0/104\"}\n", "is not an IPv4 or IPv6 prefix"},
		{"mixed families", "      - {action: deny, src: 10.0.0.0/8, dst: 2001:db8::/32}\n", "a.yaml:7:46: acl rule dst: 2001:db8::/32 is not of src 10.0.0.0/8's family"},
		{"v6 reflect", "      - {action: permit+reflect, dst: 2001:db8::/32}\n", "a.yaml:7:18: acl rule action: permit+reflect is IPv4 only"},
		{"port without proto", "      - {action: deny, dport: 80}\n", "acl rule dport: only for proto tcp or udp"},
		{"icmp type on udp", "      - {action: deny, proto: udp, icmp_type: 3}\n", "only for proto icmp"},
		{"reversed range", "      - {action: deny, proto: tcp, dport: 90-80}\n", `"90-80" is not N or N-M`},
		{"icmp type range", "      - {action: deny, proto: icmp, icmp_type: 256}\n", "M <= 255"},
		{"flags on udp", "      - {action: deny, proto: udp, tcp_flags: syn}\n", "only for proto tcp"},
		{"unknown flag", "      - {action: deny, proto: tcp, tcp_flags: \"syn ece\"}\n", `"ece" is not one of`},
		{"bad proto", "      - {action: deny, proto: sctpx}\n", `"sctpx" is not tcp, udp, icmp, icmp6, any or a number`},
		{"unknown key", "      - {action: deny, port: 80}\n", "port"},
		{"no action", "      - {proto: tcp}\n", "action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(head+tc.rule))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestParseACLs6: IPv6 rules beside IPv4 ones in one ACL, icmp6 with its
// type, and a round trip.
func TestParseACLs6(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`interfaces:
  - {name: a, driver: mem}
acls:
  - name: in
    interface: a
    rules:
      - {action: deny, src: 2001:db8:1::66/128}
      - {action: permit, proto: icmp6, icmp_type: 128}
      - {action: permit, proto: tcp, dst: "2001:db8:2::/48", dport: 80}
      - {action: permit+reflect, proto: udp}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []acl.Rule{
		{Action: acl.Deny, Src: netip.MustParsePrefix("2001:db8:1::66/128")},
		{Action: acl.Permit, Proto: acl.ProtoICMPv6, SrcPorts: acl.PortRange{Lo: 128, Hi: 128}},
		{Action: acl.Permit, Proto: acl.ProtoTCP, Dst: netip.MustParsePrefix("2001:db8:2::/48"), DstPorts: acl.PortRange{Lo: 80, Hi: 80}},
		{Action: acl.PermitReflect, Proto: acl.ProtoUDP},
	}
	if !reflect.DeepEqual(c.ACLs[0].Rules, want) {
		t.Fatalf("got %+v\nwant %+v", c.ACLs[0].Rules, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := Parse("again.yaml", b); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
}

// TestACLDirection: an interface may have one ACL per direction; the
// direction survives a round trip and a bad one is reported at its place.
func TestACLDirection(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`interfaces:
  - {name: a, driver: mem}
acls:
  - {name: a-in, interface: a, rules: [{action: permit}]}
  - {name: a-out, interface: a, direction: out, rules: [{action: deny, proto: udp, dport: 9999}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ACLs) != 2 || c.ACLs[0].Out || !c.ACLs[1].Out {
		t.Fatalf("acls %+v", c.ACLs)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := Parse("again.yaml", b); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	for _, tc := range []struct{ name, acls, want string }{
		{"two out", "  - {name: x, interface: a, direction: out, rules: []}\n  - {name: y, interface: a, direction: out, rules: []}\n",
			`a.yaml:5:5: acl "y": interface "a" already has the out acl at line 4`},
		{"bad direction", "  - {name: x, interface: a, direction: both, rules: []}\n",
			`a.yaml:4:40: acl direction: "both" is not one of in, out`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte("interfaces:\n  - {name: a, driver: mem}\nacls:\n"+tc.acls))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestACLPolice: a rule names a class policer (one without an
// interface); the name must exist and survives a round trip.
func TestACLPolice(t *testing.T) {
	const head = `interfaces:
  - {name: a, driver: mem}
policers:
  - {name: web, cir: 10mbit, cbs: 64k}
acls:
  - name: x
    interface: a
    rules:
`
	c, err := Parse("a.yaml", []byte(head+"      - {action: permit, proto: tcp, dport: 80, police: web}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ACLs[0].Rules[0].Police != "web" || c.Policers[0].Interface != "" {
		t.Fatalf("rule %+v, policer %+v", c.ACLs[0].Rules[0], c.Policers[0])
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := Parse("again.yaml", b); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	for _, tc := range []struct{ name, rule, want string }{
		{"unknown policer", "      - {action: permit, police: nope}\n", `a.yaml:9:34: acl rule police: no policer named "nope"`},
		{"police on deny", "      - {action: deny, police: web}\n", "police on a deny rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(head+tc.rule))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
