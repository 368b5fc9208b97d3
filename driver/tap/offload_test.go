package tap

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/driver/offload/offloadtest"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestRecvFromTSOPeer: a kernel TCP sender at the veth defaults (TSO, GSO,
// TX checksum offload on) in one namespace sends 8 MiB through a bridge to
// a listener in another; the bridge, with learning off, floods every frame
// to the tap as well, so the port receives what the kernel transmits on a
// tap it may hand super-frames to. Every frame the port delivers must fit a
// slot with valid IPv4 and TCP checksums, together carrying the whole
// stream, and some must have come as super-frames (the kernel used the
// offloads offered).
func TestRecvFromTSOPeer(t *testing.T) {
	testutil.RequireTool(t, "ethtool")
	const size = 8 << 20
	nsA := testutil.NewNS(t, "tapoa") // bridge and tap
	nsB := testutil.NewNS(t, "tapob") // sender
	nsC := testutil.NewNS(t, "tapoc") // listener
	a, b := testutil.Name("tpa"), testutil.Name("tpb")
	c, d := testutil.Name("tpc"), testutil.Name("tpd")
	testutil.Veth(t, nsA, a, nsB, b)
	testutil.Veth(t, nsA, d, nsC, c)
	nsB.Run("ip", "addr", "add", "10.78.0.2/24", "dev", b)
	nsC.Run("ip", "addr", "add", "10.78.0.3/24", "dev", c)
	offloadtest.RequireOffloads(t, nsB, b)

	cache := pkttest.NewPool(t, 4096).NewCache() // audited when the test ends
	name := testutil.Name("tpt")
	var ifc *Interface
	if err := nsA.Do(func() (err error) { ifc, err = Open(Config{Name: name}); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ifc.Close(cache) })
	// ageing_time 0 and learning off: a hub. Learning alone is turned off
	// per port after the port joins, and what the bridge learned before
	// (the hosts' IPv6 chatter as their links come up) would otherwise
	// steer the stream past the tap for minutes.
	nsA.Run("ip", "link", "add", "br0", "type", "bridge", "ageing_time", "0")
	nsA.Run("ip", "link", "set", "br0", "up")
	for _, port := range []string{a, d, name} {
		nsA.Run("ip", "link", "set", port, "master", "br0")
		nsA.Run("ip", "link", "set", port, "type", "bridge_slave", "learning", "off")
	}
	// The tap's queue (1000 frames) may overflow while the port is slow;
	// the kernel counts that as tx drops on the tap.
	tp := offloadtest.TSOPeer{NSRecv: nsC, NSSend: nsB, Addr: "10.78.0.3", Port: ifc.ports[0], Cache: cache,
		Drops:     func() uint64 { return tapTxDropped(t, nsA, name) },
		DropsName: "tap queue overflow, the tap's tx_dropped",
		Describe:  func() string { return "tap:\n" + nsA.Run("ip", "-s", "link", "show", name) },
	}
	tp.Run(t, size)
}

// tapTxDropped reads the kernel's count of frames the tap's queue dropped.
func tapTxDropped(t *testing.T, ns *testutil.NS, dev string) uint64 {
	t.Helper()
	out := ns.Run("cat", "/sys/class/net/"+dev+"/statistics/tx_dropped")
	n, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
