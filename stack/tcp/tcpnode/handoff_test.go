package tcpnode_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/wire"
)

// handoffFamily is one address family of the hand-off tests.
type handoffFamily struct {
	name        string
	local, peer netip.AddrPort
	input       string // tcp4-input or tcp6-input
	frame       func(c *pkt.Cache, src, dst netip.AddrPort, flags uint8, seq, ack uint32, n int, edit func(d []byte, m *pkt.Meta)) pkt.Index
}

var handoffFamilies = []handoffFamily{
	{name: "ipv4", local: tcpLocal, peer: tcpPeer, input: tcpnode.InputName, frame: tcpDataFrame},
	{name: "ipv6", local: tcpLocal6, peer: tcpPeer6, input: tcpnode.Input6Name, frame: tcpFrame6},
}

// takeSegs returns the TCP segments captured at the lookups since the
// last call and fails the test on a RST among them.
func takeSegs(t *testing.T, r *stacktest.Rig) []wire.TCP {
	t.Helper()
	var segs []wire.TCP
	for _, c := range r.TakeLookup() {
		seg := wire.TCP(c.Data[c.Meta.L4:])
		if seg.Flags()&wire.TCPFlagRST != 0 {
			t.Fatalf("RST sent: flags %#x seq %d ack %d", seg.Flags(), seg.Seq(), seg.Ack())
		}
		segs = append(segs, seg)
	}
	return segs
}

// TestTCPDialHandoff: with two workers, a connection dialled on worker 0
// whose SYN-ACK and data arrive at worker 1 (the peer's queue choice)
// completes and carries data both ways: worker 1 hands each segment over
// (handed_off) instead of answering RST, and worker 0's tcp-handoff feeds
// it to its engine.
func TestTCPDialHandoff(t *testing.T) {
	for _, f := range handoffFamilies {
		t.Run(f.name, func(t *testing.T) {
			r := stacktest.New(t, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}})
			defer r.Close()
			c, err := r.TCP.DialOn(0, netip.AddrPortFrom(f.local.Addr(), 0), f.peer)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			r.Poll(0)
			out := takeSegs(t, r)
			if len(out) != 1 || out[0].Flags() != wire.TCPFlagSYN {
				t.Fatalf("%d segments after Dial, want a SYN", len(out))
			}
			iss, local := out[0].Seq(), c.LocalAddr()

			r.DeliverTo(1, f.input, f.frame(r.Caches[1], f.peer, local, wire.TCPFlagSYN|wire.TCPFlagACK, 7000, iss+1, 0, nil))
			if out := takeSegs(t, r); len(out) != 0 {
				t.Fatalf("worker 1 answered the SYN-ACK with %d segments", len(out))
			}
			if got := r.Errors(1, f.input, "handed_off"); got != 1 {
				t.Fatalf("worker 1 %s handed_off = %d, want 1", f.input, got)
			}
			r.Poll(0)
			out = takeSegs(t, r)
			if len(out) != 1 || out[0].Flags() != wire.TCPFlagACK || out[0].Ack() != 7001 {
				t.Fatalf("worker 0 sent %d segments for the SYN-ACK, want its ACK", len(out))
			}
			if st := c.State(); st != tcp.StateEstablished {
				t.Fatalf("state %v after the SYN-ACK", st)
			}

			if n, err := c.Write([]byte("hello")); n != 5 || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
			r.Poll(0)
			out = takeSegs(t, r)
			if len(out) != 1 || string(out[0].Payload()) != "hello" {
				t.Fatalf("%d segments after Write, want the data", len(out))
			}
			r.DeliverTo(1, f.input, f.frame(r.Caches[1], f.peer, local, wire.TCPFlagACK|wire.TCPFlagPSH, 7001, iss+6, 300, nil))
			r.Poll(0)
			takeSegs(t, r)
			buf := make([]byte, 1000)
			if n, err := c.Read(buf); n != 300 || err != nil {
				t.Fatalf("Read: %d, %v; want the 300 bytes sent to worker 1", n, err)
			}
			if got := r.Errors(1, f.input, "handed_off"); got != 2 {
				t.Fatalf("worker 1 %s handed_off = %d, want 2", f.input, got)
			}
			for w := range 2 {
				if got := r.Errors(w, f.input, "no_connection"); got != 0 {
					t.Fatalf("worker %d no_connection = %d", w, got)
				}
			}
		})
	}
}

