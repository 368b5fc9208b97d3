package daemon_test

import (
	"testing"

	"vecnet/internal/testutil"
)

// defaultOffloadCases are the drivers that need no help from ip4-input
// with peers at their default offloads: the AF_PACKET port gets the
// checksum state and the segment size with each frame (PACKET_VNET_HDR).
// AF_XDP frames of MTU size keep their partial checksums, which ip4-input
// completes (branch h-csum); add the afxdp cases here once that is in.
var defaultOffloadCases = []routerCase{
	{"afpacket", "afpacket", ""},
}

// TestRouterPeersAtDefaultOffloads: the rig's veth ends get their defaults
// back (TX checksum offload, TSO, GSO on: the rig turns them off), so host
// A's kernel hands the router 64 KiB super-frames with partial checksums;
// TCP through vecnet must still carry every byte, both ways.
func TestRouterPeersAtDefaultOffloads(t *testing.T) {
	testutil.RequireTool(t, "ethtool")
	for _, rc := range defaultOffloadCases {
		t.Run(rc.name, func(t *testing.T) {
			rig, d := startRouter(t, rc)
			for _, end := range rig.Links() {
				if out, err := end.NS.Run("ethtool", "-K", end.Dev, "tx", "on", "tso", "on", "gso", "on"); err != nil {
					t.Fatalf("ethtool on %s: %v\n%s", end.Dev, err, out)
				}
			}
			t.Run("tcp bytes exactly", func(t *testing.T) { httpTransfer(t, d, rig) })
			t.Run("iperf3 tcp", func(t *testing.T) { iperf(t, d, rig, false) })
			for _, row := range d.Offload() {
				t.Logf("%s: segmented %d super-frames into %d, completed %d checksums", row.Name,
					row.Counters.Segmented, row.Counters.Segments, row.Counters.Completed)
				row.Counters.Each(func(name string, n uint64) { t.Errorf("%s: %s %d", row.Name, name, n) })
			}
		})
	}
}
