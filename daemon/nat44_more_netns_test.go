package daemon_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/nat44"
)

// liveFields runs tshark in ns on the host's device with a capture filter
// and checksum validation on, and sends one row of fields (occurrences
// comma-separated) per packet as it is captured.
func liveFields(t *testing.T, ns topo.NS, filter string, fields ...string) <-chan []string {
	t.Helper()
	args := []string{"-l", "-n", "-i", topo.HostDev, "-f", filter, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-o", "tcp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := ns.Command("tshark", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rows := make(chan []string, 256)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			rows <- strings.Split(sc.Text(), "|")
		}
		close(rows)
	}()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	return rows
}

// TestNAT44ICMPErrors: host A (inside) sends UDP to a closed port on B
// (outside). B's port unreachable, addressed to the router's address and
// quoting the translated datagram, reaches A translated back: A's
// connected socket gets ECONNREFUSED (the kernel matched the quote to the
// socket), and tshark on A sees the quoted source as A's own address and
// port with every checksum (outer IP, ICMP, quoted IP, quoted UDP) valid.
// traceroute -U through the NAT sees both hops: the router's time exceeded
// (the probe is not translated when its TTL runs out) and B's port
// unreachable.
func TestNAT44ICMPErrors(t *testing.T) {
	for _, tool := range []string{"tshark", "traceroute"} {
		testutil.RequireTool(t, tool)
	}
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.NAT44 = &config.NAT44{Inside: []string{topo.RouterA}, Outside: topo.RouterB}
	}, daemon.Options{})
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "2", topo.HostBAddr) // neighbours resolved
	// traceroute first: B rate-limits the errors it sends to one address
	// (the router's, for everything A sends), and the probes below spend
	// that budget.
	out, err := rig.A.Command("traceroute", "-U", "-n", "-q", "1", "-w", "2", "-m", "4", topo.HostBAddr).CombinedOutput()
	t.Logf("traceroute -U:\n%s", out)
	if err != nil {
		t.Fatalf("traceroute: %v", err)
	}
	hops := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(hops) != 3 || !strings.Contains(hops[1], " "+topo.RouterAAddr+" ") || !strings.Contains(hops[2], " "+topo.HostBAddr+" ") {
		t.Fatalf("traceroute -U: want hop 1 the router (%s), hop 2 B (%s)", topo.RouterAAddr, topo.HostBAddr)
	}
	rows := liveFields(t, rig.A, "icmp and icmp[0] == 3", "ip.src", "ip.dst", "icmp.type", "udp.srcport", "udp.dstport",
		"ip.checksum.status", "icmp.checksum.status", "udp.checksum.status")
	const sport = 40000
	// A connected socket sends to B's closed port until tshark shows B's
	// port unreachable (the capture is live by then) and the socket has
	// read ECONNREFUSED: the kernel matched the quoted datagram to it.
	var c *net.UDPConn
	if err := rig.A.Do(func() (err error) {
		c, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(topo.HostAAddr), Port: sport}, &net.UDPAddr{IP: net.ParseIP(topo.HostBAddr), Port: 9999})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var row []string
	refused := false
	buf := make([]byte, 64)
	for deadline := time.Now().Add(40 * time.Second); row == nil || !refused; {
		if time.Now().After(deadline) {
			t.Fatalf("in 40 s: tshark row %v, socket refused %v\n%s", row, refused, errorsText(d))
		}
		if _, err := c.Write([]byte("probe")); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Read(buf); errors.Is(err, syscall.ECONNREFUSED) {
			refused = true
		}
		for drained := false; !drained; {
			select {
			case r, ok := <-rows:
				if !ok {
					t.Fatal("tshark exited")
				}
				t.Logf("captured on A: %v", r)
				if len(r) >= 8 && r[4] == "9999" {
					row = r
				}
			default:
				drained = true
			}
		}
	}
	// Occurrences: outer, then quoted.
	src, dst := strings.Split(row[0], ","), strings.Split(row[1], ",")
	if len(src) != 2 || len(dst) != 2 || src[0] != topo.HostBAddr || dst[0] != topo.HostAAddr || src[1] != topo.HostAAddr || dst[1] != topo.HostBAddr {
		t.Errorf("port unreachable: sources %v, destinations %v; want %s → %s quoting %s → %s", src, dst,
			topo.HostBAddr, topo.HostAAddr, topo.HostAAddr, topo.HostBAddr)
	}
	if row[3] != fmt.Sprint(sport) {
		t.Errorf("quoted source port %s, want %d", row[3], sport)
	}
	// Checksum status: 0 bad, 1 good, 2 unverified.
	if row[5] != "1,1" || row[6] != "1" || row[7] != "1" {
		t.Errorf("checksums: ip %s icmp %s quoted udp %s; want 1,1 1 1", row[5], row[6], row[7])
	}
	if n := errCount(d, nat44.Out2InName, "icmp_error_translated"); n < 2 {
		t.Errorf("icmp_error_translated %d, want the socket's and traceroute's", n)
	}
}

