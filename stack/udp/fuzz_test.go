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

func FuzzUDPInput(f *testing.F) {
	r := stacktest.New(f, 1024, stack.Config{})
	f.Cleanup(r.Close)
	// The handler answers with as many bytes as the payload's first byte
	// times 16 says (sometimes more than fit), or drops when it is 0.
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
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:9"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { so.Close() })

	src := netip.MustParseAddrPort("10.0.1.2:1234")
	seed := func(dst netip.AddrPort, payload []byte, edit func(d []byte)) {
		i := stacktest.Frame(r.Caches[0], src, dst, payload)
		d := r.Arena.Data(i)[14:]
		if edit != nil {
			edit(d)
		}
		f.Add(append([]byte(nil), d...))
		r.Caches[0].Free(i)
	}
	seed(netip.MustParseAddrPort("10.0.1.1:53"), []byte("\x02query"), nil)      // handler reply
	seed(netip.MustParseAddrPort("10.0.1.1:53"), []byte("\xffbig"), nil)        // reply too long
	seed(netip.MustParseAddrPort("10.0.1.1:53"), []byte("\x00drop"), nil)       // handler drop
	seed(netip.MustParseAddrPort("10.0.1.1:9"), []byte("to socket"), nil)       // socket
	seed(netip.MustParseAddrPort("10.0.2.1:9"), []byte("wrong addr"), nil)      // bound elsewhere
	seed(netip.MustParseAddrPort("10.0.1.1:99"), []byte("closed"), nil)         // port unreachable
	seed(netip.MustParseAddrPort("10.0.1.1:9"), []byte("bad"), func(d []byte) { // bad checksum
		d[27] ^= 1
	})
	seed(netip.MustParseAddrPort("10.0.1.1:9"), []byte("len"), func(d []byte) { // UDP length too big
		d[25] = 0xff
	})
	f.Add([]byte{0x45, 0, 0, 20})

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
		m.L3 = 14
		m.L4 = 14 + 20
		if len(b) > 0 {
			m.L4 = uint16(14 + max(20, int(b[0]&0xf)*4))
		}
		want, payload := expect(b)
		before := r.Graphs[0].Errors(true)
		r.Deliver(0, i)
		look, icmp := r.TakeLookup(), r.TakeICMP()
		n, from, got := so.Recv(buf[:])
		switch want {
		case "socket":
			if !got || !bytes.Equal(buf[:n], payload) || from.Addr().As4() != [4]byte(b[12:16]) {
				t.Fatalf("socket got %v %q from %v, want %q", got, buf[:n], from, payload)
			}
		case "icmp":
			if len(icmp) != 1 || icmp[0].Meta.ICMP != (pkt.ICMPRequest{Type: 3, Code: 3}) {
				t.Fatalf("want one port unreachable, got %d", len(icmp))
			}
		case "handler":
			if len(payload) > 0 && payload[0] != 0 && len(look) == 1 {
				c := look[0]
				ip := wire.IPv4(c.Data[c.Meta.L3:])
				u := wire.UDP(ip.Payload())
				if !ip.ChecksumValid() || !u.ChecksumValid(ip.Src(), ip.Dst()) || ip.Dst() != [4]byte(b[12:16]) ||
					len(u.Payload()) != int(payload[0])*16 {
					t.Fatalf("bad reply % x", c.Data)
				}
			}
		}
		if want != "socket" && got {
			t.Fatalf("%s datagram reached the socket", want)
		}
		if want != "icmp" && len(icmp) != 0 {
			t.Fatalf("%s datagram sent to icmp4-error", want)
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
