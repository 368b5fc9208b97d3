package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
)

// The PMTU rig's addresses (only inside its namespaces): host A (the
// client) on the router's A link, vecnet in host B's namespace on the B
// link, IPv4 and IPv6.
const (
	pmtuVecnet4   = topo.HostBAddr
	pmtuVecnet6   = "2001:db8:77:2::2"
	pmtuRouterB6  = "2001:db8:77:2::1"
	pmtuRouterA6  = "2001:db8:77:1::1"
	pmtuHostA6    = "2001:db8:77:1::2"
	pmtuNetA6     = "2001:db8:77:1::/64"
	pmtuVecnetMAC = "02:76:6e:00:02:05"
	// pmtuLinkMTU is the MTU of the router's end of the A link: vecnet's
	// 1500-byte packets to host A do not fit and the router answers
	// fragmentation needed (IPv4) or packet too big (IPv6). Host A's end
	// keeps 1500, so its SYN announces an MSS of 1460 (1440): only path
	// MTU discovery keeps vecnet's segments under 1280.
	pmtuLinkMTU = 1280
)

// startPMTUServer builds host A ── kernel router ── vecnet: the rig with
// IPv6 on and its router namespace forwarding in the kernel (both
// families), the router's A end at pmtuLinkMTU, and the example in
// nethttp mode on vecnet, which takes host B's device (AF_XDP, every
// frame) with pmtuVecnet4 and pmtuVecnet6 and routes host A's networks
// through the router. Peers keep their default offloads.
func startPMTUServer(t *testing.T) *server {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"curl", "ethtool", "nft"} {
		testutil.RequireTool(t, tool)
	}
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "pm", IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := rig.KernelForwarding(); err != nil {
		t.Fatal(err)
	}
	mtu := strconv.Itoa(pmtuLinkMTU)
	for _, c := range []struct {
		ns   topo.NS
		args []string
	}{
		{rig.R, []string{"ip", "-6", "addr", "add", pmtuRouterA6 + "/64", "dev", topo.RouterA, "nodad"}},
		{rig.R, []string{"ip", "-6", "addr", "add", pmtuRouterB6 + "/64", "dev", topo.RouterB, "nodad"}},
		{rig.R, []string{"sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"}},
		{rig.R, []string{"ip", "link", "set", topo.RouterA, "mtu", mtu}},
		{rig.A, []string{"ip", "-6", "addr", "add", pmtuHostA6 + "/64", "dev", topo.HostDev, "nodad"}},
		{rig.A, []string{"ip", "-6", "route", "add", "default", "via", pmtuRouterA6}},
		// Host B's kernel leaves the device to vecnet.
		{rig.B, []string{"ip", "addr", "flush", "dev", topo.HostDev}},
		{rig.B, []string{"sysctl", "-qw", "net.ipv6.conf." + topo.HostDev + ".disable_ipv6=1"}},
	} {
		if out, err := c.ns.Run(c.args[0], c.args[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
	}
	hw, _ := net.ParseMAC(pmtuVecnetMAC)
	vc := &vecnetconfig.Config{
		Workers: 1,
		Interfaces: []vecnetconfig.Interface{{
			Name: "b", Driver: "afxdp", Device: topo.HostDev, Netns: rig.B.Name, MAC: vecnetconfig.MAC(hw),
			MTU: 1500, Queues: 1, RingSize: vecnetconfig.DefaultRingSize, Match: vecnetconfig.Match{All: true},
			Addresses: []netip.Prefix{netip.MustParsePrefix(pmtuVecnet4 + "/24"), netip.MustParsePrefix(pmtuVecnet6 + "/64")},
		}},
		Routes: []vecnetconfig.Route{
			{Prefix: netip.MustParsePrefix(topo.NetA), Via: []netip.Addr{netip.MustParseAddr(topo.RouterBAddr)}},
			{Prefix: netip.MustParsePrefix(pmtuNetA6), Via: []netip.Addr{netip.MustParseAddr(pmtuRouterB6)}, Interface: "b"},
		},
	}
	s := runServer(t, rig, config{mode: "nethttp", listen: "[::]:80", vecnet: vc})
	waitFor(t, 10*time.Second, "DAD of vecnet's addresses", func() bool { return s.d.DP.ND.DADPending() == 0 })
	return s
}

// tcpCounters returns the TCP engines' counters.
func (s *server) tcpCounters() [tcp.NumCounters]uint64 { return tcpnode.Of(s.d.Stack).Counters() }

// TestPathMTUThroughKernelRouter: curl in host A fetches 8 MiB from
// net/http on vecnet's TCP over IPv4 and IPv6 through a kernel router
// whose link to host A has an MTU of 1280, while both ends announce an MSS
// for 1500: vecnet's first full-sized segments are dropped by the router,
// whose fragmentation needed (packet too big) must lower the connection's
// MSS (the engine's pmtu counter) for the download to complete with its
// SHA-256 intact. Then vecnet dials a port of host A that a nft rule
// answers with ICMP port unreachable, and gets ECONNREFUSED at once, not
// after the SYN retries.
func TestPathMTUThroughKernelRouter(t *testing.T) {
	s := startPMTUServer(t)
	const n = 8 << 20
	for _, fam := range []struct{ name, flag, url string }{
		{"IPv4 fragmentation needed", "-4", "http://" + pmtuVecnet4},
		{"IPv6 packet too big", "-6", "http://[" + pmtuVecnet6 + "]"},
	} {
		t.Run(fam.name, func(t *testing.T) {
			before := s.tcpCounters()
			body := t.TempDir() + "/body"
			start := time.Now()
			if out, err := s.rig.A.Run("curl", "-sS", "-f", fam.flag, "--max-time", "60", "-o", body,
				fam.url+"/bytes/"+strconv.Itoa(n)); err != nil {
				s.logErrors(t)
				t.Fatalf("curl GET %d through the 1280-byte link: %v\n%s", n, err, out)
			}
			took := time.Since(start)
			got, err := os.ReadFile(body)
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(got); len(got) != n || hex.EncodeToString(sum[:]) != wantSum(n) {
				t.Fatalf("%d bytes with sha256 %x, want %d with %s", len(got), sum, n, wantSum(n))
			}
			after := s.tcpCounters()
			pmtu := after[tcp.StatPMTU] - before[tcp.StatPMTU]
			if pmtu == 0 {
				t.Fatalf("download completed without a path MTU change (counters %v)", after)
			}
			t.Logf("%d MiB in %v; pmtu %d, pmtu-ignored %d, icmp-bad-seq %d, retransmit %d", n>>20, took.Round(time.Millisecond),
				pmtu, after[tcp.ErrPMTUIgnored]-before[tcp.ErrPMTUIgnored], after[tcp.ErrICMPBadSeq]-before[tcp.ErrICMPBadSeq],
				after[tcp.StatRetransmit]-before[tcp.StatRetransmit])
		})
	}
	t.Run("DialTCP answered by ICMP port unreachable", func(t *testing.T) {
		rules := filepath.Join(t.TempDir(), "reject.nft")
		if err := os.WriteFile(rules, []byte(`table inet pmtutest {
	chain in {
		type filter hook input priority 0;
		meta nfproto ipv4 tcp dport 9 reject with icmp type port-unreachable
		meta nfproto ipv6 tcp dport 9 reject with icmpv6 type port-unreachable
	}
}
`), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := s.rig.A.Run("nft", "-f", rules); err != nil {
			t.Fatalf("nft: %v\n%s", err, out)
		}
		for _, dst := range []string{topo.HostAAddr + ":9", "[" + pmtuHostA6 + "]:9"} {
			before := s.tcpCounters()[tcp.StatICMPAbort]
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			start := time.Now()
			c, err := sock.DialTCP(ctx, s.d.Stack, netip.AddrPort{}, netip.MustParseAddrPort(dst))
			took := time.Since(start)
			cancel()
			if err == nil {
				c.Close()
				t.Fatalf("DialTCP %s: connected through a reject rule", dst)
			}
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("DialTCP %s: %v (%T), want a *net.OpError with ECONNREFUSED", dst, err, err)
			}
			if got := s.tcpCounters()[tcp.StatICMPAbort] - before; got != 1 {
				t.Fatalf("DialTCP %s: icmp-abort moved by %d, want 1", dst, got)
			}
			t.Logf("DialTCP %s: %v after %v", dst, err, took.Round(time.Millisecond))
		}
	})
}
