package daemon_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
)

// TestStatefulFirewall: host A's side reflects what it sends, host B's side
// admits nothing of its own. B cannot reach A (ping, TCP) until A has
// opened a flow, and then only that flow's replies come back.
func TestStatefulFirewall(t *testing.T) {
	testutil.RequireTool(t, "curl")
	testutil.RequireTool(t, "socat")
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.ACLs = []config.ACL{
			{Name: "a-out", Interface: topo.RouterA, Default: acl.Deny, Rules: []acl.Rule{{Action: acl.PermitReflect}}},
			{Name: "b-in", Interface: topo.RouterB, Default: acl.Deny},
		}
	}, daemon.Options{})
	// B → A: denied (no session), counted.
	if out, err := rig.B.Command("ping", "-c", "2", "-W", "1", topo.HostAAddr).CombinedOutput(); err == nil {
		t.Fatalf("ping from B reached A through a deny-all ACL:\n%s", out)
	}
	if n := errCount(d, acl.NodeName, "no_match_denied"); n == 0 {
		t.Fatalf("B's pings not counted as denied: %s", errorsText(d))
	}
	// A → B: the replies come back through B's deny-all ACL.
	mustRun(t, d, rig.A, "ping", "-c", "2", "-W", "2", topo.HostBAddr)
	reply := filepath.Join(t.TempDir(), "reply")
	if err := os.WriteFile(reply, []byte("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []topo.NS{rig.A, rig.B} {
		startTCPServer(t, ns, ns.Command("socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:cat "+reply), 8080, 5*time.Second)
	}
	out, err := rig.A.Command("curl", "-sS", "--max-time", "3", "http://"+topo.HostBAddr+":8080/").CombinedOutput()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("curl A → B: %v %q\n%s", err, out, errorsText(d))
	}
	// B → A TCP is still a new flow from B's side: denied.
	if out, err := rig.B.Command("curl", "-sS", "--max-time", "2", "http://"+topo.HostAAddr+":8080/").CombinedOutput(); err == nil {
		t.Fatalf("curl B → A got through: %q", out)
	}
	if n := errCount(d, acl.NodeName, "session_hit"); n == 0 {
		t.Fatalf("no packet admitted by a session: %s", errorsText(d))
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show sessions"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), topo.HostAAddr) || !strings.Contains(b.String(), ":8080") {
		t.Fatalf("show sessions has no A → B:8080 session:\n%s", b.String())
	}
	t.Logf("show sessions:\n%s", b.String())
}

// TestFirewallICMPErrors: behind B's deny-all inbound ACL, the ICMP errors
// about A's own flows come back (traceroute -U from A sees B, whose port
// unreachable quotes A's probe), while an error B makes up about a flow A
// never started is dropped and counted as icmp_error_unrelated.
func TestFirewallICMPErrors(t *testing.T) {
	testutil.RequireTool(t, "traceroute")
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.ACLs = []config.ACL{
			{Name: "a-in", Interface: topo.RouterA, Default: acl.Deny, Rules: []acl.Rule{{Action: acl.PermitReflect}}},
			{Name: "b-in", Interface: topo.RouterB, Default: acl.Deny},
		}
	}, daemon.Options{})
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "2", topo.HostBAddr)
	out, err := rig.A.Command("traceroute", "-U", "-n", "-q", "1", "-w", "2", "-m", "4", topo.HostBAddr).CombinedOutput()
	t.Logf("traceroute -U:\n%s", out)
	hops := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(hops) != 3 || !strings.Contains(hops[2], " "+topo.HostBAddr+" ") {
		t.Fatalf("traceroute -U through the firewall: %v; want B as hop 2\n%s", err, errorsText(d))
	}
	if n := errCount(d, acl.NodeName, "session_related"); n == 0 {
		t.Fatalf("B's port unreachable not admitted as related: %s", errorsText(d))
	}
	// B makes up a port unreachable about UDP A → B 40001 → 9 (never sent).
	quoted := []byte{0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0}
	quoted = append(quoted, net.ParseIP(topo.HostAAddr).To4()...)
	quoted = append(quoted, net.ParseIP(topo.HostBAddr).To4()...)
	quoted = append(quoted, 0x9c, 0x41, 0, 9, 0, 8, 0, 0)
	msg := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, quoted...)
	sum := uint32(0)
	for i := 0; i < len(msg); i += 2 {
		sum += uint32(msg[i])<<8 | uint32(msg[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	msg[2], msg[3] = byte(^sum>>8), byte(^sum)
	before := errCount(d, acl.NodeName, "icmp_error_unrelated")
	err = rig.B.Do(func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.WriteTo(msg, &net.IPAddr{IP: net.ParseIP(topo.HostAAddr)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); errCount(d, acl.NodeName, "icmp_error_unrelated") == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the made-up error was not counted as icmp_error_unrelated: %s", errorsText(d))
		}
	}
}
