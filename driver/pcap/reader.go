package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Record describes one record read by Reader.Next.
type Record struct {
	Time    time.Time // capture time, in UTC
	CapLen  int       // bytes captured (incl_len), copied into the caller's buffer
	OrigLen int       // length on the wire (orig_len)
}

// Reader reads the records of a classic pcap file into caller memory. It is
// not safe for concurrent use. Wrap a file in a bufio.Reader: Next makes two
// Read calls per record.
type Reader struct {
	r        io.Reader
	order    binary.ByteOrder
	nano     bool // ts_frac is in nanoseconds
	snaplen  uint32
	limit    int // longest record accepted
	linkType uint32
	hdr      [recordHeaderLen]byte
}

// NewReader reads and checks the global header from r. It accepts both
// magics in both byte orders and major version 2.
func NewReader(r io.Reader) (*Reader, error) {
	var h [fileHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("pcap: reading the file header: %w", err)
	}
	rd := &Reader{r: r}
	switch {
	case binary.LittleEndian.Uint32(h[0:]) == magicMicro:
		rd.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[0:]) == magicMicro:
		rd.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h[0:]) == magicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[0:]) == magicNano:
		rd.order, rd.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %#x", ErrBadHeader, h[0:4])
	}
	if v := rd.order.Uint16(h[4:]); v != versionMajor {
		return nil, fmt.Errorf("%w: version %d.%d", ErrBadHeader, v, rd.order.Uint16(h[6:]))
	}
	rd.snaplen = rd.order.Uint32(h[16:])
	rd.linkType = rd.order.Uint32(h[20:])
	rd.limit = MaxSnaplen
	if rd.snaplen > 0 && rd.snaplen < MaxSnaplen {
		rd.limit = int(rd.snaplen)
	}
	return rd, nil
}

// LinkType returns the file's link type (LinkTypeEthernet for Ethernet).
func (r *Reader) LinkType() uint32 { return r.linkType }

// Snaplen returns the snap length the file's header declares.
func (r *Reader) Snaplen() uint32 { return r.snaplen }

// Limit returns the longest record Next accepts: the file's snap length, or
// MaxSnaplen when that is zero or larger.
func (r *Reader) Limit() int { return r.limit }

// Nanosecond reports whether the file's timestamps have nanosecond resolution.
func (r *Reader) Nanosecond() bool { return r.nano }

// Next reads the next record's bytes into buf[:rec.CapLen]. At the end of the
// file it returns io.EOF; a file cut inside a record gives
// io.ErrUnexpectedEOF; a record longer than Limit gives ErrBadRecord (both
// are final). A record longer than buf is skipped with ErrShortBuffer and
// its lengths in rec; reading may go on. Next allocates nothing.
func (r *Reader) Next(buf []byte) (rec Record, err error) {
	if _, err = io.ReadFull(r.r, r.hdr[:]); err != nil {
		return rec, err // io.EOF only at a record boundary
	}
	h := r.hdr[:]
	sec, frac := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if incl > uint32(r.limit) {
		return rec, ErrBadRecord
	}
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	rec = Record{Time: time.Unix(int64(sec), ns).UTC(), CapLen: int(incl), OrigLen: int(orig)}
	if rec.CapLen <= len(buf) {
		_, err = io.ReadFull(r.r, buf[:rec.CapLen])
		return rec, unexpected(err)
	}
	// Skip through buf, or through the parsed header if buf is empty.
	if len(buf) == 0 {
		buf = r.hdr[:]
	}
	for left := rec.CapLen; left > 0; {
		k := min(left, len(buf))
		if _, err = io.ReadFull(r.r, buf[:k]); err != nil {
			return rec, unexpected(err)
		}
		left -= k
	}
	return rec, ErrShortBuffer
}

// unexpected turns an EOF inside a record into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
