package xdpprog

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/xsk"
)

const (
	xdpRedirect = 4
	xdpPassRet  = 2
)

var (
	ours  = netip.MustParseAddr("10.98.0.1")
	ours2 = netip.MustParseAddr("10.98.0.2")
	other = netip.MustParseAddr("10.98.0.9")
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		m    Match
		ok   bool
	}{
		{"all", Match{All: true}, true},
		{"dst", Match{DstIP: []netip.Addr{ours}}, true},
		{"dst proto port", Match{DstIP: []netip.Addr{ours}, Proto: ProtoUDP, DstPort: 53}, true},
		{"empty", Match{}, false},
		{"all with dst", Match{All: true, DstIP: []netip.Addr{ours}}, false},
		{"ipv6", Match{DstIP: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, false},
		{"port without proto", Match{DstIP: []netip.Addr{ours}, DstPort: 53}, false},
		{"port with icmp", Match{DstIP: []netip.Addr{ours}, Proto: ProtoICMP, DstPort: 53}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.m, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidMatch) {
				t.Errorf("error %v does not wrap ErrInvalidMatch", err)
			}
		})
	}
}

// boundSocket opens an AF_XDP socket on queue 0 of a fresh veth inside a
// test namespace, so that an XSKMAP slot can hold it.
func boundSocket(t testing.TB) *xsk.Socket {
	t.Helper()
	ns := testutil.NewNS(t, "xp")
	xpa, xpb := testutil.Name("xpa"), testutil.Name("xpb")
	testutil.Veth(t, ns, xpa, ns, xpb)
	umem, err := unix.Mmap(-1, 0, 64*xsk.ChunkSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	var s *xsk.Socket
	err = ns.Do(func() error {
		l, err := netlink.LinkByName(xpb)
		if err != nil {
			return err
		}
		s, err = xsk.Open(umem, xsk.Config{Ifindex: l.Attrs().Index, Copy: true, FillSize: 64, CompSize: 64, RXSize: 64, TXSize: 64})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		unix.Munmap(umem)
	})
	return s
}

// TestMatcher runs the program on crafted frames (BPF_PROG_TEST_RUN, queue
// 0, a socket registered there) and checks redirect versus pass.
func TestMatcher(t *testing.T) {
	s := boundSocket(t)
	two := []netip.Addr{ours, ours2}
	type frame struct {
		name string
		b    []byte
		want uint32
	}
	tests := []struct {
		name   string
		m      Match
		frames []frame
	}{
		{"all", Match{All: true}, []frame{
			{"ipv4 other", ipv4Frame(frameSpec{dst: other, proto: ProtoUDP}), xdpRedirect},
			{"arp other", arpFrame(frameSpec{dst: other}, 0x0800), xdpRedirect},
			{"bare ethernet", ethHeader(0x86dd, frameSpec{}), xdpRedirect},
		}},
		{"dst", Match{DstIP: two}, []frame{
			{"ipv4 ours", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP}), xdpRedirect},
			{"ipv4 ours2 icmp", ipv4Frame(frameSpec{dst: ours2, proto: ProtoICMP}), xdpRedirect},
			{"ipv4 other", ipv4Frame(frameSpec{dst: other, proto: ProtoUDP}), xdpPassRet},
			{"vlan ipv4 ours", ipv4Frame(frameSpec{vlan: true, dst: ours, proto: ProtoTCP}), xdpRedirect},
			{"vlan ipv4 other", ipv4Frame(frameSpec{vlan: true, dst: other}), xdpPassRet},
			{"qinq ipv4 ours", ipv4Frame(frameSpec{qinq: true, dst: ours}), xdpRedirect},
			{"qinq ipv4 other", ipv4Frame(frameSpec{qinq: true, dst: other}), xdpPassRet},
			{"qinq arp ours", arpFrame(frameSpec{qinq: true, dst: ours2}, 0x0800), xdpRedirect},
			{"qinq cut", ethHeader(0x8100, frameSpec{qinq: true})[:21], xdpPassRet},
			{"802.1ad tag alone", func() []byte { f := ipv4Frame(frameSpec{vlan: true, dst: ours}); f[12], f[13] = 0x88, 0xa8; return f }(), xdpRedirect},
			{"arp ours", arpFrame(frameSpec{dst: ours}, 0x0800), xdpRedirect},
			{"vlan arp ours", arpFrame(frameSpec{vlan: true, dst: ours2}, 0x0800), xdpRedirect},
			{"arp other", arpFrame(frameSpec{dst: other}, 0x0800), xdpPassRet},
			{"arp not ipv4", arpFrame(frameSpec{dst: ours}, 0x86dd), xdpPassRet},
			{"arp truncated", arpFrame(frameSpec{dst: ours, cut: 1}, 0x0800), xdpPassRet},
			{"ipv4 truncated header", ipv4Frame(frameSpec{dst: ours, cut: 13})[:14+19], xdpPassRet},
			{"ipv6", ethHeader(0x86dd, frameSpec{}), xdpPassRet},
			{"vlan cut", ethHeader(0x8100, frameSpec{}), xdpPassRet},
		}},
		{"dst proto port", Match{DstIP: two, Proto: ProtoUDP, DstPort: 53}, []frame{
			{"udp 53", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53}), xdpRedirect},
			{"udp 53 options", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53, ihl: 7}), xdpRedirect},
			{"vlan udp 53", ipv4Frame(frameSpec{vlan: true, dst: ours2, proto: ProtoUDP, dstPort: 53}), xdpRedirect},
			{"udp 54", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 54}), xdpPassRet},
			{"tcp 53", ipv4Frame(frameSpec{dst: ours, proto: ProtoTCP, dstPort: 53}), xdpPassRet},
			{"udp 53 other dst", ipv4Frame(frameSpec{dst: other, proto: ProtoUDP, dstPort: 53}), xdpPassRet},
			{"udp 53 later fragment", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53, frag: 0x2010}), xdpPassRet},
			{"udp 53 first fragment", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53, frag: 0x2000}), xdpRedirect},
			{"bad ihl", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53, ihl: 4}), xdpPassRet},
			{"ports truncated", ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53, cut: 9}), xdpPassRet},
			{"arp ours still", arpFrame(frameSpec{dst: ours}, 0x0800), xdpRedirect},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.m, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Register(0, s.FD()); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.frames {
				got, err := p.Prog().Run(&ebpf.RunOptions{Data: f.b})
				if err != nil {
					t.Fatalf("%s: run: %v", f.name, err)
				}
				if got != f.want {
					t.Errorf("%s: program returned %d, want %d (% x)", f.name, got, f.want, f.b)
				}
			}
			// Without a socket in the slot, redirect_map falls back to XDP_PASS.
			if err := p.Unregister(0); err != nil {
				t.Fatal(err)
			}
			if got, _ := p.Prog().Run(&ebpf.RunOptions{Data: tt.frames[0].b}); got != xdpPassRet {
				t.Errorf("empty slot: program returned %d, want XDP_PASS", got)
			}
		})
	}
}

