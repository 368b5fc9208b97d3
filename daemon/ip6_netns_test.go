package daemon_test

import (
	"fmt"
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
)

// The IPv6 rig's addresses (only inside the rig's namespaces).
const (
	host6A   = "2001:db8:77:1::2"
	host6B   = "2001:db8:77:2::2"
	router6A = "2001:db8:77:1::1"
	router6B = "2001:db8:77:2::1"
	// dup6 is owned by host A's kernel and also configured on vecnet's
	// interface A: duplicate address detection must refuse it.
	dup6 = "2001:db8:78::99"
)

// startRouter6 builds the rig with IPv6 on (the kernel's defaults, offloads
// included), gives the hosts global addresses and default routes through
// vecnet, and starts vecnet dual-stack on AF_XDP (or drv) with the B link's
// MTU at 1400. It waits until vecnet's addresses passed DAD.
func startRouter6(t *testing.T, drv, xdpMode string) (*topo.Rig, *daemon.Daemon) {
	t.Helper()
	return startRouter6Edit(t, drv, xdpMode, nil)
}

// startRouter6Edit is startRouter6 with edit applied to the configuration
// (when not nil) before vecnet starts.
func startRouter6Edit(t *testing.T, drv, xdpMode string, edit func(*config.Config)) (*topo.Rig, *daemon.Daemon) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "v6", MTUB: mtuB, IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	// The router namespace's kernel keeps out of IPv6 on vecnet's devices.
	for _, dev := range []string{topo.RouterA, topo.RouterB} {
		if _, err := rig.R.Run("sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1"); err != nil {
			t.Fatal(err)
		}
	}
	// The hosts' addresses first (nodad: usable at once), so that host A
	// already owns dup6 when vecnet's DAD asks for it.
	for _, h := range []struct {
		ns         topo.NS
		addr, via  string
		extraAddrs []string
	}{{rig.A, host6A, router6A, []string{dup6}}, {rig.B, host6B, router6B, nil}} {
		cmds := [][]string{{"ip", "-6", "addr", "add", h.addr + "/64", "dev", topo.HostDev, "nodad"}}
		for _, a := range h.extraAddrs {
			cmds = append(cmds, []string{"ip", "-6", "addr", "add", a + "/64", "dev", topo.HostDev, "nodad"})
		}
		cmds = append(cmds, []string{"ip", "-6", "route", "add", "default", "via", h.via})
		for _, c := range cmds {
			if out, err := h.ns.Run(c[0], c[1:]...); err != nil {
				t.Fatalf("%v: %v\n%s", c, err, out)
			}
		}
	}
	cfg := topo.RouterConfig(rig, drv, xdpMode, "")
	cfg.Interfaces[1].MTU = mtuB
	cfg.Interfaces[0].Addresses = append(cfg.Interfaces[0].Addresses, netip.MustParsePrefix(router6A+"/64"), netip.MustParsePrefix(dup6+"/64"))
	cfg.Interfaces[1].Addresses = append(cfg.Interfaces[1].Addresses, netip.MustParsePrefix(router6B+"/64"))
	if edit != nil {
		edit(cfg)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopClean(t, d) })
	deadline := time.Now().Add(10 * time.Second)
	for d.DP.ND.DADPending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("DAD still pending after 10 s: %d addresses; errors %s", d.DP.ND.DADPending(), errorsText(d))
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
	return rig, d
}

