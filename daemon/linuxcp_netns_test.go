package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/service/policer"
)

// bgpRoutes is how many /24s the peer's BIRD originates: 10.128.0.0/24,
// 10.128.1.0/24 ... (10.128.0.0/9 holds them).
const bgpRoutes = 10000

var bgpSpace = netip.MustParsePrefix("10.128.0.0/9")

// bgpTarget is an address host B answers for, inside one of the routes.
const bgpTarget = "10.130.5.1"

// startBIRD runs bird in ns with conf, its control socket in dir; it is
// killed when the test ends. It returns the control socket's path.
func startBIRD(t *testing.T, ns topo.NS, dir, name, conf string) string {
	t.Helper()
	cf := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, name+".ctl")
	cmd := ns.Command("bird", "-f", "-c", cf, "-s", sock, "-P", filepath.Join(dir, name+".pid"))
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("bird %s output:\n%s", name, out.String())
		}
	})
	testutil.Eventually(t, 10*time.Second, "bird "+name+" control socket", func() bool {
		_, err := ns.Run("birdc", "-s", sock, "show", "status")
		return err == nil
	})
	return sock
}

// peerBIRD is host B's BIRD: a static protocol with bgpRoutes /24s,
// exported over eBGP to the router's address.
func peerBIRD() string {
	var b strings.Builder
	fmt.Fprintf(&b, "router id %s;\nprotocol device {}\nprotocol static originated {\n  ipv4;\n", topo.HostBAddr)
	for i := range bgpRoutes {
		fmt.Fprintf(&b, "  route 10.%d.%d.0/24 blackhole;\n", 128+i/256, i%256)
	}
	fmt.Fprintf(&b, "}\n"+bgpProto, topo.HostBAddr, 65002, topo.RouterBAddr, 65001, "none", "all")
	return b.String()
}

// routerBIRD is the router's BIRD, on vecnet's host interfaces: what it
// learns over BGP goes to the kernel's main table.
func routerBIRD() string {
	return fmt.Sprintf("router id %s;\nprotocol device {}\nprotocol kernel {\n  ipv4 { import none; export all; };\n}\n"+bgpProto,
		topo.RouterBAddr, topo.RouterBAddr, 65001, topo.HostBAddr, 65002, "all", "none")
}

// bgpProto is an eBGP session with short retry timers (a test should not
// wait for BIRD's 120 s connect retry).
const bgpProto = `protocol bgp peer {
  local %s as %d;
  neighbor %s as %d;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 5;
  hold time 30;
  ipv4 { import %s; export %s; };
}
`

// bgpInFIB counts vecnet's static routes inside bgpSpace.
func bgpInFIB(d *daemon.Daemon) int {
	n := 0
	for _, r := range d.DP.FIB.Routes() {
		if r.Kind == fib.KindStatic && bgpSpace.Overlaps(r.Prefix) {
			n++
		}
	}
	return n
}

// TestLinuxCPBGP: vecnet routes between hosts A and B with a linux-cp
// TAP for each of its interfaces in the router namespace. BIRD runs there
// on the TAPs and peers over eBGP (its TCP punted to the kernel, the
// kernel's replies and ARP injected through vecnet) with a BIRD in host
// B's namespace that originates 10 000 routes. vecnet's FIB must get them
// all from the kernel (netlink), forward to an address inside one, and
// lose them all within a second of the peer withdrawing them. With two
// workers the TAPs have a queue per worker (IFF_MULTI_QUEUE).
func TestLinuxCPBGP(t *testing.T) {
	testutil.RequireTool(t, "bird")
	testutil.RequireTool(t, "birdc")
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { testLinuxCPBGP(t, workers) })
	}
}

