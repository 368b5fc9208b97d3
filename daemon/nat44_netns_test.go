package daemon_test

import (
	"bufio"
	"encoding/json"
	"fmt"
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

// TestNAT44BetweenNamespaces translates host A (inside) to the router's
// address on B's side (outside): tshark on B sees only the router's
// address, with valid IP and TCP checksums; the TCP peer on B reports that
// address as its client; ping and an iperf3 transfer work through the
// translation; the mappings show in `show nat sessions`.
func TestNAT44BetweenNamespaces(t *testing.T) {
	for _, tool := range []string{"tshark", "socat", "iperf3"} {
		testutil.RequireTool(t, tool)
	}
	rig, d := rigRouter(t, topo.RigOptions{}, "afxdp", "native", func(c *config.Config) {
		c.NAT44 = &config.NAT44{Inside: []string{topo.RouterA}, Outside: topo.RouterB}
	}, daemon.Options{})
	const port = 7000
	capture := rig.B.Command("tshark", "-l", "-n", "-i", topo.HostDev, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-f", fmt.Sprintf("(tcp port %d or icmp) and dst host %s", port, topo.HostBAddr),
		"-T", "fields", "-e", "ip.src", "-e", "ip.checksum.status", "-e", "ip.proto", "-e", "tcp.srcport", "-e", "tcp.checksum.status")
	out, err := capture.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var capLog strings.Builder
	capture.Stderr = &capLog
	capture.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan []string, 256)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- strings.Fields(sc.Text())
		}
		close(lines)
	}()
	t.Cleanup(func() { syscall.Kill(-capture.Process.Pid, syscall.SIGKILL); capture.Wait() })
	pool := topo.RouterBAddr
	deadline := time.After(40 * time.Second)
	// Pings from A until tshark shows one: the capture is live, and ICMP
	// echo is translated (B sees the router's address).
	for seen := false; !seen; {
		rig.A.Command("ping", "-c", "1", "-W", "1", topo.HostBAddr).Run()
		for drained := false; !drained && !seen; {
			select {
			case f, ok := <-lines:
				if !ok {
					t.Fatalf("tshark exited:\n%s", capLog.String())
				}
				if len(f) >= 3 && f[2] == "1" {
					if f[0] != pool {
						t.Fatalf("B saw an echo from %s, want the router's %s", f[0], pool)
					}
					seen = true
				}
			case <-deadline:
				t.Fatalf("tshark on B saw no echo in 40 s:\n%s\n%s", capLog.String(), errorsText(d))
			default:
				drained = true
			}
		}
	}
	startTCPServer(t, rig.B, rig.B.Command("socat", fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr", port), "SYSTEM:echo $SOCAT_PEERADDR"), port, 5*time.Second)
	peer, err := rig.A.Command("socat", "-T", "3", "-", fmt.Sprintf("TCP:%s:%d", topo.HostBAddr, port)).Output()
	if err != nil || strings.TrimSpace(string(peer)) != pool {
		t.Fatalf("B's server saw the client as %q (%v), want %s\n%s", peer, err, pool, errorsText(d))
	}
	// Every TCP segment from A reached B translated, checksums valid.
	segments := 0
	for segments < 3 {
		select {
		case f, ok := <-lines:
			if !ok {
				t.Fatalf("tshark exited:\n%s", capLog.String())
			}
			if len(f) < 5 || f[2] != "6" {
				continue
			}
			segments++
			// *.checksum.status: 0 bad, 1 good, 2 unverified.
			if f[0] != pool || f[1] != "1" || f[4] != "1" {
				t.Errorf("segment at B from port %s: src %s ip checksum %s tcp checksum %s (want %s, 1, 1)", f[3], f[0], f[1], f[4], pool)
			}
		case <-deadline:
			t.Fatalf("tshark on B saw %d TCP segments", segments)
		}
	}
	// A bulk TCP transfer through the translation.
	iperfSrv := rig.B.Command("iperf3", "-s", "-1", "-J")
	var srvOut strings.Builder
	iperfSrv.Stdout = &srvOut
	startTCPServer(t, rig.B, iperfSrv, 5201, 5*time.Second)
	cli := rig.A.Command("iperf3", "-c", topo.HostBAddr, "-n", "16M", "-J", "--connect-timeout", "3000")
	timer := time.AfterFunc(60*time.Second, func() { cli.Process.Kill() })
	o, err := cli.Output()
	timer.Stop()
	if err != nil {
		t.Fatalf("iperf3 through NAT: %v\n%s\n%s", err, o, errorsText(d))
	}
	iperfSrv.Wait()
	// The client sends at least -n bytes (whole blocks); the server may miss
	// the last socket buffer (it stops counting when the client says done).
	var cres, sres iperfResult
	if err := json.Unmarshal(o, &cres); err != nil || cres.End.SumSent.Bytes < 16<<20 {
		t.Fatalf("iperf3 client sent %.0f bytes (%v)", cres.End.SumSent.Bytes, err)
	}
	if err := json.Unmarshal([]byte(srvOut.String()), &sres); err != nil || sres.End.SumReceived.Bytes < 8<<20 {
		t.Fatalf("iperf3 server received %.0f bytes (%v)", sres.End.SumReceived.Bytes, err)
	}
	var b strings.Builder
	if err := d.CLI.Exec(&b, "show nat sessions"); err != nil || !strings.Contains(b.String(), topo.HostAAddr) {
		t.Fatalf("show nat sessions: %v\n%s", err, b.String())
	}
	if n := errCount(d, nat44.In2OutName, "translated"); n == 0 {
		t.Fatal("nothing counted as translated")
	}
	t.Logf("show nat sessions:\n%s", b.String())
}
