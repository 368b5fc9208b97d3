package ip4

import (
	"vecnet/graph"
	"vecnet/pkt"
	"vecnet/wire"
)

// completeL4Checksums finishes, for ip4-input, the TCP and UDP checksums
// that a sender with checksum offload left for the hardware (the field
// holds the folded pseudo-header sum; see wire.IPv4.CompletePartialL4Checksum,
// which also says why completing a checksum that was already right is
// harmless and what a corrupted packet that looks partial gets). It runs
// once per vector, after ip4-input's header checks, over the packets they
// passed (nexts[k] is not the drop edge; their Meta.Len ends at the IPv4
// total length), forwarded and host-bound alike, and skips packets whose
// driver already finished the checksum (pkt.FlagL4ChecksumOK). A
// completed packet is marked FlagL4ChecksumOK, so that the host stack does
// not sum it again. It returns how many it completed, for
// l4_checksum_completed.
//
// A pass of its own rather than a call in ip4-input's loop: Go keeps no
// register across a call, so a call per packet there would make the loop
// reload its state for every packet.
func completeL4Checksums(a *pkt.Arena, idx []pkt.Index, nexts []uint16) uint64 {
	var completed uint64
	nexts = nexts[:len(idx)]
	for k, i := range idx {
		if nexts[k] == graph.NextDrop {
			continue
		}
		m, l3 := a.L3(i)
		if m.Flags&pkt.FlagL4ChecksumOK != 0 || !wire.IPv4(l3).CompletePartialL4Checksum() {
			continue
		}
		m.Flags |= pkt.FlagL4ChecksumOK
		completed++
	}
	return completed
}
