package sock_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
	"github.com/vecnet/vecnet/worker"
)

// capPort records what the data plane sends on one interface.
type capPort struct {
	mu   sync.Mutex
	sent [][]byte
}

func (p *capPort) Recv(*pkt.Cache, *pkt.Vector) int { return 0 }
func (p *capPort) Send(c *pkt.Cache, v *pkt.Vector) int {
	p.mu.Lock()
	for _, i := range v.Idx[:v.Len] {
		p.sent = append(p.sent, append([]byte(nil), c.Arena().Data(i)...))
	}
	p.mu.Unlock()
	n := v.Len
	c.FreeN(v.Idx[:v.Len])
	v.Reset()
	return n
}
func (p *capPort) Stats() driver.Stats    { return driver.Stats{} }
func (p *capPort) Close(*pkt.Cache) error { return nil }

// waitFrame waits for a frame on p that match accepts.
func (p *capPort) waitFrame(t *testing.T, what string, match func(f []byte) bool) []byte {
	t.Helper()
	var got []byte
	testutil.Eventually(t, 5*time.Second, what, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for k, f := range p.sent {
			if match(f) {
				got = f
				p.sent = append(p.sent[:k], p.sent[k+1:]...)
				return true
			}
		}
		return false
	})
	return got
}

// TestDataplane runs the real router graph with the stack on a worker: a
// datagram from a host reaches a sock.UDPConn, and the replies leave by the
// right interface with the right MACs and addresses.
func TestDataplane(t *testing.T) {
	var (
		macA  = wire.MAC{2, 0, 0, 0, 0xa, 1}
		macB  = wire.MAC{2, 0, 0, 0, 0xb, 1}
		hostA = wire.MAC{2, 0, 0, 0, 0xa, 2}
		hostB = wire.MAC{2, 0, 0, 0, 0xb, 2}
		ipRA  = [4]byte{10, 0, 1, 1}
		ipRB  = [4]byte{10, 0, 2, 1}
		ipHA  = [4]byte{10, 0, 1, 2}
		ipHB  = [4]byte{10, 0, 2, 2}
	)
	dp, err := dataplane.New(4096)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.AddInterface("eth0", macA, 1500, netip.MustParsePrefix("10.0.1.1/24")); err != nil {
		t.Fatal(err)
	}
	if _, err := dp.AddInterface("eth1", macB, 1500, netip.MustParsePrefix("10.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	dp.Neighbors.AddStatic(0, ipHA, hostA)
	dp.Neighbors.AddStatic(1, ipHB, hostB)
	st := dp.NewStack(stack.Config{Workers: 1})
	ports := []*capPort{{}, {}}
	cache := dp.Pool.NewCache()
	g, err := dp.BuildGraph(cache, nil, []driver.Port{ports[0], ports[1]})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(0, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := st.TxWaiter(g)
	if err != nil {
		t.Fatal(err)
	}
	w.AddWaiter(wt)
	w.Start()
	defer func() {
		w.Stop()
		st.Close()
		g.Close()
		cache.Flush()
		st.Flush()
		if n := dp.Pool.InUse(); n != 0 {
			t.Errorf("%d buffers leaked", n)
		}
		dp.Close()
	}()
	inject := func(port uint16, f []byte) {
		if err := w.Do(func() {
			i, _ := cache.Alloc()
			d, _ := dp.Arena.SetData(i, pkt.Headroom, len(f))
			copy(d, f)
			dp.Arena.Meta(i).RxPort = port
			var v pkt.Vector
			v.Append(i)
			if err := g.Inject(ethernet.NodeName, &v); err != nil {
				t.Error(err)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	isUDP := func(f []byte, dstMAC, srcMAC wire.MAC, src, dst [4]byte, sport, dport uint16, payload []byte) bool {
		if len(f) < 42 || !bytes.Equal(f[0:6], dstMAC[:]) || !bytes.Equal(f[6:12], srcMAC[:]) {
			return false
		}
		ip, perr := wire.ParseIPv4(f[14:])
		if perr != 0 || !ip.ChecksumValid() || ip.Protocol() != wire.IPProtoUDP || ip.Src() != src || ip.Dst() != dst || ip.TTL() != udp.DefaultTTL {
			return false
		}
		u, ok := wire.ParseUDP(ip.Payload())
		return ok && u.Checksum() != 0 && u.ChecksumValid(src, dst) && u.SrcPort() == sport && u.DstPort() == dport &&
			bytes.Equal(u.Payload(), payload)
	}

	c, err := sock.ListenUDP(st, netip.MustParseAddrPort("0.0.0.0:5353"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))

	// Host A asks; the socket reads the exact payload and source.
	q := frames.IPv4(frames.Spec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, SrcPort: 4444, DstPort: 5353, Payload: 20})
	inject(0, q)
	buf := make([]byte, 100)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	wantQ := q[42:]
	if !bytes.Equal(buf[:n], wantQ) || from != netip.AddrPortFrom(netip.AddrFrom4(ipHA), 4444) {
		t.Fatalf("read % x from %v", buf[:n], from)
	}
	// The answer leaves by eth0 to host A's MAC, from 10.0.1.1 (route source).
	if _, err := c.WriteToUDPAddrPort([]byte("answer A"), from); err != nil {
		t.Fatal(err)
	}
	ports[0].waitFrame(t, "answer to host A on eth0", func(f []byte) bool {
		return isUDP(f, hostA, macA, ipRA, ipHA, 5353, 4444, []byte("answer A"))
	})
	// A datagram to host B leaves by eth1 from 10.0.2.1, also when the
	// worker was asleep (the transmit waiter wakes it).
	testutil.Eventually(t, 5*time.Second, "worker asleep", func() bool { return w.State() == worker.Sleeping })
	if _, err := c.WriteToUDPAddrPort([]byte("to B"), netip.AddrPortFrom(netip.AddrFrom4(ipHB), 53)); err != nil {
		t.Fatal(err)
	}
	ports[1].waitFrame(t, "datagram to host B on eth1", func(f []byte) bool {
		return isUDP(f, hostB, macB, ipRB, ipHB, 5353, 53, []byte("to B"))
	})

	// Socket to socket through the router's own address (ip4-lookup ->
	// ip4-local -> udp4-input).
	peer, err := sock.ListenUDP(st, netip.MustParseAddrPort("10.0.2.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.WriteToUDPAddrPort([]byte("loop"), netip.MustParseAddrPort("10.0.1.1:5353")); err != nil {
		t.Fatal(err)
	}
	n, from, err = c.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "loop" || from != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("loopback read %q from %v: %v", buf[:n], from, err)
	}

	// An in-graph handler answers in place.
	if err := udp.Of(st).Handle(53, func(b *udp.Batch) {
		for k := 0; k < b.Len(); k++ {
			b.Reply(k, copy(b.Payload(k)[:5], "hello"))
		}
	}); err != nil {
		t.Fatal(err)
	}
	inject(1, frames.IPv4(frames.Spec{SrcMAC: hostB, DstMAC: macB, Src: ipHB, Dst: ipRB, SrcPort: 999, DstPort: 53, Payload: 3}))
	ports[1].waitFrame(t, "handler answer to host B", func(f []byte) bool {
		return isUDP(f, hostB, macB, ipRB, ipHB, 53, 999, []byte("hello"))
	})

	// A connected socket: host A's port unreachable about its datagram
	// fails the next Read with ECONNREFUSED.
	dc, err := sock.DialUDP(st, netip.AddrPort{}, netip.AddrPortFrom(netip.AddrFrom4(ipHA), 53))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if ra, ok := dc.RemoteAddr().(*net.UDPAddr); !ok || ra.AddrPort() != netip.AddrPortFrom(netip.AddrFrom4(ipHA), 53) {
		t.Fatalf("RemoteAddr = %v", dc.RemoteAddr())
	}
	if _, err := dc.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	lport := dc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	q2 := ports[0].waitFrame(t, "connected datagram to host A", func(f []byte) bool {
		return isUDP(f, hostA, macA, ipRA, ipHA, lport, 53, []byte("anyone?"))
	})
	inject(0, icmpUnreachable(hostA, macA, ipHA, ipRA, q2[14:]))
	dc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := dc.Read(buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Read after port unreachable: %v", err)
	}
	if _, err := dc.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(netip.AddrFrom4(ipHB), 1)); !errors.Is(err, net.ErrWriteToConnected) {
		t.Errorf("WriteTo on a connected conn: %v", err)
	}

	// A closed port gets ICMP port unreachable.
	inject(0, frames.IPv4(frames.Spec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, SrcPort: 1, DstPort: 6666, Payload: 4}))
	ports[0].waitFrame(t, "port unreachable to host A", func(f []byte) bool {
		if len(f) < 14+20+8 || !bytes.Equal(f[0:6], hostA[:]) {
			return false
		}
		ip := wire.IPv4(f[14:])
		ic := wire.ICMPv4(ip.Payload())
		return ip.Protocol() == wire.IPProtoICMP && ip.Dst() == ipHA && ic.Type() == 3 && ic.Code() == 3
	})
}

// icmpUnreachable builds the port unreachable a host sends about orig (an
// IP packet it received), quoting its header and 8 bytes.
func icmpUnreachable(srcMAC, dstMAC wire.MAC, src, dst [4]byte, orig []byte) []byte {
	q := orig[:wire.IPv4(orig).HeaderLen()+8]
	f := make([]byte, 14+20+8+len(q))
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], srcMAC[:])
	f[12] = 0x08
	wire.IPv4(f[14:]).Encode(&wire.IPv4Fields{TotalLen: uint16(len(f) - 14), TTL: 64, Protocol: wire.IPProtoICMP, Src: src, Dst: dst})
	ic := wire.ICMPv4(f[34:])
	ic.SetType(wire.ICMPv4DestUnreachable)
	ic.SetCode(wire.ICMPv4PortUnreachable)
	copy(ic[8:], q)
	ic.SetChecksum(ic.ComputeChecksum())
	return f
}
