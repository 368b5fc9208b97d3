package main

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/examples/dnsserver/dnszone"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/stack/udp"
)

// router6 is vecnet's IPv6 address on the DNS rig's A link; host6 host A's.
const (
	router6 = "2001:db8:75:1::1"
	host6   = "2001:db8:75:1::2"
)

// startVecnetServer6 is startVecnetServer over IPv6: the rig with IPv6 on
// (kernel defaults, offloads included), host A at host6, vecnet dual-stack
// on AF_XDP serving the zone on [router6]:53 in mode; it returns once
// vecnet's addresses passed DAD.
func startVecnetServer6(t *testing.T, mode string) *vecnetServer {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "dig")
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "d6", IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	if out, err := rig.R.Run("sysctl", "-qw", "net.ipv6.conf."+topo.RouterA+".disable_ipv6=1"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := rig.A.Run("ip", "-6", "addr", "add", host6+"/64", "dev", topo.HostDev, "nodad"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	vc := topo.RouterConfig(rig, "afxdp", "", "")
	vc.Interfaces = vc.Interfaces[:1]
	vc.Interfaces[0].Addresses = append(vc.Interfaces[0].Addresses, netip.MustParsePrefix(router6+"/64"))
	s := &vecnetServer{rig: rig}
	ctx, cancel := context.WithCancel(context.Background())
	st := new(dnszone.Stats)
	readyc := make(chan struct{}, 1)
	errc := make(chan error, 1)
	cfg := config{zone: "testdata/example.zone", origin: "example.test.", mode: mode,
		listen: "[" + router6 + "]:53", batch: 32, stats: st, vecnet: vc,
		log:     slog.New(slog.DiscardHandler),
		started: func(d *daemon.Daemon) { s.d = d },
		ready:   func(net.Addr) { readyc <- struct{}{} }}
	go func() { errc <- run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-readyc:
	case err := <-errc:
		errc <- err
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	for end := time.Now().Add(10 * time.Second); s.d.DP.ND.DADPending() > 0; {
		if time.Now().After(end) {
			t.Fatal("DAD of vecnet's addresses still pending after 10 s")
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
	return s
}

// counter6 sums udp6-input's counter name over the workers.
func (s *vecnetServer) counter6(name string) uint64 {
	var n uint64
	for _, rows := range s.d.Errors() {
		for _, r := range rows {
			if r.Node == udp.Input6Name && r.Name == name {
				n += r.Count
			}
		}
	}
	return n
}

// TestVecnetIPv6: dig -6 in host A (kernel at default offloads) asks the
// zone over IPv6, in-graph and through sock's net.PacketConn: AAAA and A
// answers, NXDOMAIN, and "connection refused" (ICMPv6 port unreachable)
// from a closed port.
func TestVecnetIPv6(t *testing.T) {
	for _, mode := range []string{"ingraph", "sock"} {
		t.Run(mode, func(t *testing.T) {
			s := startVecnetServer6(t, mode)
			dig := func(args ...string) (string, error) {
				return s.rig.A.Run("dig", append([]string{"-6", "@" + router6, "+norecurse", "+tries=1", "+time=3"}, args...)...)
			}
			for _, tc := range []struct{ name, qtype, want string }{
				{"www.example.test.", "AAAA", "2001:db8::80"},
				{"mail.example.test.", "AAAA", "2001:db8::25"},
				{"www.example.test.", "A", "status: NOERROR"},
				{"nope.example.test.", "AAAA", "status: NXDOMAIN"},
			} {
				out, err := dig(tc.name, tc.qtype)
				if err != nil || !strings.Contains(out, tc.want) || !strings.Contains(out, "SERVER: "+router6+"#53") {
					t.Fatalf("dig -6 %s %s: %v, want %q from %s\n%s", tc.name, tc.qtype, err, tc.want, router6, out)
				}
			}
			if mode == "ingraph" && s.counter6("replied") < 4 {
				t.Errorf("udp6-input replied %d, want >= 4", s.counter6("replied"))
			}
			if mode == "sock" && s.counter6("delivered") < 4 {
				t.Errorf("udp6-input delivered %d, want >= 4", s.counter6("delivered"))
			}
			before := s.counter6("no_listener")
			out, _ := dig("-p", "5353", "www.example.test.", "AAAA")
			if !strings.Contains(out, "connection refused") {
				t.Errorf("dig -6 to a closed port, want \"connection refused\":\n%s", out)
			}
			if s.counter6("no_listener") <= before {
				t.Error("udp6-input did not count no_listener")
			}
		})
	}
}
