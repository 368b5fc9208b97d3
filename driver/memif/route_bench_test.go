package memif_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/memif"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// routeRig is the router of "vecnet bench memif" in one goroutine: vecnet's
// graph (port-input, ethernet-input, ip4-input, lookup, rewrite, output)
// between two memif ports, and the generator and the sink as the other
// ends of those memifs. One step puts a vector of frames on the
// generator's ring, polls the graph once and takes what reached the sink,
// so a benchmark (or callgrind) sees the router's per-packet cost without
// threads or scheduling.
type routeRig struct {
	g         *graph.Graph
	gen, sink *memif.Queue
	frames    [][]byte
	bufs      [][]byte
	lens      []int
}

var (
	routeMACA  = [6]byte{0x02, 0x76, 0x6e, 0x6d, 0, 1}
	routeMACB  = [6]byte{0x02, 0x76, 0x6e, 0x6d, 0, 2}
	routeHostA = [6]byte{0x02, 0x68, 0x61, 0, 0, 1}
	routeHostB = [6]byte{0x02, 0x68, 0x62, 0, 0, 2}
)

// routeFrame is a 60-byte UDP frame from host A (10.77.1.2) to host B
// (10.77.2.2), source port sport, as the bench's generator sends.
func routeFrame(sport uint16) []byte {
	f := make([]byte, 60)
	copy(f[0:], routeMACA[:])
	copy(f[6:], routeHostA[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 46)
	copy(ip[12:], []byte{10, 77, 1, 2})
	copy(ip[16:], []byte{10, 77, 2, 2})
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip, 0))
	udp := f[34:]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], 26) // checksum 0: none
	return f
}

