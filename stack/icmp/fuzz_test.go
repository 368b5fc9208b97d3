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

// FuzzICMPInput feeds arbitrary ICMP messages (the bytes after the outer
// IP header) to icmp4-input: it never panics, always frees the packet,
// and reports an error to the connected socket exactly when a slow
// reference says the message is a destination unreachable (not frag
// needed) quoting a UDP datagram from the socket to its peer.
func FuzzICMPInput(f *testing.F) {
	r := stacktest.New(f, 1024, stack.Config{})
	f.Cleanup(r.Close)
	peer := netip.MustParseAddrPort("10.0.1.2:53")
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:5000"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { so.Close() })
	if err := so.Connect(peer); err != nil {
		f.Fatal(err)
	}
	orig := stacktest.Frame(r.Caches[0], netip.MustParseAddrPort("10.0.1.1:5000"), peer, []byte("q"))
	quote := append([]byte(nil), r.Arena.Data(orig)[14:14+28]...)
	r.Caches[0].Free(orig)
	for _, code := range []byte{0, 1, 3, 4, 13} {
		f.Add(append([]byte{3, code, 0, 0, 0, 0, 0, 0}, quote...))
	}
	f.Add(append([]byte{11, 0, 0, 0, 0, 0, 0, 0}, quote...))
	f.Add(append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, quote[:27]...))
	f.Add([]byte{3, 3})

	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1400 {
			return
		}
		want := false
		if len(msg) >= 28 && msg[0] == 3 && msg[1] != 4 {
			in := msg[8:]
			ihl := int(in[0]&0xf) * 4
			want = ihl >= 20 && len(in) >= ihl+8 && in[9] == 17 &&
				bytes.Equal(in[12:16], []byte{10, 0, 1, 1}) && bytes.Equal(in[16:20], []byte{10, 0, 1, 2}) &&
				binary.BigEndian.Uint16(in[ihl:]) == 5000 && binary.BigEndian.Uint16(in[ihl+2:]) == 53
		}
		c := r.Caches[0]
		i, _ := c.Alloc()
		d, _ := r.Arena.SetData(i, pkt.Headroom, 14+20+len(msg))
		wire.IPv4(d[14:]).Encode(&wire.IPv4Fields{TotalLen: uint16(20 + len(msg)), TTL: 64, Protocol: 1, Src: [4]byte{10, 0, 1, 2}, Dst: [4]byte{10, 0, 1, 1}})
		copy(d[34:], msg)
		m := r.Arena.Meta(i)
		m.L3, m.L4 = 14, 34
		r.DeliverTo(0, icmp.InputName, i)
		got := so.PendingError() != nil
		if got != want {
			t.Fatalf("error reported %v, want %v", got, want)
		}
		c.Flush()
		if n := r.Pool.InUse(); n != 0 {
			t.Fatalf("%d buffers leaked", n)
		}
	})
}
