package offload

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// segment6 is Segment for an Ethernet/IPv6/TCP super-frame (TCP right
// after the fixed header: a GSO_TCPV6 frame with extension headers yields
// ErrUnsupported) whose IPv6 header starts at l3: it checks the headers and
// leaves the rest to split (each segment carries the headers with the
// payload length rewritten, the sequence number advanced, FIN and PSH on
// the last segment only, CWR on the first only, and the TCP checksum
// computed in full over the IPv6 pseudo-header).
func segment6(c *pkt.Cache, v *pkt.Vector, src []byte, l3, mss int) (int, Error) {
	if len(src) < l3+wire.IPv6Len {
		return 0, ErrTruncated
	}
	ip := src[l3:]
	if ip[0]>>4 != 6 {
		return 0, ErrNotIPv4
	}
	if ip[6] != wire.IPProtoTCP {
		return 0, ErrUnsupported
	}
	// The payload length when set (Ethernet padding may follow); 0 is a
	// jumbogram or BIG TCP super-frame: the frame's end.
	ipLen := len(ip)
	if pl := int(binary.BigEndian.Uint16(ip[4:])); pl != 0 {
		if wire.IPv6Len+pl > ipLen {
			return 0, ErrTruncated
		}
		ipLen = wire.IPv6Len + pl
	}
	l4 := l3 + wire.IPv6Len
	if ipLen < wire.IPv6Len+wire.TCPMinLen {
		return 0, ErrTruncated
	}
	thl := int(src[l4+12]>>4) * 4
	if thl < wire.TCPMinLen {
		return 0, ErrTruncated
	}
	return split(c, v, src, splitPlan{l3: l3, l4: l4, l4Len: thl, end: l3 + ipLen, kind: KindTCP,
		pseudo: wire.PseudoHeaderSum6([16]byte(ip[8:24]), [16]byte(ip[24:40]), wire.IPProtoTCP, 0)}, mss)
}
