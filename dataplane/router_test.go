package dataplane

import (
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/wire"
)

type fibHop = fib.NextHop

func TestForwardRewritesAndDecrementsTTL(t *testing.T) {
	r := newRig(t)
	r.resolve()
	for _, dst := range [][4]byte{ipHB, ipFar} {
		in := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: dst, TTL: 9, Payload: 18})
		r.inject(0, in)
		out := r.ports[1].take()
		if len(out) != 1 {
			t.Fatalf("dst %v: %d frames out of eth1, want 1 (errors %+v)", dst, len(out), r.g.Errors(false))
		}
		eth := wire.Ethernet(out[0])
		if eth.Dst() != hostB || eth.Src() != macB || eth.Type() != wire.EtherTypeIPv4 {
			t.Fatalf("rewrite: dst %v src %v", eth.Dst(), eth.Src())
		}
		ip, e := wire.ParseIPv4(out[0][wire.EthernetLen:])
		if e != wire.IPv4OK || ip.TTL() != 8 || !ip.ChecksumValid() {
			t.Fatalf("ip: err %v ttl %d checksum valid %v", e, ip.TTL(), ip.ChecksumValid())
		}
		if string(out[0][wire.EthernetLen+wire.IPv4MinLen:]) != string(in[wire.EthernetLen+wire.IPv4MinLen:]) {
			t.Fatal("payload changed")
		}
	}
	if len(r.ports[0].take()) != 0 {
		t.Fatal("something went back out of eth0")
	}
}

func TestEthernetPaddingIsCut(t *testing.T) {
	r := newRig(t)
	r.resolve()
	in := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, Payload: 2})
	in = append(in, make([]byte, 60-len(in))...) // padded to the Ethernet minimum
	r.inject(0, in)
	out := r.ports[1].take()
	if len(out) != 1 || len(out[0]) != wire.EthernetLen+wire.IPv4MinLen+wire.UDPLen+2 {
		t.Fatalf("got %d frames, len %d", len(out), len(out))
	}
}

// icmpOut parses an ICMP error or reply the router sent.
func icmpOut(t *testing.T, frame []byte) (wire.IPv4, wire.ICMPv4) {
	t.Helper()
	ip, e := wire.ParseIPv4(frame[wire.EthernetLen:])
	if e != wire.IPv4OK || !ip.ChecksumValid() || ip.Protocol() != wire.IPProtoICMP {
		t.Fatalf("not a valid ICMP/IPv4 packet: %v", e)
	}
	ic, ok := wire.ParseICMPv4(ip.Payload())
	if !ok || !ic.ChecksumValid() {
		t.Fatal("bad ICMP message or checksum")
	}
	return ip, ic
}

