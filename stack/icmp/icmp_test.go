package icmp_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/icmp"
	"github.com/vecnet/vecnet/stack/stacktest"
)

func TestConnectedSocket(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{})
	defer r.Close()
	peer := netip.MustParseAddrPort("10.0.1.2:53")
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	if err := so.Connect(peer); err != nil {
		t.Fatal(err)
	}
	if so.Remote() != peer {
		t.Fatalf("Remote = %v", so.Remote())
	}
	local := so.LocalAddr()

	// Only the peer's datagrams are delivered.
	r.Deliver(0,
		r.Frame(0, peer, local, []byte("from peer")),
		r.Frame(0, netip.MustParseAddrPort("10.0.1.2:54"), local, []byte("other port")),
		r.Frame(0, netip.MustParseAddrPort("10.0.1.3:53"), local, []byte("other host")),
	)
	var buf [32]byte
	n, from, ok := so.Recv(buf[:])
	if !ok || from != peer || string(buf[:n]) != "from peer" {
		t.Fatalf("Recv %q from %v %v", buf[:n], from, ok)
	}
	if _, _, ok := so.Recv(buf[:]); ok {
		t.Fatal("datagram from another source delivered to a connected socket")
	}
	if n := len(r.TakeICMP()); n != 2 {
		t.Errorf("%d port unreachables for foreign sources, want 2", n)
	}

	// What the socket sent, to quote in ICMP errors.
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
	other[23] ^= 1 // another destination port: not about this socket
	tests := []struct {
		name      string
		typ, code uint8
		quote     []byte
		want      error
	}{
		{"port unreachable", 3, 3, orig, syscall.ECONNREFUSED},
		{"host unreachable", 3, 1, orig, syscall.EHOSTUNREACH},
		{"net unreachable", 3, 0, orig, syscall.ENETUNREACH},
		{"frag needed is not reported", 3, 4, orig, nil},
		{"time exceeded is not reported", 11, 0, orig, nil},
		{"other peer port", 3, 3, other, nil},
		{"truncated quote", 3, 3, orig[:24], nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r.DeliverTo(0, icmp.InputName, stacktest.ICMPError(r.Caches[0], peer.Addr().As4(), tc.typ, tc.code, tc.quote))
			err := so.PendingError()
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("PendingError = %v, want %v", err, tc.want)
			}
			if err := so.PendingError(); err != nil {
				t.Fatalf("error not cleared: %v", err)
			}
		})
	}
	if n := r.Errors(0, icmp.InputName, "socket_errors"); n != 3 {
		t.Errorf("socket_errors = %d, want 3", n)
	}

	// An unconnected socket gets no errors.
	un, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer un.Close()
	if err := un.Send([]byte("q"), peer); err != nil {
		t.Fatal(err)
	}
	r.Poll(0)
	c := r.TakeLookup()[0]
	r.DeliverTo(0, icmp.InputName, stacktest.ICMPError(r.Caches[0], peer.Addr().As4(), 3, 3, c.Data[c.Meta.L3:]))
	if err := un.PendingError(); err != nil {
		t.Errorf("unconnected socket got %v", err)
	}
	if err := so.Connect(netip.MustParseAddrPort("[::1]:1")); !errors.Is(err, stack.ErrFamily) {
		t.Errorf("Connect IPv4 socket to IPv6: %v", err)
	}
}