// newRouteRig opens the two memifs with vecnet in role and zero-copy when
// zc (vecnet the client over a shared arena), the ends in the other role,
// copying, and waits until both connect.
func newRouteRig(t testing.TB, vecnetRole memif.Role, zc bool) *routeRig {
	t.Helper()
	newDP := dataplane.New
	if zc {
		newDP = dataplane.NewShared
	}
	dp, err := newDP(8192)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	endRole := memif.Client
	if vecnetRole == memif.Client {
		endRole = memif.Server
	}
	var ports []driver.Port
	var bindings []driver.Binding
	var ends []*memif.Endpoint
	var eps []*memif.Endpoint
	for k, name := range []string{"mema", "memb"} {
		sock := filepath.Join(dir, name+".sock")
		cfg := memif.Config{Name: name, Socket: sock, Role: vecnetRole}
		if zc {
			cfg.Pool = dp.Pool
		}
		end, err := memif.Open(memif.Config{Name: "end-" + name, Socket: sock, Role: endRole, Retry: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
		cfg.Retry = time.Millisecond
		ep, err := memif.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
		p := ep.Ports()[0]
		ports = append(ports, p)
		bindings = append(bindings, driver.Binding{If: uint16(k), Port: p})
	}
	cache := dp.Pool.NewCache()
	for k, pfx := range []string{"10.77.1.1/24", "10.77.2.1/24"} {
		mac := routeMACA
		if k == 1 {
			mac = routeMACB
		}
		idx, err := dp.AddInterface(fmt.Sprintf("mem%c", 'a'+k), mac, 1500, netip.MustParsePrefix(pfx))
		if err != nil {
			t.Fatal(err)
		}
		// As the daemon does for a port that cannot carry a partial checksum.
		if driver.ChecksumsComplete(ports[k]) {
			if err := dp.Ifaces.SetChecksumsComplete(idx, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	dp.Neighbors.AddStatic(1, [4]byte{10, 77, 2, 2}, routeHostB)
	g, err := dp.BuildGraph(cache, []graph.Registration{driver.InputNode("port-input", bindings, "ethernet-input")}, ports)
	if err != nil {
		t.Fatal(err)
	}
	r := &routeRig{g: g, gen: ends[0].Queues()[0], sink: ends[1].Queues()[0],
		bufs: make([][]byte, pkt.VectorSize), lens: make([]int, pkt.VectorSize)}
	for k := range pkt.VectorSize {
		r.frames = append(r.frames, routeFrame(uint16(1024+k)))
		r.bufs[k] = make([]byte, 2048)
	}
	t.Cleanup(func() {
		for _, e := range ends {
			e.Close()
		}
		for _, e := range eps {
			e.Close()
		}
		g.Close()
		for _, p := range ports {
			p.Close(cache)
		}
		cache.Flush()
		if n := dp.Pool.InUse(); n != 0 {
			t.Errorf("%d buffers leaked", n)
		}
		dp.Close()
	})
	testutil.Eventually(t, 5*time.Second, "memifs connect", func() bool {
		for _, e := range append(ends, eps...) {
			if e.State() != memif.Connected {
				return false
			}
		}
		return true
	})
	return r
}

// step sends one vector from the generator, polls the graph until the
// sink has it all, and returns how many frames reached the sink.
func (r *routeRig) step() int {
	sent := r.gen.Send(r.frames)
	got := 0
	for tries := 0; got < sent && tries < 4; tries++ {
		r.g.Poll()
		got += r.sink.Recv(r.bufs, r.lens)
	}
	return got
}

// BenchmarkRoute: vecnet routing 64-byte frames between two memifs, the
// generator and sink its peers in the same goroutine (their copies are in
// the figure, as they are on another CPU in the bench). graph-ns/pkt is
// the nodes' own time (vecnet's share); the sub-benchmarks are vecnet as
// the zero-copy client and as the (copying) server.
func BenchmarkRoute(b *testing.B) {
	for _, m := range []struct {
		name string
		role memif.Role
		zc   bool
	}{{"client-zerocopy", memif.Client, true}, {"client-copy", memif.Client, false}, {"server", memif.Server, false}} {
		b.Run(m.name, func(b *testing.B) {
			r := newRouteRig(b, m.role, m.zc)
			for range 4 {
				r.step()
			}
			r.g.ClearRuntime()
			total := 0
			b.ResetTimer()
			for b.Loop() {
				total += r.step()
			}
			b.StopTimer()
			if total < b.N*pkt.VectorSize*9/10 {
				b.Fatalf("%d of %d frames reached the sink (errors %v)", total, b.N*pkt.VectorSize, r.g.Errors(false))
			}
			var clocks uint64
			for _, n := range r.g.Runtime() {
				clocks += n.Stats.Clocks
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/pkt")
			b.ReportMetric(float64(clocks)/tsc.TicksPerNanosecond()/float64(total), "graph-ns/pkt")
			if os.Getenv("VECNET_BENCH_RUNTIME") != "" {
				ctl.WriteNodes(os.Stderr, ctl.NodeRows([][]graph.NodeStats{r.g.Runtime()}, tsc.TicksPerNanosecond()), tsc.TicksPerNanosecond())
			}
		})
	}
}

// TestRouteRig: the rig routes every frame, TTL decremented, to host B's
// MAC, in each of vecnet's memif modes; and routing allocates nothing.
func TestRouteRig(t *testing.T) {
	for _, m := range []struct {
		name string
		role memif.Role
		zc   bool
	}{{"client-zerocopy", memif.Client, true}, {"client-copy", memif.Client, false}, {"server", memif.Server, false}} {
		t.Run(m.name, func(t *testing.T) {
			r := newRouteRig(t, m.role, m.zc)
			for round := range 8 { // 2048 frames: the rings wrap
				if got := r.step(); got != pkt.VectorSize {
					t.Fatalf("round %d: %d of %d frames reached the sink (errors %v)", round, got, pkt.VectorSize, r.g.Errors(false))
				}
				f := r.bufs[round][:r.lens[round]]
				if len(f) != 60 || [6]byte(f[0:6]) != routeHostB || [6]byte(f[6:12]) != routeMACB || f[14+8] != 63 {
					t.Fatalf("frame %x", f)
				}
				if ip := wire.IPv4(f[14:34]); wire.Checksum(ip, 0) != 0 {
					t.Fatalf("bad IPv4 checksum in %x", ip)
				}
				if sport := binary.BigEndian.Uint16(f[34:]); sport != uint16(1024+round) {
					t.Fatalf("frame %d has source port %d (out of order)", round, sport)
				}
			}
			if n := testing.AllocsPerRun(50, func() { r.step() }); n != 0 {
				t.Errorf("%v allocations per routed vector", n)
			}
		})
	}
}
