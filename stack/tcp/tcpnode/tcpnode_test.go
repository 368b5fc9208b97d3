package tcpnode_test

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

var (
	tcpPeer  = netip.MustParseAddrPort("10.0.0.2:40000")
	tcpLocal = netip.MustParseAddrPort("10.0.0.1:80")
)

// tcpFrame builds an Ethernet/IPv4/TCP frame from src to dst with flags,
// checksums set, Meta.L3/L4 as ip4-input leaves them. edit, if set, may
// spoil the frame after it is built.
func tcpFrame(c *pkt.Cache, src, dst netip.AddrPort, flags uint8, seq uint32, edit func(d []byte, m *pkt.Meta)) pkt.Index {
	return tcpDataFrame(c, src, dst, flags, seq, 0, 0, edit)
}

// tcpDataFrame is tcpFrame with an acknowledgment number and n bytes of
// payload.
func tcpDataFrame(c *pkt.Cache, src, dst netip.AddrPort, flags uint8, seq, ack uint32, n int, edit func(d []byte, m *pkt.Meta)) pkt.Index {
	i, ok := c.Alloc()
	if !ok {
		panic("pool exhausted")
	}
	a := c.Arena()
	tl := wire.TCPMinLen + n
	d, _ := a.SetData(i, pkt.Headroom, wire.EthernetLen+wire.IPv4MinLen+tl)
	clear(d[:wire.EthernetLen])
	d[12] = 0x08
	wire.IPv4(d[wire.EthernetLen:]).Encode(&wire.IPv4Fields{TotalLen: uint16(wire.IPv4MinLen + tl), TTL: 64,
		Protocol: wire.IPProtoTCP, Src: src.Addr().As4(), Dst: dst.Addr().As4()})
	t := wire.TCP(d[wire.EthernetLen+wire.IPv4MinLen:])
	t.Encode(&wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: 65535})
	t.SetChecksum(t.ComputeChecksum(src.Addr().As4(), dst.Addr().As4(), uint16(tl)))
	m := a.Meta(i)
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv4MinLen
	if edit != nil {
		edit(d, m)
	}
	return i
}

// checkTCPOut checks that c is a well-formed IPv4/TCP packet from src to dst
// as the stack hands it to ip4-lookup, and returns its TCP header.
func checkTCPOut(t *testing.T, c stacktest.Captured, src, dst netip.AddrPort) wire.TCP {
	t.Helper()
	if c.Meta.L3 != wire.EthernetLen || c.Meta.L4 != wire.EthernetLen+wire.IPv4MinLen || c.Meta.Flags&pkt.FlagLocal == 0 ||
		c.Meta.RxPort != stack.LocalPort {
		t.Fatalf("meta %+v", c.Meta)
	}
	ip := wire.IPv4(c.Data[c.Meta.L3:])
	if !ip.ChecksumValid() || ip.Protocol() != wire.IPProtoTCP || ip.TTL() != udp.DefaultTTL || !ip.DontFragment() ||
		ip.Src() != src.Addr().As4() || ip.Dst() != dst.Addr().As4() || int(ip.TotalLen()) != len(c.Data)-int(c.Meta.L3) {
		t.Fatalf("bad IPv4 header % x", c.Data[c.Meta.L3:c.Meta.L4])
	}
	seg := wire.TCP(c.Data[c.Meta.L4:])
	if !seg.ChecksumValid(src.Addr().As4(), dst.Addr().As4(), uint16(len(seg))) || seg.SrcPort() != src.Port() || seg.DstPort() != dst.Port() {
		t.Fatalf("bad TCP segment % x", seg)
	}
	return seg
}

// tcpFamily is what the tcp4-input and tcp6-input tests differ in.
type tcpFamily struct {
	name        string
	input       string // the input node
	peer, local netip.AddrPort
	// frame builds a segment as the family's ip-local hands it over.
	frame func(c *pkt.Cache, src, dst netip.AddrPort, flags uint8, seq, ack uint32, n int, edit func(d []byte, m *pkt.Meta)) pkt.Index
	// checkOut checks an answer from src to dst and returns its segment.
	checkOut func(t *testing.T, c stacktest.Captured, src, dst netip.AddrPort) wire.TCP
}

var (
	tcp4 = tcpFamily{"ipv4", tcpnode.InputName, tcpPeer, tcpLocal, tcpDataFrame, checkTCPOut}
	tcp6 = tcpFamily{"ipv6", tcpnode.Input6Name, tcpPeer6, tcpLocal6, tcpFrame6, checkTCPOut6}
)

