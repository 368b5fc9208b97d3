package sock_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/wire"
)

var local6 = netip.MustParseAddr("2001:db8:1::1")

// newRig6 is newRig for IPv6: ip6-lookup loops packets to local6 back into
// udp6-input; Source6 picks local6.
func newRig6(t *testing.T) *stacktest.Rig {
	r := stacktest.New(t, 4096, stack.Config{Source6: func([16]byte) ([16]byte, bool) { return local6.As16(), true }})
	r.Reply = func(c *pkt.Cache, d stacktest.Captured) []pkt.Index {
		if d.Data[d.Meta.L3]>>4 != 6 || wire.IPv6(d.Data[d.Meta.L3:]).Dst() != local6.As16() {
			return nil
		}
		i, ok := c.Alloc()
		if !ok {
			return nil
		}
		b, _ := c.Arena().SetData(i, pkt.Headroom, len(d.Data))
		copy(b, d.Data)
		m := c.Arena().Meta(i)
		m.L3, m.L4 = d.Meta.L3, d.Meta.L4
		return []pkt.Index{i}
	}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

// TestUDP6PacketConn: net.PacketConns made by ListenPacket("udp6") and
// ListenPacket("udp") (dual-stack ::) exchange datagrams over IPv6;
// addresses come back as IPv6 *net.UDPAddr.
func TestUDP6PacketConn(t *testing.T) {
	r := newRig6(t)
	a, err := sock.ListenPacket(r.Stack, "udp6", "["+local6.String()+"]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sock.ListenPacket(r.Stack, "udp", ":7007")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	to := &net.UDPAddr{IP: net.IP(local6.AsSlice()), Port: 7007}
	if _, err := a.WriteTo([]byte("hello six"), to); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, from, err := b.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello six" {
		t.Fatalf("ReadFrom: %q %v", buf[:n], err)
	}
	if from.(*net.UDPAddr).AddrPort() != a.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("from %v, want %v", from, a.LocalAddr())
	}
	if _, err := b.WriteTo([]byte("back"), from); err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := a.ReadFrom(buf); err != nil || string(buf[:n]) != "back" {
		t.Fatalf("reply: %q %v", buf[:n], err)
	}
	// An IPv6 socket cannot send to IPv4.
	if _, err := a.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 9}); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Fatalf("IPv6 socket to IPv4: %v", err)
	}
}

// TestNetworkStrings: Listen, ListenPacket and Dialer take tcp/udp with
// 4 and 6 and refuse an address of the other family or an unknown network.
func TestNetworkStrings(t *testing.T) {
	r := newRig6(t)
	for _, tc := range []struct {
		network, addr string
		ok            bool
	}{
		{"udp6", "[2001:db8:1::1]:0", true},
		{"udp", "[2001:db8:1::1]:0", true},
		{"udp4", ":0", true},
		{"udp6", ":0", true},
		{"udp4", "[2001:db8:1::1]:0", false},
		{"udp6", "10.0.0.1:0", false},
		{"ip6", "[::1]:0", false},
	} {
		c, err := sock.ListenPacket(r.Stack, tc.network, tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("ListenPacket(%s, %s): %v", tc.network, tc.addr, err)
		}
		if c != nil {
			if tc.network == "udp4" && !c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Is4() {
				t.Errorf("udp4 :0 bound %v", c.LocalAddr())
			}
			c.Close()
		}
	}
	d := sock.Dialer(r.Stack)
	for _, tc := range []struct{ network, addr string }{
		{"tcp4", "[2001:db8:1::9]:80"}, {"tcp6", "10.0.0.9:80"}, {"udp", "10.0.0.9:80"}, {"tcp6", "name:80"},
	} {
		if _, err := d(context.Background(), tc.network, tc.addr); err == nil {
			t.Errorf("Dialer(%s, %s) succeeded", tc.network, tc.addr)
		}
	}
	if _, err := sock.Listen(r.Stack, "tcp6", "[::]:80"); err == nil {
		t.Error("Listen without TCP in the stack succeeded")
	}
}
