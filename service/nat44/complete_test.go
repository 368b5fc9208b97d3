package nat44

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// icmpError is an ICMP error of type and code from src to dst received on
// port, quoting the IPv4 datagram quoted (as much of it as given).
func icmpError(port uint16, src, dst [4]byte, typ, code uint8, quoted []byte) graphtest.Packet {
	d := frames.IPv4(frames.Spec{Src: src, Dst: dst, Proto: wire.IPProtoICMP, Payload: len(quoted)})
	icmp := d[wire.EthernetLen+wire.IPv4MinLen:]
	clear(icmp[:8])
	icmp[0], icmp[1] = typ, code
	copy(icmp[8:], quoted)
	binary.BigEndian.PutUint16(icmp[2:], wire.Checksum(icmp, 0))
	return graphtest.Packet{Data: d, Meta: pkt.Meta{RxPort: port, L3: wire.EthernetLen, L4: wire.EthernetLen + wire.IPv4MinLen, Len: uint16(len(d))}}
}

// translated runs p through in2out and returns the IP datagram as it
// leaves, and its source port (or echo identifier).
func translated(t *testing.T, h *graphtest.Harness, p graphtest.Packet) (wire.IPv4, uint16) {
	t.Helper()
	r := h.Run(p)
	o := &r.Out[0]
	if o.Next != ip4.LookupName {
		t.Fatalf("in2out: %s", o.Where())
	}
	ip := append(wire.IPv4(nil), ipOf(o)...)
	if ip.Protocol() == wire.IPProtoICMP {
		return ip, binary.BigEndian.Uint16(ip[24:])
	}
	return ip, binary.BigEndian.Uint16(ip[20:])
}

// quotedOf returns the datagram an ICMP error quotes.
func quotedOf(ip wire.IPv4) wire.IPv4 { return wire.IPv4(ip[ip.HeaderLen()+8 : ip.TotalLen()]) }

// TestICMPErrorOut2In: errors from the outside about a mapping's UDP,
// TCP and echo datagrams reach the inside endpoint with the quoted source
// address, port (identifier), header checksum and transport checksum
// rewritten back, the ICMP and outer checksums right; an error about no
// mapping is passed on untranslated and counted.
func TestICMPErrorOut2In(t *testing.T) {
	h := natHarness(t)
	udp, uport := translated(t, h, natFrame(0, inside, outsider, wire.IPProtoUDP, 5353, 53))
	tcp, tport := translated(t, h, natFrame(0, inside, outsider, wire.IPProtoTCP, 40000, 443))
	echo, eid := translated(t, h, natFrame(0, inside, outsider, wire.IPProtoICMP, 0, 0))
	origEchoID := binary.BigEndian.Uint16(natFrame(0, inside, outsider, wire.IPProtoICMP, 0, 0).Data[wire.EthernetLen+24:])
	pa := poolAddr.As4()
	tests := []struct {
		name     string
		quoted   []byte
		typ      uint8
		port     uint16 // the inside endpoint's port or identifier
		fullQuot bool   // the whole datagram is quoted: its transport checksum is checkable
	}{
		{"udp port unreachable", udp, wire.ICMPv4DestUnreachable, 5353, true},
		{"tcp ttl exceeded, 8 bytes quoted", tcp[:28], wire.ICMPv4TimeExceeded, 40000, false},
		{"tcp ttl exceeded, whole", tcp, wire.ICMPv4TimeExceeded, 40000, true},
		{"echo ttl exceeded", echo, wire.ICMPv4TimeExceeded, origEchoID, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.RunNode(Out2InName, icmpError(1, outsider, pa, tc.typ, 3, tc.quoted))
			o := &r.Out[0]
			ip := ipOf(o)
			if o.Next != ip4.LookupName || ip.Dst() != inside || !checksumsValid(ip) || r.Counters["nat44-out2in: icmp_error_translated"] != 1 {
				t.Fatalf("%s dst %v checksums ok %v counters %v", o.Where(), ip.Dst(), checksumsValid(ip), r.Counters)
			}
			q := quotedOf(ip)
			if q.Src() != inside || q.Dst() != outsider || !q.ChecksumValid() {
				t.Fatalf("quoted %v → %v, header checksum ok %v", q.Src(), q.Dst(), q.ChecksumValid())
			}
			port := binary.BigEndian.Uint16(q[20:])
			if q.Protocol() == wire.IPProtoICMP {
				port = binary.BigEndian.Uint16(q[24:])
			}
			if port != tc.port {
				t.Fatalf("quoted port %d, want %d", port, tc.port)
			}
			if tc.fullQuot && !checksumsValid(q) {
				t.Fatalf("quoted transport checksum wrong after translation")
			}
		})
	}
	_, _ = tport, eid
	// About a port no mapping holds: for the router's own traffic.
	stray := append(wire.IPv4(nil), udp...)
	binary.BigEndian.PutUint16(stray[20:], 2099)
	binary.BigEndian.PutUint16(stray[26:], 0)
	r := h.RunNode(Out2InName, icmpError(1, outsider, pa, wire.ICMPv4DestUnreachable, 3, stray),
		icmpError(1, outsider, pa, wire.ICMPv4DestUnreachable, 3, udp[:24])) // quote cut short
	for k := range 2 {
		if o := &r.Out[k]; o.Next != ip4.LookupName || ipOf(o).Dst() != pa {
			t.Fatalf("unmatched error %d: %s to %v", k, o.Where(), ipOf(o).Dst())
		}
	}
	if r.Counters["nat44-out2in: icmp_error_unmatched"] != 2 {
		t.Fatalf("counters %v", r.Counters)
	}
	_ = uport
}

