package udp_test

import (
	"bytes"
	"net/netip"
	"strconv"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

var (
	client = netip.MustParseAddrPort("10.0.1.2:40000")
	server = netip.MustParseAddrPort("10.0.1.1:53")
)

// checkUDP parses an Ethernet/IPv4/UDP or Ethernet/IPv6/UDP frame whose IP
// header starts at l3 with wire and gopacket and returns its addresses and
// payload, after verifying the family's header (IPv4 header checksum, IPv6
// next header; the default TTL or hop limit), the UDP length against the
// IP packet's, and the UDP checksum: valid for wire, not zero (IPv6 needs
// one; the stack always sends one over IPv4), and what gopacket computes
// over the pseudo-header.
func checkUDP(t *testing.T, frame []byte, l3 int) (src, dst netip.AddrPort, payload []byte) {
	t.Helper()
	var (
		u        wire.UDP
		ipLen    int // the IP payload's length
		sumValid bool
		from, to netip.Addr
		layer    gopacket.LayerType
	)
	switch frame[l3] >> 4 {
	case 4:
		ip, perr := wire.ParseIPv4(frame[l3:])
		if perr != 0 || !ip.ChecksumValid() || ip.TTL() != udp.DefaultTTL {
			t.Fatalf("bad IPv4 header (%v, TTL %d) or header checksum", perr, ip.TTL())
		}
		u, ipLen = ip.Payload(), len(ip.Payload())
		sumValid = len(u) >= wire.UDPLen && u.ChecksumValid(ip.Src(), ip.Dst())
		from, to, layer = netip.AddrFrom4(ip.Src()), netip.AddrFrom4(ip.Dst()), layers.LayerTypeIPv4
	case 6:
		ip, perr := wire.ParseIPv6(frame[l3:])
		if perr != 0 || ip.NextHeader() != wire.IPProtoUDP || ip.HopLimit() != udp.DefaultHopLimit {
			t.Fatalf("bad IPv6 header (%v, next header %d hop limit %d)", perr, ip.NextHeader(), ip.HopLimit())
		}
		u, ipLen = ip.Payload(), int(ip.PayloadLen())
		sumValid = len(u) >= wire.UDPLen && u.ChecksumValid6(ip.Src(), ip.Dst())
		from, to, layer = netip.AddrFrom16(ip.Src()), netip.AddrFrom16(ip.Dst()), layers.LayerTypeIPv6
	default:
		t.Fatalf("IP version %d", frame[l3]>>4)
	}
	u, ok := wire.ParseUDP(u)
	if !ok || int(u.Length()) != ipLen {
		t.Fatalf("bad UDP header or length (IP payload %d bytes)", ipLen)
	}
	if u.Checksum() == 0 || !sumValid {
		t.Fatalf("UDP checksum %#04x invalid", u.Checksum())
	}
	// Cross-check with gopacket: the decoded datagram, and its own
	// checksum over the pseudo-header.
	p := gopacket.NewPacket(frame[l3:], layer, gopacket.Default)
	gip := p.NetworkLayer()
	gudp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if gip == nil || gudp == nil {
		t.Fatalf("gopacket cannot decode: %v", p.ErrorLayer())
	}
	if int(gudp.Length) != len(gudp.Payload)+8 || !bytes.Equal(gudp.Payload, u.Payload()) {
		t.Fatalf("gopacket disagrees: length %d payload %q", gudp.Length, gudp.Payload)
	}
	want := gudp.Checksum
	if err := gudp.SetNetworkLayerForChecksum(gip); err != nil {
		t.Fatal(err)
	}
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{ComputeChecksums: true}, gudp, gopacket.Payload(gudp.Payload)); err != nil {
		t.Fatal(err)
	}
	if got := wire.UDP(sb.Bytes()).Checksum(); got != want {
		t.Fatalf("checksum %#04x, gopacket computes %#04x", want, got)
	}
	return netip.AddrPortFrom(from, u.SrcPort()), netip.AddrPortFrom(to, u.DstPort()), u.Payload()
}

