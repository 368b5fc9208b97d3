package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// errPacket is a packet from host0 as it reaches icmp4-error from port 0
// with an ICMP request in Aux.
func errPacket(s frames.Spec, typ, code uint8, mtu uint16) graphtest.Packet {
	p := ipFrame(host0, remote, s)
	p.Meta.ICMP, p.Meta.MTU = pkt.ICMPRequest{Type: typ, Code: code}, mtu
	return p
}

func TestICMPError(t *testing.T) {
	timeEx := func(s frames.Spec) graphtest.Packet {
		return errPacket(s, wire.ICMPv4TimeExceeded, wire.ICMPv4TTLExceeded, 0)
	}
	icmpOf := func(typ uint8) graphtest.Packet {
		p := timeEx(frames.Spec{Proto: wire.IPProtoICMP, Payload: 8})
		p.Data[34] = typ
		return p
	}
	tests := []struct {
		name   string
		p      graphtest.Packet
		rxPort uint16
		want   string // "sent" or the drop counter
		quote  int    // bytes of the original quoted
		typ    uint8
		code   uint8
		mtu    uint16
	}{
		{name: "time exceeded", p: timeEx(frames.Spec{Payload: 10}), want: "sent", quote: 20 + 8 + 10, typ: 11, code: 0},
		{name: "frag needed carries mtu", p: errPacket(frames.Spec{Payload: 10, DF: true}, 3, 4, 1400), want: "sent", quote: 38, typ: 3, code: 4, mtu: 1400},
		{name: "quote cut to 576", p: timeEx(frames.Spec{Payload: 1000}), want: "sent", quote: 576 - 28, typ: 11},
		{name: "quote exactly fits", p: timeEx(frames.Spec{Payload: 576 - 28 - 28}), want: "sent", quote: 576 - 28, typ: 11},
		{name: "about echo request", p: icmpOf(wire.ICMPv4Echo), want: "sent", quote: 36, typ: 11},
		{name: "about dest unreachable", p: icmpOf(wire.ICMPv4DestUnreachable), want: "about_icmp_error"},
		{name: "about time exceeded", p: icmpOf(wire.ICMPv4TimeExceeded), want: "about_icmp_error"},
		{name: "about redirect", p: icmpOf(5), want: "about_icmp_error"},
		{name: "first fragment", p: edit(timeEx(frames.Spec{Payload: 10}), func(ip wire.IPv4) { ip[6] |= 0x20 }), want: "sent", quote: 38, typ: 11},
		{name: "non-first fragment", p: edit(timeEx(frames.Spec{Payload: 10}), func(ip wire.IPv4) { ip[7] = 3 }), want: "non_first_fragment"},
		{name: "zero source", p: edit(timeEx(frames.Spec{}), func(ip wire.IPv4) { ip.SetSrc([4]byte{0, 0, 0, 9}) }), want: "bad_source"},
		{name: "multicast source", p: edit(timeEx(frames.Spec{}), func(ip wire.IPv4) { ip.SetSrc([4]byte{224, 0, 0, 9}) }), want: "bad_source"},
		{name: "no source address", p: timeEx(frames.Spec{}), rxPort: 2, want: "no_source_address"},
		{name: "unknown port", p: timeEx(frames.Spec{}), rxPort: 9, want: "no_source_address"},
		{name: "no headroom", p: func() graphtest.Packet { p := timeEx(frames.Spec{}); p.Meta.Off = 27; return p }(), want: "no_headroom"},
		{name: "just enough headroom", p: func() graphtest.Packet { p := timeEx(frames.Spec{}); p.Meta.Off = 28; return p }(), want: "sent", quote: 28, typ: 11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTopo(t)
			h := graphtest.New(t, ICMPErrorNode(tp.ifs, ICMPErrorConfig{}), graphtest.Options{})
			tc.p.Meta.RxPort = tc.rxPort
			orig := append([]byte(nil), tc.p.Data[14:]...)
			r := h.Run(tc.p)
			o := &r.Out[0]
			checkCounters(t, r, one(ICMPErrorName, tc.want))
			if tc.want != "sent" {
				if got, want := o.Where(), "drop "+graphtest.Label(ICMPErrorName, tc.want); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
				return
			}
			if o.Next != LookupName {
				t.Fatalf("got %s, want %s", o.Where(), LookupName)
			}
			checkErrorMessage(t, o, tc.typ, tc.code, tc.mtu, addr0, host0, orig[:tc.quote])
		})
	}
}

