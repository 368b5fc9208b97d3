package udp_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

var (
	client6 = netip.MustParseAddrPort("[2001:db8:1::2]:40000")
	server6 = netip.MustParseAddrPort("[2001:db8:1::1]:53")
)

// TestHandlerReply6: a handler answers IPv6 datagrams in place; the reply
// goes to ip6-lookup with the addresses swapped and a valid checksum.
func TestHandlerReply6(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{})
	defer r.Close()
	if err := r.UDP.Handle(53, func(b *udp.Batch) {
		for k := 0; k < b.Len(); k++ {
			if b.Src(k) != client6 || b.Dst(k) != server6 {
				b.Drop(k)
				continue
			}
			p := b.Payload(k)
			b.Reply(k, copy(p[:len(p)+3], append(p, "-ok"...)))
		}
	}); err != nil {
		t.Fatal(err)
	}
	r.DeliverTo(0, udp.Input6Name, r.Frame(0, client6, server6, []byte("query")))
	got := r.TakeLookup()
	if len(got) != 1 {
		t.Fatalf("%d packets at the lookups, want 1; errors: replied %d", len(got), r.Errors(0, udp.Input6Name, "replied"))
	}
	src, dst, payload := checkUDP(t, got[0].Data, int(got[0].Meta.L3))
	if src != server6 || dst != client6 || string(payload) != "query-ok" {
		t.Fatalf("reply %v -> %v %q", src, dst, payload)
	}
	if got[0].Meta.Flags&pkt.FlagLocal == 0 {
		t.Fatal("reply not marked local")
	}
}

