package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/l3/fib"
)

// TestChurnPrefixes: distinct, masked, /24../32, outside the rig's 10/8,
// about 70 % /24s.
func TestChurnPrefixes(t *testing.T) {
	ps := churnPrefixes(50_000)
	seen := map[netip.Prefix]bool{}
	n24 := 0
	for _, p := range ps {
		a := p.Addr().As4()
		switch {
		case seen[p]:
			t.Fatalf("%v twice", p)
		case p != p.Masked() || p.Bits() < 24 || p.Bits() > 32:
			t.Fatalf("%v: not a masked /24../32", p)
		case a[0] < 11 || a[0] > 110:
			t.Fatalf("%v: outside 11.0.0.0-110.255.255.255", p)
		}
		seen[p] = true
		if p.Bits() == 24 {
			n24++
		}
	}
	if len(ps) != 50_000 || n24 < 33_000 || n24 > 37_000 {
		t.Errorf("%d prefixes, %d /24s: want 50 000 with about 70 %% /24s", len(ps), n24)
	}
}

func TestWriteChurnTable(t *testing.T) {
	var b strings.Builder
	WriteChurnTable(&b, ChurnOptions{Routes: 1000, Batch: 100, Driver: "afxdp", Rate: 20000}, []ChurnPhase{
		{Name: "calm", Offered: 20000, Sink: 20000, Before: fib.Stats{Pages: 1, Groups: 2}, HeapBefore: 100 << 20},
		{Name: "churn 1", Updates: 2000, AddSecs: 0.5, DelSecs: 0.5, Offered: 20000, Sink: 19000, Loss: 0.05, Drops: 4321,
			Before: fib.Stats{Pages: 1, Groups: 2}, Full: fib.Stats{Pages: 101, Groups: 900}, After: fib.Stats{Pages: 1, Groups: 2}, HeapBefore: 100 << 20, HeapFull: 150 << 20, HeapAfter: 100 << 20},
	})
	out := b.String()
	for _, want := range []string{"1000 routes", "batches of 100", "0.002", "5.0000", "4321", "900", "150"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