// TestNAT44PoolAndHairpin translates to a pool of addresses (B routes
// the pool to the router): B's server sees each inside address from one
// pool address whatever the flow. Then two inside endpoints on host A
// (10.77.1.2 and 10.77.1.3) talk through the NAT's external address of one
// of them (hairpinning, RFC 4787 REQ-9): each sees the other from its
// external address and port, never its inside one.
func TestNAT44PoolAndHairpin(t *testing.T) {
	testutil.RequireTool(t, "socat")
	var pool []netip.Addr
	for a := 10; a <= 20; a++ {
		pool = append(pool, netip.AddrFrom4([4]byte{198, 51, 100, byte(a)}))
	}
	inPool := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		return err == nil && netip.MustParsePrefix("198.51.100.0/24").Contains(a) && a.As4()[3] >= 10 && a.As4()[3] <= 20
	}
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.NAT44 = &config.NAT44{Inside: []string{topo.RouterA}, Outside: topo.RouterB, Pool: pool}
	}, daemon.Options{})
	const second = "10.77.1.3"
	mustRun(t, d, rig.B, "ip", "route", "add", "198.51.100.0/24", "via", topo.RouterBAddr)
	mustRun(t, d, rig.A, "ip", "addr", "add", second+"/24", "dev", topo.HostDev)
	const port = 7001
	startTCPServer(t, rig.B, rig.B.Command("socat", fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr", port), "SYSTEM:echo $SOCAT_PEERADDR"), port, 5*time.Second)
	peerOf := func(bind string) string {
		out, err := rig.A.Command("socat", "-T", "3", "-", fmt.Sprintf("TCP:%s:%d,bind=%s", topo.HostBAddr, port, bind)).Output()
		if err != nil || !inPool(string(out)) {
			t.Fatalf("B saw the client bound to %s as %q (%v), want a pool address\n%s", bind, out, err, errorsText(d))
		}
		return strings.TrimSpace(string(out))
	}
	first := peerOf(topo.HostAAddr)
	if again := peerOf(topo.HostAAddr); again != first {
		t.Fatalf("%s mapped to %s, then %s: not paired", topo.HostAAddr, first, again)
	}
	peerOf(second)

	// Hairpinning: S (A's first address) gets a mapping by sending out;
	// C (A's second address) reaches S by S's external address and port.
	var s, c *net.UDPConn
	err := rig.A.Do(func() (err error) {
		if s, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(topo.HostAAddr), Port: 6000}); err != nil {
			return err
		}
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(second)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	if _, err := s.WriteToUDP([]byte("out"), &net.UDPAddr{IP: net.ParseIP(topo.HostBAddr), Port: 9}); err != nil {
		t.Fatal(err)
	}
	var ext netip.AddrPort
	for deadline := time.Now().Add(5 * time.Second); !ext.IsValid(); time.Sleep(10 * time.Millisecond) {
		per, err := d.NATSessions()
		if err != nil {
			t.Fatal(err)
		}
		for _, ss := range per {
			for _, m := range ss {
				if m.Proto == "udp" && m.Inside == netip.MustParseAddrPort(topo.HostAAddr+":6000") {
					ext = m.Outside
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mapping for %s:6000\n%s", topo.HostAAddr, errorsText(d))
		}
	}
	if !inPool(ext.Addr().String()) {
		t.Fatalf("mapping %v outside the pool", ext)
	}
	buf := make([]byte, 64)
	var from *net.UDPAddr
	for try := 0; from == nil; try++ {
		if try == 5 {
			t.Fatalf("S never got C's datagram through the hairpin\n%s", errorsText(d))
		}
		if _, err := c.WriteToUDP([]byte("ping"), net.UDPAddrFromAddrPort(ext)); err != nil {
			t.Fatal(err)
		}
		s.SetReadDeadline(time.Now().Add(time.Second))
		n, f, err := s.ReadFromUDP(buf)
		if err == nil && string(buf[:n]) == "ping" {
			from = f
		}
	}
	if from.IP.String() == second || !inPool(from.IP.String()) {
		t.Fatalf("S saw C as %v: want C's external address (pool), not its inside one", from)
	}
	if _, err := s.WriteToUDP([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, back, err := c.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "pong" || back.AddrPort() != ext {
		t.Fatalf("C got %q from %v (%v), want pong from %v\n%s", buf[:n], back, err, ext, errorsText(d))
	}
	if n := errCount(d, nat44.In2OutName, "hairpinned"); n < 2 {
		t.Errorf("hairpinned %d, want both directions", n)
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show nat sessions"); err != nil {
		t.Fatal(err)
	}
	t.Logf("show nat sessions:\n%s", b.String())
}
