package wire

import "encoding/binary"

// IEEE 802.1Q tag as it follows an Ethernet header whose EtherType is
// EtherTypeVLAN (the TPID); the view starts at the TCI.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| PCP |D|        VLAN ID        |        Inner EtherType        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	D = drop eligible indicator (DEI)
const (
	vlanTCI  = 0
	vlanType = 2
)

// VLANLen is the number of bytes a VLAN tag adds to an Ethernet header.
const VLANLen = 4

// VLAN is a view of an 802.1Q tag (TCI and inner EtherType), normally
// Ethernet.Payload() of a frame whose Type is EtherTypeVLAN. Accessors are
// unchecked: the view must hold at least VLANLen bytes (see ParseVLAN).
type VLAN []byte

// ParseVLAN returns b as a VLAN view and reports whether b holds a whole
// tag. The view keeps the bytes after the tag so that Payload works.
func ParseVLAN(b []byte) (VLAN, bool) {
	if len(b) < VLANLen {
		return nil, false
	}
	return VLAN(b), true
}

// TCI returns the whole 16-bit tag control information.
func (v VLAN) TCI() uint16 { return binary.BigEndian.Uint16(v[vlanTCI:]) }

// ID returns the 12-bit VLAN identifier.
func (v VLAN) ID() uint16 { return binary.BigEndian.Uint16(v[vlanTCI:]) & 0x0fff }

// PCP returns the 3-bit priority code point.
func (v VLAN) PCP() uint8 { return v[vlanTCI] >> 5 }

// DEI reports whether the drop eligible indicator is set.
func (v VLAN) DEI() bool { return v[vlanTCI]&0x10 != 0 }

// Type returns the EtherType of the tagged payload.
func (v VLAN) Type() EtherType { return EtherType(binary.BigEndian.Uint16(v[vlanType:])) }

// SetTCI sets the whole tag control information.
func (v VLAN) SetTCI(tci uint16) { binary.BigEndian.PutUint16(v[vlanTCI:], tci) }

// SetID sets the VLAN identifier (low 12 bits of id), keeping PCP and DEI.
func (v VLAN) SetID(id uint16) {
	binary.BigEndian.PutUint16(v[vlanTCI:], binary.BigEndian.Uint16(v[vlanTCI:])&0xf000|id&0x0fff)
}

// SetPCP sets the priority code point (low 3 bits of p), keeping DEI and ID.
func (v VLAN) SetPCP(p uint8) { v[vlanTCI] = v[vlanTCI]&0x1f | p<<5 }

// SetDEI sets or clears the drop eligible indicator.
func (v VLAN) SetDEI(d bool) {
	if d {
		v[vlanTCI] |= 0x10
	} else {
		v[vlanTCI] &^= 0x10
	}
}

// SetType sets the EtherType of the tagged payload.
func (v VLAN) SetType(t EtherType) { binary.BigEndian.PutUint16(v[vlanType:], uint16(t)) }

// Payload returns the bytes after the tag.
func (v VLAN) Payload() []byte { return v[VLANLen:] }
