package daemon_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
	"github.com/vecnet/vecnet/service/policer"
)

// TestACLClassPolicerRate: an ACL rule on A's interface names a class
// policer (police: NAME) for UDP to iperf3's port; iperf3 -u offers twice
// its committed rate and host B receives the rate within 5 % (the method
// of TestPolicerRate). iperf3's TCP control connection, permitted by
// another rule, is not metered; the drops are the ACL node's
// police_*_drop counters and the policer's red/yellow counts.
func TestACLClassPolicerRate(t *testing.T) {
	testutil.RequireTool(t, "iperf3")
	const (
		cirBits = 20_000_000
		cbs     = 64 << 10
		payload = 1000
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
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "2", topo.HostBAddr)

	srv := rig.B.Command("iperf3", "-s", "-1", "-J")
	var srvOut strings.Builder
	srv.Stdout = &srvOut
	startTCPServer(t, rig.B, srv, 5201, 5*time.Second)
	cmd := rig.A.Command("iperf3", "-c", topo.HostBAddr, "-J", "--connect-timeout", "3000",
		"-u", "-b", "40M", "-l", "1000", "-t", "4")
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	out, err := cmd.Output()
	timer.Stop()
	if err != nil {
		t.Fatalf("iperf3 client: %v\n%s\n%s", err, out, errorsText(d))
	}
	srvTimer := time.AfterFunc(10*time.Second, func() { srv.Process.Kill() })
	defer srvTimer.Stop()
	if err := srv.Wait(); err != nil {
		t.Fatalf("iperf3 server: %v\n%s", err, srvOut.String())
	}
	var res struct {
		End struct {
			Sum struct {
				Seconds     float64 `json:"seconds"`
				Packets     float64 `json:"packets"`
				LostPackets float64 `json:"lost_packets"`
			} `json:"sum"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(srvOut.String()), &res); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, srvOut.String())
	}
	s := res.End.Sum
	if s.Seconds <= 0 || s.Packets == 0 {
		t.Fatalf("iperf3 server saw nothing: %s", srvOut.String())
	}
	rate := (s.Packets - s.LostPackets) * (payload + 28) * 8 / s.Seconds
	offered := s.Packets * (payload + 28) * 8 / s.Seconds
	var st daemon.PolicerStats
	for _, p := range d.Policers() {
		if p.Name == "udp-class" {
			st = p
		}
	}
	t.Logf("offered %.1f Mbit/s, received %.1f Mbit/s over %.2f s; class policer green %d yellow %d red %d packets",
		offered/1e6, rate/1e6, s.Seconds, st.Packets[0], st.Packets[1], st.Packets[2])
	if offered < 1.5*cirBits {
		t.Fatalf("iperf3 offered only %.1f Mbit/s: the test needs well above the %d Mbit/s CIR", offered/1e6, cirBits/1_000_000)
	}
	burst := float64(cbs*8) / s.Seconds
	if lo, hi := 0.95*cirBits, 1.05*cirBits+burst; rate < lo || rate > hi {
		t.Fatalf("received %.2f Mbit/s through a %d Mbit/s class policer: want %.2f..%.2f", rate/1e6, cirBits/1_000_000, lo/1e6, hi/1e6)
	}
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
