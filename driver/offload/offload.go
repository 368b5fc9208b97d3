// Package offload finishes, in software, the work a kernel peer with its
// offloads on leaves to "the hardware": it splits TCPv4 and UDPv4 GSO
// super-frames into segments that fit a packet slot, as the kernel's own
// GSO would, and completes partial (CHECKSUM_PARTIAL) L4 checksums. The
// metadata comes from a virtio_net_hdr (VnetHdr), which AF_PACKET
// (PACKET_VNET_HDR) and TAP (IFF_VNET_HDR) put before each frame; AF_XDP
// gives none, so its driver passes the segment size it derives from the MTU.
//
// Everything here runs on a driver's receive path: no allocation, no
// interface call, bounds checked once per header. A frame that cannot be
// handled yields an Error, which the driver counts under its name.
package offload

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Error names why a frame was not delivered. The zero value is OK.
type Error uint8

// Errors Segment and Complete return.
const (
	OK             Error = iota
	ErrTruncated         // headers or checksum range past the frame's end
	ErrNotIPv4           // a GSO frame that is not Ethernet (+ one VLAN tag) + IPv4
	ErrUnsupported       // a GSO type or L4 protocol not segmented here (UFO, fragments, IPv6 extension headers)
	ErrSegmentSize       // segment size zero, headers + segment larger than a slot, or more than MaxSegments
	ErrNoBuffer          // the pool ran dry while segmenting
	ErrNoRoom            // the vector has no room for every segment (retry with an emptier one)
	ErrTooLong           // a frame without segmentation metadata larger than a slot
	numErrors
)

var errorNames = [numErrors]string{
	OK:             "ok",
	ErrTruncated:   "offload-truncated",
	ErrNotIPv4:     "offload-not-ipv4",
	ErrUnsupported: "offload-unsupported",
	ErrSegmentSize: "offload-bad-segment-size",
	ErrNoBuffer:    "offload-no-buffer",
	ErrNoRoom:      "offload-no-room",
	ErrTooLong:     "offload-too-long",
}

// String returns the error's counter name.
func (e Error) String() string {
	if e < numErrors {
		return errorNames[e]
	}
	return "offload-unknown"
}

// NumErrors is the number of Error values, OK included, for drivers that
// keep one counter per error.
const NumErrors = int(numErrors)

// Kind is the segmentation a super-frame asks for.
type Kind uint8

// Kinds of segmentation.
const (
	KindTCP Kind = iota // TCPv4 segmentation (TSO/GSO)
	KindUDP             // UDP segmentation (UDP_SEGMENT / GSO_UDP_L4): one datagram per segment
)

// MaxSegments bounds the segments of one super-frame: 64 KiB of payload in
// segments of at least 536 bytes, rounded up. A driver that wants every
// super-frame to fit keeps this much room in the vector.
const MaxSegments = 128

