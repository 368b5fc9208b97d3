package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng block types and option codes (draft-ietf-opsawg-pcapng).
const (
	ngSectionHeader  = 0x0A0D0D0A
	ngInterfaceDesc  = 0x00000001
	ngEnhancedPacket = 0x00000006
	ngByteOrderMagic = 0x1A2B3C4D

	ngOptEnd       = 0
	ngOptComment   = 1
	ngOptShbAppl   = 4
	ngOptIfName    = 2
	ngOptIfTsresol = 9
	ngOptEpbFlags  = 2
)

// Packet directions of an enhanced packet block's epb_flags (bits 0-1).
const (
	DirUnknown  = 0
	DirInbound  = 1
	DirOutbound = 2
)

// NGWriter writes a pcapng file: one section, Ethernet interfaces with their
// names and nanosecond timestamps, and enhanced packet blocks with a
// direction and an optional comment (the drop reason of a capture). It is
// not safe for concurrent use; the first write error sticks (Err). Wrap a
// file in a bufio.Writer: NGWriter writes each block in two or three calls.
type NGWriter struct {
	w       io.Writer
	snaplen int
	nif     int
	buf     []byte
	err     error
}

// NewNGWriter writes the section header, naming app as the application
// that wrote the file, and returns the writer. Records hold at most
// snaplen bytes (MaxSnaplen when snaplen <= 0).
func NewNGWriter(w io.Writer, snaplen int, app string) (*NGWriter, error) {
	if snaplen <= 0 {
		snaplen = MaxSnaplen
	}
	if snaplen > MaxSnaplen {
		return nil, fmt.Errorf("pcapng: snap length %d > %d", snaplen, MaxSnaplen)
	}
	ng := &NGWriter{w: w, snaplen: snaplen, buf: make([]byte, 0, 256)}
	b := ng.begin(ngSectionHeader)
	b = binary.LittleEndian.AppendUint32(b, ngByteOrderMagic)
	b = binary.LittleEndian.AppendUint16(b, 1) // major
	b = binary.LittleEndian.AppendUint16(b, 0) // minor
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
	b = appendOption(b, ngOptShbAppl, []byte(app))
	b = appendOption(b, ngOptEnd, nil)
	if err := ng.end(b, nil, nil); err != nil {
		return nil, err
	}
	return ng, nil
}

// AddInterface writes an interface description block for an Ethernet
// interface named name and returns its interface id, for WritePacket.
func (ng *NGWriter) AddInterface(name string) (int, error) {
	b := ng.begin(ngInterfaceDesc)
	b = binary.LittleEndian.AppendUint16(b, LinkTypeEthernet)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(ng.snaplen))
	b = appendOption(b, ngOptIfName, []byte(name))
	b = appendOption(b, ngOptIfTsresol, []byte{9}) // nanoseconds
	b = appendOption(b, ngOptEnd, nil)
	if err := ng.end(b, nil, nil); err != nil {
		return 0, err
	}
	ng.nif++
	return ng.nif - 1, nil
}

// errNoInterface reports a packet for an interface id never added.
var errNoInterface = errors.New("pcapng: packet for an unknown interface id")

// WritePacket writes one enhanced packet block: data seen on interface ifc
// (an id from AddInterface) at tsNano (Unix nanoseconds), cut to the snap
// length, with origLen the packet's full length (0: len(data)), dir one of
// DirUnknown, DirInbound, DirOutbound, and comment ("" for none).
func (ng *NGWriter) WritePacket(ifc int, tsNano int64, data []byte, origLen int, dir int, comment string) error {
	if ng.err != nil {
		return ng.err
	}
	if ifc < 0 || ifc >= ng.nif {
		return errNoInterface
	}
	if origLen < len(data) {
		origLen = len(data)
	}
	data = data[:min(len(data), ng.snaplen)]
	b := ng.begin(ngEnhancedPacket)
	b = binary.LittleEndian.AppendUint32(b, uint32(ifc))
	b = binary.LittleEndian.AppendUint32(b, uint32(uint64(tsNano)>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(tsNano))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(origLen))
	var opts [64]byte
	o := opts[:0]
	if dir != DirUnknown {
		o = binary.LittleEndian.AppendUint16(o, ngOptEpbFlags)
		o = binary.LittleEndian.AppendUint16(o, 4)
		o = binary.LittleEndian.AppendUint32(o, uint32(dir&3))
	}
	// The comment goes after the data with the options: end copies it.
	return ng.endPacket(b, data, o, comment)
}

// Err returns the first write error, or nil.
func (ng *NGWriter) Err() error { return ng.err }

// begin starts a block of type typ in ng.buf, with a length to fill in.
func (ng *NGWriter) begin(typ uint32) []byte {
	b := binary.LittleEndian.AppendUint32(ng.buf[:0], typ)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// end finishes a block whose body is b (header included), then data padded
// to 4 bytes, then tail (options, already padded), and writes it.
func (ng *NGWriter) end(b, data, tail []byte) error {
	pad := (4 - len(data)%4) % 4
	total := len(b) + len(data) + pad + len(tail) + 4
	binary.LittleEndian.PutUint32(b[4:], uint32(total))
	var zero [4]byte
	trailer := binary.LittleEndian.AppendUint32(tail, uint32(total))
	for _, part := range [][]byte{b, data, zero[:pad], trailer} {
		if len(part) == 0 {
			continue
		}
		if _, err := ng.w.Write(part); err != nil {
			ng.err = err
			return err
		}
	}
	ng.buf = b[:0]
	return nil
}

// endPacket finishes an enhanced packet block with options o and comment.
func (ng *NGWriter) endPacket(b, data, o []byte, comment string) error {
	if comment != "" || len(o) > 0 {
		if comment != "" {
			o = appendOption(o, ngOptComment, []byte(comment))
		}
		o = appendOption(o, ngOptEnd, nil)
	}
	return ng.end(b, data, o)
}

// appendOption appends one option, its value padded to 4 bytes.
func appendOption(b []byte, code uint16, val []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	for pad := (4 - len(val)%4) % 4; pad > 0; pad-- {
		b = append(b, 0)
	}
	return b
}
