package daemon_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/policer"
)

// TestPolicerRate offers iperf3 UDP at twice a policer's committed rate
// through the router and checks what host B receives against the rate
// (RFC 2697 srTCM, red dropped): within 5 % (checkPolicedUDPRate).
func TestPolicerRate(t *testing.T) {
	testutil.RequireTool(t, "iperf3")
	const (
		cirBits = 20_000_000
		cbs     = 64 << 10
	)
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.Policers = []config.Policer{{
			Name: "a-in", Interface: topo.RouterA,
			Meter:   policer.Config{Mode: policer.SingleRate, CIR: cirBits / 8, CBS: cbs},
			Actions: [policer.NumColors]policer.Action{policer.Red: {Kind: policer.Drop}, policer.Yellow: {Kind: policer.Drop}},
		}}
	}, daemon.Options{})
	checkPolicedUDPRate(t, d, rig, cirBits, cbs)
	st := d.Policers()[0]
	t.Logf("policer green %d yellow %d red %d packets", st.Packets[0], st.Packets[1], st.Packets[2])
	if st.Packets[policer.Red] == 0 {
		t.Fatalf("policer coloured nothing red at twice its rate: %+v", st)
	}
	if n := errCount(d, policer.NodeName, "red_drop"); n != st.Packets[policer.Red] {
		t.Fatalf("red_drop counter %d, policer red packets %d", n, st.Packets[policer.Red])
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show policers"); err != nil || !strings.Contains(b.String(), "a-in") {
		t.Fatalf("show policers: %v\n%s", err, b.String())
	}
}

// checkPolicedUDPRate offers iperf3 UDP from host A to host B through
// the router at 40 Mbit/s for 4 s, twice the cirBits (bit/s) of the
// policer under test, and checks what B's server received, in IP bits a
// second (payload + UDP + IPv4 headers: what the policer meters), against
// the rate: within 5 %, plus the first burst (cbs bytes) spread over the
// run. It fails when the offer was not well above cirBits.
func checkPolicedUDPRate(t *testing.T, d *daemon.Daemon, rig *topo.Rig, cirBits float64, cbs int) {
	t.Helper()
	const payload = 1000
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "2", topo.HostBAddr)
	srv := rig.B.Command("iperf3", "-s", "-1", "-J")
	var srvOut strings.Builder
	srv.Stdout = &srvOut
	startTCPServer(t, rig.B, srv, 5201, 5*time.Second)
	cmd := rig.A.Command("iperf3", "-c", topo.HostBAddr, "-J", "--connect-timeout", "3000",
		"-u", "-b", "40M", "-l", strconv.Itoa(payload), "-t", "4")
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
	sent := s.Packets // iperf3's server counts the sender's sequence numbers as packets
	if s.Seconds <= 0 || sent == 0 {
		t.Fatalf("iperf3 server saw nothing: %s", srvOut.String())
	}
	rate := (sent - s.LostPackets) * (payload + 28) * 8 / s.Seconds
	offered := sent * (payload + 28) * 8 / s.Seconds
	t.Logf("offered %.1f Mbit/s, received %.1f Mbit/s over %.2f s", offered/1e6, rate/1e6, s.Seconds)
	if offered < 1.5*cirBits {
		t.Fatalf("iperf3 offered only %.1f Mbit/s: the test needs well above the %.0f Mbit/s CIR", offered/1e6, cirBits/1e6)
	}
	burst := float64(cbs*8) / s.Seconds
	if lo, hi := 0.95*cirBits, 1.05*cirBits+burst; rate < lo || rate > hi {
		t.Fatalf("received %.2f Mbit/s through a %.0f Mbit/s policer: want %.2f..%.2f\n%s", rate/1e6, cirBits/1e6, lo/1e6, hi/1e6, errorsText(d))
	}
}