// Segment splits the Ethernet/IPv4 super-frame src into segments whose
// payload is at most mss bytes, each in a fresh slot from c at pkt.Headroom,
// appended to v, and returns how many it appended. Each segment carries a
// copy of the Ethernet, IPv4 and L4 headers with the IPv4 total length, ID
// (incremented per segment) and header checksum rewritten; for TCP the
// sequence number advances, FIN and PSH stay on the last segment only and
// CWR on the first only; the L4 checksum is computed in full, whatever src
// held, and the segments are marked pkt.FlagL4ChecksumOK.
//
// On error nothing is appended and every slot taken is freed. A frame whose
// payload fits in one segment is copied whole, with its checksums completed.
func Segment(c *pkt.Cache, v *pkt.Vector, src []byte, kind Kind, mss int) (int, Error) {
	l3, et, e := etherL3(src)
	if e != OK {
		return 0, e
	}
	if et == 0x86dd && kind == KindTCP {
		return segment6(c, v, src, l3, mss)
	}
	if et != 0x0800 {
		return 0, ErrNotIPv4
	}
	if len(src) < l3+wire.IPv4MinLen {
		return 0, ErrTruncated
	}
	ip := src[l3:]
	ihl := int(ip[0]&0xf) * 4
	if ip[0]>>4 != 4 || ihl < wire.IPv4MinLen {
		return 0, ErrNotIPv4
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return 0, ErrUnsupported // a fragment
	}
	// Use the IP total length when it is set (a frame may carry Ethernet
	// padding); a super-frame of more than 64 KiB says 0 (BIG TCP).
	ipLen := len(ip)
	if tot := int(binary.BigEndian.Uint16(ip[2:])); tot != 0 {
		if tot > ipLen {
			return 0, ErrTruncated
		}
		ipLen = tot
	}
	if ipLen < ihl {
		return 0, ErrTruncated
	}
	l4 := l3 + ihl
	var l4Len int
	switch {
	case kind == KindTCP && ip[9] == wire.IPProtoTCP:
		if ipLen < ihl+wire.TCPMinLen {
			return 0, ErrTruncated
		}
		l4Len = int(src[l4+12]>>4) * 4
		if l4Len < wire.TCPMinLen {
			return 0, ErrTruncated
		}
	case kind == KindUDP && ip[9] == wire.IPProtoUDP:
		l4Len = wire.UDPLen
	default:
		return 0, ErrUnsupported
	}
	return split(c, v, src, splitPlan{l3: l3, l4: l4, ihl: ihl, l4Len: l4Len, end: l3 + ipLen, kind: kind,
		pseudo: wire.PseudoHeaderSum([4]byte(ip[12:16]), [4]byte(ip[16:20]), ip[9], 0)}, mss)
}

// splitPlan is a super-frame whose headers Segment or segment6 checked:
// what split needs of it, the family's differences included.
type splitPlan struct {
	l3, l4 int    // where the IP and L4 headers start in the frame
	ihl    int    // the IPv4 header's length; 0 for IPv6
	l4Len  int    // the TCP or UDP header's length
	end    int    // where the IP packet ends in the frame
	kind   Kind   // TCP or UDP segmentation
	pseudo uint32 // the pseudo-header's sum without the L4 length
}

// split is the segmentation IPv4 and IPv6 share: it checks that the
// headers and one segment fit a slot, then copies the headers and at most
// mss bytes of payload into each segment, rewrites the IP length (and, for
// IPv4, the ID and header checksum), the TCP sequence number and flags or
// the UDP length, and computes the L4 checksum in full.
func split(c *pkt.Cache, v *pkt.Vector, src []byte, p splitPlan, mss int) (int, Error) {
	hdrLen := p.l4 + p.l4Len
	if hdrLen > p.end {
		return 0, ErrTruncated
	}
	if mss <= 0 || hdrLen+mss > pkt.DataCap {
		return 0, ErrSegmentSize
	}
	payload := p.end - hdrLen
	n := max(1, (payload+mss-1)/mss)
	if n > MaxSegments {
		return 0, ErrSegmentSize
	}
	if n > v.Free() {
		return 0, ErrNoRoom
	}

	a := c.Arena()
	hdr := src[:hdrLen]
	var id uint16
	if p.ihl != 0 {
		id = binary.BigEndian.Uint16(src[p.l3+4:])
	}
	var seq uint32
	var flags uint8
	if p.kind == KindTCP {
		seq = binary.BigEndian.Uint32(src[p.l4+4:])
		flags = src[p.l4+13]
	}
	first := v.Len
	for k := range n {
		i, ok := c.Alloc()
		if !ok {
			for _, j := range v.Idx[first:v.Len] {
				c.Free(j)
			}
			v.Len = first
			return 0, ErrNoBuffer
		}
		off := hdrLen + k*mss
		seg := min(mss, p.end-off)
		d, _ := a.SetData(i, pkt.Headroom, hdrLen+seg)
		copy(d, hdr)
		copy(d[hdrLen:], src[off:off+seg])

		length := uint16(p.l4Len + seg)
		sip := d[p.l3:]
		if p.ihl != 0 {
			binary.BigEndian.PutUint16(sip[2:], uint16(p.ihl)+length)
			binary.BigEndian.PutUint16(sip[4:], id+uint16(k))
			sip[10], sip[11] = 0, 0
			binary.BigEndian.PutUint16(sip[10:], wire.Checksum(sip[:p.ihl], 0))
		} else {
			binary.BigEndian.PutUint16(sip[4:], length) // the payload length: no extension headers
		}

		th := d[p.l4:]
		var csumOff int
		if p.kind == KindTCP {
			binary.BigEndian.PutUint32(th[4:], seq+uint32(k*mss))
			f := flags
			if k != n-1 {
				f &^= tcpFIN | tcpPSH
			}
			if k != 0 {
				f &^= tcpCWR
			}
			th[13] = f
			csumOff = 16
		} else {
			binary.BigEndian.PutUint16(th[4:], length)
			csumOff = 6
		}
		th[csumOff], th[csumOff+1] = 0, 0
		sum := wire.Checksum(th[:length], p.pseudo+uint32(length))
		if sum == 0 && p.kind == KindUDP {
			sum = 0xffff // 0 means "no checksum" in UDP
		}
		binary.BigEndian.PutUint16(th[csumOff:], sum)
		a.Meta(i).Flags |= pkt.FlagL4ChecksumOK
		v.Append(i)
	}
	return n, OK
}

