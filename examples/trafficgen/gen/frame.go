package gen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vecnet/vecnet/wire"
)

// Magic marks a generator frame: the first 8 bytes of its UDP payload.
const Magic uint64 = 0x7665636e65746731 // "vecnetg1"

// Frame layout offsets (untagged Ethernet, IPv4 without options).
const (
	ipOff      = wire.EthernetLen
	udpOff     = ipOff + wire.IPv4MinLen
	payloadOff = udpOff + wire.UDPLen
	magicOff   = payloadOff
	seqOff     = payloadOff + 8
	udpCsumOff = udpOff + 6
	// MinFrameLen is the shortest frame in memory (64 bytes on the wire
	// with the 4-byte FCS the device adds).
	MinFrameLen = 60
	// MaxFrameLen is the longest frame: a 1500-byte IP packet.
	MaxFrameLen = wire.EthernetLen + 1500
	// v6Shift is how much later the UDP header starts in an IPv6 frame.
	v6Shift = wire.IPv6Len - wire.IPv4MinLen
	// MinFrameLen6 is the shortest IPv6 frame in memory: the headers,
	// Magic and the sequence number (82 bytes on the wire).
	MinFrameLen6 = seqOff + 8 + v6Shift
)

// ErrBadSpec is wrapped by errors for a FrameSpec that cannot be built.
var ErrBadSpec = errors.New("gen: bad frame spec")

// FrameSpec describes the frames a generator sends.
type FrameSpec struct {
	SrcMAC, DstMAC   wire.MAC
	Src, Dst         netip.Addr // both IPv4 or both IPv6
	SrcPort, DstPort uint16     // defaults 10000 and 9
	// Size is the frame size on the wire including the 4-byte FCS the
	// device adds: 64..1518. The frame in memory is Size-4 bytes.
	Size int
	// Flows > 1 rotates the UDP source port over SrcPort..SrcPort+Flows-1
	// so that RSS and ECMP hashing spread the traffic.
	Flows int
}

func (s *FrameSpec) normalize() error {
	if s.SrcPort == 0 {
		s.SrcPort = 10000
	}
	if s.DstPort == 0 {
		s.DstPort = 9
	}
	v6 := s.Src.Is6() && !s.Src.Is4In6()
	if s.Size == 0 {
		s.Size = 64
		if v6 {
			s.Size = MinFrameLen6 + 4
		}
	}
	if s.Flows < 1 {
		s.Flows = 1
	}
	minLen := MinFrameLen
	if v6 {
		minLen = MinFrameLen6
	}
	if s.Size < minLen+4 || s.Size > MaxFrameLen+4 {
		return fmt.Errorf("%w: size %d not in %d..%d", ErrBadSpec, s.Size, minLen+4, MaxFrameLen+4)
	}
	if (!s.Src.Is4() || !s.Dst.Is4()) && (!v6 || !s.Dst.Is6() || s.Dst.Is4In6()) {
		return fmt.Errorf("%w: source %v and destination %v must be both IPv4 or both IPv6", ErrBadSpec, s.Src, s.Dst)
	}
	if int(s.SrcPort)+s.Flows-1 > 0xffff {
		return fmt.Errorf("%w: %d flows from port %d overflow", ErrBadSpec, s.Flows, s.SrcPort)
	}
	return nil
}

// FrameLen returns the length of the frame in memory (Size minus FCS).
func (s *FrameSpec) FrameLen() int { return s.Size - 4 }

// Build writes the frame of flow (taken modulo Flows) with sequence number
// seq into b, which must hold FrameLen bytes, with valid IPv4 and UDP
// checksums (IPv6 and UDP for IPv6 addresses), and returns its length. It
// normalizes s (defaults) first.
func Build(b []byte, s *FrameSpec, flow int, seq uint64) (int, error) {
	if err := s.normalize(); err != nil {
		return 0, err
	}
	n := s.FrameLen()
	if len(b) < n {
		return 0, fmt.Errorf("%w: buffer of %d bytes for a %d-byte frame", ErrBadSpec, len(b), n)
	}
	b = b[:n]
	clear(b)
	eth := wire.Ethernet(b)
	eth.SetDst(s.DstMAC)
	eth.SetSrc(s.SrcMAC)
	if s.Src.Is6() {
		eth.SetType(wire.EtherTypeIPv6)
		src, dst := s.Src.As16(), s.Dst.As16()
		uo := udpOff + v6Shift
		wire.IPv6(b[ipOff:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(n - uo), NextHeader: wire.IPProtoUDP, HopLimit: 64, Src: src, Dst: dst})
		u := wire.UDP(b[uo:])
		u.Encode(&wire.UDPFields{SrcPort: s.SrcPort + uint16(flow%s.Flows), DstPort: s.DstPort, Length: uint16(n - uo)})
		binary.BigEndian.PutUint64(b[magicOff+v6Shift:], Magic)
		binary.BigEndian.PutUint64(b[seqOff+v6Shift:], seq)
		u.SetChecksum(u.ComputeChecksum6(src, dst))
		return n, nil
	}
	eth.SetType(wire.EtherTypeIPv4)
	e := wire.IPv4Emitter{Flags: wire.IPv4FlagDF}
	e.Emit(b[ipOff:], wire.IPProtoUDP, s.Src.As4(), s.Dst.As4(), n-udpOff)
	u := wire.UDP(b[udpOff:])
	u.Encode(&wire.UDPFields{SrcPort: s.SrcPort + uint16(flow%s.Flows), DstPort: s.DstPort, Length: uint16(n - udpOff)})
	binary.BigEndian.PutUint64(b[magicOff:], Magic)
	binary.BigEndian.PutUint64(b[seqOff:], seq)
	u.SetChecksum(u.ComputeChecksum(s.Src.As4(), s.Dst.As4()))
	return n, nil
}