func TestRouter6BetweenNamespaces(t *testing.T) {
	for _, rc := range []struct{ name, driver, xdpMode string }{
		{"afxdp-native", "afxdp", "native"},
		{"afpacket", "afpacket", ""},
	} {
		t.Run(rc.name, func(t *testing.T) {
			rig, d := startRouter6(t, rc.driver, rc.xdpMode)

			t.Run("ping -6 both ways and to vecnet", func(t *testing.T) {
				for _, p := range []struct {
					ns  topo.NS
					dst string
				}{{rig.A, host6B}, {rig.B, host6A}, {rig.A, router6A}, {rig.B, router6B}, {rig.A, router6B}} {
					out := mustRun(t, d, p.ns, "ping", "-6", "-c", "3", "-i", "0.1", "-W", "3", p.dst)
					if !strings.Contains(out, "3 received") {
						t.Fatalf("ping -6 %s from %s:\n%s", p.dst, p.ns.Name, out)
					}
				}
				if errCount(d, "ip6-local", "echo_replies") < 9 {
					t.Fatalf("vecnet answered %d echo requests, want 9: %s", errCount(d, "ip6-local", "echo_replies"), errorsText(d))
				}
			})

			t.Run("nd for vecnet's link-local address", func(t *testing.T) {
				ll := "fe80::76:6eff:fe00:101%" + topo.HostDev // EUI-64 of RouterAMAC 02:76:6e:00:01:01
				out := mustRun(t, d, rig.A, "ndisc6", "-1", "-w", "2000", strings.Split(ll, "%")[0], topo.HostDev)
				if !strings.Contains(strings.ToUpper(out), strings.ToUpper(topo.RouterAMAC)) {
					t.Fatalf("ndisc6 for vecnet's link-local address:\n%s\nvecnet errors: %s", out, errorsText(d))
				}
			})

			t.Run("nd with kernel hosts", func(t *testing.T) {
				testutil.RequireTool(t, "ndisc6")
				out := mustRun(t, d, rig.A, "ndisc6", "-1", "-w", "2000", router6A, topo.HostDev)
				if !strings.Contains(strings.ToUpper(out), strings.ToUpper(topo.RouterAMAC)) {
					t.Fatalf("ndisc6 %s did not get vecnet's MAC %s:\n%s\nvecnet errors: %s", router6A, topo.RouterAMAC, out, errorsText(d))
				}
				// vecnet solicited host B when it first forwarded to it.
				found := false
				for _, e := range d.DP.ND.List() {
					if e.IP.String() == host6B && net.HardwareAddr(e.MAC[:]).String() == topo.HostBMAC {
						found = true
					}
				}
				if !found {
					t.Fatalf("host B %s not in vecnet's ND table: %+v", host6B, d.DP.ND.List())
				}
				// Host A's kernel learned vecnet's MAC for the router.
				out = mustRun(t, d, rig.A, "ip", "-6", "neigh", "show", router6A)
				if !strings.Contains(out, topo.RouterAMAC) {
					t.Fatalf("host A's neighbour entry for %s: %q", router6A, out)
				}
			})

			t.Run("hop limit 1 gets time exceeded", func(t *testing.T) {
				out, _ := rig.A.Run("ping", "-6", "-c", "1", "-t", "1", "-W", "3", host6B)
				if !strings.Contains(out, "From "+router6A) || !strings.Contains(out, "Time exceeded") {
					t.Fatalf("ping -6 -t 1:\n%s\nvecnet errors: %s", out, errorsText(d))
				}
				if errCount(d, "ip6-rewrite", "hop_limit_exceeded") == 0 {
					t.Fatalf("not counted: %s", errorsText(d))
				}
			})

			t.Run("packet too big", func(t *testing.T) {
				out, _ := rig.A.Run("ping", "-6", "-c", "2", "-i", "0.2", "-M", "do", "-s", "1400", "-W", "3", host6B)
				if !strings.Contains(out, fmt.Sprintf("mtu=%d", mtuB)) && !strings.Contains(out, fmt.Sprintf("mtu = %d", mtuB)) {
					t.Fatalf("1448-byte ping -6 -M do over a %d-byte link:\n%s\nvecnet errors: %s", mtuB, out, errorsText(d))
				}
				if errCount(d, "ip6-rewrite", "packet_too_big") == 0 {
					t.Fatalf("no packet_too_big counted: %s", errorsText(d))
				}
				// The kernel learned the path MTU: a smaller DF ping now passes.
				out = mustRun(t, d, rig.A, "ping", "-6", "-c", "1", "-M", "do", "-s", fmt.Sprint(mtuB-48), "-W", "3", host6B)
				if !strings.Contains(out, "1 received") {
					t.Fatalf("ping -6 -s %d:\n%s", mtuB-48, out)
				}
			})

			t.Run("tracepath -6 finds the pmtu", func(t *testing.T) {
				testutil.RequireTool(t, "tracepath")
				rig.A.Run("ip", "-6", "route", "flush", "cache")
				out, _ := rig.A.Run("tracepath", "-6", "-n", "-m", "5", host6B)
				if !strings.Contains(out, fmt.Sprintf("pmtu %d", mtuB)) {
					t.Fatalf("tracepath -6:\n%s\nvecnet errors: %s", out, errorsText(d))
				}
			})

			t.Run("traceroute -6 udp and icmp", func(t *testing.T) {
				testutil.RequireTool(t, "traceroute")
				for _, mode := range []struct{ name, flag string }{{"udp", "-U"}, {"icmp", "-I"}} {
					out := mustRun(t, d, rig.A, "traceroute", "-6", mode.flag, "-n", "-q", "1", "-w", "3", "-m", "5", host6B)
					var hops []string
					for _, line := range strings.Split(out, "\n") {
						if f := strings.Fields(line); len(f) >= 2 {
							if _, err := strconv.Atoi(f[0]); err == nil {
								hops = append(hops, f[1])
							}
						}
					}
					if len(hops) != 2 || hops[0] != router6A || hops[1] != host6B {
						t.Fatalf("traceroute -6 %s: hops %v, want [%s %s]\n%s\nvecnet errors: %s", mode.name, hops, router6A, host6B, out, errorsText(d))
					}
				}
			})

			t.Run("dad conflict", func(t *testing.T) {
				dup := netip.MustParseAddr(dup6)
				var seen bool
				for _, e := range d.DP.ND.DADEvents() {
					if e.Addr.Addr() == dup && e.Duplicate {
						seen = true
					}
				}
				x := d.DP.Ifaces.Load().Get(0)
				if !seen || x.Has6(dup.As16()) || x.IsTentative6(dup.As16()) {
					t.Fatalf("duplicate %s not reported or in use: events %+v, interface %+v; errors %s", dup6, d.DP.ND.DADEvents(), x, errorsText(d))
				}
				if errCount(d, "nd-input", "duplicate_address") == 0 {
					t.Fatalf("duplicate_address not counted: %s", errorsText(d))
				}
				// The router's own addresses passed.
				if !x.Has6(netip.MustParseAddr(router6A).As16()) {
					t.Fatalf("%s not assigned: %+v", router6A, x)
				}
			})
		})
	}
}
