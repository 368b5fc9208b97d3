package wire

import "testing"

// TestNoAllocs proves the per-packet entry points do not allocate.
func TestNoAllocs(t *testing.T) {
	frame := unhex(t, pingRequestFrame)
	arp := unhex(t, "0001 0800 06 04 0001 525400123456 c0a80164 000000000000 c0a80101")
	udp := unhex(t, udpDNSQuery)
	tcp := unhex(t, tcpSYN)
	vlan := unhex(t, "b064 0800")
	big := make([]byte, 1500)
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	hdr := make([]byte, 64)
	var sink int
	tests := []struct {
		name string
		fn   func()
	}{
		{"ParseEthernet", func() { e, _ := ParseEthernet(frame); sink += int(e.Type()) + int(e.Dst()[0]) }},
		{"ParseVLAN", func() { v, _ := ParseVLAN(vlan); sink += int(v.ID()) }},
		{"ParseARP", func() { a, _ := ParseARP(arp); sink += int(a.Op()) + int(a.SenderIP()[0]) }},
		{"ParseIPv4", func() { ip, _ := ParseIPv4(frame[EthernetLen:]); sink += int(ip.TTL()) + len(ip.Payload()) }},
		{"ParseICMPv4", func() { ic, _ := ParseICMPv4(frame[34:]); sink += int(ic.Type()) }},
		{"ParseUDP", func() { u, _ := ParseUDP(udp); sink += int(u.DstPort()) }},
		{"ParseTCP", func() { c, _ := ParseTCP(tcp); sink += int(c.Flags()) + len(c.Options()) }},
		{"Checksum1500", func() { sink += int(Checksum(big, 0)) }},
		{"IPv4.ChecksumValid", func() {
			if IPv4(frame[EthernetLen:]).ChecksumValid() {
				sink++
			}
		}},
		{"IPv4.DecTTL", func() { IPv4(frame[EthernetLen:]).DecTTL() }},
		{"IPv4.Encode", func() {
			IPv4(hdr).Encode(&IPv4Fields{TotalLen: 20, TTL: 64, Protocol: IPProtoUDP, Src: src, Dst: dst})
		}},
		{"ARP.Encode", func() { ARP(hdr).Encode(&ARPFields{Op: ARPReply, SenderIP: src, TargetIP: dst}) }},
		{"UDP.Encode+Checksum", func() {
			u := UDP(hdr)
			u.Encode(&UDPFields{SrcPort: 1, DstPort: 2, Length: 30})
			u.SetChecksum(u.ComputeChecksum(src, dst))
		}},
		{"TCP.Encode+Checksum", func() {
			c := TCP(hdr)
			c.Encode(&TCPFields{SrcPort: 1, DstPort: 2, Flags: TCPFlagACK})
			c.SetChecksum(c.ComputeChecksum(src, dst, 40))
		}},
		{"ICMPv4.ComputeChecksum", func() { ic := ICMPv4(frame[34:]); ic.SetChecksum(ic.ComputeChecksum()) }},
		{"ChecksumUpdate32", func() { sink += int(ChecksumUpdate32(0x1234, src, dst)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
				t.Errorf("%s allocates %v times per run", tt.name, n)
			}
		})
	}
	_ = sink
}
