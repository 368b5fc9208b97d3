package daemon_test

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/neighbor"
)

// TestNeighborsWithKernelPeer runs vecnet with two workers (afpacket
// fanout) between kernel hosts, host B holding eight extra addresses:
//   - the first ping to each gets through: its echo request waits in
//     ip4-glean on the worker its flow hashes to, whichever worker the ARP
//     reply lands on (before, a reply on the other worker left the held
//     packet to time out);
//   - with short ageing times, the kernel answers vecnet's unicast probes
//     and the entries stay; an address host B drops stops answering and
//     its entry, /32 and adjacency go.
func TestNeighborsWithKernelPeer(t *testing.T) {
	testutil.RequireTool(t, "ip")
	rig, d := rigRouter(t, topo.RigOptions{Prefix: "vg"}, "afpacket", "", func(cfg *config.Config) {
		cfg.Workers = 2
		for i := range cfg.Interfaces {
			cfg.Interfaces[i].Queues = 2
		}
		cfg.ARP = config.ARP{ReachableTime: time.Second, StaleTime: time.Second, ProbeInterval: 200 * time.Millisecond, Probes: 2}
	}, daemon.Options{NoCLI: true})
	var aliases []string
	for k := 10; k < 18; k++ {
		a := netip.AddrFrom4([4]byte{10, 77, 2, byte(k)}).String()
		aliases = append(aliases, a)
		mustRun(t, d, rig.B, "ip", "addr", "add", a+"/24", "dev", topo.HostDev)
	}
	base := d.DP.Neighbors.Stats()

	for _, a := range aliases {
		// One echo request, answered: the first packet was held and sent.
		mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "3", a)
	}
	if n := errCount(d, neighbor.GleanName, "resolution_timeout"); n != 0 {
		t.Fatalf("%d held packets timed out: %s", n, errorsText(d))
	}
	entry := func(ip string) (neighbor.Entry, bool) {
		for _, e := range d.DP.Neighbors.List() {
			if e.IP.String() == ip {
				return e, true
			}
		}
		return neighbor.Entry{}, false
	}
	for _, a := range aliases {
		if e, ok := entry(a); !ok || net.HardwareAddr(e.MAC[:]).String() != topo.HostBMAC {
			t.Fatalf("%s not learned: %+v", a, d.DP.Neighbors.List())
		}
	}
	t.Logf("after the pings: %s", errorsText(d))

	// Probes are answered: the entries outlive several ageing periods.
	testutil.Eventually(t, 15*time.Second, "probes sent and answered", func() bool {
		return errCount(d, neighbor.GleanName, "probes_sent") >= uint64(len(aliases)) && d.DP.Neighbors.Stats().Expired == 0
	})
	for _, a := range aliases {
		if _, ok := entry(a); !ok {
			t.Fatalf("%s expired although host B answers: %s", a, errorsText(d))
		}
	}

	// Host B drops two addresses: their entries expire, adjacencies freed.
	gone := aliases[:2]
	for _, a := range gone {
		mustRun(t, d, rig.B, "ip", "addr", "del", a+"/24", "dev", topo.HostDev)
	}
	testutil.Eventually(t, 15*time.Second, "entries of the dropped addresses expired", func() bool {
		_, ok0 := entry(gone[0])
		_, ok1 := entry(gone[1])
		return !ok0 && !ok1
	})
	s := d.DP.Neighbors.Stats()
	if s.Expired < 2 {
		t.Errorf("stats %+v: want at least 2 expired", s)
	}
	for _, a := range aliases[2:] {
		if _, ok := entry(a); !ok {
			t.Errorf("%s expired although host B answers", a)
		}
	}
	if s.Adj.Live > base.Adj.Live+len(aliases)-2+2 { // + host A and host B themselves
		t.Errorf("adjacencies %+v, base %+v: the expired ones were not freed", s.Adj, base.Adj)
	}
	// The soak reads the same counts through the CLI.
	var out strings.Builder
	if err := d.CLI.Exec(&out, "show neighbors stats"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "expired "+strconv.FormatUint(s.Expired, 10)+"\n") || !strings.Contains(out.String(), "adjacencies_live ") {
		t.Errorf("show neighbors stats:\n%s", out.String())
	}
	out.Reset()
	if err := d.CLI.Exec(&out, "show neighbors"); err != nil || !strings.Contains(out.String(), aliases[2]) || !strings.Contains(out.String(), "adjacencies:") {
		t.Errorf("show neighbors (%v):\n%s", err, out.String())
	}
	t.Logf("neighbours: %+v\n%s", s, out.String())
	_ = daemon.Options{}
}
