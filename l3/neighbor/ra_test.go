package neighbor

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

var (
	raLL      = netip.MustParseAddr("fe80::1").As16()
	raPeerLL  = netip.MustParseAddr("fe80::2").As16()
	raPrefix1 = netip.MustParsePrefix("2001:db8:1::/64")
	raPrefix2 = netip.MustParsePrefix("2001:db8:2::/48")
)

func ndLabel(err string) string { return graphtest.Label(NDInputName, err) }

// raTopo is one interface (mac0, MTU 1400) with link-local fe80::1
// (tentative when tentative is set) and an ND table.
func raTopo(t *testing.T, tentative bool) (*iface.Table, *NDTable, uint16) {
	t.Helper()
	ifs := iface.NewTable()
	port, err := ifs.Add("eth0", mac0, 1400)
	if err != nil {
		t.Fatal(err)
	}
	ll := netip.PrefixFrom(netip.AddrFrom16(raLL), 64)
	if tentative {
		err = ifs.AddTentative6(port, ll)
	} else {
		err = ifs.AddAddress(port, ll)
	}
	if err != nil {
		t.Fatal(err)
	}
	f := fib.NewTable6()
	f.AddInterface(port, mac0, 1400)
	return ifs, NewNDTable(f, ifs), port
}

// rsFrame is a router solicitation from src to all-routers with hop limit
// hop, code code and the options opts.
func rsFrame(src [16]byte, hop, code uint8, opts []byte) graphtest.Packet {
	dst := netip.MustParseAddr("ff02::2").As16()
	n := 8 + len(opts)
	b := make([]byte, wire.EthernetLen+wire.IPv6Len+n)
	eth := wire.Ethernet(b)
	eth.SetDst(wire.MulticastMAC(dst))
	eth.SetSrc(peerMAC)
	eth.SetType(wire.EtherTypeIPv6)
	wire.IPv6(b[wire.EthernetLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(n), NextHeader: wire.IPProtoICMPv6, HopLimit: hop, Src: src, Dst: dst})
	c := wire.ICMPv6(b[wire.EthernetLen+wire.IPv6Len:])
	c.SetType(wire.ICMPv6RouterSolicit)
	c.SetCode(code)
	copy(c[8:], opts)
	c.SetChecksum(c.ComputeChecksum6(src, dst))
	return graphtest.Packet{Data: b, Meta: pkt.Meta{L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv6Len}}
}

var slla = []byte{wire.NDOptSourceLinkAddr, 1, 0x02, 0, 0, 0, 0, 0x20}

