package wire

import "encoding/binary"

// TCP option kinds (RFC 9293, RFC 7323, RFC 2018).
const (
	TCPOptEnd           = 0
	TCPOptNOP           = 1
	TCPOptMSS           = 2
	TCPOptWindowScale   = 3
	TCPOptSACKPermitted = 4
	TCPOptSACK          = 5
	TCPOptTimestamps    = 8
)

// TCPMaxSACKBlocks is the most SACK blocks an option can carry (40 bytes
// of option space: 2 + 4*8 = 34).
const TCPMaxSACKBlocks = 4

// TCPMaxWindowScale is the largest window shift RFC 7323 allows; a larger
// value received is taken as 14.
const TCPMaxWindowScale = 14

// SACKBlock is one selective acknowledgment block: the bytes [Left, Right)
// in sequence space.
type SACKBlock struct{ Left, Right uint32 }

// TCPOptions are the options vecnet reads and writes. The Has fields say
// which were present; unknown options are skipped when parsing.
type TCPOptions struct {
	HasMSS, HasWindowScale, SACKPermitted, HasTimestamps bool
	MSS                                                  uint16
	WindowScale                                          uint8
	TSVal, TSEcr                                         uint32
	NSACK                                                int
	SACK                                                 [TCPMaxSACKBlocks]SACKBlock
}

// ParseTCPOptions decodes the option bytes b (TCP.Options) into o, which
// it resets first. It reports false when an option's length runs past b
// or is too short for its kind, or when a known option has the wrong
// length; o then holds what was decoded before the fault. A window scale
// above TCPMaxWindowScale is clamped to it.
func ParseTCPOptions(b []byte, o *TCPOptions) bool {
	*o = TCPOptions{}
	for len(b) > 0 {
		kind := b[0]
		if kind == TCPOptEnd {
			return true
		}
		if kind == TCPOptNOP {
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return false
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			return false
		}
		v := b[2:n]
		switch kind {
		case TCPOptMSS:
			if n != 4 {
				return false
			}
			o.HasMSS, o.MSS = true, binary.BigEndian.Uint16(v)
		case TCPOptWindowScale:
			if n != 3 {
				return false
			}
			o.HasWindowScale, o.WindowScale = true, min(v[0], TCPMaxWindowScale)
		case TCPOptSACKPermitted:
			if n != 2 {
				return false
			}
			o.SACKPermitted = true
		case TCPOptSACK:
			if (n-2)%8 != 0 || n == 2 {
				return false
			}
			o.NSACK = 0
			for i := 0; i+8 <= len(v) && o.NSACK < TCPMaxSACKBlocks; i += 8 {
				o.SACK[o.NSACK] = SACKBlock{binary.BigEndian.Uint32(v[i:]), binary.BigEndian.Uint32(v[i+4:])}
				o.NSACK++
			}
		case TCPOptTimestamps:
			if n != 10 {
				return false
			}
			o.HasTimestamps = true
			o.TSVal, o.TSEcr = binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
		}
		b = b[n:]
	}
	return true
}

// TCPOptionsLen returns the bytes PutTCPOptions writes for o: a multiple
// of 4, at most 40 (SACK blocks that do not fit are left out).
func TCPOptionsLen(o *TCPOptions) int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.HasWindowScale {
		n += 4 // NOP + 3
	}
	if o.HasTimestamps {
		n += 12 // NOP NOP + 10 (or SACK-permitted + 10)
	} else if o.SACKPermitted {
		n += 4 // NOP NOP + 2
	}
	if k := sackFit(o, n); k > 0 {
		n += 4 + 8*k // NOP NOP + 2 + 8k
	}
	return n
}

// sackFit returns how many of o's SACK blocks fit after used option bytes.
func sackFit(o *TCPOptions, used int) int {
	k := min(o.NSACK, TCPMaxSACKBlocks, (40-used-4)/8)
	return max(k, 0)
}

// PutTCPOptions writes o into b in the layout Linux uses (MSS, then
// SACK-permitted folded into the timestamp's padding, NOP-padded window
// scale, then SACK blocks), every option 4-byte aligned, and returns the
// bytes written (TCPOptionsLen). b must hold TCPOptionsLen(o) bytes.
func PutTCPOptions(b []byte, o *TCPOptions) int {
	n := 0
	if o.HasMSS {
		b[n], b[n+1] = TCPOptMSS, 4
		binary.BigEndian.PutUint16(b[n+2:], o.MSS)
		n += 4
	}
	if o.HasTimestamps {
		if o.SACKPermitted {
			b[n], b[n+1] = TCPOptSACKPermitted, 2
		} else {
			b[n], b[n+1] = TCPOptNOP, TCPOptNOP
		}
		b[n+2], b[n+3] = TCPOptTimestamps, 10
		binary.BigEndian.PutUint32(b[n+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[n+8:], o.TSEcr)
		n += 12
	} else if o.SACKPermitted {
		b[n], b[n+1], b[n+2], b[n+3] = TCPOptNOP, TCPOptNOP, TCPOptSACKPermitted, 2
		n += 4
	}
	if o.HasWindowScale {
		b[n], b[n+1], b[n+2], b[n+3] = TCPOptNOP, TCPOptWindowScale, 3, o.WindowScale
		n += 4
	}
	if k := sackFit(o, n); k > 0 {
		b[n], b[n+1], b[n+2], b[n+3] = TCPOptNOP, TCPOptNOP, TCPOptSACK, byte(2+8*k)
		n += 4
		for i := 0; i < k; i++ {
			binary.BigEndian.PutUint32(b[n:], o.SACK[i].Left)
			binary.BigEndian.PutUint32(b[n+4:], o.SACK[i].Right)
			n += 8
		}
	}
	return n
}
