package daemon_test

import (
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"vecnet/control/cli"
	"vecnet/control/config"
	"vecnet/daemon"
	"vecnet/driver/mem"
	"vecnet/internal/frames"
	"vecnet/wire"
)

var (
	memHostA = wire.MAC{2, 0, 0, 0, 0xa, 2}
	memHostB = wire.MAC{2, 0, 0, 0, 0xb, 2}
	memRtrA  = wire.MAC{2, 0, 0, 0, 0xa, 1}
	memRtrB  = wire.MAC{2, 0, 0, 0, 0xb, 1}
)

// startMemRouter starts a one-worker daemon routing between two mem
// interfaces, a (10.0.1.1/24) and b (10.0.2.1/24), with static neighbours
// 10.0.1.2 and 10.0.2.2, serving its CLI at the returned path.
func startMemRouter(t *testing.T) (*daemon.Daemon, *mem.Port, *mem.Port, string) {
	t.Helper()
	sockPath := filepath.Join(t.TempDir(), "cli.sock")
	cfg := &config.Config{
		Workers: 1,
		Socket:  sockPath,
		Interfaces: []config.Interface{
			{Name: "a", Driver: "mem", MAC: config.MAC(memRtrA), MTU: 1500, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
			{Name: "b", Driver: "mem", MAC: config.MAC(memRtrB), MTU: 1500, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
		},
		Neighbors: []config.Neighbor{
			{Interface: "a", IP: netip.MustParseAddr("10.0.1.2"), MAC: config.MAC(memHostA)},
			{Interface: "b", IP: netip.MustParseAddr("10.0.2.2"), MAC: config.MAC(memHostB)},
		},
	}
	d, err := daemon.Start(cfg, daemon.Options{Slots: 8192})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return d, d.Interfaces[0].Ports[0].(*mem.Port), d.Interfaces[1].Ports[0].(*mem.Port), sockPath
}

// forwardAB injects n frames from host A to host B and waits until all of
// them left by b, or fails after limit.
func forwardAB(t *testing.T, pa, pb *mem.Port, n int, limit time.Duration) {
	t.Helper()
	f := frames.IPv4(frames.Spec{SrcMAC: memHostA, DstMAC: memRtrA, Src: [4]byte{10, 0, 1, 2}, Dst: [4]byte{10, 0, 2, 2}, Payload: 64})
	pb.TakeSent()
	sent, got := 0, 0
	deadline := time.Now().Add(limit)
	for got < n {
		if sent < n {
			sent += pa.Inject(f)
		}
		got += len(pb.TakeSent())
		if time.Now().After(deadline) {
			t.Fatalf("forwarding stalled: %d of %d frames injected, %d forwarded after %v", sent, n, got, limit)
		}
		if sent == n {
			time.Sleep(time.Millisecond) // polling the output for a deadline, not synchronising
		}
	}
}

// TestShowTraceStalledClientDoesNotStopForwarding: a client asks for a big
// trace and never reads the answer. The trace is formatted and written off
// the worker, so forwarding goes on, and other clients are served.
func TestShowTraceStalledClientDoesNotStopForwarding(t *testing.T) {
	_, pa, pb, sockPath := startMemRouter(t)
	if _, err := cli.Call(sockPath, "trace add 10000"); err != nil {
		t.Fatal(err)
	}
	// Enough traced packets to fill the trace buffer: its text (about a
	// megabyte) is far more than the socket buffers hold.
	forwardAB(t, pa, pb, 3000, 20*time.Second)

	c, err := net.Dial("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "show trace\n"); err != nil {
		t.Fatal(err)
	}
	// Never read c. Forwarding must go on meanwhile.
	for range 5 {
		forwardAB(t, pa, pb, 500, 5*time.Second)
	}
	// Other clients are served too.
	if _, err := cli.Call(sockPath, "show errors"); err != nil {
		t.Fatalf("show errors while a client stalls: %v", err)
	}
	// (Cutting the stalled client after the write timeout is
	// control/cli's TestServerCutsStalledReader.)
}
