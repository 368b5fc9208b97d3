// Package frames builds whole Ethernet frames for tests, examples and
// generators: IPv4 with UDP, ICMP echo or an opaque payload, and ARP, with
// valid checksums unless asked otherwise. It allocates; it is not for the
// forwarding path.
package frames

import "github.com/vecnet/vecnet/wire"

// Spec describes an Ethernet/IPv4 frame. Zero fields take defaults: TTL 64,
// protocol UDP, source port 5000, destination port 9.
type Spec struct {
	SrcMAC, DstMAC   wire.MAC
	Src, Dst         [4]byte
	TTL              uint8
	Proto            uint8 // wire.IPProtoUDP (default), wire.IPProtoICMP (echo request), or any other
	DF               bool
	Payload          int // payload bytes after the L4 header, filled with 0, 1, 2 ...
	ID               uint16
	SrcPort, DstPort uint16 // UDP
}

// IPv4 returns the frame s describes.
func IPv4(s Spec) []byte {
	if s.TTL == 0 {
		s.TTL = 64
	}
	if s.Proto == 0 {
		s.Proto = wire.IPProtoUDP
	}
	if s.SrcPort == 0 {
		s.SrcPort = 5000
	}
	if s.DstPort == 0 {
		s.DstPort = 9
	}
	l4 := s.Payload
	switch s.Proto {
	case wire.IPProtoUDP:
		l4 += wire.UDPLen
	case wire.IPProtoICMP:
		l4 += wire.ICMPv4MinLen
	}
	b := make([]byte, wire.EthernetLen+wire.IPv4MinLen+l4)
	eth := wire.Ethernet(b)
	eth.SetDst(s.DstMAC)
	eth.SetSrc(s.SrcMAC)
	eth.SetType(wire.EtherTypeIPv4)
	var flags uint8
	if s.DF {
		flags = wire.IPv4FlagDF
	}
	ip := wire.IPv4(b[wire.EthernetLen:])
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(wire.IPv4MinLen + l4), ID: s.ID, Flags: flags, TTL: s.TTL, Protocol: s.Proto, Src: s.Src, Dst: s.Dst})
	body := b[wire.EthernetLen+wire.IPv4MinLen:]
	for k := range body {
		body[k] = byte(k)
	}
	switch s.Proto {
	case wire.IPProtoUDP:
		u := wire.UDP(body)
		u.Encode(&wire.UDPFields{SrcPort: s.SrcPort, DstPort: s.DstPort, Length: uint16(l4)})
		u.SetChecksum(u.ComputeChecksum(s.Src, s.Dst))
	case wire.IPProtoICMP:
		ic := wire.ICMPv4(body)
		ic.SetType(wire.ICMPv4Echo)
		ic.SetCode(0)
		ic.SetID(0x1234)
		ic.SetSeq(7)
		ic.SetChecksum(0)
		ic.SetChecksum(ic.ComputeChecksum())
	}
	return b
}

// ARP returns an ARP frame from srcMAC to dstMAC with the given operation
// (wire.ARPRequest or wire.ARPReply) and addresses.
func ARP(op uint16, srcMAC wire.MAC, sip [4]byte, dstMAC wire.MAC, tmac wire.MAC, tip [4]byte) []byte {
	b := make([]byte, wire.EthernetLen+wire.ARPLen)
	eth := wire.Ethernet(b)
	eth.SetDst(dstMAC)
	eth.SetSrc(srcMAC)
	eth.SetType(wire.EtherTypeARP)
	wire.ARP(b[wire.EthernetLen:]).Encode(&wire.ARPFields{Op: op, SenderMAC: srcMAC, SenderIP: sip, TargetMAC: tmac, TargetIP: tip})
	return b
}

// FixIPv4Checksum recomputes the IPv4 header checksum of a frame that was
// changed by hand, and returns the frame.
func FixIPv4Checksum(frame []byte) []byte {
	ip := wire.IPv4(frame[wire.EthernetLen:])
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	return frame
}
