package dataplane

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// capturePort is a driver.Port that records what is sent and frees it; its
// Recv returns nothing. Tests inject frames straight into ethernet-input.
type capturePort struct {
	sent    [][]byte
	discard bool
	stats   driver.Stats
}

func (p *capturePort) Recv(*pkt.Cache, *pkt.Vector) int { return 0 }
func (p *capturePort) Send(c *pkt.Cache, v *pkt.Vector) int {
	a := c.Arena()
	for _, i := range v.Idx[:v.Len] {
		if !p.discard {
			p.sent = append(p.sent, append([]byte(nil), a.Data(i)...))
		}
		p.stats.TxPackets++
	}
	n := v.Len
	c.FreeN(v.Idx[:v.Len])
	v.Reset()
	return n
}
func (p *capturePort) Stats() driver.Stats    { return p.stats }
func (p *capturePort) Close(*pkt.Cache) error { return nil }
func (p *capturePort) take() [][]byte         { s := p.sent; p.sent = nil; return s }

var (
	macA   = wire.MAC{0x02, 0, 0, 0, 0xa, 1} // router, interface 0
	macB   = wire.MAC{0x02, 0, 0, 0, 0xb, 1} // router, interface 1
	hostA  = wire.MAC{0x02, 0, 0, 0, 0xa, 2} // host on interface 0
	hostB  = wire.MAC{0x02, 0, 0, 0, 0xb, 2} // host on interface 1
	ipRA   = [4]byte{10, 0, 1, 1}
	ipRB   = [4]byte{10, 0, 2, 1}
	ipHA   = [4]byte{10, 0, 1, 2}
	ipHB   = [4]byte{10, 0, 2, 2}
	ipFar  = [4]byte{192, 168, 7, 9} // behind hostB by a static route
	ipNone = [4]byte{172, 16, 0, 1}  // no route
)

// rig is a two-interface router with capture ports.
type rig struct {
	t     testing.TB
	dp    *Dataplane
	g     *graph.Graph
	cache *pkt.Cache
	ports [2]*capturePort
	now   int64
}

func newRig(t testing.TB) *rig {
	t.Helper()
	dp, err := New(4096)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dp: dp, cache: dp.Pool.NewCache()}
	if _, err := dp.AddInterface("eth0", macA, 1500, netip.MustParsePrefix("10.0.1.1/24")); err != nil {
		t.Fatal(err)
	}
	if _, err := dp.AddInterface("eth1", macB, 1400, netip.MustParsePrefix("10.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := dp.FIB.AddRoute(netip.MustParsePrefix("192.168.0.0/16"), nil); err == nil {
		t.Fatal("route without next hops accepted")
	}
	r.ports[0], r.ports[1] = &capturePort{}, &capturePort{}
	r.g, err = dp.BuildGraph(r.cache, nil, []driver.Port{r.ports[0], r.ports[1]})
	if err != nil {
		t.Fatal(err)
	}
	r.g.SetClock(func() int64 { return r.now })
	t.Cleanup(func() {
		r.g.Close()
		r.cache.Flush()
		if n := dp.Pool.InUse(); n != 0 {
			t.Errorf("%d buffers leaked", n)
		}
		if err := dp.Pool.Check(); err != nil {
			t.Error(err)
		}
		dp.Close()
	})
	return r
}

// resolve installs neighbours so forwarding needs no ARP.
func (r *rig) resolve() {
	r.dp.Neighbors.AddStatic(0, ipHA, hostA)
	r.dp.Neighbors.AddStatic(1, ipHB, hostB)
	if err := r.dp.FIB.AddRoute(netip.MustParsePrefix("192.168.0.0/16"), []fibHop{{Addr: netip.AddrFrom4(ipHB), Port: -1}}); err != nil {
		r.t.Fatal(err)
	}
}

// inject runs frames (received on port) through the graph.
func (r *rig) inject(port uint16, frames ...[]byte) {
	r.t.Helper()
	var v pkt.Vector
	a := r.dp.Arena
	for _, f := range frames {
		i, ok := r.cache.Alloc()
		if !ok {
			r.t.Fatal("out of buffers")
		}
		d, _ := a.SetData(i, pkt.Headroom, len(f))
		copy(d, f)
		a.Meta(i).RxPort = port
		v.Append(i)
	}
	if err := r.g.Inject(ethernet.NodeName, &v); err != nil {
		r.t.Fatal(err)
	}
	r.g.Dispatch()
}

func (r *rig) errCount(node, name string) uint64 { return r.g.ErrorByName(node, name) }

// frameSpec and buildFrame, arpFrame: see internal/frames.
type frameSpec = frames.Spec

func buildFrame(s frameSpec) []byte { return frames.IPv4(s) }

func arpFrame(op uint16, srcMAC wire.MAC, sip [4]byte, dstMAC wire.MAC, tmac wire.MAC, tip [4]byte) []byte {
	return frames.ARP(op, srcMAC, sip, dstMAC, tmac, tip)
}