// acceptOn0 makes a connection accepted by worker 0 (SYN and ACK there)
// and returns it and the ISS of its SYN-ACK.
func acceptOn0(t *testing.T, r *stacktest.Rig, l *tcpnode.Listener) (*tcpnode.Conn, uint32) {
	t.Helper()
	r.DeliverTo(0, tcpnode.InputName, tcpFrame(r.Caches[0], tcpPeer, tcpLocal, wire.TCPFlagSYN, 5000, nil))
	out := takeSegs(t, r)
	if len(out) != 1 {
		t.Fatalf("%d answers to the SYN", len(out))
	}
	iss := out[0].Seq()
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(r.Caches[0], tcpPeer, tcpLocal, wire.TCPFlagACK, 5001, iss+1, 0, nil))
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c, iss
}

// TestTCPAcceptedHandoff: a connection accepted on worker 0 whose
// handshake ACK, data and FIN arrive at worker 1 (which listens on the
// same port) keeps working: worker 1 hands them over rather than taking
// them for its listener or answering RST.
func TestTCPAcceptedHandoff(t *testing.T) {
	r := stacktest.New(t, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}})
	defer r.Close()
	l, err := r.TCP.Listen(netip.MustParseAddrPort("0.0.0.0:80"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c0, c1 := r.Caches[0], r.Caches[1]
	r.DeliverTo(0, tcpnode.InputName, tcpFrame(c0, tcpPeer, tcpLocal, wire.TCPFlagSYN, 5000, nil))
	out := takeSegs(t, r)
	if len(out) != 1 || out[0].Flags() != wire.TCPFlagSYN|wire.TCPFlagACK {
		t.Fatalf("%d answers to the SYN", len(out))
	}
	iss := out[0].Seq()
	// The handshake's ACK moves to worker 1.
	r.DeliverTo(1, tcpnode.InputName, tcpDataFrame(c1, tcpPeer, tcpLocal, wire.TCPFlagACK, 5001, iss+1, 0, nil))
	if out := takeSegs(t, r); len(out) != 0 {
		t.Fatalf("worker 1 answered the ACK with %d segments", len(out))
	}
	r.Poll(0)
	conn, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	defer conn.Abort()
	r.DeliverTo(1, tcpnode.InputName, tcpDataFrame(c1, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagPSH, 5001, iss+1, 400, nil))
	r.Poll(0)
	buf := make([]byte, 1000)
	if n, err := conn.Read(buf); n != 400 || err != nil {
		t.Fatalf("Read: %d, %v", n, err)
	}
	takeSegs(t, r)
	if n, err := conn.Write([]byte("reply")); n != 5 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	r.Poll(0)
	if out := takeSegs(t, r); len(out) != 1 || !bytes.Equal(out[0].Payload(), []byte("reply")) {
		t.Fatalf("%d segments after Write", len(out))
	}
	r.DeliverTo(1, tcpnode.InputName, tcpDataFrame(c1, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagFIN, 5401, iss+6, 0, nil))
	r.Poll(0)
	takeSegs(t, r)
	if n, err := conn.Read(buf); n != 0 || err != nil { // end of stream at this layer
		t.Fatalf("Read after the FIN: %d, %v; want end of stream", n, err)
	}
	if st := conn.State(); st != tcp.StateCloseWait {
		t.Fatalf("state %v after the FIN, want CLOSE-WAIT", st)
	}
	if got := r.Errors(1, tcpnode.InputName, "handed_off"); got != 3 {
		t.Fatalf("worker 1 handed_off = %d, want 3", got)
	}
	for w := range 2 {
		if got := r.Errors(w, tcpnode.InputName, "no_connection"); got != 0 {
			t.Fatalf("worker %d no_connection = %d", w, got)
		}
	}
}

// TestTCPDialSpreads: Dial places connections on the workers in turn, and
// each sends its SYN from its own worker.
func TestTCPDialSpreads(t *testing.T) {
	r := stacktest.New(t, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}})
	defer r.Close()
	from := netip.AddrPortFrom(tcpLocal.Addr(), 0)
	for k := range 4 {
		c, err := r.TCP.Dial(from, tcpPeer)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Abort()
		other := 1 - k%2
		r.Poll(other)
		if out := takeSegs(t, r); len(out) != 0 {
			t.Fatalf("dial %d: worker %d sent %d segments", k, other, len(out))
		}
		r.Poll(k % 2)
		out := takeSegs(t, r)
		if len(out) != 1 || out[0].Flags() != wire.TCPFlagSYN || out[0].SrcPort() != c.LocalAddr().Port() {
			t.Fatalf("dial %d: worker %d sent %d segments, want its SYN", k, k%2, len(out))
		}
	}
}

