package tcpnode_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/icmp"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/wire"
)

// icmp6Error builds an Ethernet/IPv6/ICMPv6 error (type, code, 32-bit
// word) from from to the quoted packet's source, quoting orig, Meta.L4 at
// the ICMPv6 header as ip6-local leaves it.
func icmp6Error(c *pkt.Cache, from [16]byte, typ, code uint8, word uint32, orig []byte) pkt.Index {
	i, _ := c.Alloc()
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
	m.SetWord(word)
	copy(m[wire.ICMPv6MinLen:], orig)
	m.SetChecksum(m.ComputeChecksum6(from, to))
	meta := a.Meta(i)
	meta.L3, meta.L4 = wire.EthernetLen, wire.EthernetLen+wire.IPv6Len
	return i
}

// TestICMPErrorsReachTCP: ICMP errors delivered to icmp4-input or
// icmp6-input of a worker reach the TCP connection they quote, on
// whichever worker's engine it lives: a port unreachable aborts a dial
// (ErrRefused), a fragmentation needed or packet too big reaches the
// engine's path MTU checks (a SYN's 536-byte MSS is already below it:
// pmtu-ignored), and an error quoting another port reaches no connection
// (icmp's ignored).
func TestICMPErrorsReachTCP(t *testing.T) {
	for _, tc := range []struct {
		name      string
		local     string
		typ, code uint8
		word      uint32
		other     bool // quote another remote port
		err       error
		counter   tcp.Counter
	}{
		{name: "v4 port unreachable", local: "10.0.0.1:5000", typ: 3, code: 3, err: tcp.ErrRefused, counter: tcp.StatICMPAbort},
		{name: "v4 host unreachable", local: "10.0.0.1:5000", typ: 3, code: 1, counter: tcp.StatICMPSoftError},
		{name: "v4 frag needed", local: "10.0.0.1:5000", typ: 3, code: 4, word: 1000, counter: tcp.ErrPMTUIgnored},
		{name: "v4 other port", local: "10.0.0.1:5000", typ: 3, code: 3, other: true},
		{name: "v6 port unreachable", local: "[2001:db8:5::1]:5000", typ: 1, code: 4, err: tcp.ErrRefused, counter: tcp.StatICMPAbort},
		{name: "v6 no route", local: "[2001:db8:5::1]:5000", typ: 1, code: 0, counter: tcp.StatICMPSoftError},
		{name: "v6 packet too big", local: "[2001:db8:5::1]:5000", typ: 2, word: 1280, counter: tcp.ErrPMTUIgnored},
		{name: "v6 other port", local: "[2001:db8:5::1]:5000", typ: 1, code: 4, other: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := stacktest.New(t, 1024, stack.Config{Workers: 2, TCP: &tcp.Config{}})
			defer r.Close()
			local := netip.MustParseAddrPort(tc.local)
			remote := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 80)
			if local.Addr().Is6() {
				remote = netip.AddrPortFrom(netip.MustParseAddr("2001:db8:5::2"), 80)
			}
			c, err := r.TCP.Dial(local, remote)
			if err != nil {
				t.Fatal(err)
			}
			r.Poll(0) // tcp4-output sends the SYN
			out := r.TakeLookup()
			if len(out) != 1 {
				t.Fatalf("%d packets sent, want the SYN", len(out))
			}
			quote := out[0].Data[out[0].Meta.L3:]
			if tc.other {
				quote = append([]byte(nil), quote...)
				quote[out[0].Meta.L4-out[0].Meta.L3+3] ^= 1
			}
			before := r.TCP.Counters()
			// The error arrives on the other worker's queue.
			node := icmp.InputName
			if local.Addr().Is4() {
				i := stacktest.ICMPError(r.Caches[1], remote.Addr().As4(), tc.typ, tc.code, quote)
				binary.BigEndian.PutUint32(r.Arena.Data(i)[wire.EthernetLen+wire.IPv4MinLen+4:], tc.word)
				r.DeliverTo(1, node, i)
			} else {
				node = icmp.Input6Name
				r.DeliverTo(1, node, icmp6Error(r.Caches[1], remote.Addr().As16(), tc.typ, tc.code, tc.word, quote))
			}
			after := r.TCP.Counters()
			for k := range after {
				want := before[k]
				if tcp.Counter(k) == tc.counter && !tc.other {
					want++
				}
				if after[k] != want {
					t.Errorf("counter %v: %d, want %d", tcp.Counter(k), after[k], want)
				}
			}
			took := uint64(0)
			if tc.counter >= tcp.StatChallengeACK && !tc.other {
				took = 1
			}
			if n := r.Errors(1, node, "socket_errors"); n != took {
				t.Errorf("%s socket_errors %d, want %d", node, n, took)
			}
			if st, err := c.State(), c.Err(); tc.err != nil && (st != tcp.StateClosed || err != tc.err) || tc.err == nil && st != tcp.StateSynSent {
				t.Fatalf("state %v err %v, want err %v", st, err, tc.err)
			}
			c.Abort()
			r.Poll(0)
			r.TakeLookup()
		})
	}
}