// checkErrorMessage checks the layout [Ethernet][IPv4][ICMP][quote].
func checkErrorMessage(t *testing.T, o *graphtest.Outcome, typ, code uint8, mtu uint16, src, dst [4]byte, quote []byte) {
	t.Helper()
	if o.Meta.L3 != 14 || o.Meta.L4 != 34 || int(o.Meta.Len) != 14+28+len(quote) || len(o.Data) != int(o.Meta.Len) {
		t.Fatalf("Meta L3 %d L4 %d Len %d (data %d), want quote of %d", o.Meta.L3, o.Meta.L4, o.Meta.Len, len(o.Data), len(quote))
	}
	ip, e := wire.ParseIPv4(o.Data[14:])
	if e != wire.IPv4OK || !ip.ChecksumValid() || ip.Src() != src || ip.Dst() != dst || ip.Protocol() != wire.IPProtoICMP ||
		ip.TTL() != DefaultTTL || int(ip.TotalLen()) != 28+len(quote) || ip.TotalLen() > 576 {
		t.Errorf("ip header %v: % x", e, o.Data[14:34])
	}
	ic := wire.ICMPv4(o.Data[34:])
	if ic.Type() != typ || ic.Code() != code || ic.MTU() != mtu || !ic.ChecksumValid() {
		t.Errorf("icmp type %d code %d mtu %d checksum ok %v, want %d %d %d", ic.Type(), ic.Code(), ic.MTU(), ic.ChecksumValid(), typ, code, mtu)
	}
	if string(ic.Payload()) != string(quote) {
		t.Errorf("quote differs:\n got % x\nwant % x", ic.Payload(), quote)
	}
	if o.Meta.Flags&pkt.FlagLocal == 0 {
		t.Errorf("FlagLocal not set")
	}
}

// TestICMPErrorRateLimit checks the token bucket: Burst errors at once,
// then Rate per second as the clock advances.
func TestICMPErrorRateLimit(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, ICMPErrorNode(tp.ifs, ICMPErrorConfig{Rate: 10, Burst: 3}), graphtest.Options{})
	burst := func(k int) *graphtest.Result {
		var pkts []graphtest.Packet
		for range k {
			pkts = append(pkts, errPacket(frames.Spec{}, 11, 0, 0))
		}
		return h.Run(pkts...)
	}
	count := func(r *graphtest.Result) (sent, limited uint64) {
		return r.Counters[graphtest.Label(ICMPErrorName, "sent")], r.Counters[graphtest.Label(ICMPErrorName, "rate_limited_time_exceeded")]
	}
	r := burst(5)
	if s, l := count(r); s != 3 || l != 2 || r.Out[3].Where() != "drop "+graphtest.Label(ICMPErrorName, "rate_limited_time_exceeded") {
		t.Fatalf("burst: sent %d limited %d (%s)", s, l, r.Out[3].Where())
	}
	h.Advance(50e6) // half a token
	if s, l := count(burst(1)); s != 0 || l != 1 {
		t.Errorf("after 50ms: sent %d limited %d", s, l)
	}
	h.Advance(150e6) // 2 tokens
	if s, l := count(burst(3)); s != 2 || l != 1 {
		t.Errorf("after 200ms: sent %d limited %d", s, l)
	}
	h.Advance(10e9) // refills to Burst, no more
	if s, l := count(burst(4)); s != 3 || l != 1 {
		t.Errorf("after 10s: sent %d limited %d", s, l)
	}
}

// TestICMPErrorBudgetPerClass checks that each class of error has its own
// budget: a TTL-1 flood that exhausts time exceeded leaves fragmentation
// needed (path MTU discovery) and unreachables their own tokens.
func TestICMPErrorBudgetPerClass(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, ICMPErrorNode(tp.ifs, ICMPErrorConfig{Rate: 10, Burst: 3}), graphtest.Options{})
	var flood []graphtest.Packet
	for range 50 {
		flood = append(flood, errPacket(frames.Spec{}, wire.ICMPv4TimeExceeded, 0, 0))
	}
	r := h.Run(flood...)
	checkCounters(t, r, map[string]uint64{
		graphtest.Label(ICMPErrorName, "sent"):                       3,
		graphtest.Label(ICMPErrorName, "rate_limited_time_exceeded"): 47,
	})
	probes := []graphtest.Packet{
		errPacket(frames.Spec{DF: true}, wire.ICMPv4DestUnreachable, wire.ICMPv4FragNeeded, 1400),
		errPacket(frames.Spec{}, wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0),
		errPacket(frames.Spec{}, wire.ICMPv4ParamProblem, 0, 0),
		errPacket(frames.Spec{}, wire.ICMPv4TimeExceeded, 0, 0),
	}
	r = h.Run(probes...)
	for k, want := range []string{LookupName, LookupName, LookupName, "drop " + graphtest.Label(ICMPErrorName, "rate_limited_time_exceeded")} {
		if got := r.Out[k].Where(); got != want {
			t.Errorf("probe %d: %s, want %s", k, got, want)
		}
	}
	// The frag-needed budget runs dry on its own.
	var pmtu []graphtest.Packet
	for range 4 {
		pmtu = append(pmtu, probes[0])
	}
	r = h.Run(pmtu...)
	checkCounters(t, r, map[string]uint64{
		graphtest.Label(ICMPErrorName, "sent"):                     2,
		graphtest.Label(ICMPErrorName, "rate_limited_frag_needed"): 2,
	})
}

func TestICMPErrorAllocs(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, ICMPErrorNode(tp.ifs, ICMPErrorConfig{Rate: 1e9, Burst: 1e9}), graphtest.Options{})
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = errPacket(frames.Spec{Payload: 64}, 11, 0, 0)
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(ICMPErrorName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}