func testLinuxCPBGP(t *testing.T, workers int) {
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.Workers = workers
		for _, dev := range []string{topo.RouterA, topo.RouterB} {
			c.LinuxCP = append(c.LinuxCP, config.LinuxCP{Interface: dev, HostIf: "lcp-" + dev,
				Punt: policer.Config{Mode: policer.SingleRate, CIR: config.DefaultPuntRate, CBS: config.DefaultPuntBurst, EBS: config.DefaultPuntBurst}})
		}
	}, daemon.Options{NoCLI: true})

	// The kernel sees the TAPs with vecnet's MACs and addresses.
	out := mustRun(t, d, rig.R, "ip", "-br", "addr", "show", "dev", "lcp-"+topo.RouterB)
	if !strings.Contains(out, topo.RouterBAddr+"/24") {
		t.Fatalf("host interface: %s", out)
	}
	out = mustRun(t, d, rig.R, "ip", "link", "show", "dev", "lcp-"+topo.RouterB)
	if !strings.Contains(out, topo.RouterBMAC) || !strings.Contains(out, ",UP") {
		t.Fatalf("host interface: %s, want up with MAC %s", out, topo.RouterBMAC)
	}
	mustRun(t, d, rig.B, "ip", "addr", "add", bgpTarget+"/32", "dev", "lo")

	dir := t.TempDir()
	peerSock := startBIRD(t, rig.B, dir, "peer", peerBIRD())
	start := time.Now()
	startBIRD(t, rig.R, dir, "router", routerBIRD())

	testutil.Eventually(t, 60*time.Second, "vecnet's FIB gets the 10 000 BGP routes", func() bool {
		return d.LinuxCPStats().Installed >= bgpRoutes
	})
	learned := time.Since(start)
	if n := bgpInFIB(d); n != bgpRoutes {
		t.Fatalf("%d BGP routes in vecnet's FIB, want %d", n, bgpRoutes)
	}
	t.Logf("%d routes in vecnet's FIB %v after the router's BIRD started; mirror %+v", bgpRoutes, learned.Round(time.Millisecond), d.LinuxCPStats())
	if out := show(t, d, "show linux-cp"); !regexp.MustCompile(`(?m)^rb +lcp-rb `).MatchString(out) || !strings.Contains(out, "routes installed 10000 ") {
		t.Errorf("show linux-cp:\n%s", out)
	}

	// vecnet forwards to an address inside one of them.
	mustRun(t, d, rig.A, "ping", "-c", "3", "-i", "0.2", "-W", "2", bgpTarget)

	// The peer withdraws its routes: gone from vecnet's FIB within a second.
	withdraw := time.Now()
	mustRun(t, d, rig.B, "birdc", "-s", peerSock, "disable", "originated")
	testutil.Eventually(t, 10*time.Second, "the withdrawn routes leave vecnet's FIB", func() bool {
		return d.LinuxCPStats().Installed == 0
	})
	took := time.Since(withdraw)
	if n := bgpInFIB(d); n != 0 {
		t.Fatalf("%d BGP routes left in vecnet's FIB after the withdrawal", n)
	}
	t.Logf("withdrawal of %d routes: gone from vecnet's FIB in %v; mirror %+v", bgpRoutes, took.Round(time.Millisecond), d.LinuxCPStats())
	if took > time.Second {
		t.Errorf("withdrawal took %v, want within 1 s", took)
	}
	if _, err := rig.A.Run("ping", "-c", "1", "-W", "1", bgpTarget); err == nil {
		t.Errorf("ping %s still answered after the withdrawal", bgpTarget)
	}

	// What went to the kernel and back.
	counts := map[string]uint64{}
	for _, rows := range d.Errors() {
		for _, r := range rows {
			counts[r.Node+"/"+r.Name] += r.Count
		}
	}
	t.Logf("punted %d (policed %d), ARP replies copied %d, injected %d, ip4-local punted %d",
		counts["linux-cp-punt/punted"], counts["linux-cp-punt/policed"], counts["linux-cp-arp/punted"],
		counts["linux-cp-inject/injected"], counts["ip4-local/punted"])
	for _, c := range []string{"linux-cp-punt/punted", "linux-cp-arp/punted", "linux-cp-inject/injected"} {
		if counts[c] == 0 {
			t.Errorf("%s is 0", c)
		}
	}
}

