package daemon_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/afxdp"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/worker"
)

// The soak: forwarding, ARP churn, route churn and socket churn at once
// against the real daemon on AF_XDP between kernel peers, asserting a flat
// heap, flat pool use and no adjacency growth. VECNET_SOAK sets its length
// (a Go duration, e.g. "10m" from scripts/soak.sh); it runs 22 s otherwise (about 30 s with the set-up),
// in every go test of this package.

// soakSecondaries are the addresses host B adds and removes (ARP churn);
// vecnet resolves each of them, so they bound its neighbour table.
const soakSecondaries = 16

func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("VECNET_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("VECNET_SOAK=%q: %v", s, err)
		}
		return d
	}
	return 22 * time.Second
}

// neighborCount is the number of entries in vecnet's neighbour table (the
// adjacencies it keeps), read through the table's listing.
func neighborCount(d *daemon.Daemon) int { return len(d.DP.Neighbors.List()) }

// routeCounts counts the FIB's routes: those configured (static, local,
// connected) and the neighbours' host routes (adjacencies).
func routeCounts(d *daemon.Daemon) (configured, adjacencies int) {
	for _, r := range d.DP.FIB.Routes() {
		if r.Kind == fib.KindNeighbor {
			adjacencies++
		} else {
			configured++
		}
	}
	return configured, adjacencies
}

// poolInFlight is how many buffers are in use outside the kernel's hands:
// the pool's in-use count, read on the (single) worker while its cache is
// idle, less what the AF_XDP ports have lent the kernel (their fill rings
// adapt to load, see driver/afxdp/fill.go).
func poolInFlight(d *daemon.Daemon) int {
	n := 0
	d.OnWorkers(func(w *worker.Worker) {
		n = d.DP.Pool.InUse()
		for _, ifc := range d.Interfaces {
			p := ifc.Ports[w.ID]
			if o, ok := p.(*driver.TxOwner); ok {
				p = o.Unwrap()
			}
			if x, ok := p.(*afxdp.Port); ok {
				n -= x.Held()
			}
		}
	})
	return n
}

// heapAfterGC is the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// soakState is what the churners count.
type soakState struct {
	stop       chan struct{}
	wg         sync.WaitGroup
	arpRounds  atomic.Int64
	routeRound atomic.Int64
	sockRounds atomic.Int64
	sockFails  atomic.Int64
	errs       chan error
}

func (s *soakState) run(f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			if err := f(); err != nil {
				select {
				case s.errs <- err:
				default:
				}
				return
			}
		}
	}()
}