// TestICMPErrorIn2Out: an inside server's error about a datagram that
// came through a static mapping leaves from the external address, quoting
// the external endpoint; an inside error about no mapping is dropped
// (it would show an inside address).
func TestICMPErrorIn2Out(t *testing.T) {
	h := natHarness(t)
	r := h.RunNode(Out2InName, natFrame(1, outsider, poolAddr.As4(), wire.IPProtoTCP, 4000, 8080))
	in := append(wire.IPv4(nil), ipOf(&r.Out[0])...) // outsider:4000 → 10.0.0.5:80
	server := [4]byte{10, 0, 0, 5}
	r = h.Run(icmpError(0, server, outsider, wire.ICMPv4DestUnreachable, 3, in),
		icmpError(0, [4]byte{10, 0, 0, 6}, outsider, wire.ICMPv4DestUnreachable, 3, natFrame(0, outsider, [4]byte{10, 0, 0, 6}, wire.IPProtoUDP, 1, 2).Data[wire.EthernetLen:]))
	o := &r.Out[0]
	ip := ipOf(o)
	if o.Next != ip4.LookupName || ip.Src() != poolAddr.As4() || !checksumsValid(ip) {
		t.Fatalf("%s src %v checksums ok %v", o.Where(), ip.Src(), checksumsValid(ip))
	}
	q := quotedOf(ip)
	if q.Dst() != poolAddr.As4() || binary.BigEndian.Uint16(q[22:]) != 8080 || !q.ChecksumValid() || !checksumsValid(q) {
		t.Fatalf("quoted dst %v:%d, checksums %v %v", q.Dst(), binary.BigEndian.Uint16(q[22:]), q.ChecksumValid(), checksumsValid(q))
	}
	if got := r.Out[1].Where(); got != "drop nat44-in2out: icmp_error_unmatched" {
		t.Fatalf("inside error about no mapping: %s", got)
	}
}

