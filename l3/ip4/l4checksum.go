package ip4

import (
	"math/bits"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// completeL4Checksums finishes, for ip4-input, the TCP and UDP checksums
// that a sender with checksum offload left for the hardware (the field
// holds the folded pseudo-header sum; see wire.IPv4.CompletePartialL4Checksum,
// which also says why completing a checksum that was already right is
// harmless and what a corrupted packet that looks partial gets). ip4-input
// marks the candidates in partial (bit k for idx[k]) with the cheap test
// wire.IPv4.MaybePartialL4Checksum while it has the header in cache, after
// its header checks passed and only for packets whose driver did not
// finish the checksum (pkt.FlagL4ChecksumOK) and whose interface can carry
// a partial one at all (not iface.Interface.ChecksumsComplete, as a memif
// is: for those the test is skipped); this pass runs only when
// there are candidates, forwarded and host-bound alike. A completed packet
// is marked FlagL4ChecksumOK, so that the host stack does not sum it
// again. It returns how many it completed, for l4_checksum_completed.
func completeL4Checksums(a *pkt.Arena, idx []pkt.Index, partial *[pkt.VectorSize / 64]uint64) uint64 {
	var completed uint64
	for w, word := range partial {
		for word != 0 {
			k := w<<6 | bits.TrailingZeros64(word)
			word &= word - 1
			m, l3 := a.L3(idx[k])
			if !wire.IPv4(l3).CompletePartialL4Checksum() {
				continue
			}
			m.Flags |= pkt.FlagL4ChecksumOK
			completed++
		}
	}
	return completed
}
