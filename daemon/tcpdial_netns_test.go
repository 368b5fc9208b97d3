package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
)

// TestTCPDialTwoWorkers: vecnet with two workers, each owning one queue of
// two-queue veths, dials a kernel HTTP server (python3 http.server) in
// host B through sock.Dialer and http.Client, a new connection per
// request. Dial spreads the connections over both workers, and the peer's
// answers come back on whichever queue its hash picks: about half reach
// the worker that does not own the connection, which hands them over
// (tcp4-input handed_off) instead of answering RST. Every request
// succeeds.
func TestTCPDialTwoWorkers(t *testing.T) {
	testutil.RequireTool(t, "python3")
	testutil.RequireTool(t, "ss")
	for _, tc := range []struct{ name, driver, xdpMode string }{
		{"afxdp-native", "afxdp", "native"},
		{"afpacket", "afpacket", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig, d := rigRouter(t, topo.RigOptions{Prefix: "td", Queues: 2}, tc.driver, tc.xdpMode, func(cfg *config.Config) {
				cfg.Workers = 2
				for k := range cfg.Interfaces {
					cfg.Interfaces[k].Queues = 2
				}
			}, daemon.Options{NoCLI: true, HostTCP: true})
			body := bytes.Repeat([]byte("vecnet dials on any worker\n"), 1000)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "f"), body, 0o644); err != nil {
				t.Fatal(err)
			}
			const port = 8080
			srv := rig.B.Command("python3", "-m", "http.server", "--bind", topo.HostBAddr, "--directory", dir, fmt.Sprint(port))
			startTCPServer(t, rig.B, srv, port, 10*time.Second)

			tr := &http.Transport{DialContext: sock.Dialer(d.Stack), DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			url := fmt.Sprintf("http://%s:%d/f", topo.HostBAddr, port)
			const clients, each = 8, 12
			var wg sync.WaitGroup
			errs := make(chan error, clients*each)
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						resp, err := client.Get(url)
						if err != nil {
							errs <- err
							continue
						}
						got, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
							errs <- fmt.Errorf("GET: status %d, %d bytes, %v", resp.StatusCode, len(got), err)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			failed := 0
			for err := range errs {
				if failed < 3 {
					t.Errorf("request: %v", err)
				}
				failed++
			}
			handed := errCount(d, tcpnode.InputName, "handed_off")
			t.Logf("%d of %d requests failed; tcp4-input handed_off %d, handoff_full %d, no_connection %d",
				failed, clients*each, handed, errCount(d, tcpnode.InputName, "handoff_full"), errCount(d, tcpnode.InputName, "no_connection"))
			if failed > 0 {
				t.Fatalf("vecnet errors: %s", errorsText(d))
			}
			if handed == 0 {
				t.Fatalf("no segment was handed over: the peer answered every connection on its own worker's queue (test proves nothing)\n%s", errorsText(d))
			}
		})
	}
}
