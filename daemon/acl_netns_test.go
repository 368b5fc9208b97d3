package daemon_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
)

// TestACLBetweenNamespaces filters what host A sends through the router:
// curl reaches the permitted port and not the denied one, nmap finds the
// permitted port open and the others filtered, ping passes, and each
// denied flow is counted on its rule.
func TestACLBetweenNamespaces(t *testing.T) {
	testutil.RequireTool(t, "curl")
	testutil.RequireTool(t, "nmap")
	testutil.RequireTool(t, "socat")
	hostB := netip.MustParsePrefix(topo.HostBAddr + "/32")
	rules := []acl.Rule{
		0: {Action: acl.Permit, Proto: acl.ProtoTCP, Dst: hostB, DstPorts: acl.PortRange{Lo: 8080, Hi: 8080}},
		1: {Action: acl.Deny, Proto: acl.ProtoTCP, DstPorts: acl.PortRange{Lo: 8081, Hi: 8081}},
		2: {Action: acl.Permit, Proto: acl.ProtoICMP},
		3: {Action: acl.Permit, Proto: acl.ProtoTCP, Dst: hostB, DstPorts: acl.PortRange{Lo: 5201, Hi: 5201}},
	}
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.ACLs = []config.ACL{{Name: "a-in", Interface: topo.RouterA, Default: acl.Deny, Rules: rules}}
	}, daemon.Options{})
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "2", topo.HostBAddr)
	reply := filepath.Join(t.TempDir(), "reply")
	if err := os.WriteFile(reply, []byte("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"8080", "8081", "8082"} {
		p, _ := strconv.Atoi(port)
		startTCPServer(t, rig.B, rig.B.Command("socat", "TCP-LISTEN:"+port+",fork,reuseaddr", "SYSTEM:cat "+reply), p, 5*time.Second)
	}
	curl := func(port string) (string, error) {
		out, err := rig.A.Command("curl", "-sS", "--max-time", "2", "http://"+topo.HostBAddr+":"+port+"/").CombinedOutput()
		return string(out), err
	}
	if out, err := curl("8080"); err != nil || out != "hello\n" {
		t.Fatalf("curl to the permitted port: %v %q\nerrors: %s", err, out, errorsText(d))
	}
	if out, err := curl("8081"); err == nil {
		t.Fatalf("curl to the denied port got through: %q", out)
	}
	hits, _ := hitsOf(d)
	if hits[1] == 0 {
		t.Fatalf("denied connection not counted on its rule: hits %v", hits)
	}
	// nmap's SYN scan: open where permitted, filtered (no answer at all)
	// where denied by the rule or by the default.
	cmd := rig.A.Command("nmap", "-n", "-Pn", "-sS", "-p", "8080-8082", "--max-retries", "1", "--host-timeout", "20s", topo.HostBAddr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	for port, state := range map[string]string{"8080": "open", "8081": "filtered", "8082": "filtered"} {
		if !hasPortState(string(out), port, state) {
			t.Errorf("nmap: port %s not %s:\n%s", port, state, out)
		}
	}
	hits, noMatch := hitsOf(d)
	if hits[0] == 0 || hits[2] == 0 || noMatch == 0 {
		t.Errorf("hits %v, no match %d: want every rule and the default hit", hits, noMatch)
	}
	if n := errCount(d, acl.NodeName, "denied") + errCount(d, acl.NodeName, "no_match_denied"); n != hits[1]+noMatch {
		t.Errorf("drop counters %d, denied hits %d + no match %d", n, hits[1], noMatch)
	}
	// A bulk transfer through the permitted iperf3 port.
	testutil.RequireTool(t, "iperf3")
	startTCPServer(t, rig.B, rig.B.Command("iperf3", "-s", "-1"), 5201, 5*time.Second)
	if out, err := rig.A.Command("iperf3", "-c", topo.HostBAddr, "-n", "8M", "--connect-timeout", "3000").CombinedOutput(); err != nil {
		t.Fatalf("iperf3 through the ACL: %v\n%s\n%s", err, out, errorsText(d))
	}
	if hits, _ := hitsOf(d); hits[3] == 0 {
		t.Errorf("iperf3's segments not counted on their rule: %v", hits)
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show acls"); err != nil || !strings.Contains(b.String(), "deny src any dst any proto 6 dport 8081-8081") {
		t.Fatalf("show acls: %v\n%s", err, b.String())
	}
	t.Logf("show acls:\n%s", b.String())
}

func hitsOf(d *daemon.Daemon) ([]uint64, uint64) {
	a := d.ACLs()[0]
	return a.Hits, a.NoMatch
}

// hasPortState reports whether nmap's output lists port/tcp in state.
func hasPortState(out, port, state string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == port+"/tcp" && f[1] == state {
			return true
		}
	}
	return false
}

