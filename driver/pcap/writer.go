package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Writer writes a classic pcap file: microsecond timestamps, little-endian,
// link type Ethernet. It is not safe for concurrent use. The first write
// error sticks: later writes return it without writing, and Err reports it.
// Wrap a file in a bufio.Writer and flush it when done; Writer itself
// buffers nothing.
type Writer struct {
	w       io.Writer
	snaplen int
	hdr     [recordHeaderLen]byte
	err     error
}

// NewWriter writes the global header to w and returns a Writer whose records
// hold at most snaplen bytes (MaxSnaplen when snaplen <= 0).
func NewWriter(w io.Writer, snaplen int) (*Writer, error) {
	if snaplen <= 0 {
		snaplen = MaxSnaplen
	}
	if snaplen > MaxSnaplen {
		return nil, fmt.Errorf("pcap: snap length %d > %d", snaplen, MaxSnaplen)
	}
	var h [fileHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magicMicro)
	binary.LittleEndian.PutUint16(h[4:], versionMajor)
	binary.LittleEndian.PutUint16(h[6:], versionMinor)
	// thiszone and sigfigs stay 0.
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], LinkTypeEthernet)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("pcap: writing the file header: %w", err)
	}
	return &Writer{w: w, snaplen: snaplen}, nil
}

// WritePacket writes one record: data captured at ts, cut to the snap
// length (orig_len keeps the full length). The timestamp is truncated to the
// microsecond. It allocates nothing beyond what the underlying writer does.
func (w *Writer) WritePacket(ts time.Time, data []byte) error {
	if w.err != nil {
		return w.err
	}
	sec := ts.Unix()
	if sec < 0 || sec > 1<<32-1 {
		return ErrTimeRange
	}
	capLen := min(len(data), w.snaplen)
	h := w.hdr[:]
	binary.LittleEndian.PutUint32(h[0:], uint32(sec))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(data)))
	if _, err := w.w.Write(h); err != nil {
		w.err = err
		return err
	}
	if _, err := w.w.Write(data[:capLen]); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Err returns the first write error, or nil.
func (w *Writer) Err() error { return w.err }
