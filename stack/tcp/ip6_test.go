package tcp

import (
	"crypto/sha256"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// TestBulkTransfer6: the engine carries a stream between IPv6 hosts (every
// segment's checksum verified over the IPv6 pseudo-header by the link),
// with the MSS derived from the IPv6 MTU.
func TestBulkTransfer6(t *testing.T) {
	for _, tc := range []struct {
		name string
		loss float64
		seed uint64
	}{{"clean", 0, 11}, {"loss1%", 0.01, 12}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink6(t, tc.seed, Config{})
			l.record = true
			c, s, _ := l.connect(t, 80)
			syn := l.hosts[0].sent[0]
			var o wire.TCPOptions
			if !wire.ParseTCPOptions(syn.Options(), &o) || !o.HasMSS || o.MSS != 1500-60 {
				t.Fatalf("SYN MSS option %+v, want %d (1500 less IPv6 and TCP)", o, 1500-60)
			}
			if c.mss != 1440 || s.mss != 1440 || !c.v6 {
				t.Fatalf("MSS client %d server %d (v6 %v), want 1440", c.mss, s.mss, c.v6)
			}
			l.record = false
			l.loss = tc.loss
			data := randomData(tc.seed, 1<<20)
			p := &pipe{w: c, r: s, data: data}
			if !l.run(600e9, p.done, p.pump) || p.err != nil {
				t.Fatalf("transfer stalled at %d/%d bytes, err %v", p.got.Len(), len(data), p.err)
			}
			if sha256.Sum256(p.got.Bytes()) != sha256.Sum256(data) {
				t.Fatal("hash differs")
			}
		})
	}
}

// TestFamilies: mixed families are refused (Dial) or dropped and counted
// (a segment); a listener on 0.0.0.0 takes IPv4 only, one on :: both.
func TestFamilies(t *testing.T) {
	l := newLink6(t, 1, Config{})
	e := l.hosts[1].e
	if _, err := e.Dial(netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("[2001:db8::9]:80")); err != ErrFamilies {
		t.Fatalf("mixed Dial: %v", err)
	}
	syn := segFields{seq: 1, flags: wire.TCPFlagSYN, wnd: 1000}
	seg := makeSeg(netip.MustParseAddrPort("10.0.0.9:1000"), netip.MustParseAddrPort("10.0.0.2:80"), syn)
	seg.Dst = netip.MustParseAddrPort("[2001:db8::2]:80")
	e.Input([]Segment{seg})
	if e.Counters[ErrFamily] != 1 {
		t.Fatalf("family counter %d", e.Counters[ErrFamily])
	}
	if _, err := e.Listen(netip.MustParseAddrPort("0.0.0.0:80"), 4); err != nil {
		t.Fatal(err)
	}
	v6syn := Segment{Src: netip.MustParseAddrPort("[2001:db8::1]:1000"), Dst: netip.MustParseAddrPort("[2001:db8::2]:80")}
	v4syn := Segment{Src: netip.MustParseAddrPort("10.0.0.1:1000"), Dst: netip.MustParseAddrPort("10.0.0.2:80")}
	if e.listenerFor(&v6syn) != nil || e.listenerFor(&v4syn) == nil {
		t.Fatal("0.0.0.0 listener: IPv4 only")
	}
	if _, err := e.Listen(netip.MustParseAddrPort("[::]:81"), 4); err != nil {
		t.Fatal(err)
	}
	v6syn.Dst, v4syn.Dst = netip.AddrPortFrom(v6syn.Dst.Addr(), 81), netip.AddrPortFrom(v4syn.Dst.Addr(), 81)
	if e.listenerFor(&v6syn) == nil || e.listenerFor(&v4syn) == nil {
		t.Fatal(":: listener: both families")
	}
}

// TestSteadyStateAllocs6: no allocations per round over IPv6 either.
func TestSteadyStateAllocs6(t *testing.T) {
	clock := &fakeClock{t: 1e12}
	var out [2]staging
	for i := range out {
		out[i].segs = make([]Segment, 0, 64)
	}
	ca, cb := Config{Clock: clock, Output: &out[0]}, Config{Clock: clock, Output: &out[1]}
	a, b := New(ca), New(cb)
	ln, _ := b.Listen(netip.MustParseAddrPort("[2001:db8::2]:80"), 4)
	c, err := a.Dial(netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8::2]:80"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock.t += ms
		out[0].deliver(b)
		out[1].deliver(a)
	}
	s, err := ln.Accept()
	if err != nil || c.State() != StateEstablished {
		t.Fatalf("handshake: %v %v", err, c.State())
	}
	data := make([]byte, 4*1440)
	rbuf := make([]byte, 64<<10)
	round := func() {
		clock.t += ms
		c.Write(data)
		out[0].deliver(b)
		s.Read(rbuf)
		out[1].deliver(a)
		b.Tick()
		a.Tick()
	}
	for range 100 {
		round()
	}
	if n := testing.AllocsPerRun(200, round); n != 0 {
		t.Fatalf("%v allocations per round", n)
	}
}