// SegmentMTU segments a TCPv4 super-frame that came without a segment size
// (AF_XDP gives no metadata) so that each segment fits mtu: the payload per
// segment is mtu less the frame's own IPv4 and TCP header lengths, which is
// the MSS the sender used when the path MTU is the link's. Other protocols
// yield ErrUnsupported: a UDP_SEGMENT super-frame's datagram size cannot be
// recovered, and vecnet does not fragment.
func SegmentMTU(c *pkt.Cache, v *pkt.Vector, src []byte, mtu int) (int, Error) {
	l3, et, e := etherL3(src)
	if e != OK {
		return 0, e
	}
	if et == 0x86dd {
		if len(src) < l3+wire.IPv6Len+wire.TCPMinLen {
			return 0, ErrTruncated
		}
		thl := int(src[l3+wire.IPv6Len+12]>>4) * 4
		return segment6(c, v, src, l3, mtu-wire.IPv6Len-thl)
	}
	if et != 0x0800 {
		return 0, ErrNotIPv4
	}
	if len(src) < l3+wire.IPv4MinLen {
		return 0, ErrTruncated
	}
	ihl := int(src[l3]&0xf) * 4
	if src[l3+9] != wire.IPProtoTCP {
		return 0, ErrUnsupported
	}
	if len(src) < l3+ihl+wire.TCPMinLen {
		return 0, ErrTruncated
	}
	thl := int(src[l3+ihl+12]>>4) * 4
	return Segment(c, v, src, KindTCP, mtu-ihl-thl)
}

// TCP flag bits Segment adjusts.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// l3Offset returns where the IPv4 header starts in an Ethernet frame with at
// most one VLAN tag.
func l3Offset(f []byte) (int, Error) {
	l3, et, e := etherL3(f)
	if e == OK && et != 0x0800 {
		e = ErrNotIPv4
	}
	return l3, e
}

// etherL3 returns where the IP header starts in an Ethernet frame with at
// most one VLAN tag, and the EtherType that names it.
func etherL3(f []byte) (int, uint16, Error) {
	if len(f) < wire.EthernetLen {
		return 0, 0, ErrTruncated
	}
	l3 := wire.EthernetLen
	et := binary.BigEndian.Uint16(f[12:])
	if et == 0x8100 || et == 0x88a8 {
		if len(f) < l3+wire.VLANLen {
			return 0, 0, ErrTruncated
		}
		et = binary.BigEndian.Uint16(f[16:])
		l3 += wire.VLANLen
	}
	return l3, et, OK
}

// Complete finishes a partial checksum in place, as the kernel's
// skb_checksum_help does: the 16-bit field at start+off, which holds the
// pseudo-header sum the sender left, becomes the checksum of f[start:]
// (a result of 0 is stored as 0xffff).
func Complete(f []byte, start, off int) Error {
	if start < 0 || off < 0 || start > len(f) || off+2 > len(f)-start {
		return ErrTruncated
	}
	pos := start + off
	s := wire.Checksum(f[start:], 0)
	if s == 0 {
		s = 0xffff
	}
	binary.BigEndian.PutUint16(f[pos:], s)
	return OK
}
