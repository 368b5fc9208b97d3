package daemon_test

import (
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

var (
	memHostA = wire.MAC{2, 0, 0, 0, 0xa, 2}
	memHostB = wire.MAC{2, 0, 0, 0, 0xb, 2}
	memRtrA  = wire.MAC{2, 0, 0, 0, 0xa, 1}
	memRtrB  = wire.MAC{2, 0, 0, 0, 0xb, 1}
)

// startMemRouter starts a one-worker daemon routing between two mem
// interfaces (with opt and limits), a (10.0.1.1/24) and b (10.0.2.1/24), with static neighbours
// 10.0.1.2 and 10.0.2.2, serving its CLI at the returned path.
func startMemRouter(t *testing.T, opt daemon.Options, limits config.Limits) (*daemon.Daemon, *mem.Port, *mem.Port, string) {
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
		Limits: limits,
	}
	if opt.Slots == 0 {
		opt.Slots = 8192
	}
	d, err := daemon.Start(cfg, opt)
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
	_, pa, pb, sockPath := startMemRouter(t, daemon.Options{}, config.Limits{})
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

// errorCount sums a node's error counter over the workers.
func errorCount(d *daemon.Daemon, node, name string) uint64 {
	var n uint64
	for _, rows := range d.Errors() {
		for _, e := range rows {
			if e.Node == node && e.Name == name {
				n += e.Count
			}
		}
	}
	return n
}

// TestUnreadSocketsDoNotStarveTheRouter: sockets nobody reads are flooded
// with more datagrams than the whole pool has buffers. They may hold only
// their budget: the surplus is dropped and counted, every datagram is
// taken off the link, and afterwards the router still answers ARP and
// forwards.
func TestUnreadSocketsDoNotStarveTheRouter(t *testing.T) {
	const slots, nsock, perSock = 4096, 8, 600
	d, pa, pb, _ := startMemRouter(t, daemon.Options{Slots: slots, HostStack: true, NoCLI: true}, config.Limits{})
	var ports []uint16
	for k := range nsock {
		so, err := udp.Of(d.Stack).Open(netip.AddrPortFrom(netip.MustParseAddr("10.0.1.1"), uint16(9000+k)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { so.Close() })
		ports = append(ports, so.LocalAddr().Port())
	}
	var flood [][]byte
	for range perSock {
		for _, p := range ports {
			flood = append(flood, frames.IPv4(frames.Spec{SrcMAC: memHostA, DstMAC: memRtrA, Src: [4]byte{10, 0, 1, 2},
				Dst: [4]byte{10, 0, 1, 1}, DstPort: p, Payload: 32}))
		}
	}
	udp := udp.InputName
	taken := func() uint64 {
		return errorCount(d, udp, "delivered") + errorCount(d, udp, "socket_queue_full") + errorCount(d, udp, "socket_budget")
	}
	deadline := time.Now().Add(20 * time.Second)
	for rest := flood; len(rest) > 0 || taken() < uint64(len(flood)); {
		rest = rest[pa.Inject(rest...):]
		if time.Now().After(deadline) {
			t.Fatalf("receive starved: %d of %d datagrams taken off the link (%d buffers in sockets of %d)",
				taken(), len(flood), d.Stack.SocketBuffers(), slots)
		}
		time.Sleep(time.Millisecond) // pacing the injection, polled with a deadline
	}
	held, budget := d.Stack.SocketBuffers(), slots/stack.DefaultBudgetShare
	t.Logf("flood of %d: delivered %d, socket_queue_full %d, socket_budget %d; sockets hold %d buffers",
		len(flood), errorCount(d, udp, "delivered"), errorCount(d, udp, "socket_queue_full"), errorCount(d, udp, "socket_budget"), held)
	if held > budget+256 { // each worker may overshoot by one vector
		t.Errorf("sockets hold %d buffers, budget %d", held, budget)
	}

	// ARP: who has 10.0.1.1? The reply must come.
	pa.TakeSent()
	req := frames.ARP(wire.ARPRequest, memHostA, [4]byte{10, 0, 1, 2}, wire.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wire.MAC{}, [4]byte{10, 0, 1, 1})
	deadline = time.Now().Add(5 * time.Second)
	for replied := false; !replied; {
		if pa.Inject(req) == 0 {
			t.Fatal("link full")
		}
		for _, f := range pa.TakeSent() {
			if len(f) >= 42 && wire.Ethernet(f).Type() == wire.EtherTypeARP && f[21] == 2 {
				replied = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no ARP reply after the flood")
		}
		time.Sleep(5 * time.Millisecond) // resending the request, polled with a deadline
	}
	forwardAB(t, pa, pb, 500, 5*time.Second)
}

// TestCLIConnectionLimitFromConfig: limits.cli_connections reaches the CLI
// server: one connection over it is refused with a message.
func TestCLIConnectionLimitFromConfig(t *testing.T) {
	_, _, _, sockPath := startMemRouter(t, daemon.Options{}, config.Limits{CLIConnections: 1})
	held, err := cli.Dial(sockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Do("show errors"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Call(sockPath, "show errors"); err == nil || !strings.Contains(err.Error(), "too many CLI connections (limit 1)") {
		t.Fatalf("second connection: %v, want a refusal naming the limit", err)
	}
}

// TestHandlerPanicKeepsRouting: an application's in-graph handler panics on
// every batch; its datagrams are dropped and counted, the worker lives on,
// and forwarding between the ports goes on.
func TestHandlerPanicKeepsRouting(t *testing.T) {
	d, pa, pb, _ := startMemRouter(t, daemon.Options{HostStack: true, NoCLI: true}, config.Limits{})
	if err := udp.Of(d.Stack).Handle(53, func(*udp.Batch) { panic("application bug") }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Of(d.Stack).RemoveHandler(53) })
	q := frames.IPv4(frames.Spec{SrcMAC: memHostA, DstMAC: memRtrA, Src: [4]byte{10, 0, 1, 2}, Dst: [4]byte{10, 0, 1, 1}, DstPort: 53, Payload: 20})
	const queries = 100
	for sent := 0; sent < queries; {
		sent += pa.Inject(q)
	}
	deadline := time.Now().Add(10 * time.Second)
	for errorCount(d, udp.InputName, "handler_panic") < queries {
		if time.Now().After(deadline) {
			t.Fatalf("handler_panic = %d, want %d", errorCount(d, udp.InputName, "handler_panic"), queries)
		}
		time.Sleep(time.Millisecond) // polling a counter with a deadline
	}
	forwardAB(t, pa, pb, 500, 5*time.Second)
	if n := errorCount(d, udp.InputName, "handler_panic"); n != queries {
		t.Errorf("handler_panic = %d, want %d", n, queries)
	}
}