// TestLinuxCPPuntPolicer floods the router's own address with UDP that no
// vecnet node takes (no host stack): it is punted to the kernel behind a
// 1 Mbit/s punt policer. What the policer lets through is the burst plus
// the rate over the flood's duration, the rest is counted as policed, and
// the kernel's TAP receives exactly what was punted (its answers, port
// unreachables, are injected back through vecnet).
func TestLinuxCPPuntPolicer(t *testing.T) {
	testutil.RequireTool(t, "hping3")
	const (
		rate  = 1_000_000 / 8 // bytes per second
		burst = 16 << 10
	)
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.LinuxCP = []config.LinuxCP{{Interface: topo.RouterA, HostIf: "lcp-ra",
			Punt: policer.Config{Mode: policer.SingleRate, CIR: rate, CBS: burst, EBS: burst}}}
	}, daemon.Options{NoCLI: true})
	tapRx := func() uint64 {
		var n uint64
		out := mustRun(t, d, rig.R, "cat", "/sys/class/net/lcp-ra/statistics/rx_packets")
		fmt.Sscan(out, &n)
		return n
	}
	rx0 := tapRx()
	start := time.Now()
	// 2000 datagrams of 1000 bytes at ~10 000/s: ~80 Mbit/s for ~0.2 s.
	mustRun(t, d, rig.A, "hping3", "-q", "-2", "-p", "9", "-d", "1000", "-i", "u100", "-c", "2000", topo.RouterAAddr)
	elapsed := time.Since(start)
	counts := func() map[string]uint64 {
		c := map[string]uint64{}
		for _, rows := range d.Errors() {
			for _, r := range rows {
				c[r.Node+"/"+r.Name] += r.Count
			}
		}
		return c
	}
	// Wait for the counters to settle (a datagram the veth or the XDP
	// ring dropped under the flood never reaches the punt node).
	last, since := uint64(0), time.Now()
	testutil.Eventually(t, 10*time.Second, "punt counters settle", func() bool {
		c := counts()
		n := c["linux-cp-punt/punted"] + c["linux-cp-punt/policed"]
		if n != last {
			last, since = n, time.Now()
		}
		return n == 2000 || n > 0 && time.Since(since) > 500*time.Millisecond
	})
	c := counts()
	punted, policed := c["linux-cp-punt/punted"], c["linux-cp-punt/policed"]
	frame := uint64(14 + 20 + 8 + 1000)
	limit := (2*burst + uint64(elapsed.Seconds()*rate)) / frame // CBS + EBS, then the rate
	t.Logf("%d datagrams in %v: punted %d (limit %d), policed %d; kernel TAP received %d",
		2000, elapsed.Round(time.Millisecond), punted, limit, policed, tapRx()-rx0)
	if punted+policed < 1900 || policed == 0 || punted > limit+1 || punted < 2*(burst/frame) {
		t.Errorf("punted %d policed %d: want (nearly) 2000 in all, at most %d punted, at least the bursts' %d\nvecnet errors: %s",
			punted, policed, limit+1, 2*(burst/frame), errorsText(d))
	}
	// The kernel answers with port unreachables: its ARP for host A brings
	// a reply that linux-cp-arp copies to the TAP too.
	sent := punted + counts()["linux-cp-arp/punted"]
	testutil.Eventually(t, 5*time.Second, "the kernel receives what was punted", func() bool { return tapRx()-rx0 >= sent })
	if got := tapRx() - rx0; got != sent {
		t.Errorf("kernel TAP received %d frames, vecnet punted %d and copied %d ARP replies", got, punted, sent-punted)
	}
	c = counts()
	if c["linux-cp-inject/injected"] == 0 {
		t.Errorf("nothing injected: the kernel's port unreachables should leave by %s", topo.RouterA)
	}
	// show linux-cp: the pair, its policer, and per pair what the TAP was
	// given (all the kernel received on it) and what it sent back.
	var rep ctl.LinuxCPReport
	if err := json.Unmarshal([]byte(show(t, d, "show linux-cp --json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Pairs) != 1 {
		t.Fatalf("show linux-cp: %+v", rep)
	}
	p := rep.Pairs[0]
	if p.Interface != topo.RouterA || p.HostIf != "lcp-ra" || p.HostIfIndex == 0 || p.PuntRateBits != rate*8 || p.PuntBurst != burst {
		t.Errorf("pair %+v", p)
	}
	if rx := tapRx(); p.Punted != rx || p.Injected == 0 || p.Injected < c["linux-cp-inject/injected"] {
		t.Errorf("pair punted %d (kernel received %d), injected %d (linux-cp-inject counted %d)", p.Punted, rx, p.Injected, c["linux-cp-inject/injected"])
	}
}