// TestSocket6: a socket bound to an IPv6 address receives IPv6 datagrams
// and sends them to ip6-lookup; :: takes both families, 0.0.0.0 only IPv4,
// and an IPv6 datagram to a port nobody serves for IPv6 gets port
// unreachable from icmp6-error.
func TestSocket6(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{Source6: func(dst [16]byte) ([16]byte, bool) { return server6.Addr().As16(), true }})
	defer r.Close()
	so, err := r.UDP.Open(netip.AddrPortFrom(server6.Addr(), 7000))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	r.DeliverTo(0, udp.Input6Name, r.Frame(0, client6, so.LocalAddr(), []byte("ping")))
	var buf [64]byte
	n, from, ok := so.Recv(buf[:])
	if !ok || from != client6 || string(buf[:n]) != "ping" {
		t.Fatalf("Recv: %v %v %q", ok, from, buf[:n])
	}
	if err := so.Send([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	if err := so.Send([]byte("x"), netip.MustParseAddrPort("10.0.0.1:1")); !errors.Is(err, stack.ErrFamily) {
		t.Fatalf("IPv6 socket sent to IPv4: %v", err)
	}
	r.Poll(0)
	got := r.TakeLookup()
	if len(got) != 1 {
		t.Fatalf("%d packets sent, want 1", len(got))
	}
	if src, dst, p := checkUDP(t, got[0].Data, int(got[0].Meta.L3)); src != so.LocalAddr() || dst != client6 || string(p) != "pong" {
		t.Fatalf("sent %v -> %v %q", src, dst, p)
	}

	// :: takes both families; unbound source picked by Source6.
	dual, err := r.UDP.Open(netip.MustParseAddrPort("[::]:7001"))
	if err != nil {
		t.Fatal(err)
	}
	defer dual.Close()
	r.DeliverTo(0, udp.Input6Name, r.Frame(0, client6, netip.AddrPortFrom(server6.Addr(), 7001), []byte("a")))
	r.Deliver(0, r.Frame(0, client, netip.AddrPortFrom(server.Addr(), 7001), []byte("b")))
	for _, want := range []netip.AddrPort{client6, client} {
		if _, from, ok := dual.Recv(buf[:]); !ok || from != want {
			t.Fatalf("dual-stack socket: %v from %v, want %v", ok, from, want)
		}
	}
	if err := dual.Send([]byte("c"), client6); err != nil {
		t.Fatal(err)
	}
	r.Poll(0)
	if got := r.TakeLookup(); len(got) != 1 || wire.IPv6(got[0].Data[got[0].Meta.L3:]).Src() != server6.Addr().As16() {
		t.Fatalf("dual-stack send: %d packets", len(got))
	}

	// 0.0.0.0 is IPv4 only: an IPv6 datagram to its port is unreachable.
	v4, err := r.UDP.Open(netip.MustParseAddrPort("0.0.0.0:7002"))
	if err != nil {
		t.Fatal(err)
	}
	defer v4.Close()
	r.DeliverTo(0, udp.Input6Name, r.Frame(0, client6, netip.AddrPortFrom(server6.Addr(), 7002), []byte("d")))
	icmp := r.TakeICMP()
	if len(icmp) != 1 || icmp[0].Meta.ICMP.Type != wire.ICMPv6DestUnreachable || icmp[0].Meta.ICMP.Code != wire.ICMPv6PortUnreachable {
		t.Fatalf("no port unreachable for IPv6 to an IPv4-only socket: %+v", icmp)
	}
	if got := r.Errors(0, udp.Input6Name, "no_listener"); got != 1 {
		t.Fatalf("udp6-input no_listener = %d, want 1", got)
	}
}

// TestInput6Malformed: bad IPv6 datagrams are dropped by name, a zero
// checksum included (mandatory over IPv6).
func TestInput6Malformed(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{})
	defer r.Close()
	so, err := r.UDP.Open(netip.MustParseAddrPort("[::]:53"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	for _, tc := range []struct {
		name, counter string
		edit          func(d []byte, m *pkt.Meta)
	}{
		{"bad checksum", "bad_checksum", func(d []byte, m *pkt.Meta) { d[m.L4+6] ^= 1 }},
		{"zero checksum", "bad_checksum", func(d []byte, m *pkt.Meta) { d[m.L4+6], d[m.L4+7] = 0, 0 }},
		{"UDP length past the IPv6 payload", "too_short", func(d []byte, m *pkt.Meta) { d[m.L4+4], d[m.L4+5] = 0x10, 0 }},
		{"L4 inside the IPv6 header", "too_short", func(d []byte, m *pkt.Meta) { m.L4 = m.L3 + 20 }},
		{"payload length short of UDP", "too_short", func(d []byte, m *pkt.Meta) { d[m.L3+4], d[m.L3+5] = 0, 4 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.Errors(0, udp.Input6Name, tc.counter)
			i := r.Frame(0, client6, server6, []byte("q"))
			tc.edit(r.Arena.Data(i), r.Arena.Meta(i))
			r.DeliverTo(0, udp.Input6Name, i)
			if got := r.Errors(0, udp.Input6Name, tc.counter); got != before+1 {
				t.Fatalf("%s = %d, want %d", tc.counter, got, before+1)
			}
			var buf [8]byte
			if _, _, ok := so.Recv(buf[:]); ok {
				t.Fatal("malformed datagram delivered")
			}
		})
	}
}

// TestNoAllocs6: the IPv6 paths allocate nothing per datagram either.
func TestNoAllocs6(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{})
	defer r.Close()
	r.Discard = true
	if err := r.UDP.Handle(53, func(b *udp.Batch) {
		for k := 0; k < b.Len(); k++ {
			p := b.Payload(k)
			b.Reply(k, len(p))
		}
	}); err != nil {
		t.Fatal(err)
	}
	so, err := r.UDP.Open(netip.MustParseAddrPort("[2001:db8:1::1]:9000"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	payload := bytes.Repeat([]byte("x"), 32)
	var idx [32]pkt.Index
	var buf [64]byte
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"handler reply", func() {
			for k := range idx {
				idx[k] = r.Frame(0, client6, server6, payload)
			}
			r.DeliverTo(0, udp.Input6Name, idx[:]...)
		}},
		{"socket receive and send", func() {
			for k := range idx {
				idx[k] = r.Frame(0, client6, so.LocalAddr(), payload)
			}
			r.DeliverTo(0, udp.Input6Name, idx[:]...)
			for range idx {
				if _, _, ok := so.Recv(buf[:]); !ok {
					panic("lost datagram")
				}
			}
			for range 8 {
				if err := so.Send(payload, client6); err != nil {
					panic(err)
				}
			}
			r.Poll(0)
		}},
	} {
		tc.f() // warm up
		if a := testing.AllocsPerRun(100, tc.f); a != 0 {
			t.Errorf("%s: %.1f allocs per run, want 0", tc.name, a)
		}
	}
}
