package daemon_test

import (
	"bufio"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l2/bridge"
)

// bridgeHost is a kernel host on a bridge member (or, for the routed
// host, on vecnet's routed interface "up").
type bridgeHost struct {
	ns   topo.NS
	mac  string
	addr string
	dev  string // vecnet's interface on the host's link
}

// startBridge builds three hosts on three vecnet ports in bridge domain 1
// (10.0.9.0/24, BVI 10.0.9.1 with age age) and a fourth host on a routed
// port (10.0.8.0/24), and starts vecnet on driver. Everything is torn
// down when the test ends; a leaked buffer fails it.
func startBridge(t *testing.T, driver string, age time.Duration) ([]bridgeHost, bridgeHost, *daemon.Daemon) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	tp := topo.New("vbr")
	t.Cleanup(func() {
		if err := tp.Close(); err != nil {
			t.Error(err)
		}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := tp.AddNS("r")
	must(err)
	hosts := []bridgeHost{
		{mac: "02:00:00:00:09:11", addr: "10.0.9.11", dev: "br1"},
		{mac: "02:00:00:00:09:12", addr: "10.0.9.12", dev: "br2"},
		{mac: "02:00:00:00:09:13", addr: "10.0.9.13", dev: "br3"},
	}
	up := bridgeHost{mac: "02:00:00:00:08:02", addr: "10.0.8.2", dev: "rt"}
	cfg := &config.Config{Workers: 1}
	setup := func(h *bridgeHost, name, gw string) {
		h.ns, err = tp.AddNS(name)
		must(err)
		for _, ns := range []topo.NS{h.ns} {
			// IPv4 only: no router solicitations or ND to keep MACs alive.
			_, err = ns.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
			must(err)
			_, err = ns.Run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
			must(err)
		}
		must(tp.Veth(h.ns, topo.HostDev, h.mac, r, h.dev, "", 1))
		_, err = h.ns.Run("ip", "addr", "add", h.addr+"/24", "dev", topo.HostDev)
		must(err)
		_, err = h.ns.Run("ip", "route", "add", "default", "via", gw)
		must(err)
		ic := config.Interface{Name: h.dev, Driver: driver, Device: h.dev, Netns: r.Name, MTU: 1500, Queues: 1, RingSize: 4096}
		if driver == "afxdp" {
			ic.XDPMode, ic.Match = "native", config.Match{All: true}
		}
		cfg.Interfaces = append(cfg.Interfaces, ic)
	}
	_, err = r.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	must(err)
	for k := range hosts {
		setup(&hosts[k], "h"+string(rune('1'+k)), "10.0.9.1")
	}
	setup(&up, "h4", "10.0.8.1")
	cfg.Interfaces[3].Addresses = []netip.Prefix{netip.MustParsePrefix("10.0.8.1/24")}
	cfg.Bridges = []config.Bridge{{ID: 1, Age: age, MaxMACs: 64,
		Members: []config.BridgeMember{{Interface: "br1"}, {Interface: "br2"}, {Interface: "br3"}},
		BVI:     &config.BVI{Name: "bvi1", MTU: 1500, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.9.1/24")}}}}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	must(err)
	t.Cleanup(func() { stopClean(t, d) })
	return hosts, up, d
}

// bridgeMACs returns the learnt MACs of domain 1 as MAC -> member.
func bridgeMACs(t *testing.T, d *daemon.Daemon) map[string]string {
	t.Helper()
	rows, err := d.Backend().BridgeMACs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		if r.Bridge == 1 {
			out[r.MAC] = r.Interface
		}
	}
	return out
}

func TestBridgeBetweenNamespaces(t *testing.T) {
	for _, driver := range []string{"afpacket", "afxdp"} {
		t.Run(driver, func(t *testing.T) { bridgeBetweenNamespaces(t, driver) })
	}
}

func bridgeBetweenNamespaces(t *testing.T, driver string) {
	testutil.RequireTool(t, "tshark")
	const age = 3 * time.Second
	hosts, up, d := startBridge(t, driver, age)

	t.Run("ping between all pairs", func(t *testing.T) {
		for _, a := range hosts {
			for _, b := range hosts {
				if a.addr == b.addr {
					continue
				}
				out, err := a.ns.Run("ping", "-c", "2", "-i", "0.2", "-W", "3", b.addr)
				if err != nil || !strings.Contains(out, "2 received") {
					t.Fatalf("%s -> %s: %v\n%s\n%s", a.addr, b.addr, err, out, errorsText(d))
				}
			}
		}
		if errCount(d, bridge.FwdName, "same_interface")+errCount(d, bridge.LearnName, "table_full") != 0 {
			t.Errorf("unexpected bridge drops: %s", errorsText(d))
		}
	})

	t.Run("MAC table", func(t *testing.T) {
		got := bridgeMACs(t, d)
		for _, h := range hosts {
			if got[h.mac] != h.dev {
				t.Errorf("MAC %s on %q, want %s (table %v)", h.mac, got[h.mac], h.dev, got)
			}
		}
		if len(got) != len(hosts) {
			t.Errorf("%d MACs learnt, want %d: %v", len(got), len(hosts), got)
		}
		var b strings.Builder
		if err := d.CLI.Exec(&b, "show bridge"); err != nil || !strings.Contains(b.String(), "br1,br2,br3") || !strings.Contains(b.String(), "bvi1") {
			t.Errorf("show bridge: %v\n%s", err, b.String())
		}
		t.Logf("show bridge:\n%s", b.String())
	})

	t.Run("unknown unicast flooded to the third namespace", func(t *testing.T) {
		const ghostMAC, ghostIP = "02:00:00:00:99:99", "10.0.9.99"
		capture := hosts[2].ns.Command("tshark", "-l", "-n", "-i", topo.HostDev, "-f", "icmp and ether dst "+ghostMAC,
			"-T", "fields", "-e", "eth.dst", "-e", "ip.dst")
		out, err := capture.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var capLog strings.Builder
		capture.Stderr = &capLog
		capture.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := capture.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-capture.Process.Pid, syscall.SIGKILL); capture.Wait() })
		lines := make(chan string, 64)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		if _, err := hosts[0].ns.Run("ip", "neigh", "replace", ghostIP, "lladdr", ghostMAC, "dev", topo.HostDev, "nud", "permanent"); err != nil {
			t.Fatal(err)
		}
		flood := errCount(d, bridge.FloodName, "no_member")
		deadline := time.After(30 * time.Second)
		for seen := false; !seen; {
			hosts[0].ns.Command("ping", "-c", "1", "-W", "1", ghostIP).Run() // no one answers: the pings pace the loop
			for drained := false; !drained && !seen; {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("tshark exited:\n%s", capLog.String())
					}
					f := strings.Fields(l)
					seen = len(f) == 2 && f[0] == ghostMAC && f[1] == ghostIP
				case <-deadline:
					t.Fatalf("tshark on %s saw no frame for the unknown %s in 30 s:\n%s\n%s", hosts[2].addr, ghostMAC, capLog.String(), errorsText(d))
				default:
					drained = true
				}
			}
		}
		if _, ok := bridgeMACs(t, d)[ghostMAC]; ok {
			t.Error("the unknown destination was learnt")
		}
		if n := errCount(d, bridge.FloodName, "no_member") - flood; n != 0 {
			t.Errorf("%d floods found no member", n)
		}
	})

	t.Run("BVI answers and routes", func(t *testing.T) {
		out, err := hosts[0].ns.Run("ping", "-c", "2", "-i", "0.2", "-W", "3", "10.0.9.1")
		if err != nil || !strings.Contains(out, "2 received") {
			t.Fatalf("ping the BVI: %v\n%s\n%s", err, out, errorsText(d))
		}
		for _, p := range []struct {
			from bridgeHost
			to   string
		}{{hosts[0], up.addr}, {hosts[1], up.addr}, {up, hosts[2].addr}} {
			out, err := p.from.ns.Run("ping", "-c", "2", "-i", "0.2", "-W", "3", p.to)
			if err != nil || !strings.Contains(out, "2 received") {
				t.Fatalf("%s -> %s through the BVI: %v\n%s\n%s", p.from.addr, p.to, err, out, errorsText(d))
			}
		}
		// The routed host sees the BVI's subnet through vecnet, TTL decremented once.
		out, _ = up.ns.Run("ping", "-c", "1", "-W", "3", hosts[0].addr)
		if !strings.Contains(out, "ttl=63") {
			t.Errorf("reply from %s through the BVI:\n%s", hosts[0].addr, out)
		}
		if got := bridgeMACs(t, d); len(got) != len(hosts) {
			t.Errorf("MAC table after routing: %v (the BVI's own MAC is not learnt)", got)
		}
	})

	t.Run("ageing", func(t *testing.T) {
		testutil.Eventually(t, age+10*time.Second, "every learnt MAC aged out", func() bool {
			return len(bridgeMACs(t, d)) == 0
		})
		if n := errCount(d, bridge.LearnName, "aged"); n < uint64(len(hosts)) {
			t.Errorf("aged counter %d, want at least %d", n, len(hosts))
		}
		// Traffic learns them again.
		out, err := hosts[1].ns.Run("ping", "-c", "1", "-W", "3", hosts[0].addr)
		if err != nil {
			t.Fatalf("after ageing: %v\n%s", err, out)
		}
		if got := bridgeMACs(t, d); got[hosts[0].mac] != "br1" || got[hosts[1].mac] != "br2" {
			t.Errorf("relearnt: %v", got)
		}
		var b strings.Builder
		if err := d.CLI.Exec(&b, "clear bridge macs"); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "clear bridge macs empties the table", func() bool { return len(bridgeMACs(t, d)) == 0 })
	})
}