func TestRegisterOutOfRange(t *testing.T) {
	testutil.RequireRoot(t)
	p, err := Load(Match{All: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Register(2, 0); err == nil {
		t.Error("Register(2) on a 2-queue program succeeded")
	}
}

// xdpAttached reports the XDP attach mode netlink shows on dev inside ns
// (0 when none).
func xdpAttached(t *testing.T, ns *testutil.NS, dev string) uint32 {
	t.Helper()
	var mode uint32
	if err := ns.Do(func() error {
		l, err := netlink.LinkByName(dev)
		if err != nil {
			return err
		}
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			mode = x.AttachMode
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return mode
}

func TestAttachDetach(t *testing.T) {
	ns := testutil.NewNS(t, "xp")
	xpa, xpb := testutil.Name("xpa"), testutil.Name("xpb")
	testutil.Veth(t, ns, xpa, ns, xpb)
	for _, tt := range []struct {
		mode Mode
		want uint32
	}{{Native, attachedDrv}, {Generic, attachedSKB}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			p, err := Load(Match{DstIP: []netip.Addr{ours}}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var l interface{ Close() error }
			if err := ns.Do(func() error {
				nl, err := netlink.LinkByName(xpb)
				if err != nil {
					return err
				}
				l, err = p.Attach(nl.Attrs().Index, tt.mode)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got := xdpAttached(t, ns, xpb); got != tt.want {
				t.Errorf("attach mode = %d, want %d", got, tt.want)
			}
			if out := ns.Run("ip", "-d", "link", "show", "dev", xpb); !strings.Contains(out, "prog/xdp") {
				t.Errorf("ip -d link show has no prog/xdp:\n%s", out)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := xdpAttached(t, ns, xpb); got != 0 {
				t.Errorf("after Close: attach mode = %d, want none", got)
			}
		})
	}
}

// Attach modes in IFLA_XDP_ATTACHED.
const (
	attachedDrv = 1
	attachedSKB = 2
)

const helperEnv = "VECNET_XDPPROG_HELPER"

// TestHelperProcess is not a test: run with helperEnv=<device> (inside the
// device's namespace) it attaches the program, says so and waits to be
// killed.
func TestHelperProcess(t *testing.T) {
	dev := os.Getenv(helperEnv)
	if dev == "" {
		return
	}
	p, err := Load(Match{All: true}, 1)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	l, err := netlink.LinkByName(dev)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if _, err := p.Attach(l.Attrs().Index, Generic); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("attached")
	for {
		time.Sleep(time.Hour)
	}
}

func TestKilledProcessDetaches(t *testing.T) {
	ns := testutil.NewNS(t, "xp")
	xpa, xpb := testutil.Name("xpa"), testutil.Name("xpb")
	testutil.Veth(t, ns, xpa, ns, xpb)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.Name, exe, "-test.run=^TestHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+xpb)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	testutil.Eventually(t, 10*time.Second, "helper attaches", func() bool {
		if strings.Contains(out.String(), "error:") {
			t.Fatalf("helper failed:\n%s", out)
		}
		return strings.Contains(out.String(), "attached")
	})
	if got := xdpAttached(t, ns, xpb); got != attachedSKB {
		t.Fatalf("helper attached, but attach mode = %d", got)
	}
	// ip netns exec execs the program, so the pid is the helper's own.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	done = true
	testutil.Eventually(t, 5*time.Second, "program detached after SIGKILL", func() bool {
		return xdpAttached(t, ns, xpb) == 0
	})
	if out := ns.Run("ip", "link", "show", "dev", xpb); strings.Contains(out, "xdp") {
		t.Errorf("ip link still shows xdp:\n%s", out)
	}
}

// TestNonMatchingReachesKernel attaches a program matching another address
// and a socket on the queue, and checks the kernel still answers ping.
func TestNonMatchingReachesKernel(t *testing.T) {
	testutil.RequireTool(t, "ping")
	for _, mode := range []Mode{Native, Generic} {
		t.Run(mode.String(), func(t *testing.T) {
			a := testutil.NewNS(t, "xpa")
			b := testutil.NewNS(t, "xpb")
			xpa, xpb := testutil.Name("xpa"), testutil.Name("xpb")
			testutil.Veth(t, a, xpa, b, xpb)
			a.Run("ip", "addr", "add", "10.98.1.1/24", "dev", xpa)
			b.Run("ip", "addr", "add", "10.98.1.2/24", "dev", xpb)
			p, err := Load(Match{DstIP: []netip.Addr{other}}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var l interface{ Close() error }
			if err := b.Do(func() error {
				nl, err := netlink.LinkByName(xpb)
				if err != nil {
					return err
				}
				l, err = p.Attach(nl.Attrs().Index, mode)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			a.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.98.1.2")
		})
	}
}
