package wire

import (
	"bytes"
	"testing"
)

// Real frames captured with an AF_PACKET socket on lo while sending an ICMP
// echo request (id 0x04d2, seq 1, 32 payload bytes 0x10..0x2f) from a raw
// socket to 127.0.0.1; the kernel wrote both IPv4 headers and the whole echo
// reply.
const (
	pingRequestFrame = `
		000000000000 000000000000 0800
		4500 003c 441a 4000 4001 f8a4 7f00 0001 7f00 0001
		0800 012b 04d2 0001
		101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f`
	pingReplyFrame = `
		000000000000 000000000000 0800
		4500 003c 447d 0000 4001 3842 7f00 0001 7f00 0001
		0000 092b 04d2 0001
		101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f`
)

func TestPingGolden(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		id       uint16
		flags    uint8
		ipSum    uint16
		icmpType uint8
		icmpSum  uint16
	}{
		{"request", pingRequestFrame, 0x441a, IPv4FlagDF, 0xf8a4, ICMPv4Echo, 0x012b},
		{"reply", pingReplyFrame, 0x447d, 0, 0x3842, ICMPv4EchoReply, 0x092b},
	}
	lo := [4]byte{127, 0, 0, 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := unhex(t, tt.frame)
			// Pad like a short Ethernet frame would be, to check the re-slice.
			frame = append(frame, 0, 0, 0, 0)
			eth, ok := ParseEthernet(frame)
			if !ok || eth.Type() != EtherTypeIPv4 || eth.Dst() != (MAC{}) || eth.Src() != (MAC{}) {
				t.Fatalf("ethernet: ok %v type %#x", ok, eth.Type())
			}
			ip, e := ParseIPv4(eth.Payload())
			if e != IPv4OK {
				t.Fatalf("ParseIPv4: %v", e)
			}
			if len(ip) != 60 || ip.TotalLen() != 60 || ip.HeaderLen() != 20 || ip.ID() != tt.id ||
				ip.Flags() != tt.flags || ip.DontFragment() != (tt.flags == IPv4FlagDF) || ip.MoreFragments() ||
				ip.FragOffset() != 0 || ip.IsFragment() || ip.TTL() != 64 || ip.Protocol() != IPProtoICMP ||
				ip.Checksum() != tt.ipSum || ip.Src() != lo || ip.Dst() != lo || len(ip.Options()) != 0 || len(ip.Payload()) != 40 {
				t.Fatalf("ipv4 fields wrong: % x", ip)
			}
			if !ip.ChecksumValid() || ip.ComputeChecksum() != tt.ipSum {
				t.Errorf("ipv4 checksum: valid %v computed %#04x, want %#04x", ip.ChecksumValid(), ip.ComputeChecksum(), tt.ipSum)
			}
			// Construct: Encode the same fields and compare with the capture.
			out := make([]byte, IPv4MinLen)
			IPv4(out).Encode(&IPv4Fields{TotalLen: 60, ID: tt.id, Flags: tt.flags, TTL: 64, Protocol: IPProtoICMP, Src: lo, Dst: lo})
			if !bytes.Equal(out, ip[:IPv4MinLen]) {
				t.Errorf("Encode:\n got % x\nwant % x", out, ip[:IPv4MinLen])
			}

			ic, ok := ParseICMPv4(ip.Payload())
			if !ok || ic.Type() != tt.icmpType || ic.Code() != 0 || ic.ID() != 0x04d2 || ic.Seq() != 1 || ic.Checksum() != tt.icmpSum || len(ic.Payload()) != 32 || ic.Payload()[0] != 0x10 {
				t.Fatalf("icmp fields wrong: % x", ic)
			}
			if !ic.ChecksumValid() || ic.ComputeChecksum() != tt.icmpSum {
				t.Errorf("icmp checksum: valid %v computed %#04x, want %#04x", ic.ChecksumValid(), ic.ComputeChecksum(), tt.icmpSum)
			}
		})
	}
}

// TestEchoReplyRewrite turns the captured request into the captured reply
// with the incremental updates the data plane uses.
func TestEchoReplyRewrite(t *testing.T) {
	req := unhex(t, pingRequestFrame)[EthernetLen:]
	want := unhex(t, pingReplyFrame)[EthernetLen:]
	ip := IPv4(req)
	ic := ICMPv4(ip.Payload())
	ic.SetType(ICMPv4EchoReply)
	ic.SetChecksum(ChecksumUpdate16(ic.Checksum(), uint16(ICMPv4Echo)<<8, uint16(ICMPv4EchoReply)<<8))
	if !bytes.Equal(ic, want[20:]) {
		t.Errorf("icmp reply:\n got % x\nwant % x", []byte(ic), want[20:])
	}
}

