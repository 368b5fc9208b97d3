package dataplane

import (
	"encoding/binary"
	"github.com/vecnet/vecnet/l3/ip6"
	"testing"

	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/wire"
)

func TestMalformedInputIsCountedAndDropped(t *testing.T) {
	good := func() []byte {
		return buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, Payload: 20})
	}
	ipOff := wire.EthernetLen
	fixSum := func(f []byte) []byte {
		ip := wire.IPv4(f[ipOff:])
		ip.SetChecksum(0)
		ip.SetChecksum(ip.ComputeChecksum())
		return f
	}
	tests := []struct {
		name    string
		frame   []byte
		node    string
		counter string
	}{
		{"runt", []byte{1, 2, 3}, ethernet.NodeName, "too_short"},
		{"jumbo on a 1500-byte port", func() []byte {
			f := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, Payload: 3000}) // fits a slot, not the MTU
			return f
		}(), ethernet.NodeName, "too_long"},
		{"empty", []byte{}, ethernet.NodeName, "too_short"},
		{"foreign mac", func() []byte { f := good(); copy(f[0:6], hostB[:]); return f }(), ethernet.NodeName, "not_for_us"},
		{"multicast mac", func() []byte { f := good(); f[0] = 0x01; return f }(), ethernet.NodeName, "multicast"},
		{"ipv4 bytes as ipv6", func() []byte { f := good(); binary.BigEndian.PutUint16(f[12:], 0x86dd); return f }(), ip6.InputName, "bad_version"},
		{"garbage ethertype", func() []byte { f := good(); binary.BigEndian.PutUint16(f[12:], 0x1234); return f }(), ethernet.NodeName, "unknown_ethertype"},
		{"vlan not configured", func() []byte {
			f := good()
			tagged := append(append(append([]byte{}, f[:12]...), 0x81, 0x00, 0x00, 0x05), f[12:]...)
			return tagged
		}(), ethernet.NodeName, "unknown_vlan"},
		{"truncated vlan", func() []byte { f := good()[:14]; binary.BigEndian.PutUint16(f[12:], 0x8100); return f }(), ethernet.NodeName, "vlan_truncated"},
		{"ip too short", good()[:ipOff+12], ip4.InputName, "too_short"},
		{"ip version 6", func() []byte { f := good(); f[ipOff] = 0x65; return fixSum(f) }(), ip4.InputName, "bad_version"},
		{"ihl 4", func() []byte { f := good(); f[ipOff] = 0x44; return f }(), ip4.InputName, "bad_ihl"},
		{"total length past frame", func() []byte {
			f := good()
			binary.BigEndian.PutUint16(f[ipOff+2:], 1000)
			return fixSum(f)
		}(), ip4.InputName, "bad_length"},
		{"total length below header", func() []byte {
			f := good()
			binary.BigEndian.PutUint16(f[ipOff+2:], 12)
			return fixSum(f)
		}(), ip4.InputName, "bad_length"},
		{"truncated frame", good()[:ipOff+30], ip4.InputName, "bad_length"},
		{"bad checksum", func() []byte { f := good(); f[ipOff+10] ^= 0xff; return f }(), ip4.InputName, "bad_checksum"},
		{"multicast source", func() []byte { f := good(); f[ipOff+12] = 224; return fixSum(f) }(), ip4.InputName, "bad_source"},
		{"zero source", func() []byte { f := good(); copy(f[ipOff+12:], []byte{0, 0, 0, 0}); return fixSum(f) }(), ip4.InputName, "bad_source"},
		{"multicast destination", func() []byte { f := good(); f[ipOff+16] = 239; return fixSum(f) }(), ip4.InputName, "multicast"},
		{"limited broadcast", func() []byte { f := good(); copy(f[ipOff+16:], []byte{255, 255, 255, 255}); return fixSum(f) }(), ip4.InputName, "broadcast"},
		{"arp truncated", arpFrame(wire.ARPRequest, hostA, ipHA, wire.BroadcastMAC, wire.MAC{}, ipRA)[:30], neighbor.ARPInputName, "malformed"},
		{"arp wrong hw type", func() []byte {
			f := arpFrame(wire.ARPRequest, hostA, ipHA, wire.BroadcastMAC, wire.MAC{}, ipRA)
			f[wire.EthernetLen+1] = 6
			return f
		}(), neighbor.ARPInputName, "malformed"},
		{"arp from our own address", arpFrame(wire.ARPRequest, hostA, ipRA, wire.BroadcastMAC, wire.MAC{}, ipRA), neighbor.ARPInputName, "bad_sender"},
		{"arp off-subnet sender", arpFrame(wire.ARPRequest, hostA, [4]byte{10, 9, 9, 9}, wire.BroadcastMAC, wire.MAC{}, ipRA), neighbor.ARPInputName, "sender_not_on_subnet"},
		{"arp multicast sender", arpFrame(wire.ARPRequest, wire.MAC{1, 0, 0x5e, 0, 0, 1}, ipHA, wire.BroadcastMAC, wire.MAC{}, ipRA), neighbor.ARPInputName, "bad_sender"},
		{"fragment to router not a multiple of 8", func() []byte {
			f := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, Payload: 20})
			f[ipOff+6] = 0x20 // MF
			return fixSum(f)
		}(), ip4.ReassemblyName, "bad_fragment"},
		{"icmp bad checksum to router", func() []byte {
			f := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, Proto: wire.IPProtoICMP, Payload: 8})
			f[ipOff+wire.IPv4MinLen+2] ^= 0xff
			return f
		}(), ip4.LocalName, "icmp_bad_checksum"},
		{"tcp to router", buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, Proto: wire.IPProtoTCP, Payload: 20}), ip4.LocalName, "tcp_no_listener"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.resolve()
			r.inject(0, tc.frame)
			if got := r.errCount(tc.node, tc.counter); got != 1 {
				t.Fatalf("%s/%s = %d, want 1; errors: %+v", tc.node, tc.counter, got, r.g.Errors(false))
			}
			if out := len(r.ports[0].take()) + len(r.ports[1].take()); out != 0 {
				t.Fatalf("%d frames sent for a malformed input", out)
			}
			// Exactly one counter moved: no double counting.
			var total uint64
			for _, e := range r.g.Errors(false) {
				total += e.Count
			}
			if total != 1 {
				t.Fatalf("counters moved %d times: %+v", total, r.g.Errors(false))
			}
		})
	}
}

// FuzzRouter feeds arbitrary frames into ethernet-input: nothing panics,
// nothing leaks (the rig's cleanup checks the pool), and every frame either
// leaves by a port or is counted.
func FuzzRouter(f *testing.F) {
	f.Add(buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, Payload: 20}), uint8(0))
	f.Add(buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, Proto: wire.IPProtoICMP, Payload: 8}), uint8(0))
	f.Add(buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, TTL: 1}), uint8(0))
	f.Add(arpFrame(wire.ARPRequest, hostA, ipHA, wire.BroadcastMAC, wire.MAC{}, ipRA), uint8(0))
	f.Add(arpFrame(wire.ARPReply, hostB, ipHB, macB, macB, ipRB), uint8(1))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, frame []byte, port uint8) {
		if len(frame) > 3000 {
			return
		}
		r := newRig(t)
		r.resolve()
		r.inject(uint16(port%3), frame)
		sent := len(r.ports[0].take()) + len(r.ports[1].take())
		var counted uint64
		for _, e := range r.g.Errors(false) {
			counted += e.Count
		}
		if sent == 0 && counted == 0 {
			t.Fatalf("frame vanished: neither sent nor counted: %x", frame)
		}
	})
}
