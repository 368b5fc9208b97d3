package daemon_test

import (
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