func TestEthernetGolden(t *testing.T) {
	// Broadcast ARP request frame header followed by a VLAN-tagged one.
	b := unhex(t, "ffffffffffff 525400123456 0806")
	e, ok := ParseEthernet(b)
	if !ok || e.Dst() != BroadcastMAC || e.Src() != (MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}) || e.Type() != EtherTypeARP || len(e.Payload()) != 0 {
		t.Fatalf("decode: %v %v %#x", e.Dst(), e.Src(), e.Type())
	}
	out := Ethernet(make([]byte, EthernetLen))
	out.SetDst(BroadcastMAC)
	out.SetSrc(MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56})
	out.SetType(EtherTypeARP)
	if !bytes.Equal(out, b) {
		t.Errorf("encode:\n got % x\nwant % x", []byte(out), b)
	}
	if _, ok := ParseEthernet(b[:13]); ok {
		t.Error("ParseEthernet accepted 13 bytes")
	}

	// 802.1Q: PCP 5, DEI 1, VID 100 (TCI 0xb064), inner IPv4.
	tagged := unhex(t, "020000000a01 020000000a02 8100 b064 0800 45")
	e = Ethernet(tagged)
	v, ok := ParseVLAN(e.Payload())
	if e.Type() != EtherTypeVLAN || !ok || v.ID() != 100 || v.PCP() != 5 || !v.DEI() || v.TCI() != 0xb064 || v.Type() != EtherTypeIPv4 || len(v.Payload()) != 1 {
		t.Fatalf("vlan decode: id %d pcp %d dei %v type %#x", v.ID(), v.PCP(), v.DEI(), v.Type())
	}
	w := VLAN(make([]byte, VLANLen))
	w.SetPCP(5)
	w.SetDEI(true)
	w.SetID(100)
	w.SetType(EtherTypeIPv4)
	if !bytes.Equal(w, tagged[14:18]) {
		t.Errorf("vlan encode: got % x want % x", []byte(w), tagged[14:18])
	}
	w.SetDEI(false)
	w.SetID(0xffff) // only 12 bits are kept
	if w.TCI() != 0xafff || w.PCP() != 5 {
		t.Errorf("vlan setters: TCI %#04x", w.TCI())
	}
	if _, ok := ParseVLAN(tagged[14:17]); ok {
		t.Error("ParseVLAN accepted 3 bytes")
	}
}

func TestMACString(t *testing.T) {
	if got := (MAC{0x02, 0, 0xab, 0xcd, 0xef, 0x10}).String(); got != "02:00:ab:cd:ef:10" {
		t.Errorf("String = %q", got)
	}
	if !BroadcastMAC.IsMulticast() || (MAC{2}).IsMulticast() {
		t.Error("IsMulticast")
	}
}

func TestARPGolden(t *testing.T) {
	// Who has 192.168.1.1? Tell 192.168.1.100 (from 52:54:00:12:34:56),
	// followed by Ethernet padding.
	req := unhex(t, `0001 0800 06 04 0001 525400123456 c0a80164 000000000000 c0a80101
		000000000000000000000000000000000000`)
	a, ok := ParseARP(req)
	if !ok || len(a) != ARPLen {
		t.Fatalf("ParseARP: ok %v len %d", ok, len(a))
	}
	if a.Op() != ARPRequest || a.SenderMAC() != (MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}) || a.SenderIP() != [4]byte{192, 168, 1, 100} ||
		a.TargetMAC() != (MAC{}) || a.TargetIP() != [4]byte{192, 168, 1, 1} {
		t.Fatalf("decode wrong: % x", []byte(a))
	}
	out := ARP(make([]byte, ARPLen))
	out.Encode(&ARPFields{Op: ARPRequest, SenderMAC: a.SenderMAC(), SenderIP: a.SenderIP(), TargetIP: a.TargetIP()})
	if !bytes.Equal(out, req[:ARPLen]) {
		t.Errorf("encode:\n got % x\nwant % x", []byte(out), req[:ARPLen])
	}
	bad := []struct {
		name string
		off  int
		val  byte
	}{{"htype", 1, 6}, {"ptype", 2, 0x86}, {"hlen", 4, 8}, {"plen", 5, 16}}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), req...)
			b[tt.off] = tt.val
			if _, ok := ParseARP(b); ok {
				t.Error("accepted")
			}
		})
	}
	if _, ok := ParseARP(req[:ARPLen-1]); ok {
		t.Error("accepted 27 bytes")
	}
}

// DNS query for example.com from 192.168.1.100:53000 to 192.168.1.1:53
// (odd length); checksum computed by an independent script.
const udpDNSQuery = `cf08 0035 0025 3175 abcd01000001000000000000076578616d706c6503636f6d0000010001`

