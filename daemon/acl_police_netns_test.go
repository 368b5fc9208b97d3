package daemon_test

import (
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
	"github.com/vecnet/vecnet/service/policer"
)

// TestACLClassPolicerRate: an ACL rule on A's interface names a class
// policer (police: NAME) for UDP to iperf3's port; iperf3 -u offers twice
// its committed rate and host B receives the rate within 5 % (checkPolicedUDPRate,
// as TestPolicerRate). iperf3's TCP control connection, permitted by
// another rule, is not metered; the drops are the ACL node's
// police_*_drop counters and the policer's red/yellow counts.
func TestACLClassPolicerRate(t *testing.T) {
	testutil.RequireTool(t, "iperf3")
	const (
		cirBits = 20_000_000
		cbs     = 64 << 10
	)
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.Policers = []config.Policer{{
			Name:    "udp-class",
			Meter:   policer.Config{Mode: policer.SingleRate, CIR: cirBits / 8, CBS: cbs},
			Actions: [policer.NumColors]policer.Action{policer.Red: {Kind: policer.Drop}, policer.Yellow: {Kind: policer.Drop}},
		}}
		c.ACLs = []config.ACL{{Name: "a-in", Interface: topo.RouterA, Default: acl.Deny, Rules: []acl.Rule{
			{Action: acl.Permit, Proto: acl.ProtoUDP, DstPorts: acl.PortRange{Lo: 5201, Hi: 5201}, Police: "udp-class"},
			{Action: acl.Permit},
		}}}
	}, daemon.Options{})
	checkPolicedUDPRate(t, d, rig, cirBits, cbs)
	var st daemon.PolicerStats
	for _, p := range d.Policers() {
		if p.Name == "udp-class" {
			st = p
		}
	}
	t.Logf("class policer green %d yellow %d red %d packets", st.Packets[0], st.Packets[1], st.Packets[2])
	dropped := errCount(d, acl.NodeName, "police_red_drop") + errCount(d, acl.NodeName, "police_yellow_drop")
	if st.Packets[policer.Red] == 0 || dropped != st.Packets[policer.Red]+st.Packets[policer.Yellow] {
		t.Fatalf("police drops %d, policer yellow %d red %d", dropped, st.Packets[policer.Yellow], st.Packets[policer.Red])
	}
	a := aclByName(t, d, "a-in")
	if a.Hits[0] < st.Packets[0]+st.Packets[1]+st.Packets[2] || a.Hits[1] == 0 {
		t.Fatalf("hits %v: the policed rule must count every metered packet, the other rule iperf3's control", a.Hits)
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show acls"); err != nil || !strings.Contains(b.String(), "police udp-class") {
		t.Fatalf("show acls: %v\n%s", err, b.String())
	}
}