// inputCase is one SYN (seq 1000) through a family's input node.
type inputCase struct {
	name    string
	listen  string // a listener's address, or none
	edit    func(d []byte, m *pkt.Meta)
	counter string // the input node's counter expected at 1
	reply   uint8  // flags of the expected answer, 0 = none
	mss     uint16 // the SYN-ACK's MSS option, when checked
}

// runInputCases delivers each case's SYN to fam.input on a fresh rig and
// checks the named counters and the answer; the rig's Close checks every
// buffer came back.
func runInputCases(t *testing.T, fam tcpFamily, cases []inputCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}})
			defer r.Close()
			if tc.listen != "" {
				l, err := r.TCP.Listen(netip.MustParseAddrPort(tc.listen), 8)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			}
			r.DeliverTo(0, fam.input, fam.frame(r.Caches[0], fam.peer, fam.local, wire.TCPFlagSYN, 1000, 0, 0, tc.edit))
			for _, name := range []string{"too_short", "bad_checksum", "no_connection", "bad_header"} {
				want := uint64(0)
				if name == tc.counter {
					want = 1
				}
				if got := r.Errors(0, fam.input, name); got != want {
					t.Errorf("%s %s = %d, want %d", fam.input, name, got, want)
				}
			}
			out := r.TakeLookup()
			if tc.reply == 0 {
				if len(out) != 0 {
					t.Fatalf("%d packets sent, want none", len(out))
				}
				return
			}
			if len(out) != 1 {
				t.Fatalf("%d packets sent, want 1", len(out))
			}
			seg := fam.checkOut(t, out[0], fam.local, fam.peer)
			if seg.Flags() != tc.reply || seg.Ack() != 1001 {
				t.Fatalf("answer flags %#x ack %d, want %#x ack 1001", seg.Flags(), seg.Ack(), tc.reply)
			}
			if tc.mss != 0 {
				var o wire.TCPOptions
				if !wire.ParseTCPOptions(seg.Options(), &o) || o.MSS != tc.mss {
					t.Fatalf("SYN-ACK MSS %d, want %d", o.MSS, tc.mss)
				}
			}
		})
	}
}

// TestTCPInput runs tcp4-input on hand-built vectors: checksum and length
// checks with their named counters, the checksum skipped when the driver
// verified it, RST for a closed port and SYN-ACK from a listener, and
// every input buffer freed (the rig's Close checks the pool).
func TestTCPInput(t *testing.T) {
	runInputCases(t, tcp4, []inputCase{
		{name: "closed port gets RST", counter: "no_connection", reply: wire.TCPFlagRST | wire.TCPFlagACK},
		{name: "listener answers SYN-ACK", listen: tcpLocal.String(), reply: wire.TCPFlagSYN | wire.TCPFlagACK},
		{name: "bad checksum", counter: "bad_checksum",
			edit: func(d []byte, m *pkt.Meta) { d[m.L4+4] ^= 1 }},
		{name: "driver verified checksum", counter: "no_connection", reply: wire.TCPFlagRST | wire.TCPFlagACK,
			edit: func(d []byte, m *pkt.Meta) { wire.TCP(d[m.L4:]).SetChecksum(0); m.Flags |= pkt.FlagL4ChecksumOK }},
		{name: "IP length cuts the header", counter: "too_short",
			edit: func(d []byte, m *pkt.Meta) { wire.IPv4(d[m.L3:]).SetTotalLen(wire.IPv4MinLen + 10) }},
		{name: "IP length beyond the frame", counter: "too_short",
			edit: func(d []byte, m *pkt.Meta) { wire.IPv4(d[m.L3:]).SetTotalLen(1400) }},
		{name: "L4 offset inside the IP header", counter: "too_short",
			edit: func(d []byte, m *pkt.Meta) { m.L4 = m.L3 + 4 }},
		{name: "data offset past the segment", counter: "bad_header",
			edit: func(d []byte, m *pkt.Meta) {
				s := wire.TCP(d[m.L4:])
				s[12] = 15 << 4
				s.SetChecksum(0)
				s.SetChecksum(s.ComputeChecksum(tcpPeer.Addr().As4(), tcpLocal.Addr().As4(), wire.TCPMinLen))
			}},
	})
}

