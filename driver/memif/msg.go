package memif

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Protocol constants shared by VPP, DPDK's net_memif and libmemif (memif
// version 2.0).
const (
	Version    = 2<<8 | 0 // memif protocol version 2.0
	Cookie     = 0x3E31F20
	MsgSize    = 128 // every control message is one 128-byte datagram
	NameSize   = 32  // interface and application names, NUL padded
	SecretSize = 24

	// MaxLog2RingSize bounds the rings vecnet accepts and makes (16384
	// descriptors: head and tail are 16-bit counters).
	MaxLog2RingSize = 14
	// MaxRegions bounds the regions a client may add.
	MaxRegions = 16
	// MaxRegionSize bounds one region (offsets are 32-bit).
	MaxRegionSize = 1 << 32
)

// MsgType is a control message's type.
type MsgType uint16

// Control message types.
const (
	MsgNone MsgType = iota
	MsgAck
	MsgHello
	MsgInit
	MsgAddRegion
	MsgAddRing
	MsgConnect
	MsgConnected
	MsgDisconnect
	msgTypes
)

var msgNames = [...]string{"none", "ack", "hello", "init", "add-region", "add-ring", "connect", "connected", "disconnect"}

func (t MsgType) String() string {
	if t < msgTypes {
		return msgNames[t]
	}
	return fmt.Sprintf("type-%d", uint16(t))
}

// RingFlagS2M in Msg.Flags marks an add-ring message's ring as slave to
// master (client to server); without it the ring is master to slave.
const RingFlagS2M = 1

// Msg is one decoded control message. Only the fields of its Type are set.
type Msg struct {
	Type MsgType

	// hello
	Name                   string // hello: the server application's name; init: the client's
	MinVersion, MaxVersion uint16
	MaxRegion              uint16 // highest region index the server accepts
	MaxM2S, MaxS2M         uint16 // highest ring index per direction
	MaxLog2RingSize        uint8

	// init
	Version uint16
	ID      uint32
	Mode    uint8
	Secret  string

	// add region / add ring
	Index      uint16 // region or ring index
	Size       uint64 // region size
	Flags      uint16 // add ring: RingFlagS2M
	Region     uint16 // add ring: the region that holds the ring
	Offset     uint32 // add ring: the ring's offset in its region
	Log2Size   uint8  // add ring: log2 of its descriptors
	PrivateHdr uint16 // add ring: private header size (vecnet accepts 0 only)

	// connect, connected: IfName; disconnect: Code and Reason
	IfName string
	Code   uint32
	Reason string
}

// Errors of ParseMsg.
var (
	ErrMsgSize = errors.New("memif: control message is not 128 bytes")
	ErrMsgType = errors.New("memif: unknown control message type")
	ErrMsgText = errors.New("memif: name or text field is not NUL padded text")
)

// ParseMsg decodes one control message. It rejects a message of the wrong
// size, an unknown type, and names that are not printable text. Field values
// (versions, indices, sizes) are checked by the session, which knows its
// state.
func ParseMsg(b []byte) (Msg, error) {
	if len(b) != MsgSize {
		return Msg{}, ErrMsgSize
	}
	le := binary.LittleEndian
	m := Msg{Type: MsgType(le.Uint16(b))}
	var ok bool
	switch m.Type {
	case MsgAck:
	case MsgHello:
		if m.Name, ok = text(b[2:34]); !ok {
			return Msg{}, ErrMsgText
		}
		m.MinVersion, m.MaxVersion = le.Uint16(b[34:]), le.Uint16(b[36:])
		m.MaxRegion, m.MaxM2S, m.MaxS2M = le.Uint16(b[38:]), le.Uint16(b[40:]), le.Uint16(b[42:])
		m.MaxLog2RingSize = b[44]
	case MsgInit:
		m.Version, m.ID, m.Mode = le.Uint16(b[2:]), le.Uint32(b[4:]), b[8]
		if m.Secret, ok = text(b[9:33]); !ok {
			return Msg{}, ErrMsgText
		}
		if m.Name, ok = text(b[33:65]); !ok {
			return Msg{}, ErrMsgText
		}
	case MsgAddRegion:
		m.Index, m.Size = le.Uint16(b[2:]), le.Uint64(b[4:])
	case MsgAddRing:
		m.Flags, m.Index, m.Region = le.Uint16(b[2:]), le.Uint16(b[4:]), le.Uint16(b[6:])
		m.Offset, m.Log2Size, m.PrivateHdr = le.Uint32(b[8:]), b[12], le.Uint16(b[13:])
	case MsgConnect, MsgConnected:
		if m.IfName, ok = text(b[2:34]); !ok {
			return Msg{}, ErrMsgText
		}
	case MsgDisconnect:
		m.Code = le.Uint32(b[2:])
		if m.Reason, ok = text(b[6:102]); !ok {
			return Msg{}, ErrMsgText
		}
	default:
		return Msg{}, ErrMsgType
	}
	return m, nil
}

// Encode writes m into a 128-byte message. Names longer than their field
// are cut.
func (m *Msg) Encode() []byte {
	b := make([]byte, MsgSize)
	le := binary.LittleEndian
	le.PutUint16(b, uint16(m.Type))
	switch m.Type {
	case MsgHello:
		copy(b[2:33], m.Name)
		le.PutUint16(b[34:], m.MinVersion)
		le.PutUint16(b[36:], m.MaxVersion)
		le.PutUint16(b[38:], m.MaxRegion)
		le.PutUint16(b[40:], m.MaxM2S)
		le.PutUint16(b[42:], m.MaxS2M)
		b[44] = m.MaxLog2RingSize
	case MsgInit:
		le.PutUint16(b[2:], m.Version)
		le.PutUint32(b[4:], m.ID)
		b[8] = m.Mode
		copy(b[9:32], m.Secret)
		copy(b[33:64], m.Name)
	case MsgAddRegion:
		le.PutUint16(b[2:], m.Index)
		le.PutUint64(b[4:], m.Size)
	case MsgAddRing:
		le.PutUint16(b[2:], m.Flags)
		le.PutUint16(b[4:], m.Index)
		le.PutUint16(b[6:], m.Region)
		le.PutUint32(b[8:], m.Offset)
		b[12] = m.Log2Size
		le.PutUint16(b[13:], m.PrivateHdr)
	case MsgConnect, MsgConnected:
		copy(b[2:33], m.IfName)
	case MsgDisconnect:
		le.PutUint32(b[2:], m.Code)
		copy(b[6:101], m.Reason)
	}
	return b
}

// text decodes a NUL-padded field: printable ASCII up to the first NUL.
func text(b []byte) (string, bool) {
	n := 0
	for n < len(b) && b[n] != 0 {
		if b[n] < 0x20 || b[n] > 0x7e {
			return "", false
		}
		n++
	}
	return string(b[:n]), true
}
