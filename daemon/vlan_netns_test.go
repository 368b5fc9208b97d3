package daemon_test

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/internal/vlanpeer"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/neighbor"
)

// VLAN sub-interfaces against kernel peers on tagged links. This kernel
// has no 802.1Q links (CONFIG_VLAN_8021Q is off: "ip link add ... type
// vlan" fails), so host B's VLAN ends are macvlan devices on its eth0 whose
// egress pushes the tags with the kernel's bpf_skb_vlan_push (package
// vlanpeer): mv100 sends 802.1Q id 100, mv200 802.1ad id 200 over 802.1Q
// id 300; eth0's ingress pops them (bpf_skb_vlan_pop) for the kernel's
// stack, and the macvlans take their frames by MAC. vecnet has rb.100 and
// rb.200.300 on its port rb. Peers keep their default offloads: veth
// carries the outer tag in skb metadata (tx-vlan-*-hw-insert), outside
// the frame bytes; AF_PACKET reports it in the ring
// (TP_STATUS_VLAN_VALID) and the driver puts it back.
const (
	vlanSub1Addr   = "10.77.100.1"
	vlanHost1      = "10.77.100.2"
	vlanSub2Addr   = "10.77.200.1"
	vlanHost2      = "10.77.200.2"
	vlanSub1Addr6  = "2001:db8:100::1"
	vlanHost1Addr6 = "2001:db8:100::2"
	vlanMAC1       = "02:76:6e:00:64:02"
	vlanMAC2       = "02:76:6e:00:c8:02"
)

// vlanSubs are vecnet's sub-interfaces of rb.
func vlanSubs(cfg *config.Config) {
	cfg.SubInterfaces = []config.SubInterface{
		{Name: topo.RouterB + ".100", Parent: topo.RouterB, VLAN: 100,
			Addresses: []netip.Prefix{netip.MustParsePrefix(vlanSub1Addr + "/24"), netip.MustParsePrefix(vlanSub1Addr6 + "/64")}},
		{Name: topo.RouterB + ".200.300", Parent: topo.RouterB, OuterVLAN: 200, OuterTPID: 0x88a8, VLAN: 300,
			Addresses: []netip.Prefix{netip.MustParsePrefix(vlanSub2Addr + "/24")}},
	}
}

