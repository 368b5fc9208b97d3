package daemon_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// The reload rig's third host: C behind the router's interface rc, which a
// reload adds and removes.
const (
	hostCAddr   = "10.77.3.2"
	routerCAddr = "10.77.3.1"
	routerCMAC  = "02:76:6e:00:03:01"
	routerCDev  = "02:76:6e:00:03:11"
	extraAddr   = "10.77.9.1" // a second address on ra, added and removed
	hostCMAC    = "02:76:6e:00:03:02"
)

// writeConfig writes cfg as YAML to path.
func writeConfig(t *testing.T, path string, cfg *config.Config) {
	t.Helper()
	b, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// pacedFlow sends burst datagrams every millisecond from one socket in ns
// to dst until stopped, counting what it sent: a counted stream whose
// every datagram must arrive.
type pacedFlow struct {
	conn       *net.UDPConn
	stop, done chan struct{}
	sent       atomic.Int64
}

func startPacedFlow(t *testing.T, ns topo.NS, dst string, burst int) *pacedFlow {
	t.Helper()
	f := &pacedFlow{conn: udpSenders(t, ns, 1, dst)[0], stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		payload := make([]byte, 200)
		for {
			select {
			case <-f.stop:
				return
			case <-tick.C:
				for range burst {
					if _, err := f.conn.Write(payload); err == nil {
						f.sent.Add(1)
					}
				}
			}
		}
	}()
	t.Cleanup(f.end)
	return f
}

func (f *pacedFlow) end() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

// TestReloadUnderLoad runs a counted UDP stream from host A to host B
// through vecnet while reloads add an interface (to a host C) with an
// address, a route and a neighbour, delete a route, are refused for a bad
// file, and remove the interface again. The stream, which no change
// touches, must lose no datagram: sent equals received exactly.
func TestReloadUnderLoad(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "vnrl"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	hostC, err := rig.AddNS("host-c")
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.Veth(rig.R, "rc", routerCDev, hostC, topo.HostDev, hostCMAC, 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
		{"ip", "addr", "add", hostCAddr + "/24", "dev", topo.HostDev},
		{"ip", "route", "add", "default", "via", routerCAddr},
		{"ip", "neigh", "replace", routerCAddr, "lladdr", routerCMAC, "dev", topo.HostDev, "nud", "permanent"},
	} {
		if _, err := hostC.Run(c[0], c[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := rig.StaticNeighbors(); err != nil {
		t.Fatal(err)
	}

	mac := func(s string) config.MAC {
		m, err := config.ParseMAC(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// AF_XDP: its receive ring holds seconds of this stream, so a worker
	// the loaded machine leaves unscheduled for a while loses nothing (an
	// AF_PACKET ring retires a block per millisecond: 32 ms of stall).
	base := topo.RouterConfig(rig, "afxdp", "native", "")
	base.Neighbors = []config.Neighbor{
		{Interface: topo.RouterA, IP: netip.MustParseAddr(topo.HostAAddr), MAC: mac(topo.HostAMAC)},
		{Interface: topo.RouterB, IP: netip.MustParseAddr(topo.HostBAddr), MAC: mac(topo.HostBMAC)},
	}
	base.Routes = []config.Route{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Via: []netip.Addr{netip.MustParseAddr(topo.HostBAddr)}}}
	withC := *base
	withC.Interfaces = append(append([]config.Interface(nil), base.Interfaces...), config.Interface{
		Name: "rc", Driver: "afxdp", XDPMode: "native", Match: config.Match{All: true}, Device: "rc", Netns: rig.R.Name,
		// A ring the arena, sized at start for ra and rb, has room for.
		MAC: mac(routerCMAC), MTU: 1500, Queues: 1, RingSize: 2048, Addresses: []netip.Prefix{netip.MustParsePrefix(routerCAddr + "/24")},
	})
	withC.Interfaces[0].Addresses = append(append([]netip.Prefix(nil), base.Interfaces[0].Addresses...), netip.MustParsePrefix(extraAddr+"/24"))
	withC.Neighbors = append(append([]config.Neighbor(nil), base.Neighbors...),
		config.Neighbor{Interface: "rc", IP: netip.MustParseAddr(hostCAddr), MAC: mac(hostCMAC)})
	withC.Routes = []config.Route{{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Via: []netip.Addr{netip.MustParseAddr(hostCAddr)}}}

	path := filepath.Join(t.TempDir(), "vecnet.yaml")
	writeConfig(t, path, base)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, XDPWatch: -1, ConfigFile: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopClean(t, d) })

	sink := listenUDP(t, rig.B, 5001)
	flow := startPacedFlow(t, rig.A, topo.HostBAddr+":5001", 8)
	growing(t, sink, flow.conn.LocalAddr().(*net.UDPAddr).Port, 200, 10*time.Second, "the A→B stream flows")

	// 1. Add rc, its address, a neighbour and a route; delete a route.
	writeConfig(t, path, &withC)
	out := show(t, d, "reload")
	t.Logf("%s", out)
	for _, want := range []string{"interfaces added: rc", "routes installed 1, deleted 1", "neighbours +1 -0", "addresses +1 -0"} {
		if !strings.Contains(out, want) {
			t.Errorf("reload adding rc says %q, want %q in it", out, want)
		}
	}
	if o, err := rig.A.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", hostCAddr); err != nil {
		t.Errorf("ping A→C through the added interface: %v\n%s", err, o)
	}
	if o, err := rig.A.Run("ping", "-c", "1", "-W", "2", extraAddr); err != nil {
		t.Errorf("ping the address the reload added: %v\n%s", err, o)
	}
	fibShow := show(t, d, "show fib")
	if !strings.Contains(fibShow, "198.51.100.0/24") || strings.Contains(fibShow, "192.0.2.0/24") {
		t.Errorf("show fib after the reload (want 198.51.100.0/24, not 192.0.2.0/24):\n%s", fibShow)
	}

	// 2. A bad file: refused with file:line:column, nothing changes.
	if err := os.WriteFile(path, []byte("workers: 1\ninterfaces:\n  - name: ra\n    driver: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var bad strings.Builder
	err = d.CLI.Exec(&bad, "reload")
	if err == nil || !strings.Contains(err.Error(), path+":4:") {
		t.Errorf("reload of a bad file: %v, want an error at %s:4:column", err, path)
	}
	if after := show(t, d, "show fib"); after != fibShow {
		t.Errorf("a refused reload changed the FIB:\nbefore\n%s\nafter\n%s", fibShow, after)
	}
	// An interface whose rings the arena cannot stock is refused.
	big := withC
	big.Interfaces = slices.Clone(withC.Interfaces)
	big.Interfaces = append(big.Interfaces, big.Interfaces[2])
	big.Interfaces[3].Name, big.Interfaces[3].Device, big.Interfaces[3].RingSize, big.Interfaces[3].Addresses = "rd", "rd", config.MaxRingSize, nil
	writeConfig(t, path, &big)
	if _, err := d.Reload(); err == nil || !strings.Contains(err.Error(), "packet buffers") {
		t.Errorf("reload adding an interface with a %d ring: %v, want it refused for want of buffers", config.MaxRingSize, err)
	}
	// A config that needs a restart is refused too.
	two := withC
	two.Workers = 2
	writeConfig(t, path, &two)
	if _, err := d.Reload(); err == nil || !strings.Contains(err.Error(), "workers changed") {
		t.Errorf("reload changing workers: %v, want it refused", err)
	}
	spin := withC
	spin.WorkerSpin = -1
	writeConfig(t, path, &spin)
	if _, err := d.Reload(); err == nil || !strings.Contains(err.Error(), "worker_spin or worker_rt_priority changed") {
		t.Errorf("reload changing worker_spin: %v, want it refused", err)
	}
	shared := withC
	shared.WorkerShared = true
	writeConfig(t, path, &shared)
	if _, err := d.Reload(); err == nil || !strings.Contains(err.Error(), "worker_thread changed") {
		t.Errorf("reload changing worker_thread: %v, want it refused", err)
	}
	if len(d.Interfaces) != 3 {
		t.Errorf("%d interfaces after refused reloads, want 3", len(d.Interfaces))
	}

	// 3. Back to the base config: rc, its neighbour and route go.
	writeConfig(t, path, base)
	out = show(t, d, "reload")
	t.Logf("%s", out)
	if !strings.Contains(out, "interfaces removed: rc") || !strings.Contains(out, "addresses +0 -1") {
		t.Errorf("reload removing rc says %q", out)
	}
	if o, err := rig.A.Run("ping", "-c", "1", "-W", "1", hostCAddr); err == nil {
		t.Errorf("ping A→C answered after rc was removed:\n%s", o)
	}
	if o, err := rig.A.Run("ping", "-c", "1", "-W", "1", extraAddr); err == nil {
		t.Errorf("ping %s answered after the address was removed:\n%s", extraAddr, o)
	}
	if o, err := rig.A.Run("ping", "-c", "1", "-W", "2", topo.RouterAAddr); err != nil {
		t.Errorf("ping ra's remaining address: %v\n%s", err, o)
	}
	if s := show(t, d, "show interfaces"); strings.Contains(s, "rc ") {
		t.Errorf("show interfaces lists rc after its removal:\n%s", s)
	}
	if s := show(t, d, "show neighbors"); strings.Contains(s, hostCAddr) {
		t.Errorf("show neighbors lists C after rc was removed:\n%s", s)
	}
	// The same interface can come back.
	writeConfig(t, path, &withC)
	show(t, d, "reload")
	if o, err := rig.A.Run("ping", "-c", "2", "-i", "0.2", "-W", "2", hostCAddr); err != nil {
		t.Errorf("ping A→C after rc came back: %v\n%s", err, o)
	}

	// The untouched stream: every datagram sent arrived.
	flow.end()
	sent := int(flow.sent.Load())
	port := flow.conn.LocalAddr().(*net.UDPAddr).Port
	var got int
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got = sink.from(port); got >= sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the count, with a deadline
	}
	t.Logf("A→B stream: sent %d, received %d across 3 reloads and 3 refused ones", sent, got)
	if got != sent {
		t.Errorf("A→B stream lost %d of %d datagrams across the reloads", sent-got, sent)
		t.Logf("show errors:\n%s\nshow interfaces:\n%s", show(t, d, "show errors"), show(t, d, "show interfaces"))
		for _, ns := range []topo.NS{rig.A, rig.B} {
			o, _ := ns.Run("nstat", "-az", "UdpSndbufErrors", "UdpRcvbufErrors", "UdpInErrors", "UdpOutDatagrams", "UdpInDatagrams")
			o2, _ := ns.Run("ip", "-s", "link", "show", "dev", topo.HostDev)
			t.Logf("%s:\n%s\n%s", ns.Name, o, o2)
		}
	}
}
