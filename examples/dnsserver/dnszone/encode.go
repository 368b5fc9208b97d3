package dnszone

import "encoding/binary"

// encoder appends DNS wire format to b, compressing names against every
// name suffix it has written when comp is non-nil. Compile time only.
type encoder struct {
	b    []byte
	comp map[string]int // lower-case wire suffix -> offset in b
}

func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

// name appends the wire-format name n (lower case, root-terminated).
func (e *encoder) name(n string) {
	for i := 0; n[i] != 0; i += 1 + int(n[i]) {
		if e.comp != nil {
			if off, ok := e.comp[n[i:]]; ok {
				e.u16(0xC000 | uint16(off))
				return
			}
			if len(e.b) < 0x3FFF {
				e.comp[n[i:]] = len(e.b)
			}
		}
		e.b = append(e.b, n[i:i+1+int(n[i])]...)
	}
	e.b = append(e.b, 0)
}

// rr appends r with the given TTL.
func (e *encoder) rr(r *record, ttl uint32) {
	e.name(r.owner)
	e.rrBody(r, ttl)
}

// rrBody appends everything of r after its owner name.
func (e *encoder) rrBody(r *record, ttl uint32) {
	e.u16(r.typ)
	e.u16(classIN)
	e.u32(ttl)
	at := len(e.b)
	e.u16(0)
	switch r.typ {
	case typeNS, typeCNAME:
		e.name(r.names[0])
	case typeMX:
		e.u16(r.pref)
		e.name(r.names[0])
	case typeSOA:
		e.name(r.names[0])
		e.name(r.names[1])
		for _, v := range r.soa {
			e.u32(v)
		}
	default:
		e.b = append(e.b, r.rdata...)
	}
	binary.BigEndian.PutUint16(e.b[at:], uint16(len(e.b)-at-2))
}