func TestUDPGolden(t *testing.T) {
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	b := append(unhex(t, udpDNSQuery), 0xee, 0xee) // trailing bytes beyond Length
	u, ok := ParseUDP(b)
	if !ok || len(u) != 37 || u.SrcPort() != 53000 || u.DstPort() != 53 || u.Length() != 37 || u.Checksum() != 0x3175 || len(u.Payload()) != 29 {
		t.Fatalf("decode wrong: ok %v % x", ok, []byte(u))
	}
	if !u.ChecksumValid(src, dst) || u.ComputeChecksum(src, dst) != 0x3175 {
		t.Errorf("checksum: valid %v computed %#04x", u.ChecksumValid(src, dst), u.ComputeChecksum(src, dst))
	}
	if u.ChecksumValid(dst, [4]byte{192, 168, 1, 2}) {
		t.Error("checksum valid with the wrong pseudo-header")
	}
	out := UDP(append([]byte(nil), u...))
	out.Encode(&UDPFields{SrcPort: 53000, DstPort: 53, Length: 37})
	out.SetChecksum(out.ComputeChecksum(src, dst))
	if !bytes.Equal(out, u) {
		t.Errorf("encode:\n got % x\nwant % x", []byte(out), []byte(u))
	}
	u.SetChecksum(0)
	if !u.ChecksumValid(src, dst) {
		t.Error("zero checksum must be valid over IPv4")
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"short", b[:7]},
		{"length below header", append([]byte{0, 1, 0, 2, 0, 7, 0, 0}, 0)},
		{"length beyond buffer", b[:36]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := ParseUDP(tt.b); ok {
				t.Error("accepted")
			}
		})
	}
}

func TestUDPChecksumZeroBecomesFFFF(t *testing.T) {
	// Find a datagram whose checksum computes to 0 and check it is sent as
	// 0xffff (RFC 768) and still validates.
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	u := UDP(make([]byte, 10))
	u.Encode(&UDPFields{SrcPort: 1, DstPort: 2, Length: 10})
	c := u.ComputeChecksum(src, dst)
	// Adjust the payload word so the sum becomes all ones.
	u[8], u[9] = byte(c>>8), byte(c)
	if got := u.ComputeChecksum(src, dst); got != 0xffff {
		t.Fatalf("ComputeChecksum = %#04x, want 0xffff", got)
	}
	u.SetChecksum(0xffff)
	if !u.ChecksumValid(src, dst) {
		t.Error("0xffff checksum not valid")
	}
}

// TCP SYN from 192.168.1.100:43210 to 192.168.1.1:80 with the options
// Linux sends (MSS 1460, SACK permitted, timestamps, NOP, window scale 7);
// checksum computed by an independent script.
const tcpSYN = `a8ca 0050 1a2b3c4d 00000000 a002 faf0 e784 0000 020405b40402080a0001e2400000000001030307`

func TestTCPGolden(t *testing.T) {
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	b := unhex(t, tcpSYN)
	tc, ok := ParseTCP(b)
	if !ok || tc.SrcPort() != 43210 || tc.DstPort() != 80 || tc.Seq() != 0x1a2b3c4d || tc.Ack() != 0 || tc.DataOffset() != 10 ||
		tc.HeaderLen() != 40 || tc.Flags() != TCPFlagSYN || tc.Window() != 64240 || tc.Checksum() != 0xe784 || tc.Urgent() != 0 ||
		len(tc.Options()) != 20 || tc.Options()[0] != 2 || len(tc.Payload()) != 0 {
		t.Fatalf("decode wrong: ok %v % x", ok, []byte(tc))
	}
	if !tc.ChecksumValid(src, dst, 40) || tc.ComputeChecksum(src, dst, 40) != 0xe784 {
		t.Errorf("checksum: computed %#04x", tc.ComputeChecksum(src, dst, 40))
	}
	out := TCP(make([]byte, 40))
	out.Encode(&TCPFields{SrcPort: 43210, DstPort: 80, Seq: 0x1a2b3c4d, DataOffset: 10, Flags: TCPFlagSYN, Window: 64240})
	copy(out.Options(), tc.Options())
	out.SetChecksum(out.ComputeChecksum(src, dst, 40))
	if !bytes.Equal(out, b) {
		t.Errorf("encode:\n got % x\nwant % x", []byte(out), b)
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"short", b[:19]},
		{"offset below 5", append(append([]byte(nil), b[:12]...), 0x40, 2, 0, 0, 0, 0, 0, 0)},
		{"offset beyond buffer", b[:36]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := ParseTCP(tt.b); ok {
				t.Error("accepted")
			}
		})
	}
}
