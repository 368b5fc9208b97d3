package wire

// DefaultTTL is the TTL of the IPv4 packets this host originates (Linux's
// default, net.ipv4.ip_default_ttl).
const DefaultTTL = 64

// IPv4Emitter writes the IPv4 headers of the packets one originator sends
// (a UDP socket, a worker's TCP engine, a UDP handler's replies,
// icmp4-error, a traffic generator): 20 bytes without options, TTL and
// flags fixed per originator, an identification counter of its own, the
// header checksum. It is the one IPv4 header emitter of the code base; an
// originator owns its emitter (it is not safe for concurrent use). The
// zero value emits with DefaultTTL and no flags.
type IPv4Emitter struct {
	TTL   uint8 // 0 means DefaultTTL
	Flags uint8 // IPv4FlagDF to forbid fragmentation on the path
	id    uint16
}

// Emit writes into ip (at least IPv4MinLen bytes) the header of a packet
// of protocol proto from src to dst carrying payload bytes after the
// header, with the emitter's next identification, and returns the bytes
// after the header.
func (e *IPv4Emitter) Emit(ip []byte, proto uint8, src, dst [4]byte, payload int) []byte {
	e.id++
	ttl := e.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	f := IPv4Fields{
		TotalLen: uint16(IPv4MinLen + payload),
		ID:       e.id,
		Flags:    e.Flags,
		TTL:      ttl,
		Protocol: proto,
		Src:      src,
		Dst:      dst,
	}
	IPv4(ip).Encode(&f)
	return ip[IPv4MinLen:]
}
