package icmp_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/icmp"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/wire"
)

// icmp6Error builds an Ethernet/IPv6/ICMPv6 error from from to the quoted
// packet's source, quoting orig (from its IPv6 header), Meta.L4 at the
// ICMPv6 header as ip6-local leaves it.
func icmp6Error(c *pkt.Cache, from [16]byte, typ, code uint8, orig []byte) pkt.Index {
	i, ok := c.Alloc()
	if !ok {
		panic("pool exhausted")
	}
	a := c.Arena()
	body := wire.ICMPv6MinLen + len(orig)
	d, _ := a.SetData(i, pkt.Headroom, wire.EthernetLen+wire.IPv6Len+body)
	clear(d[:wire.EthernetLen])
	d[12], d[13] = 0x86, 0xdd
	to := wire.IPv6(orig).Src()
	wire.IPv6(d[wire.EthernetLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(body), NextHeader: wire.IPProtoICMPv6, HopLimit: 64, Src: from, Dst: to})
	m := wire.ICMPv6(d[wire.EthernetLen+wire.IPv6Len:])
	m.SetType(typ)
	m.SetCode(code)
	m.SetWord(0)
	copy(m[wire.ICMPv6MinLen:], orig)
	m.SetChecksum(m.ComputeChecksum6(from, to))
	meta := a.Meta(i)
	meta.L3, meta.L4 = wire.EthernetLen, wire.EthernetLen+wire.IPv6Len
	return i
}

// TestConnectedSocket6: ICMPv6 destination unreachable about a datagram a
// connected IPv6 socket sent becomes its pending error (port unreachable:
// ECONNREFUSED), as over IPv4; errors about other datagrams do not.
func TestConnectedSocket6(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{})
	defer r.Close()
	peer := netip.MustParseAddrPort("[2001:db8:1::2]:53")
	so, err := r.UDP.Open(netip.MustParseAddrPort("[2001:db8:1::1]:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	if err := so.Connect(peer); err != nil {
		t.Fatal(err)
	}
	if err := so.Send([]byte("query"), peer); err != nil {
		t.Fatal(err)
	}
	r.Poll(0)
	sent := r.TakeLookup()
	if len(sent) != 1 {
		t.Fatal("nothing sent")
	}
	orig := sent[0].Data[sent[0].Meta.L3:]
	other := append([]byte(nil), orig...)
	other[wire.IPv6Len+3] ^= 1 // another destination port
	for _, tc := range []struct {
		name      string
		typ, code uint8
		quote     []byte
		want      error
	}{
		{"port unreachable", wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, orig, syscall.ECONNREFUSED},
		{"no route", wire.ICMPv6DestUnreachable, wire.ICMPv6NoRoute, orig, syscall.ENETUNREACH},
		{"address unreachable", wire.ICMPv6DestUnreachable, wire.ICMPv6AddrUnreachable, orig, syscall.EHOSTUNREACH},
		{"packet too big is not reported", wire.ICMPv6PacketTooBig, 0, orig, nil},
		{"other peer port", wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, other, nil},
		{"truncated quote", wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, orig[:wire.IPv6Len+4], nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.DeliverTo(0, icmp.Input6Name, icmp6Error(r.Caches[0], peer.Addr().As16(), tc.typ, tc.code, tc.quote))
			err := so.PendingError()
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("PendingError = %v, want %v", err, tc.want)
			}
		})
	}
	if n := r.Errors(0, icmp.Input6Name, "socket_errors"); n != 3 {
		t.Errorf("socket_errors = %d, want 3", n)
	}
}
