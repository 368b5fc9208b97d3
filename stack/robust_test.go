package stack_test

import (
	"net/netip"
	"testing"

	"vecnet/pkt"
	"vecnet/stack"
	"vecnet/stack/stacktest"
)

// TestHandlerPanicContained: a handler that panics (after answering part of
// its batch in place) does not take the worker down. Its whole batch is
// dropped and counted as handler_panic, each buffer freed exactly once; the
// other handler and the socket in the same vector get theirs; the next
// vector is served normally.
func TestHandlerPanicContained(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{})
	defer r.Close() // audits the pool: every buffer back, none free twice
	boom := true
	if err := r.Stack.HandleUDP(53, func(b *stack.UDPBatch) {
		for k := 0; k < b.Len(); k++ {
			copy(b.Payload(k), "ok")
			b.Reply(k, 2)
			if boom && k == 1 {
				panic("application bug")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	echo := netip.MustParseAddrPort("10.0.1.1:7")
	if err := r.Stack.HandleUDP(7, func(b *stack.UDPBatch) {
		for k := 0; k < b.Len(); k++ {
			b.Reply(k, len(b.Payload(k)))
		}
	}); err != nil {
		t.Fatal(err)
	}
	sockAddr := netip.MustParseAddrPort("10.0.1.1:9000")
	so, err := r.Stack.Open(sockAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()

	var idx []pkt.Index
	for range 3 {
		idx = append(idx, r.Frame(0, client, server, []byte("query")))
	}
	idx = append(idx, r.Frame(0, client, echo, []byte("echo")), r.Frame(0, client, sockAddr, []byte("sock")))
	r.Deliver(0, idx...) // panics out of the worker on unprotected code

	if n := r.Errors(0, stack.UDPInputName, "handler_panic"); n != 3 {
		t.Errorf("handler_panic = %d, want the panicking handler's 3 datagrams", n)
	}
	got := r.TakeLookup()
	if len(got) != 1 {
		t.Fatalf("%d replies reached ip4-lookup, want only the echo handler's 1", len(got))
	}
	if _, dst, p := checkUDP(t, got[0].Data, int(got[0].Meta.L3)); dst != client || string(p) != "echo" {
		t.Errorf("echo reply to %v %q", dst, p)
	}
	buf := make([]byte, 64)
	if n, _, ok := so.Recv(buf); !ok || string(buf[:n]) != "sock" {
		t.Errorf("socket: %q %v, want the datagram of the same vector", buf[:n], ok)
	}

	boom = false
	r.Deliver(0, r.Frame(0, client, server, []byte("query")))
	if got := r.TakeLookup(); len(got) != 1 {
		t.Fatalf("after the panic: %d replies, want 1 (the handler is still served)", len(got))
	}
	if n := r.Errors(0, stack.UDPInputName, "handler_panic"); n != 3 {
		t.Errorf("handler_panic = %d after a clean vector, want 3", n)
	}
	if err := r.Pool.Check(); err != nil {
		t.Fatal(err)
	}
}
