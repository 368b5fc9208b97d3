package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestARPBlock(t *testing.T) {
	src := "interfaces:\n" + pcapIf + "arp:\n  max_entries: 4096\n  reachable_time: 20s\n  stale_time: 2m\n  probe_interval: 500ms\n  probes: 2\n" +
		"  glean_max_targets: 128\n  glean_per_target: 4\n  glean_retry: 50ms\n  glean_timeout: 2s\n"
	c, err := Parse("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := ARP{MaxEntries: 4096, ReachableTime: 20 * time.Second, StaleTime: 2 * time.Minute, ProbeInterval: 500 * time.Millisecond,
		Probes: 2, GleanMaxTargets: 128, GleanPerTarget: 4, GleanRetry: 50 * time.Millisecond, GleanTimeout: 2 * time.Second}
	if c.ARP != want {
		t.Fatalf("ARP %+v, want %+v", c.ARP, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("m.yaml", b)
	if err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	// Absent: all zero (defaults), and Marshal leaves the block out.
	c, err = Parse("a.yaml", []byte("interfaces:\n"+pcapIf))
	if err != nil || c.ARP != (ARP{}) {
		t.Fatalf("no arp block: %+v %v", c.ARP, err)
	}
	if b, _ := Marshal(c); strings.Contains(string(b), "arp") {
		t.Errorf("defaults marshalled:\n%s", b)
	}
}

func TestARPErrors(t *testing.T) {
	base := "interfaces:\n" + pcapIf + "arp:\n"
	tests := []struct {
		name, yaml string
		line, col  int
		want       string
	}{
		{"unknown key", base + "  gc_thresh: 5\n", 7, 3, `unknown key "gc_thresh"`},
		{"not a mapping", "interfaces:\n" + pcapIf + "arp: 5\n", 6, 6, "want a mapping"},
		{"max_entries zero", base + "  max_entries: 0\n", 7, 16, "out of range 1..1048576"},
		{"probes not int", base + "  probes: many\n", 7, 11, "not an integer"},
		{"bad duration", base + "  reachable_time: 30\n", 7, 19, `"30" is not a duration`},
		{"duration too short", base + "  glean_retry: 10us\n", 7, 16, "out of range 1ms..10s"},
		{"timeout below retry", base + "  glean_retry: 2s\n  glean_timeout: 1s\n", 8, 18, "shorter than glean_retry"},
		{"default timeout below retry", base + "  glean_retry: 5s\n", 7, 16, "shorter than glean_retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *Error", err, err)
			}
			if e.Line != tt.line || e.Column != tt.col || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q at %d:%d, want %q at %d:%d", err, e.Line, e.Column, tt.want, tt.line, tt.col)
			}
		})
	}
}
