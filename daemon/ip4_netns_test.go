package daemon_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/wire"
)

// The IPv4 edge cases against kernel peers: fragmentation, reassembly, the
// MTU taken from the device, martians, and per-class ICMP error budgets.
// The rig's link to host B has MTU 1400 on both ends; vecnet's interface
// there has no MTU in its config, so it must read the device's.

const ip4MTUB = 1400

// startIP4Router builds the rig and starts vecnet on driver; both are torn
// down when the test ends (buffers audited by Stop).
func startIP4Router(t *testing.T, rc routerCase) (*topo.Rig, *daemon.Daemon) {
	t.Helper()
	return rigRouter(t, topo.RigOptions{Prefix: "vi4", MTUB: ip4MTUB}, rc.driver, rc.xdpMode,
		func(cfg *config.Config) { cfg.Interfaces[1].MTU = 0 }, daemon.Options{NoCLI: true}) // the device's MTU
}

// reasmOKs returns the kernel's IP ReasmOKs counter in ns (/proc/net/snmp
// is per namespace).
func reasmOKs(t *testing.T, ns topo.NS) uint64 {
	t.Helper()
	out, err := ns.Run("cat", "/proc/net/snmp")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for k, name := range names {
			if name == "ReasmOKs" && k < len(f) {
				n, _ := strconv.ParseUint(f[k], 10, 64)
				return n
			}
		}
	}
	t.Fatalf("no Ip: ReasmOKs in /proc/net/snmp:\n%s", out)
	return 0
}

func TestIP4FragmentationWithKernelPeers(t *testing.T) {
	for _, rc := range []routerCase{{name: "afxdp-native", driver: "afxdp", xdpMode: "native"}, {name: "afpacket", driver: "afpacket"}} {
		t.Run(rc.name, func(t *testing.T) {
			rig, d := startIP4Router(t, rc)

			t.Run("mtu from the device", func(t *testing.T) {
				if got := d.DP.Ifaces.Load().ByName(topo.RouterB).MTU; got != ip4MTUB {
					t.Fatalf("interface %s MTU %d, want the device's %d", topo.RouterB, got, ip4MTUB)
				}
			})

			// First, before host A learns the path MTU to host B (it would
			// then cut its datagrams itself).
			t.Run("1472 bytes without DF arrive fragmented", func(t *testing.T) {
				before, frag := reasmOKs(t, rig.B), errCount(d, ip4.FragName, "fragmented")
				out := mustRun(t, d, rig.A, "ping", "-c", "2", "-i", "0.2", "-W", "3", "-M", "dont", "-s", "1472", topo.HostBAddr)
				if !strings.Contains(out, "2 received") {
					t.Fatalf("ping:\n%s\nvecnet errors: %s", out, errorsText(d))
				}
				if n := errCount(d, ip4.FragName, "fragmented") - frag; n < 2 {
					t.Errorf("%s fragmented %d packets, want 2: %s", ip4.FragName, n, errorsText(d))
				}
				if n := reasmOKs(t, rig.B) - before; n < 2 {
					t.Errorf("host B reassembled %d datagrams, want 2", n)
				}
			})

			t.Run("ping -s 3000 to the router", func(t *testing.T) {
				before := reasmOKs(t, rig.A)
				reass, frag := errCount(d, ip4.ReassemblyName, "reassembled"), errCount(d, ip4.FragName, "fragmented")
				out := mustRun(t, d, rig.A, "ping", "-c", "3", "-i", "0.2", "-W", "3", "-s", "3000", topo.RouterAAddr)
				if !strings.Contains(out, "3 received") || !strings.Contains(out, "3008 bytes from "+topo.RouterAAddr) {
					t.Fatalf("ping:\n%s\nvecnet errors: %s", out, errorsText(d))
				}
				if n := errCount(d, ip4.ReassemblyName, "reassembled") - reass; n != 3 {
					t.Errorf("vecnet reassembled %d requests, want 3: %s", n, errorsText(d))
				}
				if n := errCount(d, ip4.FragName, "fragmented") - frag; n != 3 {
					t.Errorf("vecnet fragmented %d replies, want 3: %s", n, errorsText(d))
				}
				if n := reasmOKs(t, rig.A) - before; n < 3 {
					t.Errorf("host A reassembled %d replies, want 3", n)
				}
			})

			t.Run("DF gets fragmentation needed", func(t *testing.T) {
				mustRun(t, d, rig.A, "ip", "route", "flush", "cache")
				out, _ := rig.A.Run("ping", "-c", "1", "-W", "3", "-M", "do", "-s", "1472", topo.HostBAddr)
				if !strings.Contains(out, fmt.Sprintf("mtu = %d", ip4MTUB)) {
					t.Fatalf("DF ping over a %d-byte link:\n%s\nvecnet errors: %s", ip4MTUB, out, errorsText(d))
				}
			})

			t.Run("TTL-1 flood does not starve frag-needed", func(t *testing.T) { ttlFloodAndPMTU(t, d, rig) })
			t.Run("martians", func(t *testing.T) { martians(t, d, rig) })
		})
	}
}

// rawSender is an AF_PACKET socket on a device inside a namespace.
type rawSender struct {
	fd int
	sa *unix.SockaddrLinklayer
}