// SetSeq rewrites the sequence number of a frame made by Build and patches
// its UDP checksum incrementally. It does not allocate.
func SetSeq(frame []byte, seq uint64) {
	if frame[12] == 0x86 && frame[13] == 0xdd { // IPv6: the same layout 20 bytes on
		frame = frame[v6Shift:]
	}
	_ = frame[seqOff+7]
	old := binary.BigEndian.Uint64(frame[seqOff:])
	c := binary.BigEndian.Uint16(frame[udpCsumOff:])
	for k := 0; k < 4; k++ {
		sh := uint(48 - 16*k)
		c = wire.ChecksumUpdate16(c, uint16(old>>sh), uint16(seq>>sh))
	}
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint64(frame[seqOff:], seq)
	binary.BigEndian.PutUint16(frame[udpCsumOff:], c)
}

// Parse reports the sequence number of a generator frame, and whether b is
// one: Ethernet/IPv4/UDP or Ethernet/IPv6/UDP whose payload starts with
// Magic. It checks no checksum (see Valid).
func Parse(b []byte) (seq uint64, ok bool) {
	if len(b) < seqOff+8 {
		return 0, false
	}
	eth, ok := wire.ParseEthernet(b)
	if ok && eth.Type() == wire.EtherTypeIPv6 {
		u, ok := udp6(b)
		if !ok {
			return 0, false
		}
		p := u.Payload()
		if len(p) < 16 || binary.BigEndian.Uint64(p) != Magic {
			return 0, false
		}
		return binary.BigEndian.Uint64(p[8:]), true
	}
	if !ok || eth.Type() != wire.EtherTypeIPv4 {
		return 0, false
	}
	ip, e := wire.ParseIPv4(eth.Payload())
	if e != wire.IPv4OK || ip.Protocol() != wire.IPProtoUDP || ip.HeaderLen() != wire.IPv4MinLen {
		return 0, false
	}
	u, ok := wire.ParseUDP(ip.Payload())
	if !ok {
		return 0, false
	}
	p := u.Payload()
	if len(p) < 16 || binary.BigEndian.Uint64(p) != Magic {
		return 0, false
	}
	return binary.BigEndian.Uint64(p[8:]), true
}

// Valid reports whether b is a generator frame whose IPv4 header checksum
// and UDP checksum verify.
func Valid(b []byte) bool {
	if _, ok := Parse(b); !ok {
		return false
	}
	if wire.Ethernet(b).Type() == wire.EtherTypeIPv6 {
		u, _ := udp6(b)
		ip := wire.IPv6(b[ipOff:])
		return u.ChecksumValid6(ip.Src(), ip.Dst())
	}
	ip, _ := wire.ParseIPv4(wire.Ethernet(b).Payload())
	u, _ := wire.ParseUDP(ip.Payload())
	return ip.ChecksumValid() && u.Checksum() != 0 && u.ChecksumValid(ip.Src(), ip.Dst())
}

// udp6 returns the UDP datagram of an Ethernet/IPv6/UDP frame (UDP right
// after the fixed header), cut to the payload length.
func udp6(b []byte) (wire.UDP, bool) {
	if len(b) < ipOff+wire.IPv6Len+wire.UDPLen {
		return nil, false
	}
	ip := wire.IPv6(b[ipOff:])
	if ip.Version() != 6 || ip.NextHeader() != wire.IPProtoUDP || wire.IPv6Len+int(ip.PayloadLen()) > len(ip) {
		return nil, false
	}
	return wire.ParseUDP(ip[wire.IPv6Len : wire.IPv6Len+int(ip.PayloadLen())])
}