// TestTCPInputAllocs: tcp4-input and tcp6-input, the engine and the
// family's output allocate nothing per segment (a vector of SYNs to a
// closed port, each answered with a RST).
func TestTCPInputAllocs(t *testing.T) {
	for _, fam := range []tcpFamily{tcp4, tcp6} {
		t.Run(fam.name, func(t *testing.T) {
			r := stacktest.New(t, 1024, stack.Config{TCP: &tcp.Config{}})
			defer r.Close()
			r.Discard = true
			c := r.Caches[0]
			var idx [pkt.VectorSize]pkt.Index
			run := func() {
				for k := range idx {
					idx[k] = fam.frame(c, fam.peer, fam.local, wire.TCPFlagSYN, uint32(k), 0, 0, nil)
				}
				r.DeliverTo(0, fam.input, idx[:]...)
			}
			run()
			allocs := testing.AllocsPerRun(20, run)
			if allocs != 0 {
				t.Fatalf("%.1f allocations per vector of %d segments", allocs, len(idx))
			}
			if r.Discarded < 21*len(idx) {
				t.Fatalf("%d RSTs sent, want %d", r.Discarded, 21*len(idx))
			}
		})
	}
}

// fuzzSeed is a segment from the family's peer to dst (seq 77), edited
// after it is built when edit is set.
type fuzzSeed struct {
	dst   netip.AddrPort
	flags uint8
	edit  func(d []byte, m *pkt.Meta)
}

// fuzzInput feeds fam.input any bytes as an IP packet with a listener on
// fam.local: nothing panics, every input buffer is freed (the rig's Close
// checks the pool), a segment valid does not call valid is never answered,
// and whatever the engine sends is a well-formed packet back to the source.
// l4 is where the family's ip-local puts the TCP header of b; valid
// reports whether b's length fields and checksum are right; addrs returns
// b's source and destination.
func fuzzInput(f *testing.F, fam tcpFamily, seeds []fuzzSeed, raw []byte, l4 func(b []byte) int,
	valid func(b []byte, l4 int) bool, addrs func(b []byte) (src, dst netip.Addr)) {
	r := stacktest.New(f, 1024, stack.Config{TCP: &tcp.Config{}})
	f.Cleanup(r.Close)
	l, err := r.TCP.Listen(fam.local, 4)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(l.Close)
	for _, s := range seeds {
		i := fam.frame(r.Caches[0], fam.peer, s.dst, s.flags, 77, 0, 0, s.edit)
		f.Add(append([]byte(nil), r.Arena.Data(i)[wire.EthernetLen:]...))
		r.Caches[0].Free(i)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > pkt.DataCap-wire.EthernetLen {
			return
		}
		c := r.Caches[0]
		i, _ := c.Alloc()
		d, _ := r.Arena.SetData(i, pkt.Headroom, wire.EthernetLen+len(b))
		copy(d[wire.EthernetLen:], b)
		m := r.Arena.Meta(i)
		off := l4(b)
		m.L3, m.L4 = wire.EthernetLen, uint16(wire.EthernetLen+off)
		ok := valid(b, off)
		r.DeliverTo(0, fam.input, i)
		out := r.TakeLookup()
		if !ok && len(out) != 0 {
			t.Fatalf("invalid segment answered with %d packets", len(out))
		}
		for _, o := range out {
			src, dst := addrs(b)
			seg := wire.TCP(b[off:])
			fam.checkOut(t, o, netip.AddrPortFrom(dst, seg.DstPort()), netip.AddrPortFrom(src, seg.SrcPort()))
		}
	})
}

// FuzzTCPInput is fuzzInput for tcp4-input: the L4 offset from the IHL,
// as ip4-input sets it.
func FuzzTCPInput(f *testing.F) {
	fuzzInput(f, tcp4, []fuzzSeed{
		{tcpLocal, wire.TCPFlagSYN, nil},                                            // SYN-ACK
		{netip.MustParseAddrPort("10.0.0.1:81"), wire.TCPFlagSYN, nil},              // RST
		{tcpLocal, wire.TCPFlagACK, nil},                                            // RST (no connection)
		{tcpLocal, wire.TCPFlagSYN | wire.TCPFlagFIN, nil},                          // bad flags
		{tcpLocal, wire.TCPFlagSYN, func(d []byte, m *pkt.Meta) { d[m.L4+5] ^= 1 }}, // bad checksum
	}, []byte{0x45, 0, 0, 20},
		func(b []byte) int {
			if len(b) == 0 {
				return wire.IPv4MinLen
			}
			return max(wire.IPv4MinLen, int(b[0]&0xf)*4)
		},
		func(b []byte, l4 int) bool {
			if len(b) < wire.IPv4MinLen {
				return false
			}
			ip := wire.IPv4(b)
			end := int(ip.TotalLen())
			return end <= len(b) && l4+wire.TCPMinLen <= end && wire.TCP(b[l4:end]).ChecksumValid(ip.Src(), ip.Dst(), uint16(end-l4))
		},
		func(b []byte) (netip.Addr, netip.Addr) {
			return netip.AddrFrom4(wire.IPv4(b).Src()), netip.AddrFrom4(wire.IPv4(b).Dst())
		})
}