// checkRA checks f is our router advertisement for cfg: Ethernet and IPv6
// from us to all-nodes, hop limit 255, checksum, header fields, and the
// options in order (source link-layer, MTU 1400, each prefix on-link and
// autonomous with the default lifetimes).
func checkRA(t *testing.T, f []byte, cfg *RAConfig) {
	t.Helper()
	if len(f) != RALen(cfg) {
		t.Fatalf("RA frame %d bytes, want %d", len(f), RALen(cfg))
	}
	eth := wire.Ethernet(f)
	if eth.Dst() != wire.MulticastMAC(wire.AllNodes) || wire.MAC(eth.Src()) != mac0 || eth.Type() != wire.EtherTypeIPv6 {
		t.Fatalf("RA Ethernet header % x", f[:wire.EthernetLen])
	}
	ip := wire.IPv6(f[wire.EthernetLen:])
	if ip.Src() != raLL || ip.Dst() != wire.AllNodes || ip.HopLimit() != 255 || int(ip.PayloadLen()) != len(f)-wire.EthernetLen-wire.IPv6Len {
		t.Fatalf("RA IPv6 header from %x to %x hop limit %d", ip.Src(), ip.Dst(), ip.HopLimit())
	}
	icmp, ok := wire.ParseICMPv6(f[wire.EthernetLen+wire.IPv6Len:])
	if !ok || !icmp.ChecksumValid6(ip.Src(), ip.Dst()) {
		t.Fatal("RA checksum invalid")
	}
	b := []byte(icmp)
	var flags byte
	if cfg.Managed {
		flags |= 0x80
	}
	if cfg.Other {
		flags |= 0x40
	}
	if b[0] != wire.ICMPv6RouterAdvert || b[1] != 0 || b[4] != 64 || b[5] != flags ||
		binary.BigEndian.Uint16(b[6:]) != uint16(cfg.Lifetime/time.Second) || binary.BigEndian.Uint64(b[8:]) != 0 {
		t.Fatalf("RA header % x", b[:16])
	}
	o := b[16:]
	if o[0] != 1 || o[1] != 1 || wire.MAC(o[2:8]) != mac0 {
		t.Fatalf("source link-layer option % x", o[:8])
	}
	o = o[8:]
	if cfg.MTU {
		if o[0] != 5 || o[1] != 1 || binary.BigEndian.Uint32(o[4:]) != 1400 {
			t.Fatalf("MTU option % x", o[:8])
		}
		o = o[8:]
	}
	for _, p := range cfg.Prefixes {
		if o[0] != 3 || o[1] != 4 || int(o[2]) != p.Bits() || o[3] != 0xc0 ||
			binary.BigEndian.Uint32(o[4:]) != 2592000 || binary.BigEndian.Uint32(o[8:]) != 604800 ||
			netip.AddrFrom16([16]byte(o[16:32])) != p.Addr() {
			t.Fatalf("prefix option for %v: % x", p, o[:32])
		}
		o = o[32:]
	}
	if len(o) != 0 {
		t.Fatalf("%d bytes after the options", len(o))
	}
	// The options parse with the same walker nd-input uses.
	if opts, e := wire.ParseNDOptions(b[16:], wire.NDOptSourceLinkAddr); e != wire.NDOptOK || opts.LinkAddr != mac0 {
		t.Fatalf("RA options do not parse: %v", e)
	}
}

// TestRASolicitationAnswered: a router solicitation on an interface with
// RAs on is answered in place with a well-formed advertisement (flags,
// lifetime, MTU and prefix options), the next within 3 s is not (the
// scheduled one is brought forward), and one after 3 s is.
func TestRASolicitationAnswered(t *testing.T) {
	for _, cfg := range []*RAConfig{
		{Interval: 200 * time.Second, Lifetime: 1800 * time.Second, Prefixes: []netip.Prefix{raPrefix1, raPrefix2}, MTU: true},
		{Interval: 10 * time.Second, Lifetime: 0, Managed: true, Other: true},
	} {
		ifs, nt, port := raTopo(t, false)
		nt.SetRA(port, cfg)
		h := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{})
		h.SetNow(100e9)
		r := h.Run(rsFrame(raPeerLL, 255, 0, slla))
		o := r.Out[0]
		if o.Next != driver.OutputNodeName || o.Meta.TxPort != port {
			t.Fatalf("solicitation went to %s (port %d), want an answer out of port %d", o.Where(), o.Meta.TxPort, port)
		}
		checkRA(t, o.Data, cfg)
		checkCounters(t, r, map[string]uint64{ndLabel("rs_answered"): 1})

		h.SetNow(101e9)
		r = h.Run(rsFrame(raPeerLL, 255, 0, nil))
		if o := r.Out[0]; o.Drop != ndLabel("rs_rate_limited") {
			t.Fatalf("second solicitation within 3 s: %s, want rate limited", o.Where())
		}
		h.SetNow(103e9 + 1) // the brought-forward advertisement is due
		r = h.RunPoll()
		if len(r.Extra) != 1 {
			t.Fatalf("%d packets at 3 s after the answer, want the rate-limited advertisement", len(r.Extra))
		}
		checkRA(t, r.Extra[0].Data, cfg)
		checkCounters(t, r, map[string]uint64{ndLabel("ra_sent"): 1, ndLabel("rs_answered"): 1})
		h.SetNow(106e9 + 2)
		r = h.Run(rsFrame([16]byte{}, 255, 0, nil)) // from :: (RFC 4861 6.1.1 allows it, without SLLA)
		if o := r.Out[0]; o.Next != driver.OutputNodeName {
			t.Fatalf("solicitation after 3 s: %s, want answered", o.Where())
		}
	}
}

