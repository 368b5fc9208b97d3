package afpacket

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/pkt"
)

// restoreTag puts back, into each frame of idx (one received frame, or
// the segments of a super-frame), the outermost VLAN tag that the kernel
// took out into the frame's metadata (TP_STATUS_VLAN_VALID: a tag
// stripped by the device, or the sender's tag still in skb metadata, as
// veth delivers it, and always after the kernel's own skb_vlan_untag
// before packet taps): the MAC addresses move 4 bytes into the headroom
// and the tag (TPID, 0x8100 unless the ring says otherwise, and TCI) goes
// after them, so ethernet-input sees the frame as it was on the wire. A
// frame with no headroom left keeps its bytes as they are.
func restoreTag(a *pkt.Arena, idx []pkt.Index, status uint32, vlanTPID, tci uint16) {
	tpid := uint16(0x8100)
	if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && vlanTPID != 0 {
		tpid = vlanTPID
	}
	for _, i := range idx {
		if _, ok := a.Push(i, 4); !ok {
			continue
		}
		d := a.Data(i)
		if len(d) < ethHdrLen+4 {
			continue
		}
		copy(d[0:12], d[4:16])
		binary.BigEndian.PutUint16(d[12:14], tpid)
		binary.BigEndian.PutUint16(d[14:16], tci)
	}
}