// TestHairpin: an inside endpoint reaches another through its external
// address and port (RFC 4787 REQ-9): the packet goes back inside to the
// mapped endpoint, from the sender's own external address and port, with
// valid checksums; the reply takes the same way back.
func TestHairpin(t *testing.T) {
	h := natHarness(t)
	_, ext := translated(t, h, natFrame(0, inside, outsider, wire.IPProtoUDP, 5353, 53))
	peer := [4]byte{10, 0, 0, 3}
	pa := poolAddr.As4()
	r := h.Run(natFrame(0, peer, pa, wire.IPProtoUDP, 7777, ext),
		natFrame(0, peer, pa, wire.IPProtoUDP, 7777, 2099), // unmapped: for the router
		natFrame(0, peer, pa, wire.IPProtoICMP, 0, 0))      // ping the router
	o := &r.Out[0]
	ip := ipOf(o)
	if o.Next != ip4.LookupName || ip.Dst() != inside || binary.BigEndian.Uint16(ip[22:]) != 5353 || ip.Src() != pa || !checksumsValid(ip) {
		t.Fatalf("hairpinned: %s %v:%d → %v:%d checksums %v", o.Where(), ip.Src(), binary.BigEndian.Uint16(ip[20:]), ip.Dst(),
			binary.BigEndian.Uint16(ip[22:]), checksumsValid(ip))
	}
	peerExt := binary.BigEndian.Uint16(ip[20:])
	if r.Counters["nat44-in2out: hairpinned"] != 1 {
		t.Fatalf("counters %v", r.Counters)
	}
	for k := 1; k < 3; k++ {
		if ip := ipOf(&r.Out[k]); ip.Src() != peer || ip.Dst() != pa {
			t.Fatalf("packet %d for the router translated: %v → %v", k, ip.Src(), ip.Dst())
		}
	}
	// The reply: to the peer's external port, back to the peer.
	r = h.Run(natFrame(0, inside, pa, wire.IPProtoUDP, 5353, peerExt))
	ip = ipOf(&r.Out[0])
	if ip.Dst() != peer || binary.BigEndian.Uint16(ip[22:]) != 7777 || ip.Src() != pa || binary.BigEndian.Uint16(ip[20:]) != ext || !checksumsValid(ip) {
		t.Fatalf("reply: %v:%d → %v:%d", ip.Src(), binary.BigEndian.Uint16(ip[20:]), ip.Dst(), binary.BigEndian.Uint16(ip[22:]))
	}
}

// TestPool: with a pool, every inside address keeps one external address
// (paired), the inside addresses spread over the pool, and a reply to any
// pool address finds its mapping.
func TestPool(t *testing.T) {
	cfg := testConfig()
	for a := 10; a <= 20; a++ {
		cfg.Pool = append(cfg.Pool, netip.AddrFrom4([4]byte{198, 51, 100, byte(a)}))
	}
	cfg.Static = nil
	h := natHarnessWith(t, cfg)
	used := map[[4]byte]bool{}
	for host := byte(2); host < 60; host++ {
		src := [4]byte{10, 0, 0, host}
		a, p1 := translated(t, h, natFrame(0, src, outsider, wire.IPProtoUDP, 1000, 53))
		b, _ := translated(t, h, natFrame(0, src, [4]byte{192, 0, 2, 9}, wire.IPProtoTCP, 2000, 80))
		if a.Src() != b.Src() {
			t.Fatalf("%v mapped to %v and %v: not paired", src, a.Src(), b.Src())
		}
		if pa := a.Src(); pa[0] != 198 || pa[1] != 51 || pa[2] != 100 || pa[3] < 10 || pa[3] > 20 {
			t.Fatalf("%v mapped to %v, outside the pool", src, pa)
		}
		used[a.Src()] = true
		r := h.RunNode(Out2InName, natFrame(1, outsider, a.Src(), wire.IPProtoUDP, 53, p1))
		if ip := ipOf(&r.Out[0]); ip.Dst() != src || binary.BigEndian.Uint16(ip[22:]) != 1000 || !checksumsValid(ip) {
			t.Fatalf("reply to %v:%d went to %v:%d", a.Src(), p1, ip.Dst(), binary.BigEndian.Uint16(ip[22:]))
		}
	}
	if len(used) < 8 {
		t.Fatalf("58 inside hosts used %d of 11 pool addresses", len(used))
	}
	// Not a pool address: not translated back.
	r := h.RunNode(Out2InName, natFrame(1, outsider, [4]byte{198, 51, 100, 21}, wire.IPProtoUDP, 53, 2000))
	if ip := ipOf(&r.Out[0]); ip.Dst() != [4]byte{198, 51, 100, 21} {
		t.Fatalf("translated a packet to a non-pool address")
	}
	ss := NodeSessions(h.Graph())
	if len(ss) != 2*58 {
		t.Fatalf("%d sessions", len(ss))
	}
	for _, s := range ss {
		if b := s.Outside.Addr().As4(); b[3] < 10 || b[3] > 20 {
			t.Fatalf("session %+v outside the pool", s)
		}
	}
}