// TestRASolicitationDropped: solicitations that fail RFC 4861 6.1.1
// validation, or arrive where RAs are off or the link-local address is
// still tentative, are dropped under named counters.
func TestRASolicitationDropped(t *testing.T) {
	on := &RAConfig{Interval: 200 * time.Second, Lifetime: 600 * time.Second, MTU: true}
	for _, c := range []struct {
		name      string
		cfg       *RAConfig
		tentative bool
		p         graphtest.Packet
		want      string
	}{
		{"off", nil, false, rsFrame(raPeerLL, 255, 0, slla), "rs_ignored"},
		{"hop limit 64", on, false, rsFrame(raPeerLL, 64, 0, slla), "bad_hop_limit"},
		{"code 1", on, false, rsFrame(raPeerLL, 255, 1, slla), "bad_code"},
		{"zero-length option", on, false, rsFrame(raPeerLL, 255, 0, []byte{1, 0, 0, 0, 0, 0, 0, 0}), "bad_option"},
		{"truncated option", on, false, rsFrame(raPeerLL, 255, 0, slla[:6]), "bad_option"},
		{"unspecified source with SLLA", on, false, rsFrame([16]byte{}, 255, 0, slla), "bad_source"},
		{"tentative link-local", on, true, rsFrame(raPeerLL, 255, 0, slla), "tentative_target"},
		{"no interface", on, false, func() graphtest.Packet { p := rsFrame(raPeerLL, 255, 0, nil); p.Meta.RxPort = 7; return p }(), "no_interface"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ifs, nt, port := raTopo(t, c.tentative)
			nt.SetRA(port, c.cfg)
			h := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{})
			r := h.Run(c.p)
			if o := r.Out[0]; o.Drop != ndLabel(c.want) {
				t.Fatalf("got %s, want drop %s", o.Where(), ndLabel(c.want))
			}
		})
	}
}

// TestRAUnsolicitedSchedule: the timer sends the first advertisement at
// once, the next three (MAX_INITIAL_RTR_ADVERTISEMENTS) within 16 s of
// each other, then every Interval/3..Interval; once per interval
// whatever the number of workers (two graphs share the table), and none
// after SetRA(nil).
func TestRAUnsolicitedSchedule(t *testing.T) {
	ifs, nt, port := raTopo(t, false)
	cfg := &RAConfig{Interval: 60 * time.Second, Lifetime: 180 * time.Second, Prefixes: []netip.Prefix{raPrefix1}, MTU: true}
	h1 := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{})
	h2 := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{})
	if r := h1.RunPoll(); len(r.Extra) != 0 {
		t.Fatalf("%d advertisements with RAs off", len(r.Extra))
	}
	nt.SetRA(port, cfg)
	var sent []int64
	const step = int64(100 * time.Millisecond)
	for now := step; now < int64(10*time.Minute); now += step {
		for _, h := range []*graphtest.Harness{h1, h2} {
			h.SetNow(now)
			r := h.RunPoll()
			for _, c := range r.Extra {
				checkRA(t, c.Data, cfg)
				sent = append(sent, now)
			}
			if len(r.Extra) > 0 && r.Counters[ndLabel("ra_sent")] != uint64(len(r.Extra)) {
				t.Fatalf("counters %v for %d advertisements", r.Counters, len(r.Extra))
			}
		}
	}
	if len(sent) < 8 || sent[0] != step {
		t.Fatalf("advertisements at %v, want the first at once and at least 8 in 10 minutes", sent)
	}
	for k := 1; k < len(sent); k++ {
		gap := time.Duration(sent[k] - sent[k-1])
		hi := 60 * time.Second
		if k <= maxInitialRAs {
			hi = maxInitialRAInterval
		}
		if gap < hi/3-time.Duration(step) || gap > hi+time.Duration(step) {
			t.Errorf("advertisement %d came %v after the previous, want %v..%v", k, gap, hi/3, hi)
		}
	}
	nt.SetRA(port, nil)
	h1.SetNow(int64(time.Hour))
	if r := h1.RunPoll(); len(r.Extra) != 0 {
		t.Fatalf("%d advertisements after RAs were turned off", len(r.Extra))
	}
}

