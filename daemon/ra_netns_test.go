package daemon_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// The RA rig's addresses (only inside the rig's namespaces).
const (
	raPrefixA = "2001:db8:79:1::/64"
	raRouterA = "2001:db8:79:1::1"
	raRouterB = "2001:db8:79:2::1"
	raHostB   = "2001:db8:79:2::2"
	// raRouterLL is vecnet's link-local address on A: EUI-64 of RouterAMAC
	// 02:76:6e:00:01:01.
	raRouterLL = "fe80::76:6eff:fe00:101"
)

// TestRouterAdvertisementSLAAC: vecnet advertises a prefix on link A (ra:
// in the config); host A's kernel, a host at its defaults (accept_ra 1,
// forwarding off, no address or route configured), autoconfigures an
// address in the prefix (SLAAC) and a default route via vecnet's
// link-local address (proto ra), and pings host B behind vecnet through
// it. rdisc6 solicits and gets vecnet's answer with the prefix and MTU.
func TestRouterAdvertisementSLAAC(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	testutil.RequireTool(t, "rdisc6")
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "ra6", IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, dev := range []string{topo.RouterA, topo.RouterB} {
		if _, err := rig.R.Run("sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1"); err != nil {
			t.Fatal(err)
		}
	}
	// Host A keeps its defaults; check they are a host's.
	for key, want := range map[string]string{"accept_ra": "1", "forwarding": "0"} {
		out, err := rig.A.Run("sysctl", "-n", "net.ipv6.conf."+topo.HostDev+"."+key)
		if err != nil || strings.TrimSpace(out) != want {
			t.Fatalf("host A %s = %q (%v), want %s", key, out, err, want)
		}
	}
	for _, c := range [][]string{
		{"ip", "-6", "addr", "add", raHostB + "/64", "dev", topo.HostDev, "nodad"},
		{"ip", "-6", "route", "add", "default", "via", raRouterB},
	} {
		if out, err := rig.B.Run(c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	cfg := topo.RouterConfig(rig, "afxdp", "native", "")
	cfg.Interfaces[0].Addresses = append(cfg.Interfaces[0].Addresses, netip.MustParsePrefix(raRouterA+"/64"))
	cfg.Interfaces[0].RA = &config.RA{Interval: 30 * time.Second, Lifetime: 90 * time.Second,
		Prefixes: []netip.Prefix{netip.MustParsePrefix(raPrefixA)}, MTU: true}
	cfg.Interfaces[1].Addresses = append(cfg.Interfaces[1].Addresses, netip.MustParsePrefix(raRouterB+"/64"))
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopClean(t, d) })

	// rdisc6 solicits; vecnet answers once its link-local address passed DAD.
	var out string
	poll(t, 15*time.Second, "rdisc6 answered by vecnet", func() bool {
		out, _ = rig.A.Run("rdisc6", "-1", "-w", "1000", topo.HostDev)
		return strings.Contains(out, raPrefixA) && strings.Contains(out, "from "+raRouterLL)
	}, func() string { return out + "\nvecnet errors: " + errorsText(d) })
	if !strings.Contains(out, "MTU") || !strings.Contains(out, "1500") {
		t.Errorf("rdisc6 shows no MTU 1500:\n%s", out)
	}

	// SLAAC: a global address in the prefix that passed the kernel's DAD,
	// and the default route via vecnet's link-local address.
	poll(t, 15*time.Second, "SLAAC address on host A", func() bool {
		out, _ = rig.A.Run("ip", "-6", "addr", "show", "dev", topo.HostDev, "scope", "global")
		return strings.Contains(out, "inet6 2001:db8:79:1:") && strings.Contains(out, "dynamic") && !strings.Contains(out, "tentative")
	}, func() string { return out })
	poll(t, 15*time.Second, "default route via vecnet on host A", func() bool {
		out, _ = rig.A.Run("ip", "-6", "route", "show", "default")
		return strings.Contains(out, "default via "+raRouterLL) && strings.Contains(out, "proto ra")
	}, func() string { return out })

	out = mustRun(t, d, rig.A, "ping", "-6", "-c", "3", "-i", "0.1", "-W", "3", raHostB)
	if !strings.Contains(out, "3 received") {
		t.Fatalf("ping -6 %s from host A through the RA default route:\n%s\nvecnet errors: %s", raHostB, out, errorsText(d))
	}
	if errCount(d, "nd-input", "ra_sent") == 0 {
		t.Errorf("no unsolicited RA counted: %s", errorsText(d))
	}
	// Solicitations are answered (in place, or, within 3 s of an
	// advertisement, by the next one brought forward). The first rdisc6
	// may have been satisfied by the first unsolicited advertisement, its
	// solicitations coming while vecnet's link-local address was tentative.
	poll(t, 20*time.Second, "rdisc6's solicitation answered (rs_answered)", func() bool {
		out, _ = rig.A.Run("rdisc6", "-1", "-w", "1000", topo.HostDev)
		return errCount(d, "nd-input", "rs_answered") > 0
	}, func() string { return out + "\nvecnet errors: " + errorsText(d) })
}

// poll waits until cond holds, failing with what() after timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v:\n%s", what, timeout, detail())
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with a deadline
	}
}