// TestCompleteNodesAllocateNothing: hairpinning and ICMP error
// translation allocate nothing per vector.
func TestCompleteNodesAllocateNothing(t *testing.T) {
	h := natHarness(t)
	udp, ext := translated(t, h, natFrame(0, inside, outsider, wire.IPProtoUDP, 5353, 53))
	pa := poolAddr.As4()
	hair := make([]graphtest.Packet, 32)
	errs := make([]graphtest.Packet, 32)
	for k := range hair {
		hair[k] = natFrame(0, [4]byte{10, 0, 0, byte(3 + k%4)}, pa, wire.IPProtoUDP, 7777, ext)
		errs[k] = icmpError(1, outsider, pa, wire.ICMPv4DestUnreachable, 3, udp)
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(In2OutName, hair...) }); n != 0 {
		t.Errorf("hairpin: %v allocations per vector", n)
	}
	if n := testing.AllocsPerRun(100, func() { h.Send(Out2InName, errs...) }); n != 0 {
		t.Errorf("icmp errors: %v allocations per vector", n)
	}
}

// FuzzICMPError feeds any bytes as the datagram an ICMP error to the pool
// quotes, and any bytes as an inside host's error: nothing panics, the
// packet is passed on or dropped under a name, and an error that is
// translated keeps valid outer and ICMP checksums.
func FuzzICMPError(f *testing.F) {
	// The first mapping of each protocol gets the bottom of the range.
	udp := natFrame(0, poolAddr.As4(), outsider, wire.IPProtoUDP, 2000, 53).Data[wire.EthernetLen:]
	echo := natFrame(0, poolAddr.As4(), outsider, wire.IPProtoICMP, 0, 0).Data[wire.EthernetLen:]
	binary.BigEndian.PutUint16(echo[24:], 2000)
	f.Add(udp, false)
	f.Add(udp[:28], false)
	f.Add(udp[:20], false)
	f.Add(echo, false)
	f.Add([]byte{0x4f, 0, 0, 0}, true)
	f.Add(natFrame(0, outsider, [4]byte{10, 0, 0, 5}, wire.IPProtoTCP, 4000, 80).Data[wire.EthernetLen:], true)
	f.Fuzz(func(t *testing.T, quoted []byte, fromInside bool) {
		if len(quoted) > 1400 {
			return
		}
		node, p := Out2InName, icmpError(1, outsider, poolAddr.As4(), wire.ICMPv4DestUnreachable, 3, quoted)
		if fromInside {
			node, p = In2OutName, icmpError(0, [4]byte{10, 0, 0, 5}, outsider, wire.ICMPv4TimeExceeded, 0, quoted)
		}
		h := natHarness(t)
		h.Run(natFrame(0, inside, outsider, wire.IPProtoUDP, 5353, 53))
		h.Run(natFrame(0, inside, outsider, wire.IPProtoICMP, 0, 0))
		r := h.RunNode(node, p)
		o := &r.Out[0]
		if o.Next == "" {
			return // dropped, under a name the harness checked
		}
		if ip := ipOf(o); !ip.ChecksumValid() || wire.Checksum(ip[20:ip.TotalLen()], 0) != 0 {
			t.Fatalf("checksums broken: %x", []byte(ip))
		}
	})
}

// TestIn2OutLeavesTTLExpiredAlone: a datagram that will not survive the
// hop (TTL 1, as traceroute's first probe) is not translated, so the
// router's time exceeded goes to the inside source quoting what it sent.
func TestIn2OutLeavesTTLExpiredAlone(t *testing.T) {
	h := natHarness(t)
	p := natFrame(0, inside, outsider, wire.IPProtoUDP, 5353, 33434)
	ip := wire.IPv4(p.Data[wire.EthernetLen:])
	ip.SetTTL(1)
	ip.SetChecksum(0)
	ip.SetChecksum(wire.Checksum(ip[:20], 0))
	r := h.Run(p)
	if got := ipOf(&r.Out[0]); got.Src() != inside || binary.BigEndian.Uint16(got[20:]) != 5353 || len(NodeSessions(h.Graph())) != 1 {
		t.Fatalf("TTL 1 datagram translated: %v:%d, sessions %d", got.Src(), binary.BigEndian.Uint16(got[20:]), len(NodeSessions(h.Graph())))
	}
}