func TestHandlerReply(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{})
	defer r.Close()
	calls := 0
	err := r.UDP.Handle(53, func(b *udp.Batch) {
		calls++
		for k := 0; k < b.Len(); k++ {
			p := b.Payload(k)
			switch string(p) {
			case "drop":
				b.Drop(k)
			case "ignore":
			case "huge":
				b.Reply(k, b.MaxReply(k)+1)
			default:
				if b.Src(k) != client || b.Dst(k) != server {
					t.Errorf("batch addresses %v -> %v", b.Src(k), b.Dst(k))
				}
				// Answer longer than the query: "re:" + query.
				ans := p[:3+len(p)]
				copy(ans[3:], p)
				copy(ans, "re:")
				b.Reply(k, len(ans))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.UDP.Handle(53, func(*udp.Batch) {}); err == nil {
		t.Fatal("second handler on port 53 accepted")
	}
	r.Deliver(0,
		r.Frame(0, client, server, []byte("hello")),
		r.Frame(0, client, server, []byte("drop")),
		r.Frame(0, client, server, []byte("ignore")),
		r.Frame(0, client, server, []byte("huge")),
		r.Frame(0, client, server, []byte("world")),
	)
	if calls != 1 {
		t.Errorf("handler called %d times for one vector, want 1", calls)
	}
	got := r.TakeLookup()
	if len(got) != 2 {
		t.Fatalf("%d replies at ip4-lookup, want 2", len(got))
	}
	for k, want := range []string{"re:hello", "re:world"} {
		c := got[k]
		src, dst, payload := checkUDP(t, c.Data, int(c.Meta.L3))
		if src != server || dst != client || string(payload) != want {
			t.Errorf("reply %d: %v -> %v %q, want %v -> %v %q", k, src, dst, payload, server, client, want)
		}
		if c.Meta.Flags&pkt.FlagLocal == 0 || c.Meta.L3 < wire.EthernetLen {
			t.Errorf("reply %d: meta %+v", k, c.Meta)
		}
		if ttl := wire.IPv4(c.Data[c.Meta.L3:]).TTL(); ttl != udp.DefaultTTL {
			t.Errorf("TTL %d", ttl)
		}
	}
	for name, want := range map[string]uint64{"replied": 2, "handler_dropped": 1, "handler_unanswered": 1, "reply_too_long": 1} {
		if n := r.Errors(0, udp.InputName, name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
	r.UDP.RemoveHandler(53)
	r.Deliver(0, r.Frame(0, client, server, []byte("x")))
	if n := len(r.TakeICMP()); n != 1 {
		t.Errorf("after RemoveHandler: %d port unreachables, want 1", n)
	}
}

// TestReplyIPOptions checks a query with IP options gets a plain 20-byte header back.
func TestReplyIPOptions(t *testing.T) {
	r := stacktest.New(t, 64, stack.Config{})
	defer r.Close()
	if err := r.UDP.Handle(53, func(b *udp.Batch) { b.Reply(0, len(b.Payload(0))) }); err != nil {
		t.Fatal(err)
	}
	i, _ := r.Caches[0].Alloc()
	a := r.Arena
	payload := []byte("opt")
	total := 24 + 8 + len(payload)
	d, _ := a.SetData(i, pkt.Headroom, 14+total)
	ip := wire.IPv4(d[14:])
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(total), TTL: 9, Protocol: wire.IPProtoUDP, Src: client.Addr().As4(), Dst: server.Addr().As4()})
	ip[0] = 0x46
	copy(ip[20:24], []byte{1, 1, 1, 0}) // NOPs, EOL
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	u := wire.UDP(d[14+24:])
	u.Encode(&wire.UDPFields{SrcPort: client.Port(), DstPort: 53, Length: uint16(8 + len(payload))})
	copy(u[8:], payload)
	u.SetChecksum(u.ComputeChecksum(client.Addr().As4(), server.Addr().As4()))
	m := a.Meta(i)
	m.L3, m.L4 = 14, 14+24
	r.Deliver(0, i)
	got := r.TakeLookup()
	if len(got) != 1 {
		t.Fatalf("%d replies", len(got))
	}
	c := got[0]
	if c.Meta.L3 != 18 {
		t.Errorf("reply L3 = %d, want 18 (options dropped)", c.Meta.L3)
	}
	src, dst, p := checkUDP(t, c.Data, int(c.Meta.L3))
	if src != server || dst != client || string(p) != "opt" {
		t.Errorf("reply %v -> %v %q", src, dst, p)
	}
}

func TestInputErrors(t *testing.T) {
	r := stacktest.New(t, 64, stack.Config{})
	defer r.Close()
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:7000"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	badSum := r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:7000"), []byte("abc"))
	r.Arena.Data(badSum)[14+20+6] ^= 0xff
	badLen := r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:7000"), []byte("abc"))
	r.Arena.Data(badLen)[14+20+5] = 200 // UDP length beyond the IP payload
	short := r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:7000"), nil)
	r.Arena.Trim(short, 14+20+4)
	wire.IPv4(r.Arena.Data(short)[14:]).SetTotalLen(24)
	noSum := r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:7000"), []byte("nosum"))
	wire.UDP(r.Arena.Data(noSum)[34:]).SetChecksum(0)
	wrongAddr := r.Frame(0, client, netip.MustParseAddrPort("10.0.2.1:7000"), []byte("x"))
	closed := r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:7001"), []byte("x"))
	r.Deliver(0, badSum, badLen, short, noSum, wrongAddr, closed)
	for name, want := range map[string]uint64{"bad_checksum": 1, "too_short": 2, "no_listener": 2, "delivered": 1} {
		if n := r.Errors(0, udp.InputName, name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
	icmp := r.TakeICMP()
	if len(icmp) != 2 {
		t.Fatalf("%d packets at icmp4-error, want 2", len(icmp))
	}
	for _, c := range icmp {
		if c.Meta.ICMP != (pkt.ICMPRequest{Type: 3, Code: 3}) {
			t.Errorf("Meta.ICMP = %+v, want port unreachable (3, 3)", c.Meta.ICMP)
		}
	}
	buf := make([]byte, 64)
	n, from, ok := so.Recv(buf)
	if !ok || string(buf[:n]) != "nosum" || from != client {
		t.Errorf("Recv = %q from %v, %v", buf[:n], from, ok)
	}
}

func TestSocketQueueFull(t *testing.T) {
	r := stacktest.New(t, 64, stack.Config{RxRing: 4})
	defer r.Close()
	so, err := r.UDP.Open(netip.MustParseAddrPort("0.0.0.0:9"))
	if err != nil {
		t.Fatal(err)
	}
	var idx []pkt.Index
	for k := 0; k < 6; k++ {
		idx = append(idx, r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:9"), []byte{byte(k)}))
	}
	r.Deliver(0, idx...)
	if n := r.Errors(0, udp.InputName, "socket_queue_full"); n != 2 {
		t.Errorf("socket_queue_full = %d, want 2", n)
	}
	var b [8]byte
	for k := 0; k < 4; k++ {
		n, _, ok := so.Recv(b[:])
		if !ok || n != 1 || b[0] != byte(k) {
			t.Fatalf("datagram %d: %v %d %d", k, ok, n, b[0])
		}
	}
	if _, _, ok := so.Recv(b[:]); ok {
		t.Fatal("fifth datagram")
	}
	// Queued buffers are freed by Close (Rig.Close checks the pool).
	r.Deliver(0, r.Frame(0, client, netip.MustParseAddrPort("10.0.1.1:9"), []byte("left")))
	so.Close()
}

func TestPorts(t *testing.T) {
	r := stacktest.New(t, 16, stack.Config{})
	defer r.Close()
	seen := map[uint16]bool{}
	var socks []*udp.Socket
	for k := 0; k < 50; k++ {
		so, err := r.UDP.Open(netip.AddrPort{})
		if err != nil {
			t.Fatal(err)
		}
		p := so.LocalAddr().Port()
		if p < stack.EphemeralFirst || p > stack.EphemeralLast || seen[p] {
			t.Fatalf("ephemeral port %d (dup %v)", p, seen[p])
		}
		seen[p] = true
		socks = append(socks, so)
	}
	if _, err := r.UDP.Open(socks[3].LocalAddr()); err == nil {
		t.Fatal("bound a port in use")
	}
	if _, err := r.UDP.Open(netip.MustParseAddrPort("[::1]:" + strconv.Itoa(int(socks[3].LocalAddr().Port())))); err == nil {
		t.Fatal("bound an IPv6 address on a port in use: one table serves both families")
	}
	p := socks[3].LocalAddr()
	socks[3].Close()
	again, err := r.UDP.Open(p)
	if err != nil {
		t.Fatalf("rebind after close: %v", err)
	}
	again.Close()
	for _, so := range socks {
		so.Close()
	}
}
