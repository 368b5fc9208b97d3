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

// expect6 classifies an IPv6 packet (upper layer right after the fixed
// header) the slow way: "drop", "handler", "socket" or "icmp".
func expect6(b []byte) (string, []byte) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return "drop", nil
	}
	end := min(40+int(binary.BigEndian.Uint16(b[4:])), len(b))
	if end-40 < 8 {
		return "drop", nil
	}
	u := b[40:end]
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return "drop", nil
	}
	u = u[:ulen]
	pseudo := append(append([]byte{}, b[8:40]...), 0, 0, byte(ulen>>8), byte(ulen), 0, 0, 0, 17)
	if binary.BigEndian.Uint16(u[6:]) == 0 || slowSum(pseudo, u) != 0xffff {
		return "drop", nil
	}
	switch port := binary.BigEndian.Uint16(u[2:]); {
	case port == 53:
		return "handler", u[8:]
	case port == 9 && bytes.Equal(b[24:40], server6.Addr().AsSlice()):
		return "socket", u[8:]
	}
	return "icmp", nil
}

// FuzzUDPInput6: udp6-input survives any bytes; each packet is dropped and
// counted, answered by the handler (a well-formed IPv6 reply), queued to
// the socket, or sent to icmp6-error, as the slow classifier says, and no
// buffer leaks.
func FuzzUDPInput6(f *testing.F) {
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
	so, err := r.UDP.Open(netip.AddrPortFrom(server6.Addr(), 9))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { so.Close() })
	seed := func(dst netip.AddrPort, payload []byte, edit func(d []byte)) {
		i := stacktest.Frame(r.Caches[0], client6, dst, payload)
		d := r.Arena.Data(i)[14:]
		if edit != nil {
			edit(d)
		}
		f.Add(append([]byte(nil), d...))
		r.Caches[0].Free(i)
	}
	seed(server6, []byte("\x02query"), nil)
	seed(server6, []byte("\xffbig"), nil)
	seed(server6, []byte("\x00drop"), nil)
	seed(netip.AddrPortFrom(server6.Addr(), 9), []byte("to socket"), nil)
	seed(netip.MustParseAddrPort("[2001:db8:2::1]:9"), []byte("wrong addr"), nil)
	seed(netip.AddrPortFrom(server6.Addr(), 99), []byte("closed"), nil)
	seed(netip.AddrPortFrom(server6.Addr(), 9), []byte("bad"), func(d []byte) { d[47] ^= 1 })
	seed(netip.AddrPortFrom(server6.Addr(), 9), []byte("zero"), func(d []byte) { d[46], d[47] = 0, 0 })
	seed(netip.AddrPortFrom(server6.Addr(), 9), []byte("len"), func(d []byte) { d[45] = 0xff })
	f.Add([]byte{0x60, 0, 0, 0, 0, 8})

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
		m.L3, m.L4 = 14, 14+40
		want, payload := expect6(b)
		before := r.Graphs[0].Errors(true)
		r.DeliverTo(0, udp.Input6Name, i)
		look, icmp := r.TakeLookup(), r.TakeICMP()
		n, from, got := so.Recv(buf[:])
		switch want {
		case "socket":
			if !got || !bytes.Equal(buf[:n], payload) || from.Addr().As16() != [16]byte(b[8:24]) {
				t.Fatalf("socket got %v %q from %v, want %q", got, buf[:n], from, payload)
			}
		case "icmp":
			if len(icmp) != 1 || icmp[0].Meta.ICMP != (pkt.ICMPRequest{Type: wire.ICMPv6DestUnreachable, Code: wire.ICMPv6PortUnreachable}) {
				t.Fatalf("want one port unreachable, got %d", len(icmp))
			}
		case "handler":
			if len(payload) > 0 && payload[0] != 0 && len(look) == 1 {
				c := look[0]
				ip := wire.IPv6(c.Data[c.Meta.L3:])
				u := wire.UDP(ip.Payload())
				if !u.ChecksumValid6(ip.Src(), ip.Dst()) || ip.Dst() != [16]byte(b[8:24]) || len(u.Payload()) != int(payload[0])*16 {
					t.Fatalf("bad reply % x", c.Data)
				}
			}
		}
		if want != "socket" && got {
			t.Fatalf("%s datagram reached the socket", want)
		}
		if want != "icmp" && len(icmp) != 0 {
			t.Fatalf("%s datagram sent to icmp6-error", want)
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