// TestTCPInputDataAllocs: on an established connection, a vector of data
// segments through tcp4-input (its ACK out through the IPv4 output) and the
// application's Read of the data allocate nothing.
func TestTCPInputDataAllocs(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{TCP: &tcp.Config{}})
	defer r.Close()
	l, err := r.TCP.Listen(tcpLocal, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := r.Caches[0]
	r.DeliverTo(0, tcpnode.InputName, tcpFrame(c, tcpPeer, tcpLocal, wire.TCPFlagSYN, 1000, nil))
	out := r.TakeLookup()
	if len(out) != 1 {
		t.Fatalf("%d answers to the SYN", len(out))
	}
	iss := checkTCPOut(t, out[0], tcpLocal, tcpPeer).Seq()
	r.DeliverTo(0, tcpnode.InputName, tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK, 1001, iss+1, 0, nil))
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Abort()
	const segLen, perVector = 1000, 32
	seq := uint32(1001)
	var idx [perVector]pkt.Index
	buf := make([]byte, segLen*perVector)
	r.Discard = true
	run := func() {
		for k := range idx {
			idx[k] = tcpDataFrame(c, tcpPeer, tcpLocal, wire.TCPFlagACK|wire.TCPFlagPSH, seq, iss+1, segLen, nil)
			seq += segLen
		}
		r.DeliverTo(0, tcpnode.InputName, idx[:]...)
		if n, err := conn.Read(buf); n != len(buf) || err != nil {
			t.Fatalf("read %d, %v", n, err)
		}
	}
	run()
	before := r.Discarded
	if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
		t.Fatalf("%.1f allocations per vector of %d data segments", allocs, perVector)
	}
	if r.Discarded-before < 21 { // the ACKs of a vector are coalesced
		t.Fatalf("%d ACKs for 21 vectors", r.Discarded-before)
	}
}

// TestTCPListenerEveryWorker: a listener listens on every worker's engine;
// a connection lives on the worker that got its SYN, and Accept finds
// connections on any worker.
func TestTCPListenerEveryWorker(t *testing.T) {
	r := stacktest.New(t, 2048, stack.Config{Workers: 2, TCP: &tcp.Config{}})
	defer r.Close()
	l, err := r.TCP.Listen(netip.MustParseAddrPort("0.0.0.0:80"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []*tcpnode.Conn
	for w := range 2 {
		peer := netip.AddrPortFrom(tcpPeer.Addr(), uint16(50000+w))
		r.DeliverTo(w, tcpnode.InputName, tcpFrame(r.Caches[w], peer, tcpLocal, wire.TCPFlagSYN, 5000, nil))
		out := r.TakeLookup()
		if len(out) != 1 {
			t.Fatalf("worker %d: %d answers to a SYN", w, len(out))
		}
		synack := checkTCPOut(t, out[0], tcpLocal, peer)
		if synack.Flags() != wire.TCPFlagSYN|wire.TCPFlagACK {
			t.Fatalf("worker %d: flags %#x", w, synack.Flags())
		}
		r.DeliverTo(w, tcpnode.InputName, tcpDataFrame(r.Caches[w], peer, tcpLocal, wire.TCPFlagACK, 5001, synack.Seq()+1, 0, nil))
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("worker %d: Accept: %v", w, err)
		}
		if c.RemoteAddr() != peer || c.State() != tcp.StateEstablished {
			t.Fatalf("worker %d: accepted %v in %v", w, c.RemoteAddr(), c.State())
		}
		conns = append(conns, c)
	}
	if _, err := l.Accept(); err != tcp.ErrWouldBlock {
		t.Fatalf("third Accept: %v", err)
	}
	if n := r.TCP.Conns(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	for _, c := range conns {
		c.Abort()
	}
	if n := r.TCP.Conns(); n != 0 {
		t.Fatalf("%d connections after Abort", n)
	}
}