// TestRANoAllocs: answering solicitations allocates nothing.
func TestRANoAllocs(t *testing.T) {
	ifs, nt, port := raTopo(t, false)
	nt.SetRA(port, &RAConfig{Interval: 200 * time.Second, Lifetime: 600 * time.Second, Prefixes: []netip.Prefix{raPrefix1}, MTU: true})
	h := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{})
	pkts := make([]graphtest.Packet, 32)
	for k := range pkts {
		pkts[k] = rsFrame(raPeerLL, 255, 0, slla)
	}
	now := int64(0)
	if n := testing.AllocsPerRun(50, func() {
		now += int64(4 * time.Second)
		h.SetNow(now)
		h.Send(NDInputName, pkts...)
	}); n != 0 {
		t.Errorf("%v allocations per vector of solicitations", n)
	}
}

// FuzzRouterSolicit feeds nd-input router solicitations with any body
// (options, truncation) and hop limit on an interface with RAs on: the
// node must not panic, must answer with a well-formed advertisement or
// drop under a counter.
func FuzzRouterSolicit(f *testing.F) {
	f.Add(slla, uint8(255), false)
	f.Add([]byte{}, uint8(255), true)
	f.Add([]byte{1, 0}, uint8(255), false)
	f.Add([]byte{1, 1, 2, 3}, uint8(255), false)
	f.Add([]byte{9, 1, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1}, uint8(255), false)
	f.Add(slla, uint8(1), false)
	f.Fuzz(func(t *testing.T, opts []byte, hop uint8, unspec bool) {
		if len(opts) > 1024 {
			opts = opts[:1024]
		}
		ifs, nt, port := raTopo(t, false)
		cfg := &RAConfig{Interval: 200 * time.Second, Lifetime: 600 * time.Second, Prefixes: []netip.Prefix{raPrefix1}, MTU: true}
		nt.SetRA(port, cfg)
		h := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{Slots: 8})
		src := raPeerLL
		if unspec {
			src = [16]byte{}
		}
		r := h.Run(rsFrame(src, hop, 0, opts))
		switch o := r.Out[0]; {
		case o.Next == driver.OutputNodeName:
			checkRA(t, o.Data, cfg)
		case o.Drop == "":
			t.Fatalf("solicitation went to %q without a drop counter", o.Where())
		}
	})
}

// TestRAWaitsForLinkLocal: while the link-local address is tentative the
// timer sends nothing and keeps the advertisement due: it goes out at the
// first tick after DAD passed, not an initial interval later.
func TestRAWaitsForLinkLocal(t *testing.T) {
	ifs, nt, port := raTopo(t, true)
	nt.SetRA(port, &RAConfig{Interval: 200 * time.Second, Lifetime: 600 * time.Second})
	h := graphtest.New(t, NDInputNode(ifs, nt), graphtest.Options{})
	h.SetNow(int64(time.Second))
	if r := h.RunPoll(); len(r.Extra) != 0 {
		t.Fatalf("%d advertisements from a tentative link-local address", len(r.Extra))
	}
	// A solicitation while tentative is not answered and spends no
	// rate limit: the next one, right after DAD, is answered.
	if r := h.Run(rsFrame(raPeerLL, 255, 0, slla)); r.Out[0].Drop != ndLabel("tentative_target") {
		t.Fatalf("solicitation while tentative: %s", r.Out[0].Where())
	}
	if !ifs.Confirm6(port, netip.AddrFrom16(raLL), 64) {
		t.Fatal("link-local address was not tentative")
	}
	if r := h.Run(rsFrame(raPeerLL, 255, 0, slla)); r.Out[0].Next != driver.OutputNodeName {
		t.Fatalf("solicitation right after DAD: %s, want answered", r.Out[0].Where())
	}
	h.SetNow(int64(time.Second) + int64(100*time.Millisecond))
	if r := h.RunPoll(); len(r.Extra) != 1 {
		t.Fatalf("%d advertisements right after DAD passed, want 1", len(r.Extra))
	}
}