// TestTCPHandoffFull: segments beyond the hand-off ring's room are dropped
// and counted as handoff_full (never answered); those handed are freed by
// the owner, and nothing leaks (the rig's Close checks the pool).
func TestTCPHandoffFull(t *testing.T) {
	r := stacktest.New(t, 4096, stack.Config{Workers: 2, TCP: &tcp.Config{}})
	defer r.Close()
	l, err := r.TCP.Listen(netip.MustParseAddrPort("0.0.0.0:80"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, iss := acceptOn0(t, r, l)
	defer conn.Abort()
	const vectors = tcpnode.HandoffRing/pkt.VectorSize + 1
	var idx [pkt.VectorSize]pkt.Index
	for range vectors {
		for k := range idx {
			idx[k] = tcpDataFrame(r.Caches[1], tcpPeer, tcpLocal, wire.TCPFlagACK, 5001, iss+1, 0, nil)
		}
		r.DeliverTo(1, tcpnode.InputName, idx[:]...)
	}
	if out := takeSegs(t, r); len(out) != 0 {
		t.Fatalf("worker 1 answered with %d segments", len(out))
	}
	if got := r.Errors(1, tcpnode.InputName, "handed_off"); got != tcpnode.HandoffRing {
		t.Fatalf("handed_off = %d, want %d", got, tcpnode.HandoffRing)
	}
	if got := r.Errors(1, tcpnode.InputName, "handoff_full"); got != pkt.VectorSize {
		t.Fatalf("handoff_full = %d, want %d", got, pkt.VectorSize)
	}
	inUse := r.Pool.InUse()
	for range vectors {
		r.Poll(0)
	}
	takeSegs(t, r)
	if freed := inUse - r.Pool.InUse(); freed < tcpnode.HandoffRing {
		t.Fatalf("worker 0 freed %d of the %d handed buffers", freed, tcpnode.HandoffRing)
	}
	if st := conn.State(); st != tcp.StateEstablished {
		t.Fatalf("state %v", st)
	}
}

// TestTCPHandoffAllocs: handing a vector of segments to the owning worker
// (worker 1's tcp4-input, the ring, worker 0's tcp-handoff and tcp4-input)
// allocates nothing.
func TestTCPHandoffAllocs(t *testing.T) {
	r := stacktest.New(t, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}})
	defer r.Close()
	l, err := r.TCP.Listen(netip.MustParseAddrPort("0.0.0.0:80"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, iss := acceptOn0(t, r, l)
	defer conn.Abort()
	r.Discard = true
	var idx [pkt.VectorSize]pkt.Index
	run := func() {
		for k := range idx {
			idx[k] = tcpDataFrame(r.Caches[1], tcpPeer, tcpLocal, wire.TCPFlagACK, 5001, iss+1, 0, nil)
		}
		r.DeliverTo(1, tcpnode.InputName, idx[:]...)
		r.Poll(0)
	}
	run()
	if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
		t.Fatalf("%.1f allocations per vector of %d handed segments", allocs, len(idx))
	}
	if got, want := r.Errors(1, tcpnode.InputName, "handed_off"), uint64(22*len(idx)); got != want { // AllocsPerRun warms up once
		t.Fatalf("handed_off = %d, want %d", got, want)
	}
}

// TestTCPHandoffDuplicated: with receive duplication injected
// (stack.TCPFault), a segment appears twice in the engine's input with one
// buffer behind it; it is handed over once (a second push would free the
// buffer twice: the rig's Close checks the pool).
func TestTCPHandoffDuplicated(t *testing.T) {
	r := stacktest.New(t, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}, TCPFault: &stack.TCPFault{Seed: 1, Duplicate: 1}})
	defer r.Close()
	c, err := r.TCP.DialOn(0, netip.AddrPortFrom(tcpLocal.Addr(), 0), tcpPeer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	r.Poll(0)
	out := r.TakeLookup()
	if len(out) == 0 {
		t.Fatal("no SYN sent")
	}
	iss := wire.TCP(out[0].Data[out[0].Meta.L4:]).Seq()
	r.DeliverTo(1, tcpnode.InputName, tcpDataFrame(r.Caches[1], tcpPeer, c.LocalAddr(), wire.TCPFlagSYN|wire.TCPFlagACK, 7000, iss+1, 0, nil))
	if got := r.Errors(1, tcpnode.InputName, "handed_off"); got != 1 {
		t.Fatalf("handed_off = %d, want 1 (the duplicate shares its buffer)", got)
	}
	r.Poll(0)
	if st := c.State(); st != tcp.StateEstablished {
		t.Fatalf("state %v", st)
	}
	if s := r.TCP.FaultStats(); s.RxDuplicated == 0 {
		t.Fatalf("no duplication injected: %+v", s)
	}
}

