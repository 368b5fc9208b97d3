package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// testGlean stands in for package neighbor's ip4-glean.
const testGlean = "test-glean"

func TestIP4Lookup(t *testing.T) {
	tp := newTopo(t)
	tests := []struct {
		name    string
		dst     [4]byte
		want    string
		kind    fib.AdjKind
		counter string
	}{
		{"resolved neighbour", nh1, RewriteName, fib.AdjRewrite, ""},
		{"route via resolved next hop", remote, RewriteName, fib.AdjRewrite, ""},
		{"our address", addr0, LocalName, fib.AdjLocal, ""},
		{"our other address", addr1, LocalName, fib.AdjLocal, ""},
		{"connected, unresolved", host0, testGlean, fib.AdjGlean, ""},
		{"route via unresolved next hop", pending, testGlean, fib.AdjIncomplete, ""},
		{"no route", far, ICMPErrorName, fib.AdjDrop, "no_route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, LookupNode(tp.fib, testGlean), graphtest.Options{})
			r := h.Run(ipFrame(host0, tc.dst, frames.Spec{}))
			o := &r.Out[0]
			if o.Next != tc.want {
				t.Fatalf("got %s, want %s", o.Where(), tc.want)
			}
			if k := tp.fib.Load().Adj(fib.AdjIndex(o.Meta.Adj)).Kind; k != tc.kind {
				t.Errorf("Meta.Adj %d is %v, want %v", o.Meta.Adj, k, tc.kind)
			}
			if tc.counter == "" {
				checkCounters(t, r, nil)
				if packed(&o.Meta) != 0 {
					t.Errorf("ICMP/MTU %#x set", packed(&o.Meta))
				}
				return
			}
			checkCounters(t, r, one(LookupName, tc.counter))
			if want := packICMP(wire.ICMPv4DestUnreachable, wire.ICMPv4NetUnreachable, 0); packed(&o.Meta) != want {
				t.Errorf("ICMP/MTU %#x, want %#x", packed(&o.Meta), want)
			}
		})
	}
}

func TestIP4LookupAllocs(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, LookupNode(tp.fib, testGlean), graphtest.Options{})
	var pkts []graphtest.Packet
	for k := range 64 {
		dst := remote
		dst[3] = byte(k)
		pkts = append(pkts, ipFrame(host0, dst, frames.Spec{}))
	}
	pkts = append(pkts, ipFrame(host0, addr0, frames.Spec{}), ipFrame(host0, far, frames.Spec{}))
	if n := testing.AllocsPerRun(100, func() { h.Send(LookupName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestIP4LookupL2Broadcast checks RFC 1812 5.3.4: a unicast IP packet that
// came in an Ethernet broadcast frame is not forwarded (nor gleaned for, nor
// answered with an unreachable), but may still be for us; what we originate
// in its buffer (an echo reply) is sent.
func TestIP4LookupL2Broadcast(t *testing.T) {
	tp := newTopo(t)
	tests := []struct {
		name  string
		dst   [4]byte
		flags uint16
		want  string
	}{
		{"forward", remote, pkt.FlagL2Broadcast, "drop " + graphtest.Label(LookupName, "l2_broadcast")},
		{"glean", host0, pkt.FlagL2Broadcast, "drop " + graphtest.Label(LookupName, "l2_broadcast")},
		{"no route", far, pkt.FlagL2Broadcast, "drop " + graphtest.Label(LookupName, "l2_broadcast")},
		{"for us", addr0, pkt.FlagL2Broadcast, LocalName},
		{"our reply in its buffer", remote, pkt.FlagL2Broadcast | pkt.FlagLocal, RewriteName},
		{"unicast frame", remote, 0, RewriteName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, LookupNode(tp.fib, testGlean), graphtest.Options{})
			p := ipFrame(host0, tc.dst, frames.Spec{})
			p.Meta.Flags = tc.flags
			r := h.Run(p)
			if got := r.Out[0].Where(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.want[0] == 'd' {
				checkCounters(t, r, one(LookupName, "l2_broadcast"))
			} else {
				checkCounters(t, r, nil)
			}
		})
	}
}
