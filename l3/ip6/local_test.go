package ip6

import (
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/wire"
)

// TestLocalProtocolTable: UDP and TCP for the host go to the nodes the host
// stack registered (Meta.L4 at the upper-layer header, after extension
// headers); unregistered they keep ip6-local's answers.
func TestLocalProtocolTable(t *testing.T) {
	withStack := LocalConfig{}
	withStack.RegisterProtocol(wire.IPProtoUDP, "udp6-input")
	withStack.RegisterProtocol(wire.IPProtoTCP, "tcp6-input")
	dstOpts := frames.ExtHeader(wire.IPProtoDestOpts, 1)
	for _, tc := range []struct {
		name   string
		cfg    LocalConfig
		next   uint8
		ext    [][]byte
		want   string // next node, or "drop ip6-local: counter"
		wantL4 int
	}{
		{"udp to the stack", withStack, wire.IPProtoUDP, nil, "udp6-input", wire.EthernetLen + wire.IPv6Len},
		{"udp after destination options", withStack, wire.IPProtoUDP, [][]byte{dstOpts}, "udp6-input", wire.EthernetLen + wire.IPv6Len + 8},
		{"tcp to the stack", withStack, wire.IPProtoTCP, nil, "tcp6-input", wire.EthernetLen + wire.IPv6Len},
		{"udp without a stack", LocalConfig{}, wire.IPProtoUDP, nil, ICMPErrorName, 0},
		{"tcp without a stack", LocalConfig{}, wire.IPProtoTCP, nil, "drop " + LocalName + ": tcp_no_listener", 0},
		{"other protocol", withStack, 132, nil, "drop " + LocalName + ": next_header_other", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, LocalNode(tc.cfg), graphtest.Options{})
			s := spec(host, ours)
			s.Next, s.Ext, s.Payload = tc.next, tc.ext, 20
			f := frames.IPv6(s)
			p := packet(f)
			p.Meta.Len = uint16(len(f))
			o := &h.Run(p).Out[0]
			if o.Where() != tc.want && o.Next != tc.want {
				t.Fatalf("got %s, want %s", o.Where(), tc.want)
			}
			if tc.wantL4 != 0 && int(o.Meta.L4) != tc.wantL4 {
				t.Fatalf("L4 = %d, want %d", o.Meta.L4, tc.wantL4)
			}
		})
	}
}

// TestLocalProtocolTwice: a protocol registered twice fails the node's Init
// instead of shadowing an entry.
func TestLocalProtocolTwice(t *testing.T) {
	for _, protos := range [][]uint8{{wire.IPProtoUDP, wire.IPProtoUDP}, {wire.IPProtoICMPv6, wire.IPProtoICMPv6}} {
		var c LocalConfig
		for _, p := range protos {
			c.RegisterProtocol(p, "x")
		}
		reg := LocalNode(c)
		if err := reg.Init(nil); err == nil {
			t.Fatalf("%v: Init accepted the table", protos)
		}
	}
}

// TestLocalICMPv6Errors: with a node registered for ICMPv6, error messages
// go to it; echo requests are still answered by ip6-local and other
// informational messages still counted.
func TestLocalICMPv6Errors(t *testing.T) {
	var c LocalConfig
	c.RegisterProtocol(wire.IPProtoICMPv6, "icmp6-input")
	for _, tc := range []struct {
		name string
		typ  uint8
		want string
	}{
		{"port unreachable to the stack", wire.ICMPv6DestUnreachable, "icmp6-input"},
		{"packet too big to the stack", wire.ICMPv6PacketTooBig, "icmp6-input"},
		{"echo request answered here", wire.ICMPv6EchoRequest, LookupName},
		{"echo reply counted", wire.ICMPv6EchoReply, "drop " + LocalName + ": icmp_other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, LocalNode(c), graphtest.Options{})
			s := spec(host, ours)
			s.Next = wire.IPProtoICMPv6
			f := frames.IPv6(s)
			icmp := wire.ICMPv6(f[wire.EthernetLen+wire.IPv6Len:])
			icmp.SetType(tc.typ)
			icmp.SetCode(4)
			icmp.SetChecksum(icmp.ComputeChecksum6(host, ours))
			p := packet(f)
			p.Meta.Len = uint16(len(f))
			o := &h.Run(p).Out[0]
			if o.Where() != tc.want && o.Next != tc.want {
				t.Fatalf("got %s, want %s", o.Where(), tc.want)
			}
		})
	}
}