// vlanHostB gives host B its tagged links (see above), their addresses
// and a route to host A over VLAN 100.
func vlanHostB(t *testing.T, rig *topo.Rig) {
	t.Helper()
	for _, c := range [][]string{
		{"ip", "link", "add", "link", "eth0", "name", "mv100", "address", vlanMAC1, "type", "macvlan", "mode", "bridge"},
		{"ip", "addr", "add", vlanHost1 + "/24", "dev", "mv100"},
		{"ip", "-6", "addr", "add", vlanHost1Addr6 + "/64", "dev", "mv100", "nodad"},
		{"ip", "link", "add", "link", "eth0", "name", "mv200", "address", vlanMAC2, "type", "macvlan", "mode", "bridge"},
		{"ip", "addr", "add", vlanHost2 + "/24", "dev", "mv200"},
		{"ip", "link", "add", "link", "eth0", "name", "mv55", "type", "macvlan", "mode", "bridge"},
		{"ip", "addr", "add", "10.77.55.2/24", "dev", "mv55"},
	} {
		if out, err := rig.B.Run(c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	err := rig.B.Do(func() error {
		for _, e := range []error{
			vlanpeer.PushOnEgress("mv100", vlanpeer.Tag{TPID: 0x8100, VID: 100}),
			vlanpeer.PushOnEgress("mv200", vlanpeer.Tag{TPID: 0x88a8, VID: 200}, vlanpeer.Tag{TPID: 0x8100, VID: 300}),
			vlanpeer.PushOnEgress("mv55", vlanpeer.Tag{TPID: 0x8100, VID: 55}),
			vlanpeer.PopOnIngress("eth0", 2),
		} {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"ip", "link", "set", "mv100", "up"},
		{"ip", "link", "set", "mv200", "up"},
		{"ip", "link", "set", "mv55", "up"},
		{"ip", "route", "add", topo.NetA, "via", vlanSub1Addr},
	} {
		if out, err := rig.B.Run(c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
}

// capture is tshark running on a device of a namespace.
type capture struct {
	mu   sync.Mutex
	out  bytes.Buffer
	errb bytes.Buffer
	wait chan error
	stop func()
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startCapture starts tshark on dev in ns printing, per ICMP packet, the
// source and destination MACs and IPv4 addresses and the 802.1ad and
// 802.1Q VLAN ids, and returns once it captures.
func startCapture(t *testing.T, ns topo.NS, dev string) *capture {
	t.Helper()
	testutil.RequireTool(t, "tshark")
	c := &capture{wait: make(chan error, 1)}
	cmd := ns.Command("tshark", "-i", dev, "-l", "-n", "-a", "duration:120", "-Y", "icmp",
		"-T", "fields", "-E", "separator=|", "-e", "eth.src", "-e", "ieee8021ad.id", "-e", "vlan.id", "-e", "ip.src", "-e", "ip.dst")
	cmd.Stdout = c
	cmd.Stderr = lockedWriter{&c.mu, &c.errb}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.wait <- cmd.Wait() }()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-c.wait:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-c.wait
			}
		})
	}
	t.Cleanup(c.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		ready := strings.Contains(c.errb.String(), "Capturing on")
		c.mu.Unlock()
		if ready {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("tshark did not start:\n%s", c.errb.String())
		}
		time.Sleep(20 * time.Millisecond) // polling tshark's banner, with a deadline
	}
}

// rows returns the rows captured so far.
func (c *capture) rows() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Split(c.out.String(), "\n")
}

