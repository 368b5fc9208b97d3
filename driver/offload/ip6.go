package offload

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// segment6 is Segment for an Ethernet/IPv6/TCP super-frame (TCP right
// after the fixed header: a GSO_TCPV6 frame with extension headers yields
// ErrUnsupported) whose IPv6 header starts at l3: each segment carries the
// headers with the payload length rewritten, the sequence number advanced,
// FIN and PSH on the last segment only, CWR on the first only, and the TCP
// checksum computed in full over the IPv6 pseudo-header.
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
	hdrLen := l4 + thl
	end := l3 + ipLen
	if hdrLen > end {
		return 0, ErrTruncated
	}
	if mss <= 0 || hdrLen+mss > pkt.DataCap {
		return 0, ErrSegmentSize
	}
	payload := end - hdrLen
	n := max(1, (payload+mss-1)/mss)
	if n > MaxSegments {
		return 0, ErrSegmentSize
	}
	if n > v.Free() {
		return 0, ErrNoRoom
	}
	a := c.Arena()
	hdr := src[:hdrLen]
	saddr, daddr := [16]byte(ip[8:24]), [16]byte(ip[24:40])
	seq := binary.BigEndian.Uint32(src[l4+4:])
	flags := src[l4+13]
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
		seg := min(mss, end-off)
		d, _ := a.SetData(i, pkt.Headroom, hdrLen+seg)
		copy(d, hdr)
		copy(d[hdrLen:], src[off:off+seg])
		length := uint16(thl + seg)
		binary.BigEndian.PutUint16(d[l3+4:], length)
		th := d[l4:]
		binary.BigEndian.PutUint32(th[4:], seq+uint32(k*mss))
		f := flags
		if k != n-1 {
			f &^= tcpFIN | tcpPSH
		}
		if k != 0 {
			f &^= tcpCWR
		}
		th[13] = f
		th[16], th[17] = 0, 0
		binary.BigEndian.PutUint16(th[16:], wire.Checksum(th[:length], wire.PseudoHeaderSum6(saddr, daddr, wire.IPProtoTCP, uint32(length))))
		a.Meta(i).Flags |= pkt.FlagL4ChecksumOK
		v.Append(i)
	}
	return n, OK
}
