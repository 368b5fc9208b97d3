package daemon_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"vecnet/control/config"
	"vecnet/daemon"
	"vecnet/internal/testutil"
	"vecnet/internal/topo"
	"vecnet/worker"
)

// Fault tests (issue 7): the kernel's AF_XDP drops reach "show interfaces",
// a worker without a queue on an interface still transmits on it, a port's
// device going down, coming back and disappearing under traffic, and an XDP
// program detached by someone else.

// faultRouter builds a rig (peers at their defaults) and starts vecnet on
// it with cfg adjusted by tune; both go when the test ends, and the stop
// must find every buffer back.
func faultRouter(t *testing.T, opt topo.RigOptions, tune func(*config.Config)) (*topo.Rig, *daemon.Daemon) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	opt.Prefix = "vf"
	rig, err := topo.NewRig(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	cfg := topo.RouterConfig(rig, "afxdp", "", "")
	if tune != nil {
		tune(cfg)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { stopClean(t, d) }) })
	return rig, d
}

// stopClean stops d and fails t if a buffer leaked.
func stopClean(t *testing.T, d *daemon.Daemon) {
	t.Helper()
	if err := d.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// show runs a CLI command on d and returns its output.
func show(t *testing.T, d *daemon.Daemon, cmd string) string {
	t.Helper()
	var b bytes.Buffer
	if err := d.CLI.Exec(&b, cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return b.String()
}

// udpSink is a UDP socket in a namespace that counts datagrams per source
// port.
type udpSink struct {
	conn *net.UDPConn
	mu   sync.Mutex
	per  map[int]int
	n    int
	done chan struct{}
}

// listenUDP opens a sink on port in ns.
func listenUDP(t *testing.T, ns topo.NS, port int) *udpSink {
	t.Helper()
	s := &udpSink{per: map[int]int{}, done: make(chan struct{})}
	if err := ns.Do(func() (err error) {
		s.conn, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.conn.SetReadBuffer(8 << 20)
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			_, from, err := s.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.per[from.Port]++
			s.n++
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.conn.Close(); <-s.done })
	return s
}

func (s *udpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// udpSenders opens n UDP sockets in ns, each on its own source port,
// connected to dst.
func udpSenders(t *testing.T, ns topo.NS, n int, dst string) []*net.UDPConn {
	t.Helper()
	var cs []*net.UDPConn
	if err := ns.Do(func() error {
		for range n {
			c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netipMust(dst)))
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
	})
	return cs
}

// sendEach sends k datagrams on each of cs and returns how many were sent.
func sendEach(cs []*net.UDPConn, k int) int {
	payload := make([]byte, 64)
	sent := 0
	for r := 0; r < k; r++ {
		for _, c := range cs {
			if _, err := c.Write(payload); err == nil {
				sent++
			}
		}
	}
	return sent
}

// waitPing pings dst from ns until one answer comes back or timeout passes.
func waitPing(t *testing.T, ns topo.NS, dst string, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, "ping "+dst+" from "+ns.Name, func() bool {
		_, err := ns.Run("ping", "-c", "1", "-W", "1", dst)
		return err == nil
	})
}

// kernelCounters parses the AF_XDP kernel counters of interface name out of
// "show interfaces", by column name.
func kernelCounters(t *testing.T, out, name string) map[string]uint64 {
	t.Helper()
	lines := strings.Split(out, "\n")
	for k, l := range lines {
		if !strings.HasPrefix(l, "Name") || !strings.Contains(l, "Fill ring empty") {
			continue
		}
		cols := splitColumns(l)
		for _, row := range lines[k+1:] {
			f := strings.Fields(row)
			if len(f) != len(cols) || f[0] != name {
				continue
			}
			m := map[string]uint64{}
			for i, c := range cols[1:] {
				v, err := strconv.ParseUint(f[i+1], 10, 64)
				if err != nil {
					t.Fatalf("column %q: %q", c, f[i+1])
				}
				m[c] = v
			}
			return m
		}
	}
	t.Fatalf("no AF_XDP kernel counters for %s in show interfaces:\n%s", name, out)
	return nil
}

// splitColumns splits a table header at runs of two or more spaces.
func splitColumns(h string) []string {
	var cols []string
	for _, c := range strings.Split(h, "  ") {
		if c = strings.TrimSpace(c); c != "" {
			cols = append(cols, c)
		}
	}
	return cols
}

// TestXDPKernelDropsInShowInterfaces stalls the worker while host A floods
// the router: the kernel finds the fill ring empty and drops, and "show
// interfaces" must say so under the counters' names.
func TestXDPKernelDropsInShowInterfaces(t *testing.T) {
	rig, d := faultRouter(t, topo.RigOptions{}, nil)
	waitPing(t, rig.A, topo.HostBAddr, 10*time.Second)
	before := kernelCounters(t, show(t, d, "show interfaces"), topo.RouterA)

	entered, release := make(chan struct{}), make(chan struct{})
	go d.Workers[0].Do(func() { close(entered); <-release })
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	<-entered
	cs := udpSenders(t, rig.A, 8, topo.HostBAddr+":9")
	sent := sendEach(cs, 1000) // far more than the fill ring holds
	unblock()

	after := kernelCounters(t, show(t, d, "show interfaces"), topo.RouterA)
	var drops uint64
	for _, c := range []string{"Rx dropped", "Rx ring full", "Fill ring empty"} {
		drops += after[c] - before[c]
	}
	if drops == 0 {
		t.Fatalf("sent %d frames into a stalled worker, the kernel counters show no drop: %v", sent, after)
	}
	t.Logf("sent %d into a stalled worker: kernel counters %v", sent, after)
}

// TestFewerQueuesThanWorkers runs two workers with host A's side on two
// queues and host B's on one: what worker 1 receives and routes to host B
// must be delivered (through worker 0's queue), not dropped for want of a
// queue.
func TestFewerQueuesThanWorkers(t *testing.T) {
	rig, d := faultRouter(t, topo.RigOptions{Queues: 2}, func(c *config.Config) {
		c.Workers = 2
		c.Interfaces[0].Queues = 2 // ra: native mode, a socket per queue
		c.Interfaces[1].Queues = 1 // rb: one queue, owned by worker 0
	})
	waitPing(t, rig.A, topo.HostBAddr, 10*time.Second)
	sink := listenUDP(t, rig.B, 5001)
	cs := udpSenders(t, rig.A, 32, topo.HostBAddr+":5001") // flows spread over host A's two TX queues
	rxBefore := perWorkerRx(d, topo.RouterA)
	sent := sendEach(cs, 20)
	deadline := time.Now().Add(10 * time.Second)
	for sink.count() < sent && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling the count with a deadline
	}
	rx := perWorkerRx(d, topo.RouterA)
	if rx[1]-rxBefore[1] == 0 {
		t.Fatalf("worker 1 received nothing on %s (per worker %v): the flows did not reach queue 1", topo.RouterA, rx)
	}
	if got := sink.count(); got != sent {
		t.Fatalf("host B received %d of %d datagrams (worker 1 received %d); errors: %s",
			got, sent, rx[1]-rxBefore[1], errorsText(d))
	}
	t.Logf("%d datagrams, %d of them through worker 1, all delivered", sent, rx[1]-rxBefore[1])
}

// perWorkerRx returns the received-packet count of interface name's port
// on each worker.
func perWorkerRx(d *daemon.Daemon, name string) []uint64 {
	out := make([]uint64, len(d.Workers))
	for _, ifc := range d.Interfaces {
		if ifc.Config.Name != name {
			continue
		}
		d.OnWorkers(func(w *worker.Worker) {
			if w.ID < len(ifc.Ports) && ifc.Ports[w.ID] != nil {
				out[w.ID] = ifc.Ports[w.ID].Stats().RxPackets
			}
		})
	}
	return out
}

var _ = fmt.Sprint

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