// FuzzTCPHandoff feeds worker 1's tcp4-input any bytes as an IPv4 packet
// while worker 0 holds a connection (10.0.0.2:40000 -> 10.0.0.1:80) and
// both listen on port 80: nothing panics, whatever worker 1 hands over
// worker 0 takes, and every buffer is freed (the rig's Close checks the
// pool).
func FuzzTCPHandoff(f *testing.F) {
	r := stacktest.New(f, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}})
	f.Cleanup(r.Close)
	l, err := r.TCP.Listen(netip.MustParseAddrPort("0.0.0.0:80"), 4)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(l.Close)
	r.DeliverTo(0, tcpnode.InputName, tcpFrame(r.Caches[0], tcpPeer, tcpLocal, wire.TCPFlagSYN, 5000, nil))
	out := r.TakeLookup()
	if len(out) != 1 {
		f.Fatalf("%d answers to the SYN", len(out))
	}
	iss := wire.TCP(out[0].Data[out[0].Meta.L4:]).Seq()
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(r.Caches[0], tcpPeer, tcpLocal, wire.TCPFlagACK, 5001, iss+1, 0, nil))
	conn, err := l.Accept()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(conn.Abort)
	seed := func(src netip.AddrPort, flags uint8, seq, ack uint32, n int) {
		i := tcpDataFrame(r.Caches[1], src, tcpLocal, flags, seq, ack, n, nil)
		f.Add(append([]byte(nil), r.Arena.Data(i)[wire.EthernetLen:]...))
		r.Caches[1].Free(i)
	}
	seed(tcpPeer, wire.TCPFlagACK, 5001, iss+1, 0)                        // handed over
	seed(tcpPeer, wire.TCPFlagACK|wire.TCPFlagPSH, 5001, iss+1, 10)       // data, handed over
	seed(tcpPeer, wire.TCPFlagRST, 5001, 0, 0)                            // handed; resets the connection
	seed(netip.MustParseAddrPort("10.0.0.3:1"), wire.TCPFlagSYN, 9, 0, 0) // worker 1's listener
	f.Add([]byte{0x45, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > pkt.DataCap-wire.EthernetLen {
			return
		}
		i, _ := r.Caches[1].Alloc()
		d, _ := r.Arena.SetData(i, pkt.Headroom, wire.EthernetLen+len(b))
		copy(d[wire.EthernetLen:], b)
		m := r.Arena.Meta(i)
		m.L3 = wire.EthernetLen
		m.L4 = wire.EthernetLen + wire.IPv4MinLen
		if len(b) > 0 {
			m.L4 = uint16(wire.EthernetLen + max(wire.IPv4MinLen, int(b[0]&0xf)*4))
		}
		r.DeliverTo(1, tcpnode.InputName, i)
		r.Poll(0)
		r.TakeLookup()
	})
}
