package dnszone

// DNS message header (RFC 1035 4.1.1), 12 bytes, all fields big-endian:
//
//	 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
//	+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//	|                      ID                       |  0
//	|QR|  Opcode   |AA|TC|RD|RA| Z|AD|CD|   RCODE   |  2
//	|                    QDCOUNT                    |  4
//	|                    ANCOUNT                    |  6
//	|                    NSCOUNT                    |  8
//	|                    ARCOUNT                    | 10
//	+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//
// The question (QNAME, QTYPE, QCLASS) starts at offset 12.
const (
	hdrLen     = 12
	offFlags   = 2
	offQDCount = 4
	offANCount = 6
	offNSCount = 8
	offARCount = 10

	flagQR     = 1 << 15
	flagAA     = 1 << 10
	flagTC     = 1 << 9
	flagRD     = 1 << 8
	flagCD     = 1 << 4
	opcodeMask = 0xF << 11

	maxNameLen  = 255
	maxLabelLen = 63
	udpMinLimit = 512
)

// Response codes.
const (
	rcodeNoError    = 0
	rcodeFormErr    = 1
	rcodeNXDomain   = 3
	rcodeNotImp     = 4
	rcodeRefused    = 5
	extRcodeBadVers = 1 // upper 8 bits of the 12-bit rcode 16, carried in OPT
)

// RR types and classes used here.
const (
	typeA     = 1
	typeNS    = 2
	typeCNAME = 5
	typeSOA   = 6
	typeMX    = 15
	typeTXT   = 16
	typeAAAA  = 28
	typeOPT   = 41
	typeIXFR  = 251 // 251..255: IXFR, AXFR, MAILB, MAILA, ANY
	typeANY   = 255

	classIN  = 1
	classANY = 255
)

// OPT pseudo-RR (RFC 6891 6.1.2) as we send it: root owner, type 41,
// class = our UDP payload size, TTL = extended rcode, version, DO|Z, no
// options.
//
//	00 | 00 29 | 04 d0 | ext ver | DO.. .... | 00 00
const (
	optLen          = 11
	ourUDPPayload   = 1232
	optFlagDO       = 1 << 15
	optOffExtRcode  = 5
	optOffFlags     = 7
	optOffClassSize = 3
)

// Slots of the per-name response table: one per supported query type plus
// slotOther for every other type.
const (
	slotA = iota
	slotNS
	slotCNAME
	slotSOA
	slotMX
	slotTXT
	slotAAAA
	slotOther
	numSlots
)

// slotTypes is the query type compiled into each slot; slotOther uses a
// private-use type that never has records.
var slotTypes = [numSlots]uint16{typeA, typeNS, typeCNAME, typeSOA, typeMX, typeTXT, typeAAAA, 65280}

// typeSlot maps a query type to its response slot.
func typeSlot(t uint16) int {
	switch t {
	case typeA:
		return slotA
	case typeNS:
		return slotNS
	case typeCNAME:
		return slotCNAME
	case typeSOA:
		return slotSOA
	case typeMX:
		return slotMX
	case typeTXT:
		return slotTXT
	case typeAAAA:
		return slotAAAA
	}
	return slotOther
}

func be16(b []byte) uint16 { _ = b[1]; return uint16(b[0])<<8 | uint16(b[1]) }

func put16(b []byte, v uint16) { _ = b[1]; b[0] = byte(v >> 8); b[1] = byte(v) }

// lower returns c lower-cased if it is an ASCII capital letter. Label
// length bytes (< 64) are never capitals, so it may be applied to a whole
// wire-format name.
func lower(c byte) byte {
	if c-'A' < 26 {
		return c + ('a' - 'A')
	}
	return c
}

// FNV-1a, 32 bits.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)