func TestSoak(t *testing.T) {
	total := soakDuration(t)
	rig, d := faultRouterOpts(t, daemon.Options{NoCLI: true, HostStack: true})
	waitPing(t, rig.A, topo.HostBAddr, 10*time.Second)
	for k := 0; k < soakSecondaries; k++ {
		if _, err := rig.B.Run("ip", "addr", "add", fmt.Sprintf("10.77.2.%d/24", 100+k), "dev", topo.HostDev); err != nil {
			t.Fatal(err)
		}
	}
	routes0, _ := routeCounts(d)
	poolIdle := poolInFlight(d) // before any churn: what an idle router keeps
	st := &soakState{stop: make(chan struct{}), errs: make(chan error, 8)}
	var stopOnce sync.Once
	stopAll := func() { stopOnce.Do(func() { close(st.stop); st.wg.Wait() }) }
	t.Cleanup(stopAll)

	// Forwarding: a flow to host B and one to each secondary address.
	sink := listenUDP(t, rig.B, 5004)
	flows := []*flow{startFlow(t, rig.A, topo.HostBAddr+":5004")}
	for k := 0; k < soakSecondaries; k += 4 {
		flows = append(flows, startFlow(t, rig.A, fmt.Sprintf("10.77.2.%d:5004", 100+k)))
	}

	// ARP churn: host B drops and re-adds a secondary address and forgets
	// the router's MAC; vecnet forgets what it learned, so both sides
	// resolve again under traffic.
	portB := d.Interfaces[1].Index
	st.run(func() error {
		k := int(st.arpRounds.Add(1)) % soakSecondaries
		a := fmt.Sprintf("10.77.2.%d", 100+k)
		if _, err := rig.B.Run("sh", "-c", fmt.Sprintf("ip addr del %s/24 dev %s && ip addr add %s/24 dev %s && ip neigh flush dev %s",
			a, topo.HostDev, a, topo.HostDev, topo.HostDev)); err != nil {
			return err
		}
		for _, e := range d.DP.Neighbors.List() {
			if !e.Static && e.Port == portB {
				d.DP.Neighbors.Delete(e.Port, e.IP.As4())
			}
		}
		return waitCycle(st.stop, 50*time.Millisecond)
	})

	// Route churn: 64 routes in, 64 out, through the CLI's path.
	st.run(func() error {
		r := st.routeRound.Add(1)
		via := []netip.Addr{netip.MustParseAddr(topo.HostBAddr)}
		for k := 0; k < 64; k++ {
			p := netip.MustParsePrefix(fmt.Sprintf("10.200.%d.0/24", k))
			if err := d.AddRoute(p, via, ""); err != nil {
				return fmt.Errorf("round %d: add %v: %w", r, p, err)
			}
		}
		for k := 0; k < 64; k++ {
			if err := d.DP.FIB.DelRoute(netip.MustParsePrefix(fmt.Sprintf("10.200.%d.0/24", k))); err != nil {
				return fmt.Errorf("round %d: del: %w", r, err)
			}
		}
		return waitCycle(st.stop, 10*time.Millisecond)
	})

	// Socket churn: a vecnet UDP socket per round, on a new port, answers
	// one request from host B and closes.
	var peer *net.UDPConn
	if err := rig.B.Do(func() (err error) { peer, err = net.ListenUDP("udp4", &net.UDPAddr{}); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	st.run(func() error {
		r := st.sockRounds.Add(1)
		port := uint16(20000 + r%20000)
		c, err := sock.ListenUDP(d.Stack, netip.AddrPortFrom(netip.MustParseAddr(topo.RouterBAddr), port))
		if err != nil {
			return fmt.Errorf("socket round %d: %w", r, err)
		}
		defer c.Close()
		if !echoOnce(c, peer, port) {
			st.sockFails.Add(1)
		}
		return nil
	})

	warm := min(total/5, 10*time.Second)
	if !waitFor(st, warm) {
		t.Fatal(<-st.errs)
	}
	heap0, pool0, neigh0 := heapAfterGC(), poolInFlight(d), neighborCount(d)
	t.Logf("after %v warm-up: heap %d KiB, pool in flight %d, neighbours %d", warm, heap0>>10, pool0, neigh0)
	if !waitFor(st, total-warm) {
		t.Fatal(<-st.errs)
	}
	stopAll()
	for _, f := range flows {
		f.end()
	}
	var heap1 uint64
	var pool1 int
	// Quiet again: what was in flight drains.
	testutil.Eventually(t, 10*time.Second, "the pool back to its idle level", func() bool {
		pool1 = poolInFlight(d)
		return pool1 <= poolIdle
	})
	heap1 = heapAfterGC()
	neigh1 := neighborCount(d)
	var sent uint64
	for _, f := range flows {
		sent += f.sent.Load()
	}
	t.Logf("idle pool in flight %d", poolIdle)
	t.Logf("after %v: heap %d KiB, pool in flight %d, neighbours %d; %d datagrams sent, %d delivered to host B; %d ARP, %d route, %d socket rounds (%d socket rounds unanswered)",
		total, heap1>>10, pool1, neigh1, sent, sink.count(), st.arpRounds.Load(), st.routeRound.Load(), st.sockRounds.Load(), st.sockFails.Load())
	if heap1 > heap0+4<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB", heap0>>10, heap1>>10)
	}
	if limit := 2 + soakSecondaries; neigh1 > limit {
		t.Errorf("%d neighbour entries, more than the %d addresses there are", neigh1, limit)
	}
	routes1, adj := routeCounts(d)
	if routes1 != routes0 {
		t.Errorf("%d routes after the churn, %d before", routes1, routes0)
	}
	if limit := 2 + soakSecondaries; adj > limit {
		t.Errorf("%d neighbour host routes (adjacencies) in the FIB, more than the %d addresses there are", adj, limit)
	}
	if st.sockRounds.Load() < 10 || st.sockFails.Load()*10 > st.sockRounds.Load() {
		t.Errorf("socket churn: %d of %d rounds unanswered", st.sockFails.Load(), st.sockRounds.Load())
	}
	if sink.count() == 0 {
		t.Error("nothing forwarded")
	}
}

// waitFor lets the soak run for d; false if a churner failed.
func waitFor(st *soakState, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case err := <-st.errs:
		st.errs <- err
		return false
	}
}

// waitCycle paces a churner: it waits d or until the soak stops.
func waitCycle(stop chan struct{}, d time.Duration) error {
	select {
	case <-stop:
	case <-time.After(d):
	}
	return nil
}

// echoOnce has peer send a request to the vecnet socket c (on port), which
// answers it; it reports whether peer got the answer, trying three times.
func echoOnce(c *sock.UDPConn, peer *net.UDPConn, port uint16) bool {
	dst := &net.UDPAddr{IP: net.ParseIP(topo.RouterBAddr), Port: int(port)}
	buf := make([]byte, 64)
	for try := 0; try < 3; try++ {
		if _, err := peer.WriteToUDP([]byte("soak"), dst); err != nil {
			continue
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		if _, err := c.WriteToUDPAddrPort(buf[:n], from); err != nil {
			continue
		}
		peer.SetReadDeadline(time.Now().Add(time.Second))
		for {
			m, src, err := peer.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if src.Port == int(port) && m == n {
				return true
			}
		}
	}
	return false
}