func TestICMPErrors(t *testing.T) {
	tests := []struct {
		name       string
		spec       frameSpec
		typ, code  uint8
		mtu        uint16
		counter    [2]string
		routerAddr [4]byte
	}{
		{"ttl 1", frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, TTL: 1, Payload: 10},
			wire.ICMPv4TimeExceeded, wire.ICMPv4TTLExceeded, 0, [2]string{ip4.RewriteName, "ttl_expired"}, ipRA},
		{"no route", frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipNone, Payload: 10},
			wire.ICMPv4DestUnreachable, wire.ICMPv4NetUnreachable, 0, [2]string{ip4.LookupName, "no_route"}, ipRA},
		{"df too big", frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, DF: true, Payload: 1450},
			wire.ICMPv4DestUnreachable, wire.ICMPv4FragNeeded, 1400, [2]string{ip4.RewriteName, "fragmentation_needed"}, ipRA},
		{"udp to router", frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, Payload: 10},
			wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0, [2]string{ip4.LocalName, "udp_port_unreachable"}, ipRA},
		{"other proto to router", frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRB, Proto: 47, Payload: 10},
			wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0, [2]string{ip4.LocalName, "proto_unreachable"}, ipRA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.resolve()
			in := buildFrame(tc.spec)
			r.inject(0, in)
			out := r.ports[0].take()
			if len(out) != 1 || len(r.ports[1].take()) != 0 {
				t.Fatalf("got %d frames back on eth0, want 1 (errors %+v)", len(out), r.g.Errors(false))
			}
			if eth := wire.Ethernet(out[0]); eth.Dst() != hostA || eth.Src() != macA {
				t.Fatalf("error frame MACs %v -> %v", eth.Src(), eth.Dst())
			}
			ip, ic := icmpOut(t, out[0])
			if ip.Src() != tc.routerAddr || ip.Dst() != ipHA {
				t.Fatalf("error %v -> %v", ip.Src(), ip.Dst())
			}
			if ic.Type() != tc.typ || ic.Code() != tc.code || ic.MTU() != tc.mtu {
				t.Fatalf("type %d code %d mtu %d, want %d %d %d", ic.Type(), ic.Code(), ic.MTU(), tc.typ, tc.code, tc.mtu)
			}
			quoted := ic.Payload()
			origIP := in[wire.EthernetLen:]
			if len(quoted) < wire.IPv4MinLen+8 || string(quoted[12:20]) != string(origIP[12:20]) {
				t.Fatal("error does not quote the original header")
			}
			if ip.TotalLen() > 576 {
				t.Fatalf("error is %d bytes, over 576", ip.TotalLen())
			}
			if got := r.errCount(tc.counter[0], tc.counter[1]); got != 1 {
				t.Fatalf("%s/%s = %d, want 1", tc.counter[0], tc.counter[1], got)
			}
			if r.errCount(ip4.ICMPErrorName, "sent") != 1 {
				t.Fatal(ip4.ICMPErrorName + " sent != 1")
			}
		})
	}
}

func TestICMPErrorRateLimit(t *testing.T) {
	r := newRig(t)
	r.resolve()
	var frames [][]byte
	for range 250 {
		frames = append(frames, buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipNone}))
	}
	r.inject(0, frames...)
	sent, limited := r.errCount(ip4.ICMPErrorName, "sent"), r.errCount(ip4.ICMPErrorName, "rate_limited_unreachable")
	if sent != 100 || limited != 150 {
		t.Fatalf("sent %d limited %d, want 100/150 (burst 100)", sent, limited)
	}
	r.now += 50e6 // 50 ms at 1000/s refills 50 tokens
	r.g.Poll()
	r.inject(0, frames[:60]...)
	if s := r.errCount(ip4.ICMPErrorName, "sent"); s != 150 {
		t.Fatalf("after refill sent %d, want 150", s)
	}
}

func TestNoICMPErrorAboutICMPError(t *testing.T) {
	r := newRig(t)
	r.resolve()
	f := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipNone, Proto: wire.IPProtoICMP, Payload: 8})
	ic := wire.ICMPv4(f[wire.EthernetLen+wire.IPv4MinLen:])
	ic.SetType(wire.ICMPv4DestUnreachable)
	ic.SetChecksum(0)
	ic.SetChecksum(ic.ComputeChecksum())
	r.inject(0, f)
	if len(r.ports[0].take()) != 0 || r.errCount(ip4.ICMPErrorName, "about_icmp_error") != 1 {
		t.Fatal("answered an ICMP error with an ICMP error")
	}
}

func TestPingRouter(t *testing.T) {
	r := newRig(t)
	r.resolve()
	in := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRB, Proto: wire.IPProtoICMP, Payload: 56})
	r.inject(0, in)
	out := r.ports[0].take()
	if len(out) != 1 {
		t.Fatalf("%d replies (errors %+v)", len(out), r.g.Errors(false))
	}
	ip, ic := icmpOut(t, out[0])
	if ic.Type() != wire.ICMPv4EchoReply || ic.ID() != 0x1234 || ic.Seq() != 7 || ip.Src() != ipRB || ip.Dst() != ipHA || ip.TTL() != 64 {
		t.Fatalf("reply type %d id %x seq %d %v->%v", ic.Type(), ic.ID(), ic.Seq(), ip.Src(), ip.Dst())
	}
	if string(ic.Payload()) != string(in[wire.EthernetLen+wire.IPv4MinLen+8:]) {
		t.Fatal("echo payload differs")
	}
	if r.errCount(ip4.LocalName, "echo_replies") != 1 {
		t.Fatal("echo_replies counter")
	}
}