func newRawSender(t *testing.T, ns topo.NS, dev string) *rawSender {
	t.Helper()
	s := &rawSender{fd: -1}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		s.fd, s.sa = fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(s.fd) })
	return s
}

func (s *rawSender) send(f []byte) error { return unix.Sendto(s.fd, f, 0, s.sa) }

// hostAFrame is a UDP frame from host A to the router's MAC.
func hostAFrame(spec frames.Spec) []byte {
	hostA, _ := net.ParseMAC(topo.HostAMAC)
	rtrA, _ := net.ParseMAC(topo.RouterAMAC)
	if spec.DstMAC == (wire.MAC{}) {
		spec.DstMAC = wire.MAC(rtrA)
	}
	spec.SrcMAC = wire.MAC(hostA)
	if spec.Src == ([4]byte{}) {
		spec.Src = [4]byte{10, 77, 1, 2}
	}
	if spec.Dst == ([4]byte{}) {
		spec.Dst = [4]byte{10, 77, 2, 2}
	}
	return frames.IPv4(spec)
}

// ttlFloodAndPMTU floods the router with TTL-1 packets until their time
// exceeded budget is spent, and checks that a DF probe over the 1400-byte
// link still gets fragmentation needed meanwhile.
func ttlFloodAndPMTU(t *testing.T, d *daemon.Daemon, rig *topo.Rig) {
	s := newRawSender(t, rig.A, topo.HostDev)
	f := hostAFrame(frames.Spec{TTL: 1, Payload: 18, DstPort: 33434})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range 64 {
				s.send(f) // ENOBUFS under load is fine: it is a flood
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	limited := errCount(d, ip4.ICMPErrorName, "rate_limited_time_exceeded")
	testutil.Eventually(t, 10*time.Second, "the TTL-1 flood spends the time exceeded budget", func() bool {
		return errCount(d, ip4.ICMPErrorName, "rate_limited_time_exceeded")-limited >= 500
	})
	mustRun(t, d, rig.A, "ip", "route", "flush", "cache")
	fragNeeded := errCount(d, ip4.RewriteName, "fragmentation_needed")
	for k := range 3 {
		out, _ := rig.A.Run("ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1472", topo.HostBAddr)
		if !strings.Contains(out, fmt.Sprintf("mtu = %d", ip4MTUB)) {
			t.Fatalf("probe %d during the flood got no frag-needed:\n%s\nvecnet errors: %s", k, out, errorsText(d))
		}
		mustRun(t, d, rig.A, "ip", "route", "flush", "cache")
	}
	if errCount(d, ip4.RewriteName, "fragmentation_needed")-fragNeeded < 3 {
		t.Errorf("fragmentation_needed not counted: %s", errorsText(d))
	}
	if errCount(d, ip4.ICMPErrorName, "rate_limited_time_exceeded")-limited < 500 {
		t.Errorf("flood not limited: %s", errorsText(d))
	}
}

// martians sends what RFC 1812 says a router drops: a source in 127/8,
// our own address as source, unicast IP in a broadcast frame. Each is
// counted under its own name, and nothing reaches host B.
func martians(t *testing.T, d *daemon.Daemon, rig *topo.Rig) {
	s := newRawSender(t, rig.A, topo.HostDev)
	cases := []struct {
		node, counter string
		frame         []byte
	}{
		{ip4.InputName, "loopback_source", hostAFrame(frames.Spec{Src: [4]byte{127, 0, 0, 1}, Payload: 8})},
		{ip4.InputName, "own_source", hostAFrame(frames.Spec{Src: [4]byte{10, 77, 2, 1}, Payload: 8})},
		{ip4.LookupName, "l2_broadcast", hostAFrame(frames.Spec{DstMAC: wire.BroadcastMAC, Payload: 8})},
	}
	const n = 5
	for _, c := range cases {
		before := errCount(d, c.node, c.counter)
		for range n {
			if err := s.send(c.frame); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 5*time.Second, c.node+"/"+c.counter+" counted", func() bool {
			return errCount(d, c.node, c.counter)-before >= n
		})
	}
	// The router still forwards.
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "3", topo.HostBAddr)
}

// TestIP4MTULargerThanDevice checks that a configured MTU over the
// device's is refused at start, with the reason.
func TestIP4MTULargerThanDevice(t *testing.T) {
	testutil.RequireRoot(t)
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "vi4m", MTUB: ip4MTUB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	cfg := topo.RouterConfig(rig, "afpacket", "", "")
	cfg.Interfaces[1].MTU = 1500
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	if err == nil {
		d.Stop()
		t.Fatal("started with MTU 1500 on a 1400-byte device")
	}
	if want := "mtu 1500 is larger than device rb's MTU 1400"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to say %q", err, want)
	}
}

// TestIP4MTUDeviceLargerThanBuffer checks that a device MTU larger than a
// packet buffer holds is cut to config.MaxMTU when the config names none.
func TestIP4MTUDeviceLargerThanBuffer(t *testing.T) {
	testutil.RequireRoot(t)
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "vi4j", MTUB: 9000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	cfg := topo.RouterConfig(rig, "afpacket", "", "")
	cfg.Interfaces[1].MTU = 0
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if got := d.DP.Ifaces.Load().ByName(topo.RouterB).MTU; got != config.MaxMTU {
		t.Fatalf("MTU %d on a 9000-byte device, want %d", got, config.MaxMTU)
	}
}
