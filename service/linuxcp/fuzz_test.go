package linuxcp

import (
	"github.com/vecnet/vecnet/l2/ethernet"
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// FuzzARPMirror: linux-cp-arp reads any frame from any port without
// panicking, passes every frame on to ethernet-input unchanged and copies
// at most the ARP replies (the harness audits the buffers).
func FuzzARPMirror(f *testing.F) {
	mac, peer := wire.MAC{2, 0, 0, 0, 0, 1}, wire.MAC{2, 0, 0, 0, 0, 2}
	f.Add(frames.ARP(wire.ARPReply, peer, [4]byte{10, 0, 0, 2}, mac, mac, [4]byte{10, 0, 0, 1}), uint8(0))
	f.Add(frames.ARP(wire.ARPRequest, peer, [4]byte{10, 0, 0, 2}, wire.BroadcastMAC, wire.MAC{}, [4]byte{10, 0, 0, 1}), uint8(0))
	f.Add(frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 0, 2}, Dst: [4]byte{10, 0, 0, 1}}), uint8(0))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 6}, uint8(0))
	f.Add([]byte{}, uint8(3))
	f.Fuzz(func(t *testing.T, frame []byte, rx uint8) {
		if len(frame) == 0 || len(frame) > pkt.DataCap {
			return
		}
		h := graphtest.New(t, ARPNode(testPairs(t)), graphtest.Options{Slots: 8})
		r := h.Run(graphtest.Packet{Data: frame, Meta: pkt.Meta{RxPort: uint16(rx % 4)}})
		if r.Out[0].Where() != ethernet.NodeName || string(r.Out[0].Data) != string(frame) {
			t.Fatalf("frame went to %s (changed %v)", r.Out[0].Where(), string(r.Out[0].Data) != string(frame))
		}
		if copies := len(r.Extra); copies > 1 || copies == 1 && (!isARPReply(frame) || rx%4 != 0) {
			t.Fatalf("%d copies of a frame from port %d (ARP reply %v)", copies, rx%4, isARPReply(frame))
		}
	})
}