func TestARPReplyForOwnAddress(t *testing.T) {
	r := newRig(t)
	req := arpFrame(wire.ARPRequest, hostA, ipHA, wire.BroadcastMAC, wire.MAC{}, ipRA)
	r.inject(0, req)
	out := r.ports[0].take()
	if len(out) != 1 {
		t.Fatalf("%d ARP replies (errors %+v)", len(out), r.g.Errors(false))
	}
	arp, ok := wire.ParseARP(out[0][wire.EthernetLen:])
	if !ok || arp.Op() != wire.ARPReply || arp.SenderMAC() != macA || arp.SenderIP() != ipRA || arp.TargetMAC() != hostA || arp.TargetIP() != ipHA {
		t.Fatalf("bad reply %x", out[0])
	}
	if eth := wire.Ethernet(out[0]); eth.Dst() != hostA || eth.Src() != macA {
		t.Fatal("reply MACs")
	}
	if mac, ok := r.dp.Neighbors.Lookup(0, ipHA); !ok || mac != hostA {
		t.Fatal("sender not learned")
	}
	// A request for someone else's address is not answered.
	r.inject(0, arpFrame(wire.ARPRequest, hostA, ipHA, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 1, 77}))
	if len(r.ports[0].take()) != 0 || r.errCount(neighbor.ARPInputName, "not_for_us") != 1 {
		t.Fatal("answered ARP for a foreign address")
	}
}

func TestGleanResolvesAndReleases(t *testing.T) {
	r := newRig(t)
	// No neighbours: forwarding to hostB must ARP first.
	f1 := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, Payload: 4, ID: 1})
	f2 := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, Payload: 4, ID: 2})
	r.inject(0, f1, f2)
	out := r.ports[1].take()
	if len(out) != 1 {
		t.Fatalf("%d frames out of eth1, want one ARP request", len(out))
	}
	arp, ok := wire.ParseARP(out[0][wire.EthernetLen:])
	if !ok || arp.Op() != wire.ARPRequest || arp.TargetIP() != ipHB || arp.SenderIP() != ipRB || wire.Ethernet(out[0]).Dst() != wire.BroadcastMAC {
		t.Fatalf("bad ARP request %x", out[0])
	}
	// The reply releases both held packets.
	r.inject(1, arpFrame(wire.ARPReply, hostB, ipHB, macB, macB, ipRB))
	out = r.ports[1].take()
	if len(out) != 2 {
		t.Fatalf("%d packets released, want 2 (errors %+v)", len(out), r.g.Errors(false))
	}
	for k, f := range out {
		if wire.Ethernet(f).Dst() != hostB || binary.BigEndian.Uint16(f[wire.EthernetLen+4:]) != uint16(k+1) {
			t.Fatalf("released packet %d wrong: %x", k, f[:20])
		}
	}
	// Now resolved: forwarded straight away.
	r.inject(0, f1)
	if len(r.ports[1].take()) != 1 {
		t.Fatal("not forwarded after resolution")
	}
}

func TestGleanTimeoutFreesPackets(t *testing.T) {
	r := newRig(t)
	var frames [][]byte
	for range 20 {
		frames = append(frames, buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB}))
	}
	r.inject(0, frames...)
	if q, full := r.errCount(neighbor.GleanName, "queued"), r.errCount(neighbor.GleanName, "queue_full"); q != 8 || full != 12 {
		t.Fatalf("queued %d full %d, want 8/12", q, full)
	}
	r.now += 2e9
	r.g.Poll()             // the graph reads its clock once per poll
	r.inject(0, frames[0]) // runs the glean node, which expires the old ones
	if got := r.errCount(neighbor.GleanName, "resolution_timeout"); got != 8 {
		t.Fatalf("resolution_timeout %d, want 8", got)
	}
	if got := r.errCount(neighbor.GleanName, "requests_sent"); got != 2 {
		t.Fatalf("requests_sent %d, want 2", got)
	}
}
