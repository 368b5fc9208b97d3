package icmp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/icmp"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/wire"
)

// FuzzICMP6Input: icmp6-input survives any ICMPv6 message; a connected
// IPv6 socket gets an error exactly when the message is a destination
// unreachable quoting its datagram (the slow check), and no buffer leaks.
func FuzzICMP6Input(f *testing.F) {
	r := stacktest.New(f, 1024, stack.Config{})
	f.Cleanup(r.Close)
	local := netip.MustParseAddrPort("[2001:db8:1::1]:5000")
	peer := netip.MustParseAddrPort("[2001:db8:1::2]:53")
	so, err := r.UDP.Open(local)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { so.Close() })
	if err := so.Connect(peer); err != nil {
		f.Fatal(err)
	}
	orig := stacktest.Frame(r.Caches[0], local, peer, []byte("q"))
	quote := append([]byte(nil), r.Arena.Data(orig)[14:14+48]...)
	r.Caches[0].Free(orig)
	for _, code := range []byte{0, 1, 3, 4} {
		f.Add(append([]byte{1, code, 0, 0, 0, 0, 0, 0}, quote...))
	}
	f.Add(append([]byte{2, 0, 0, 0, 0, 0, 5, 0}, quote...))
	f.Add(append([]byte{1, 4, 0, 0, 0, 0, 0, 0}, quote[:47]...))
	f.Add([]byte{1, 4})
	l16, p16 := local.Addr().As16(), peer.Addr().As16()
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1400 {
			return
		}
		want := false
		if len(msg) >= 8+48 && msg[0] == 1 {
			in := msg[8:]
			want = in[0]>>4 == 6 && in[6] == wire.IPProtoUDP && bytes.Equal(in[8:24], l16[:]) && bytes.Equal(in[24:40], p16[:]) &&
				binary.BigEndian.Uint16(in[40:]) == 5000 && binary.BigEndian.Uint16(in[42:]) == 53
		}
		c := r.Caches[0]
		i, _ := c.Alloc()
		d, _ := r.Arena.SetData(i, pkt.Headroom, 14+40+len(msg))
		wire.IPv6(d[14:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(len(msg)), NextHeader: wire.IPProtoICMPv6, HopLimit: 64, Src: p16, Dst: l16})
		copy(d[54:], msg)
		m := r.Arena.Meta(i)
		m.L3, m.L4 = 14, 54
		r.DeliverTo(0, icmp.Input6Name, i)
		if got := so.PendingError() != nil; got != want {
			t.Fatalf("error reported %v, want %v", got, want)
		}
		c.Flush()
		if n := r.Pool.InUse(); n != 0 {
			t.Fatalf("%d buffers leaked", n)
		}
	})
}
