package wire

import (
	"bytes"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// These tests cross-check the views against gopacket's decoders and
// serializers on generated packets. gopacket is used only in tests.

func randAddr(r *rand.Rand) [4]byte {
	return [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, ls...); err != nil {
		t.Fatalf("gopacket serialize: %v", err)
	}
	return buf.Bytes()
}

func gpIPv4(r *rand.Rand, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{
		Version: 4, TOS: uint8(r.Uint32()), Id: uint16(r.Uint32()),
		Flags: layers.IPv4Flag(r.IntN(8)), FragOffset: uint16(r.IntN(0x2000)),
		TTL: uint8(r.Uint32()), Protocol: proto,
		SrcIP: net.IP(func() []byte { a := randAddr(r); return a[:] }()),
		DstIP: net.IP(func() []byte { a := randAddr(r); return a[:] }()),
	}
}

func TestGopacketIPv4(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 2000 {
		g := gpIPv4(r, layers.IPProtocol(r.Uint32()))
		payload := randBytes(r, r.IntN(64))
		b := serialize(t, g, gopacket.Payload(payload))
		b = append(b, randBytes(r, r.IntN(8))...) // link padding

		ip, e := ParseIPv4(b)
		if e != IPv4OK {
			t.Fatalf("ParseIPv4: %v on % x", e, b)
		}
		var d layers.IPv4
		if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("gopacket decode: %v", err)
		}
		src, dst := ip.Src(), ip.Dst()
		if ip.HeaderLen() != int(d.IHL)*4 || ip.TotalLen() != d.Length || ip.TOS() != d.TOS || ip.ID() != d.Id ||
			ip.Flags() != uint8(d.Flags) || ip.FragOffset() != d.FragOffset || ip.TTL() != d.TTL ||
			ip.Protocol() != uint8(d.Protocol) || ip.Checksum() != d.Checksum ||
			!bytes.Equal(src[:], d.SrcIP) || !bytes.Equal(dst[:], d.DstIP) ||
			!bytes.Equal(ip.Payload(), d.Payload) ||
			ip.IsFragment() != (d.Flags&layers.IPv4MoreFragments != 0 || d.FragOffset != 0) {
			t.Fatalf("disagree with gopacket on % x", b)
		}
		if !ip.ChecksumValid() || ip.ComputeChecksum() != d.Checksum {
			t.Fatalf("checksum %#04x, gopacket %#04x", ip.ComputeChecksum(), d.Checksum)
		}
		out := make([]byte, IPv4MinLen)
		IPv4(out).Encode(&IPv4Fields{TOS: g.TOS, TotalLen: d.Length, ID: g.Id, Flags: uint8(g.Flags), FragOffset: g.FragOffset,
			TTL: g.TTL, Protocol: uint8(g.Protocol), Src: ip.Src(), Dst: ip.Dst()})
		if !bytes.Equal(out, b[:IPv4MinLen]) {
			t.Fatalf("Encode differs from gopacket:\n got % x\nwant % x", out, b[:IPv4MinLen])
		}
	}
}

func TestGopacketUDP(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 2000 {
		g := gpIPv4(r, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(r.Uint32()), DstPort: layers.UDPPort(r.Uint32())}
		if err := u.SetNetworkLayerForChecksum(g); err != nil {
			t.Fatal(err)
		}
		b := serialize(t, g, u, gopacket.Payload(randBytes(r, r.IntN(100))))
		ip, e := ParseIPv4(b)
		if e != IPv4OK {
			t.Fatalf("ParseIPv4: %v", e)
		}
		v, ok := ParseUDP(ip.Payload())
		if !ok || v.SrcPort() != uint16(u.SrcPort) || v.DstPort() != uint16(u.DstPort) || v.Length() != u.Length {
			t.Fatalf("UDP decode disagrees: % x", ip.Payload())
		}
		want := v.Checksum()
		if !v.ChecksumValid(ip.Src(), ip.Dst()) {
			t.Fatalf("gopacket checksum %#04x not valid", want)
		}
		// gopacket does not map a computed 0 to 0xffff; we do.
		if got := v.ComputeChecksum(ip.Src(), ip.Dst()); got != want && !(want == 0 && got == 0xffff) {
			t.Fatalf("ComputeChecksum %#04x, gopacket %#04x", got, want)
		}
	}
}

