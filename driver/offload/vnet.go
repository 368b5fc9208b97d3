package offload

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/pkt"
)

// VnetHdrLen is the size of struct virtio_net_hdr, which AF_PACKET with
// PACKET_VNET_HDR and TAP with IFF_VNET_HDR put before every frame.
const VnetHdrLen = 10

// virtio_net_hdr flags and GSO types (linux/virtio_net.h).
const (
	VnetNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM: checksum at CsumStart+CsumOffset is partial
	VnetDataValid = 2 // VIRTIO_NET_HDR_F_DATA_VALID: the kernel validated the checksum

	GSONone  = 0    // VIRTIO_NET_HDR_GSO_NONE
	GSOTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	GSOUDP   = 3    // VIRTIO_NET_HDR_GSO_UDP (UFO: IP fragmentation; not handled)
	GSOTCPv6 = 4    // VIRTIO_NET_HDR_GSO_TCPV6 (without extension headers)
	GSOUDPL4 = 5    // VIRTIO_NET_HDR_GSO_UDP_L4 (UDP_SEGMENT)
	GSOECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN, or'ed into the type
)

// VnetHdr is a decoded struct virtio_net_hdr. The kernel writes it in the
// host's byte order for both AF_PACKET and TAP (legacy virtio, no
// TUNSETVNETLE/BE), and so does Put.
type VnetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// ParseVnetHdr decodes the header at the start of b.
func ParseVnetHdr(b []byte) (VnetHdr, bool) {
	if len(b) < VnetHdrLen {
		return VnetHdr{}, false
	}
	b = b[:VnetHdrLen]
	return VnetHdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.NativeEndian.Uint16(b[2:]),
		GSOSize:    binary.NativeEndian.Uint16(b[4:]),
		CsumStart:  binary.NativeEndian.Uint16(b[6:]),
		CsumOffset: binary.NativeEndian.Uint16(b[8:]),
	}, true
}

// Put encodes h at the start of b, which must hold VnetHdrLen bytes.
func (h VnetHdr) Put(b []byte) {
	b = b[:VnetHdrLen]
	b[0], b[1] = h.Flags, h.GSOType
	binary.NativeEndian.PutUint16(b[2:], h.HdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.GSOSize)
	binary.NativeEndian.PutUint16(b[6:], h.CsumStart)
	binary.NativeEndian.PutUint16(b[8:], h.CsumOffset)
}

// Receive delivers frame f, which arrived with header h, into v as frames
// that each fit a slot and carry complete checksums: a GSO super-frame is
// segmented at h.GSOSize (Segment), any other frame is copied into one slot
// from c and its partial checksum completed (Complete). Frames whose
// checksum was computed here or that the kernel marked DATA_VALID carry
// pkt.FlagL4ChecksumOK. It returns how many frames it appended; on error
// none, and no slot is kept.
func Receive(c *pkt.Cache, v *pkt.Vector, h VnetHdr, f []byte) (int, Error) {
	switch h.GSOType &^ GSOECN {
	case GSONone:
	case GSOTCPv4:
		if _, et, e := etherL3(f); e == OK && et == 0x86dd {
			return 0, ErrUnsupported // the type says IPv4
		}
		return Segment(c, v, f, KindTCP, int(h.GSOSize))
	case GSOTCPv6:
		l3, et, e := etherL3(f)
		if e != OK {
			return 0, e
		}
		if et != 0x86dd {
			return 0, ErrUnsupported // the type says IPv6
		}
		return segment6(c, v, f, l3, int(h.GSOSize))
	case GSOUDPL4:
		return Segment(c, v, f, KindUDP, int(h.GSOSize))
	default:
		return 0, ErrUnsupported
	}
	if len(f) > pkt.DataCap {
		return 0, ErrTooLong
	}
	if v.Full() {
		return 0, ErrNoRoom
	}
	i, ok := c.Alloc()
	if !ok {
		return 0, ErrNoBuffer
	}
	a := c.Arena()
	d, _ := a.SetData(i, pkt.Headroom, len(f))
	copy(d, f)
	switch {
	case h.Flags&VnetNeedsCsum != 0:
		if e := Complete(d, int(h.CsumStart), int(h.CsumOffset)); e != OK {
			c.Free(i)
			return 0, e
		}
		a.Meta(i).Flags |= pkt.FlagL4ChecksumOK
	case h.Flags&VnetDataValid != 0:
		a.Meta(i).Flags |= pkt.FlagL4ChecksumOK
	}
	v.Append(i)
	return 1, OK
}

// Counters are a port's offload counters: the frames offload could not
// deliver, by Error, and what it did. A driver keeps one per port, written
// by the owning worker, and reports the errors under their names.
// ErrNoRoom is not counted: the frame waits for the next call.
type Counters struct {
	Err       [numErrors]uint64 // frames not delivered, by Error (Err[OK] stays 0)
	Segmented uint64            // super-frames split
	Segments  uint64            // segments those gave
	Completed uint64            // frames whose partial checksum was completed (segments excluded)
}

// Note counts the outcome of one Receive of a frame with header h that
// appended k frames or failed with e.
func (c *Counters) Note(h VnetHdr, k int, e Error) {
	switch {
	case e == ErrNoRoom:
	case e != OK:
		c.Err[e]++
	case h.GSOType&^GSOECN != GSONone:
		c.Segmented++
		c.Segments += uint64(k)
	case h.Flags&VnetNeedsCsum != 0:
		c.Completed++
	}
}

// NoteSegment counts the outcome of a Segment or SegmentMTU call that
// appended k frames or failed with e.
func (c *Counters) NoteSegment(k int, e Error) {
	switch {
	case e == ErrNoRoom:
	case e != OK:
		c.Err[e]++
	default:
		c.Segmented++
		c.Segments += uint64(k)
	}
}

// Each calls f with the name and count of every error counted at least once.
func (c *Counters) Each(f func(name string, n uint64)) {
	for e, n := range c.Err {
		if n != 0 && Error(e) != OK {
			f(Error(e).String(), n)
		}
	}
}

// Add accumulates o into c (summing ports).
func (c *Counters) Add(o *Counters) {
	for e := range c.Err {
		c.Err[e] += o.Err[e]
	}
	c.Segmented += o.Segmented
	c.Segments += o.Segments
	c.Completed += o.Completed
}

// Drops returns how many frames were lost for want of a buffer
// (ErrNoBuffer), as a port folds them into driver.Stats.RxDrops.
func (c *Counters) Drops() uint64 { return c.Err[ErrNoBuffer] }

// Errors returns the frames rejected as malformed or unsupported (every
// error but ErrNoBuffer and ErrNoRoom), as a port folds them into
// driver.Stats.RxErrors.
func (c *Counters) Errors() uint64 {
	var n uint64
	for e, k := range c.Err {
		if Error(e) != ErrNoBuffer && Error(e) != ErrNoRoom {
			n += k
		}
	}
	return n
}

// Reporter is implemented by ports that segment or complete checksums in
// software: "show errors"-style named counters of the frames they could not
// deliver.
type Reporter interface {
	OffloadErrors() Counters
}
