package daemon_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
)

// TestACL6BetweenNamespaces filters IPv6 through vecnet (AF_XDP, the
// peers' default offloads): host A's inbound ACL denies ping -6 to host B
// and curl -6 to one port, each counted on its rule and on ip6-acl-in's
// denied counter, while ping -6 to the router and curl -6 to the permitted
// port work; B's outbound ACL denies a third port, counted on its rule and
// on ip6-acl-out.
func TestACL6BetweenNamespaces(t *testing.T) {
	testutil.RequireTool(t, "curl")
	testutil.RequireTool(t, "socat")
	netB := netip.MustParsePrefix("2001:db8:77:2::/64")
	hostB := netip.MustParsePrefix(host6B + "/128")
	in := []acl.Rule{
		0: {Action: acl.Permit, Proto: acl.ProtoICMPv6, SrcPorts: acl.PortRange{Lo: 133, Hi: 137}}, // neighbour discovery, either family-less
		1: {Action: acl.Deny, Proto: acl.ProtoICMPv6, Dst: hostB, SrcPorts: acl.PortRange{Lo: 128, Hi: 128}},
		2: {Action: acl.Permit, Proto: acl.ProtoICMPv6, Dst: netip.MustParsePrefix(router6B + "/128")},
		3: {Action: acl.Deny, Proto: acl.ProtoTCP, Dst: netB, DstPorts: acl.PortRange{Lo: 8081, Hi: 8081}},
		4: {Action: acl.Permit, Proto: acl.ProtoTCP, Dst: netB, DstPorts: acl.PortRange{Lo: 8080, Hi: 8082}},
		5: {Action: acl.Deny, Src: netip.MustParsePrefix("10.0.0.0/8")}, // IPv4: never hit by IPv6
	}
	out := []acl.Rule{
		0: {Action: acl.Deny, Proto: acl.ProtoTCP, Dst: hostB, DstPorts: acl.PortRange{Lo: 8082, Hi: 8082}},
	}
	rig, d := startRouter6Edit(t, "afxdp", "native", func(c *config.Config) {
		c.ACLs = []config.ACL{
			{Name: "a-in", Interface: topo.RouterA, Default: acl.Deny, Rules: in},
			{Name: "b-out", Interface: topo.RouterB, Out: true, Default: acl.Permit, Rules: out},
		}
	})
	hits := func(name string) ([]uint64, uint64) {
		for _, a := range d.ACLs() {
			if a.Name == name {
				return a.Hits, a.NoMatch
			}
		}
		t.Fatalf("no acl %s", name)
		return nil, 0
	}
	mustRun(t, d, rig.A, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "3", router6B)
	if o, err := rig.A.Run("ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", host6B); err == nil {
		t.Fatalf("ping -6 to host B got through the deny rule:\n%s", o)
	}
	h, _ := hits("a-in")
	if h[1] < 2 || h[2] < 2 {
		t.Fatalf("a-in hits %v: want >= 2 echo requests on rule 2 (denied) and rule 3 (router)", h)
	}
	reply := filepath.Join(t.TempDir(), "reply")
	if err := os.WriteFile(reply, []byte("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range []int{8080, 8081, 8082} {
		startTCPServer(t, rig.B, rig.B.Command("socat", "TCP6-LISTEN:"+strconv.Itoa(port)+",fork,reuseaddr", "SYSTEM:cat "+reply), port, 5*time.Second)
	}
	curl := func(port int) (string, error) {
		o, err := rig.A.Command("curl", "-6", "-g", "-sS", "--max-time", "2", "http://["+host6B+"]:"+strconv.Itoa(port)+"/").CombinedOutput()
		return string(o), err
	}
	if o, err := curl(8080); err != nil || o != "hello\n" {
		t.Fatalf("curl -6 to the permitted port: %v %q\nerrors: %s", err, o, errorsText(d))
	}
	if o, err := curl(8081); err == nil {
		t.Fatalf("curl -6 to the inbound-denied port got through: %q", o)
	}
	if o, err := curl(8082); err == nil {
		t.Fatalf("curl -6 to the outbound-denied port got through: %q", o)
	}
	h, noMatch := hits("a-in")
	if h[3] == 0 || h[4] == 0 || h[5] != 0 {
		t.Errorf("a-in hits %v (no match %d): want rules 4 (deny 8081) and 5 (permit) hit, the IPv4 rule 6 not", h, noMatch)
	}
	ho, _ := hits("b-out")
	if ho[0] == 0 {
		t.Errorf("b-out hits %v: the outbound deny of port 8082 not counted", ho)
	}
	if n := errCount(d, acl.Node6Name, "denied"); n != h[1]+h[3] {
		t.Errorf("ip6-acl-in denied %d, rules' hits %d + %d", n, h[1], h[3])
	}
	if n := errCount(d, acl.OutNode6Name, "denied"); n != ho[0] {
		t.Errorf("ip6-acl-out denied %d, rule hits %d", n, ho[0])
	}
	if n := errCount(d, acl.NodeName, "denied") + errCount(d, acl.NodeName, "no_match_denied"); n != 0 {
		t.Errorf("ip4-acl-in dropped %d packets of an IPv6-only test", n)
	}
}
