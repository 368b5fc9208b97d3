package udp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

// slowSum is a byte-at-a-time Internet checksum, the fuzz reference.
func slowSum(parts ...[]byte) uint16 {
	var s uint32
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	for k := 0; k < len(all); k += 2 {
		w := uint32(all[k]) << 8
		if k+1 < len(all) {
			w |= uint32(all[k+1])
		}
		s += w
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// expect classifies an IPv4 packet (from its first byte) the slow way:
// "drop", "handler", "socket" or "icmp", with the UDP payload.
func expect(b []byte) (string, []byte) {
	if len(b) < 20 || b[0]>>4 == 6 {
		return "drop", nil
	}
	l4 := max(20, int(b[0]&0xf)*4)
	end := min(int(binary.BigEndian.Uint16(b[2:])), len(b))
	if l4 > end || end-l4 < 8 {
		return "drop", nil
	}
	u := b[l4:end]
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return "drop", nil
	}
	u = u[:ulen]
	if binary.BigEndian.Uint16(u[6:]) != 0 {
		pseudo := append(append(append([]byte{}, b[12:20]...), 0, 17), byte(ulen>>8), byte(ulen))
		if slowSum(pseudo, u) != 0xffff {
			return "drop", nil
		}
	}
	switch port := binary.BigEndian.Uint16(u[2:]); {
	case port == 53:
		return "handler", u[8:]
	case port == 9 && bytes.Equal(b[16:20], []byte{10, 0, 1, 1}):
		return "socket", u[8:]
	}
	return "icmp", nil
}

// fuzzFamily is what the UDP input fuzz targets of one family differ in.
type fuzzFamily struct {
	node    string         // the input node packets are delivered to
	client  netip.AddrPort // the seeds' source
	socket  netip.AddrPort // where the test's socket is bound (port 9)
	handler netip.AddrPort // a local address with port 53 (the handler)
	other   netip.Addr     // a local address the socket is not bound to
	seeds   []fuzzSeed     // beyond the handler's three and the socket's
	raw     []byte         // a short header-only seed
	l4      func(b []byte) int
	expect  func(b []byte) (string, []byte)
	src     func(b []byte) netip.Addr // the packet's source address
	unreach pkt.ICMPRequest           // what a closed port asks of icmp-error
	// replyOK checks a handler's reply c to packet b carries want bytes.
	replyOK func(c stacktest.Captured, b []byte, want int) bool
}

// fuzzSeed is a datagram to dst, edited after it is built when edit is set.
type fuzzSeed struct {
	dst     netip.AddrPort
	payload string
	edit    func(d []byte)
}

// FuzzUDPInput: udp4-input survives any bytes; each packet is dropped and
// counted, answered by the handler (a well-formed reply), queued to the
// socket, or sent to icmp4-error, as the slow classifier says, and no
// buffer leaks.
func FuzzUDPInput(f *testing.F) {
	fuzzUDP(f, fuzzFamily{
		node:    udp.InputName,
		client:  netip.MustParseAddrPort("10.0.1.2:1234"),
		socket:  netip.MustParseAddrPort("10.0.1.1:9"),
		handler: netip.MustParseAddrPort("10.0.1.1:53"),
		other:   netip.MustParseAddr("10.0.2.1"),
		seeds: []fuzzSeed{
			{netip.MustParseAddrPort("10.0.1.1:9"), "bad", func(d []byte) { d[27] ^= 1 }},   // bad checksum
			{netip.MustParseAddrPort("10.0.1.1:9"), "len", func(d []byte) { d[25] = 0xff }}, // UDP length too big
		},
		raw: []byte{0x45, 0, 0, 20},
		l4: func(b []byte) int {
			if len(b) == 0 {
				return 20
			}
			return max(20, int(b[0]&0xf)*4)
		},
		expect:  expect,
		src:     func(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[12:16])) },
		unreach: pkt.ICMPRequest{Type: 3, Code: 3},
		replyOK: func(c stacktest.Captured, b []byte, want int) bool {
			ip := wire.IPv4(c.Data[c.Meta.L3:])
			u := wire.UDP(ip.Payload())
			return ip.ChecksumValid() && u.ChecksumValid(ip.Src(), ip.Dst()) && ip.Dst() == [4]byte(b[12:16]) &&
				len(u.Payload()) == want
		},
	})
}

