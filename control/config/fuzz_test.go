package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every failure is a
// positioned *Error for the right file, and that every accepted config
// survives Marshal and a second Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(full)) // every key set
	if b, err := os.ReadFile("../../examples/configs/pcap-router.yaml"); err == nil {
		f.Add(b) // the shipped example
	}
	f.Add([]byte("interfaces:\n  - {name: a, driver: mem}\n"))                                                                                                                     // smallest valid config
	f.Add([]byte("interfaces:\n  - {name: a, driver: mem}\npolicers:\n  - {name: p, interface: a, mode: trtcm, cir: 1mbit, cbs: 1k, pir: 2mbit, pbs: 2k, yellow: mark-dscp 8}\n")) // a policer
	f.Add([]byte("interfaces:\n  - &x {name: a, driver: mem}\n  - *x\n"))                                                                                                          // aliases
	f.Add([]byte("workers: 0x2\ninterfaces: [{name: '1', driver: tap, queues: 1_0}]\n"))                                                                                           // odd integer forms
	f.Add([]byte("interfaces:\n  - {name: a, driver: afxdp, match: tcp dport 80,443}\n"))                                                                                          // match clauses
	f.Add([]byte("interfaces:\n- name: a\n  driver: mem\nroutes:\n- {prefix: 0/0, via: 1}\n"))                                                                                     // bad route
	f.Add([]byte("interfaces: [{name: a, driver: mem}]\nlinux_cp:\n  - {interface: a, host_if: lcp-a, netns: r, punt_rate: 5mbit, punt_burst: 8k}\n"))                             // linux-cp
	// limits
	f.Add([]byte("interfaces: [{name: a, driver: mem}]\nlimits: {cli_connections: 2, cli_write_timeout: 1.5s, socket_queue: 8, socket_budget: 64, pool_reserve: 32}\n"))
	// http
	f.Add([]byte("interfaces: [{name: a, driver: mem}]\nhttp: {socket: /tmp/a.sock, listen: \"[::1]:0\", token_file: /t}\n"))
	f.Add([]byte("interfaces: [{name: a, driver: mem}]\nhttp: {listen: \":99999\", token_file: \"\"}\n"))
	// sub-interfaces
	f.Add([]byte(subConfig))
	f.Add([]byte("interfaces: [{name: a, driver: mem}, {name: a.1, parent: a, vlan: 1, outer_vlan: 2, outer_tpid: 0x8100}, {name: b, parent: a.1, vlan: 3}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("config and error both returned")
			}
			errs := unwrapAll(err)
			if len(errs) == 0 {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			for _, e := range errs {
				if e.File != "f.yaml" || !strings.HasPrefix(e.Error(), "f.yaml") || e.Msg == "" {
					t.Fatalf("badly formed error %#v", e)
				}
			}
			return
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		c2, err := Parse("again.yaml", b)
		if err != nil {
			t.Fatalf("accepted config does not re-validate: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v\n%s", c2, c, b)
		}
	})
}

// FuzzParseMatch checks that an accepted match prints to text that parses
// back to the same Match.
func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{"all", "dst 10.0.1.1", "dst 10.0.1.1,10.0.1.2 udp dport 53", "proto tcp dport 80,443", "icmp", "all udp", "dport 0", "dst"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatch(s)
		if err != nil {
			return
		}
		m2, err := ParseMatch(m.String())
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("ParseMatch(%q) = %+v, String %q parses to %+v, %v", s, m, m.String(), m2, err)
		}
	})
}

// FuzzParseMAC checks ParseMAC against its own String: an accepted address
// prints as the lower-case input.
func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"02:00:00:00:00:01", "FF:ff:00:AA:bb:0c", "02-00-00-00-00-01", "2:0:0:0:0:1", "02:00:00:00:00:0g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			return
		}
		if m.String() != strings.ToLower(s) {
			t.Fatalf("ParseMAC(%q).String() = %q", s, m.String())
		}
		var m2 MAC
		if err := m2.UnmarshalText([]byte(m.String())); err != nil || m2 != m {
			t.Fatalf("UnmarshalText(%q) = %v, %v", m.String(), m2, err)
		}
	})
}