// pollUntil polls cond until it holds or 20 s pass.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestVLANSubInterfacesWithKernelPeers(t *testing.T) {
	testutil.RequireTool(t, "tshark")
	for _, rc := range []routerCase{{name: "afpacket", driver: "afpacket"}, {name: "afpacket-frames", driver: "afpacket", rxRing: "frames"}, {name: "afxdp-native", driver: "afxdp", xdpMode: "native"}, {name: "afxdp-generic", driver: "afxdp", xdpMode: "generic"}} {
		t.Run(rc.name, func(t *testing.T) {
			subs := func(cfg *config.Config) {
				vlanSubs(cfg)
				for i := range cfg.Interfaces {
					if cfg.Interfaces[i].Driver == "afpacket" {
						cfg.Interfaces[i].RxRing = rc.rxRing
					}
				}
			}
			rig, d := rigRouter(t, topo.RigOptions{Prefix: "vvl", IPv6: true}, rc.driver, rc.xdpMode, subs, daemon.Options{NoCLI: true})
			vlanHostB(t, rig)
			ping := func(ns topo.NS, args ...string) {
				t.Helper()
				out, _ := ns.Run("ping", append([]string{"-c", "3", "-i", "0.2", "-W", "3"}, args...)...)
				if !strings.Contains(out, " 3 received") {
					t.Fatalf("ping %v:\n%s\nvecnet errors: %s", args, out, errorsText(d))
				}
			}
			t.Run("kernel to vecnet on 802.1Q", func(t *testing.T) { ping(rig.B, vlanSub1Addr) })
			t.Run("kernel to vecnet on QinQ", func(t *testing.T) { ping(rig.B, vlanSub2Addr) })
			t.Run("routed untagged to 802.1Q and back", func(t *testing.T) {
				cap := startCapture(t, rig.B, "eth0")
				// tshark prints its banner a little before it captures: prime
				// it until it shows a frame, then count what follows.
				pollUntil(t, "tshark to capture", func() bool {
					rig.A.Run("ping", "-c", "1", "-W", "1", vlanHost1)
					return len(cap.rows()) > 0 && cap.rows()[0] != ""
				})
				base := len(cap.rows())
				ping(rig.A, vlanHost1)
				ping(rig.B, "-I", vlanHost1, topo.HostAAddr)
				ping(rig.A, vlanHost2)
				var toB100, toB200, fromB100 int
				count := func() bool {
					toB100, toB200, fromB100 = 0, 0, 0
					for _, l := range cap.rows()[base:] {
						f := strings.Split(l, "|")
						if len(f) != 5 {
							continue
						}
						switch {
						case f[0] == topo.RouterBMAC && f[1] == "" && f[2] == "100" && f[4] == vlanHost1:
							toB100++
						case f[0] == topo.RouterBMAC && f[1] == "200" && f[2] == "300" && f[4] == vlanHost2:
							toB200++
						case f[0] == vlanMAC1 && f[1] == "" && f[2] == "100" && f[3] == vlanHost1 && f[4] == topo.HostAAddr:
							fromB100++
						}
					}
					return toB100 >= 6 && toB200 >= 3 && fromB100 >= 6
				}
				deadline := time.Now().Add(20 * time.Second)
				for !count() && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond) // tshark prints as it captures: poll its output
				}
				if !count() {
					t.Errorf("tshark on host B saw %d frames from vecnet tagged 100 to %s (want 6), %d tagged 802.1ad 200 + 802.1Q 300 to %s (want 3), %d from host B tagged 100 (want 6):\n%s",
						toB100, vlanHost1, toB200, vlanHost2, fromB100, strings.Join(cap.rows(), "\n"))
				}
			})
			t.Run("ND and ping -6 on 802.1Q", func(t *testing.T) {
				pollUntil(t, "rb.100's IPv6 address past DAD", func() bool {
					x := d.DP.Ifaces.Load().ByName(topo.RouterB + ".100")
					return x != nil && x.Has6(netip.MustParseAddr(vlanSub1Addr6).As16())
				})
				// Neighbour Discovery both ways first (under load a solicitation
				// can meet a tentative address): then every echo is answered.
				pollUntil(t, "an IPv6 echo reply over VLAN 100", func() bool {
					out, _ := rig.B.Run("ping", "-6", "-c", "1", "-W", "1", vlanSub1Addr6)
					return strings.Contains(out, " 1 received")
				})
				ping(rig.B, "-6", vlanSub1Addr6)
				if n := errCount(d, neighbor.NDInputName, "learned"); n == 0 {
					t.Errorf("vecnet learned no IPv6 neighbour: %s", errorsText(d))
				}
			})
			t.Run("unknown VLAN counted", func(t *testing.T) {
				before := errCount(d, ethernet.NodeName, "unknown_vlan")
				rig.B.Run("ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.55.1")
				if n := errCount(d, ethernet.NodeName, "unknown_vlan") - before; n < 2 {
					t.Errorf("unknown_vlan moved by %d, want >= 2: %s", n, errorsText(d))
				}
			})
			t.Run("show interfaces", func(t *testing.T) {
				rows, err := d.Backend().Interfaces()
				if err != nil {
					t.Fatal(err)
				}
				found := 0
				for _, r := range rows {
					switch r.Name {
					case topo.RouterB + ".100":
						found++
						if r.Kind != "sub" || r.Parent != topo.RouterB || r.VLAN != 100 || r.OuterVLAN != 0 || r.MTU != 1496 || r.RxPackets < 9 || r.TxPackets < 9 {
							t.Errorf("row %+v", r)
						}
					case topo.RouterB + ".200.300":
						found++
						if r.Kind != "sub" || r.VLAN != 300 || r.OuterVLAN != 200 || r.OuterTPID != "0x88a8" || r.MTU != 1492 || r.RxPackets < 6 || r.TxPackets < 6 {
							t.Errorf("row %+v", r)
						}
					}
				}
				if found != 2 {
					t.Errorf("%d sub-interface rows: %+v", found, rows)
				}
			})
		})
	}
}