// TestOutboundACL filters what the router sends to host B (ip4-acl-out on
// B's interface) and admits nothing B starts (B's inbound ACL denies all):
// curl to the denied port is dropped on its outbound rule and counted
// there, curl to another port works because the outbound permit+reflect
// rule opened a session that lets B's replies in, and B cannot start a flow
// to A.
func TestOutboundACL(t *testing.T) {
	testutil.RequireTool(t, "curl")
	testutil.RequireTool(t, "socat")
	rules := []acl.Rule{
		0: {Action: acl.Deny, Proto: acl.ProtoTCP, DstPorts: acl.PortRange{Lo: 8081, Hi: 8081}},
		1: {Action: acl.PermitReflect},
	}
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.ACLs = []config.ACL{
			{Name: "b-out", Interface: topo.RouterB, Out: true, Default: acl.Deny, Rules: rules},
			{Name: "b-in", Interface: topo.RouterB, Default: acl.Deny},
		}
	}, daemon.Options{})
	reply := filepath.Join(t.TempDir(), "reply")
	if err := os.WriteFile(reply, []byte("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range []int{8080, 8081} {
		startTCPServer(t, rig.B, rig.B.Command("socat", "TCP-LISTEN:"+strconv.Itoa(port)+",fork,reuseaddr", "SYSTEM:cat "+reply), port, 5*time.Second)
	}
	startTCPServer(t, rig.A, rig.A.Command("socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:cat "+reply), 8080, 5*time.Second)
	curl := func(ns topo.NS, addr, port string) (string, error) {
		out, err := ns.Command("curl", "-sS", "--max-time", "2", "http://"+addr+":"+port+"/").CombinedOutput()
		return string(out), err
	}
	if out, err := curl(rig.A, topo.HostBAddr, "8080"); err != nil || out != "hello\n" {
		t.Fatalf("curl A → B:8080 through the outbound ACL: %v %q\nerrors: %s", err, out, errorsText(d))
	}
	if out, err := curl(rig.A, topo.HostBAddr, "8081"); err == nil {
		t.Fatalf("curl A → B:8081 got through the outbound deny: %q", out)
	}
	if out, err := curl(rig.B, topo.HostAAddr, "8080"); err == nil {
		t.Fatalf("curl B → A got through B's deny-all inbound ACL: %q", out)
	}
	out := aclByName(t, d, "b-out")
	if out.Hits[0] == 0 || out.Hits[1] == 0 {
		t.Fatalf("b-out hits %v: want the deny and the permit+reflect rule hit\n%s", out.Hits, errorsText(d))
	}
	if n := errCount(d, acl.OutNodeName, "denied"); n != out.Hits[0] {
		t.Errorf("%s denied %d, rule 0 hits %d", acl.OutNodeName, n, out.Hits[0])
	}
	if n := errCount(d, acl.OutNodeName, "session_opened"); n == 0 {
		t.Errorf("no session opened by the outbound rule: %s", errorsText(d))
	}
	if n := errCount(d, acl.NodeName, "session_hit"); n == 0 {
		t.Errorf("B's replies not admitted by the session: %s", errorsText(d))
	}
	if in := aclByName(t, d, "b-in"); in.NoMatch == 0 {
		t.Errorf("B's own connection attempt not counted on b-in's default")
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show acls"); err != nil || !strings.Contains(b.String(), "b-out") {
		t.Fatalf("show acls: %v\n%s", err, b.String())
	}
	t.Logf("show acls:\n%s", b.String())
}

func aclByName(t *testing.T, d *daemon.Daemon, name string) daemon.ACLHits {
	t.Helper()
	for _, a := range d.ACLs() {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no acl %q", name)
	return daemon.ACLHits{}
}
