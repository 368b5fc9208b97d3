package daemon_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/service/policer"
)

// ospfPrefix is what host B's BIRD originates into OSPF (an external
// route); ospfTarget is an address in it that host B answers for.
var ospfPrefix = netip.MustParsePrefix("10.140.0.0/24")

const ospfTarget = "10.140.0.1"

// ospfIface is an OSPF point-to-point interface with short timers (the
// hellos still go to AllSPFRouters, 224.0.0.5).
const ospfIface = `interface "%s" { type ptp; hello 1; dead 4; retransmit 2; };`

// peerOSPF is host B's BIRD: OSPFv2 on its eth0, exporting a static route
// as an external LSA.
func peerOSPF() string {
	return fmt.Sprintf(`router id %s;
protocol device {}
protocol static originated { ipv4; route %s blackhole; }
protocol ospf v2 core {
  ipv4 { import all; export where source = RTS_STATIC; };
  area 0 { %s };
}
`, topo.HostBAddr, ospfPrefix, fmt.Sprintf(ospfIface, topo.HostDev))
}

// routerOSPF is the router's BIRD, on vecnet's host interface lcp-rb: what
// OSPF learns inside 10.140.0.0/16 goes to the kernel's main table, which
// linux-cp mirrors into vecnet's FIB.
func routerOSPF() string {
	return fmt.Sprintf(`router id %s;
protocol device {}
protocol kernel { ipv4 { import none; export where net ~ [ 10.140.0.0/16+ ]; }; }
protocol ospf v2 core {
  ipv4 { import all; export none; };
  area 0 { %s };
}
`, topo.RouterBAddr, fmt.Sprintf(ospfIface, "lcp-"+topo.RouterB))
}

// TestLinuxCPOSPF: BIRD's OSPF on vecnet's linux-cp TAP forms an adjacency
// with a BIRD in host B's namespace — its hellos and LSAs to 224.0.0.5
// punted by vecnet to the kernel, the kernel's multicast injected out of
// rb with the group's MAC — and learns host B's route, which vecnet's FIB
// then has (netlink mirror) and forwards to.
func TestLinuxCPOSPF(t *testing.T) {
	testutil.RequireTool(t, "bird")
	testutil.RequireTool(t, "birdc")
	testutil.RequireTool(t, "tshark")
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.LinuxCP = append(c.LinuxCP, config.LinuxCP{Interface: topo.RouterB, HostIf: "lcp-" + topo.RouterB,
			Punt: policer.Config{Mode: policer.SingleRate, CIR: config.DefaultPuntRate, CBS: config.DefaultPuntBurst, EBS: config.DefaultPuntBurst}})
	}, daemon.Options{NoCLI: true})
	mustRun(t, d, rig.B, "ip", "addr", "add", ospfTarget+"/32", "dev", "lo")

	dir := t.TempDir()
	peerSock := startBIRD(t, rig.B, dir, "peer", peerOSPF())
	routerSock := startBIRD(t, rig.R, dir, "router", routerOSPF())

	inFIB := func() bool {
		for _, r := range d.DP.FIB.Routes() {
			if r.Kind == fib.KindStatic && r.Prefix == ospfPrefix {
				return true
			}
		}
		return false
	}
	start := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for !inFIB() {
		if time.Now().After(deadline) {
			r, _ := rig.R.Run("birdc", "-s", routerSock, "show", "ospf", "neighbors")
			p, _ := rig.B.Run("birdc", "-s", peerSock, "show", "ospf", "neighbors")
			k, _ := rig.R.Run("ip", "route")
			t.Fatalf("%v not in vecnet's FIB after 60 s\nrouter's neighbours:\n%s\npeer's neighbours:\n%s\nrouter's kernel routes:\n%s\nvecnet errors:\n%s",
				ospfPrefix, r, p, k, errorsText(d))
		}
		time.Sleep(50 * time.Millisecond) // polling the FIB, not synchronisation
	}
	t.Logf("%v in vecnet's FIB %v after the router's BIRD started", ospfPrefix, time.Since(start).Round(time.Millisecond))
	for _, c := range []struct {
		ns   topo.NS
		sock string
	}{{rig.R, routerSock}, {rig.B, peerSock}} {
		if out := mustRun(t, d, c.ns, "birdc", "-s", c.sock, "show", "ospf", "neighbors"); !strings.Contains(out, "Full") {
			t.Errorf("%s: no full adjacency:\n%s", c.ns.Name, out)
		}
	}

	// The router's hellos reach host B from vecnet's rb as the kernel built
	// them: to AllSPFRouters' MAC, from the interface's.
	hello := mustRun(t, d, rig.B, "tshark", "-n", "-i", topo.HostDev, "-c", "1", "-a", "duration:10",
		"-f", "ip proto 89 and src host "+topo.RouterBAddr, "-T", "fields", "-e", "eth.dst", "-e", "eth.src", "-e", "ip.dst", "-e", "ospf.msg")
	var f []string // the fields of the packet's line (tshark's messages are mixed in)
	for _, line := range strings.Split(hello, "\n") {
		if strings.Count(line, "\t") >= 2 {
			f = strings.Split(line, "\t")
		}
	}
	if len(f) < 3 || f[0] != "01:00:5e:00:00:05" || f[1] != topo.RouterBMAC || f[2] != "224.0.0.5" {
		t.Errorf("router's OSPF packet on host B: %q, want to 01:00:5e:00:00:05 / 224.0.0.5 from %s", hello, topo.RouterBMAC)
	}

	// vecnet forwards to the learned route.
	mustRun(t, d, rig.A, "ping", "-c", "3", "-i", "0.2", "-W", "2", ospfTarget)

	counts := map[string]uint64{}
	for _, rows := range d.Errors() {
		for _, r := range rows {
			counts[r.Node+"/"+r.Name] += r.Count
		}
	}
	t.Logf("ip4-input multicast_punted %d, linux-cp-punt punted %d, linux-cp-inject injected %d, ip4-input multicast %d",
		counts["ip4-input/multicast_punted"], counts["linux-cp-punt/punted"], counts["linux-cp-inject/injected"], counts["ip4-input/multicast"])
	if counts["ip4-input/multicast_punted"] == 0 || counts["linux-cp-inject/injected"] == 0 {
		t.Errorf("multicast punted %d, injected %d: want both above 0", counts["ip4-input/multicast_punted"], counts["linux-cp-inject/injected"])
	}
}