func TestGopacketTCP(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for range 2000 {
		g := gpIPv4(r, layers.IPProtocolTCP)
		f := r.Uint32()
		tc := &layers.TCP{SrcPort: layers.TCPPort(r.Uint32()), DstPort: layers.TCPPort(r.Uint32()), Seq: r.Uint32(), Ack: r.Uint32(),
			FIN: f&1 != 0, SYN: f&2 != 0, RST: f&4 != 0, PSH: f&8 != 0, ACK: f&16 != 0, URG: f&32 != 0, ECE: f&64 != 0, CWR: f&128 != 0,
			Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32())}
		if r.IntN(2) == 0 {
			tc.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}, {OptionType: layers.TCPOptionKindNop}}
		}
		if err := tc.SetNetworkLayerForChecksum(g); err != nil {
			t.Fatal(err)
		}
		b := serialize(t, g, tc, gopacket.Payload(randBytes(r, r.IntN(100))))
		ip, _ := ParseIPv4(b)
		s, ok := ParseTCP(ip.Payload())
		if !ok {
			t.Fatalf("ParseTCP rejected % x", ip.Payload())
		}
		var d layers.TCP
		if err := d.DecodeFromBytes(ip.Payload(), gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		if s.SrcPort() != uint16(d.SrcPort) || s.DstPort() != uint16(d.DstPort) || s.Seq() != d.Seq || s.Ack() != d.Ack ||
			s.DataOffset() != d.DataOffset || s.Flags() != uint8(f) || s.Window() != d.Window || s.Checksum() != d.Checksum ||
			s.Urgent() != d.Urgent || !bytes.Equal(s.Payload(), d.Payload) || s.Flags()&TCPFlagSYN != 0 != d.SYN || s.Flags()&TCPFlagCWR != 0 != d.CWR {
			t.Fatalf("TCP decode disagrees: % x", []byte(s))
		}
		n := uint16(len(s))
		if !s.ChecksumValid(ip.Src(), ip.Dst(), n) || s.ComputeChecksum(ip.Src(), ip.Dst(), n) != d.Checksum {
			t.Fatalf("ComputeChecksum %#04x, gopacket %#04x", s.ComputeChecksum(ip.Src(), ip.Dst(), n), d.Checksum)
		}
		out := TCP(make([]byte, TCPMinLen))
		out.Encode(&TCPFields{SrcPort: s.SrcPort(), DstPort: s.DstPort(), Seq: s.Seq(), Ack: s.Ack(), DataOffset: s.DataOffset(), Flags: s.Flags(), Window: s.Window(), Urgent: s.Urgent()})
		if !bytes.Equal(out, zeroed(s[:TCPMinLen], tcpChecksum)) {
			t.Fatalf("Encode:\n got % x\nwant % x", []byte(out), zeroed(s[:TCPMinLen], tcpChecksum))
		}
	}
}

func TestGopacketICMPv4(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for range 2000 {
		g := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(r.Uint32()), uint8(r.Uint32())), Id: uint16(r.Uint32()), Seq: uint16(r.Uint32())}
		b := serialize(t, g, gopacket.Payload(randBytes(r, r.IntN(100))))
		ic, ok := ParseICMPv4(b)
		if !ok || ic.Type() != g.TypeCode.Type() || ic.Code() != g.TypeCode.Code() || ic.ID() != g.Id || ic.Seq() != g.Seq {
			t.Fatalf("ICMP decode disagrees: % x", b)
		}
		var d layers.ICMPv4
		if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		if !ic.ChecksumValid() || ic.ComputeChecksum() != d.Checksum {
			t.Fatalf("ComputeChecksum %#04x, gopacket %#04x", ic.ComputeChecksum(), d.Checksum)
		}
	}
}

func TestGopacketEthernetVLANARP(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for range 500 {
		var src, dst MAC
		copy(src[:], randBytes(r, 6))
		copy(dst[:], randBytes(r, 6))
		sip, tip := randAddr(r), randAddr(r)
		op := uint16(1 + r.IntN(2))
		eth := &layers.Ethernet{SrcMAC: src[:], DstMAC: dst[:], EthernetType: layers.EthernetTypeDot1Q}
		q := &layers.Dot1Q{Priority: uint8(r.IntN(8)), DropEligible: r.IntN(2) == 0, VLANIdentifier: uint16(r.IntN(4096)), Type: layers.EthernetTypeARP}
		a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: op, SourceHwAddress: src[:], SourceProtAddress: sip[:], DstHwAddress: dst[:], DstProtAddress: tip[:]}
		b := serialize(t, eth, q, a)
		e, ok := ParseEthernet(b)
		if !ok || e.Src() != src || e.Dst() != dst || e.Type() != EtherTypeVLAN {
			t.Fatalf("Ethernet disagrees: % x", b)
		}
		v, ok := ParseVLAN(e.Payload())
		if !ok || v.PCP() != q.Priority || v.DEI() != q.DropEligible || v.ID() != q.VLANIdentifier || v.Type() != EtherTypeARP {
			t.Fatalf("VLAN disagrees: % x", b)
		}
		p, ok := ParseARP(v.Payload())
		if !ok || p.Op() != op || p.SenderMAC() != src || p.SenderIP() != sip || p.TargetMAC() != dst || p.TargetIP() != tip {
			t.Fatalf("ARP disagrees: % x", b)
		}
		out := make([]byte, len(b))
		oe := Ethernet(out)
		oe.SetDst(dst)
		oe.SetSrc(src)
		oe.SetType(EtherTypeVLAN)
		ov := VLAN(oe.Payload())
		ov.SetPCP(q.Priority)
		ov.SetDEI(q.DropEligible)
		ov.SetID(q.VLANIdentifier)
		ov.SetType(EtherTypeARP)
		ARP(ov.Payload()).Encode(&ARPFields{Op: op, SenderMAC: src, SenderIP: sip, TargetMAC: dst, TargetIP: tip})
		if !bytes.Equal(out, b) {
			t.Fatalf("encode differs from gopacket:\n got % x\nwant % x", out, b)
		}
	}
}
