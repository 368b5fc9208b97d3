package ip4

import "github.com/vecnet/vecnet/iface"

// martianSource returns the ip4-input error code for a source address no
// packet from the wire may carry, beyond those ip4-input rejects itself
// (0/8, multicast, broadcast), or -1 when src is acceptable: 127.0.0.0/8
// (RFC 1812 5.3.7: loopback addresses never appear on a link) and the
// router's own addresses (spoofed, or our own packet looped back).
func martianSource(src uint32, set *iface.Set) int {
	if src>>24 == 127 {
		return InErrLoopbackSource
	}
	if set.IsLocal4(src) {
		return InErrOwnSource
	}
	return -1
}
