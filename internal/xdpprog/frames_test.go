package xdpprog

import (
	"encoding/binary"
	"net/netip"
)

// Test frame builders. Checksums are left zero: the program does not read them.

type frameSpec struct {
	vlan    bool   // insert one 802.1Q tag
	qinq    bool   // insert two tags (0x88a8 then 0x8100)
	ihl     int    // IPv4 header length in 32-bit words; 0 means 5
	proto   uint8  // IP protocol
	frag    uint16 // IPv4 fragment offset field (flags masked out by the builder's caller)
	dst     netip.Addr
	dstPort uint16
	cut     int // drop this many bytes from the end
}

func ethHeader(etype uint16, s frameSpec) []byte {
	b := make([]byte, 12, 64)
	for i := range b {
		b[i] = byte(i + 1)
	}
	if s.qinq {
		b = binary.BigEndian.AppendUint16(b, 0x88a8)
		b = binary.BigEndian.AppendUint16(b, 7)
	}
	if s.vlan || s.qinq {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, 42)
	}
	return binary.BigEndian.AppendUint16(b, etype)
}

func ipv4Frame(s frameSpec) []byte {
	b := ethHeader(0x0800, s)
	ihl := s.ihl
	if ihl == 0 {
		ihl = 5
	}
	h := make([]byte, max(ihl*4, 20)) // a bad IHL below 5 still carries addresses
	h[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(ihl*4+8+4))
	binary.BigEndian.PutUint16(h[6:], s.frag)
	h[8] = 64
	h[9] = s.proto
	copy(h[12:16], []byte{192, 0, 2, 1})
	a := s.dst.As4()
	copy(h[16:20], a[:])
	b = append(b, h...)
	l4 := make([]byte, 12)
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], s.dstPort)
	b = append(b, l4...)
	return b[:len(b)-s.cut]
}

func arpFrame(s frameSpec, ptype uint16) []byte {
	b := ethHeader(0x0806, s)
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], ptype)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1)
	copy(a[14:18], []byte{192, 0, 2, 1})
	t := s.dst.As4()
	copy(a[24:28], t[:])
	b = append(b, a...)
	return b[:len(b)-s.cut]
}
