package ip4

import (
	"vecnet/pkt"
	"vecnet/wire"
)

// completeL4Checksum finishes, for ip4-input, a TCP or UDP checksum that a
// sender with checksum offload left for the hardware (the field holds the
// folded pseudo-header sum; see wire.IPv4.CompletePartialL4Checksum, which
// also says why completing a checksum that was already right is harmless
// and what a corrupted packet that looks partial gets). It runs for
// forwarded and host-bound packets alike, after the header checks, and
// skips packets whose driver already finished the checksum
// (pkt.FlagL4ChecksumOK). A completed packet is marked FlagL4ChecksumOK,
// so the host stack does not sum it again. It reports whether it
// completed one; the caller counts those under l4_checksum_completed.
func completeL4Checksum(m *pkt.Meta, ip wire.IPv4) bool {
	if m.Flags&pkt.FlagL4ChecksumOK != 0 || !ip.CompletePartialL4Checksum() {
		return false
	}
	m.Flags |= pkt.FlagL4ChecksumOK
	return true
}