// fuzzUDP runs a family's UDP input fuzz target: a handler on port 53
// that answers with as many bytes as the payload's first byte times 16
// says (sometimes more than fit), or drops when it is 0, and a socket on
// fam.socket.
func fuzzUDP(f *testing.F, fam fuzzFamily) {
	r := stacktest.New(f, 1024, stack.Config{})
	f.Cleanup(r.Close)
	if err := r.UDP.Handle(53, func(b *udp.Batch) {
		for k := 0; k < b.Len(); k++ {
			p := b.Payload(k)
			switch {
			case len(p) == 0:
				b.Reply(k, 0)
			case p[0] == 0:
				b.Drop(k)
			default:
				b.Reply(k, int(p[0])*16)
			}
		}
	}); err != nil {
		f.Fatal(err)
	}
	so, err := r.UDP.Open(fam.socket)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { so.Close() })

	for _, s := range append([]fuzzSeed{
		{fam.handler, "\x02query", nil},                            // handler reply
		{fam.handler, "\xffbig", nil},                              // reply too long
		{fam.handler, "\x00drop", nil},                             // handler drop
		{fam.socket, "to socket", nil},                             // socket
		{netip.AddrPortFrom(fam.other, 9), "wrong addr", nil},      // bound elsewhere
		{netip.AddrPortFrom(fam.socket.Addr(), 99), "closed", nil}, // port unreachable
	}, fam.seeds...) {
		i := stacktest.Frame(r.Caches[0], fam.client, s.dst, []byte(s.payload))
		d := r.Arena.Data(i)[14:]
		if s.edit != nil {
			s.edit(d)
		}
		f.Add(append([]byte(nil), d...))
		r.Caches[0].Free(i)
	}
	f.Add(fam.raw)

	var buf [4096]byte
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > pkt.DataCap-14 {
			return
		}
		c := r.Caches[0]
		i, _ := c.Alloc()
		d, _ := r.Arena.SetData(i, pkt.Headroom, 14+len(b))
		copy(d[14:], b)
		m := r.Arena.Meta(i)
		m.L3, m.L4 = 14, uint16(14+fam.l4(b))
		want, payload := fam.expect(b)
		before := r.Graphs[0].Errors(true)
		r.DeliverTo(0, fam.node, i)
		look, icmp := r.TakeLookup(), r.TakeICMP()
		n, from, got := so.Recv(buf[:])
		switch want {
		case "socket":
			if !got || !bytes.Equal(buf[:n], payload) || from.Addr() != fam.src(b) {
				t.Fatalf("socket got %v %q from %v, want %q", got, buf[:n], from, payload)
			}
		case "icmp":
			if len(icmp) != 1 || icmp[0].Meta.ICMP != fam.unreach {
				t.Fatalf("want one port unreachable, got %d", len(icmp))
			}
		case "handler":
			if len(payload) > 0 && payload[0] != 0 && len(look) == 1 && !fam.replyOK(look[0], b, int(payload[0])*16) {
				t.Fatalf("bad reply % x", look[0].Data)
			}
		}
		if want != "socket" && got {
			t.Fatalf("%s datagram reached the socket", want)
		}
		if want != "icmp" && len(icmp) != 0 {
			t.Fatalf("%s datagram sent to icmp-error", want)
		}
		if want == "drop" {
			after := r.Graphs[0].Errors(true)
			changed := false
			for k := range after {
				changed = changed || after[k].Count != before[k].Count
			}
			if !changed || len(look) != 0 {
				t.Fatal("dropped datagram not counted")
			}
		}
		c.Flush()
		r.Stack.Flush()
		if n := r.Pool.InUse(); n != 0 {
			t.Fatalf("%d buffers leaked", n)
		}
	})
}
