package udp_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
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
	if err := r.UDP.Handle(53, func(b *udp.Batch) {
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
	if err := r.UDP.Handle(7, func(b *udp.Batch) {
		for k := 0; k < b.Len(); k++ {
			b.Reply(k, len(b.Payload(k)))
		}
	}); err != nil {
		t.Fatal(err)
	}
	sockAddr := netip.MustParseAddrPort("10.0.1.1:9000")
	so, err := r.UDP.Open(sockAddr)
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

	if n := r.Errors(0, udp.InputName, "handler_panic"); n != 3 {
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
	if n := r.Errors(0, udp.InputName, "handler_panic"); n != 3 {
		t.Errorf("handler_panic = %d after a clean vector, want 3", n)
	}
	if err := r.Pool.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestSocketQueueAndBudget: sockets nobody reads hold at most SocketQueue
// buffers each and SocketBudget together; the rest is dropped and counted
// (socket_queue_full, socket_budget); reading or closing gives the budget
// back.
func TestSocketQueueAndBudget(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{SocketQueue: 16, SocketBudget: 40})
	defer r.Close()
	var socks []*udp.Socket
	for k := range 4 {
		so, err := r.UDP.Open(netip.AddrPortFrom(netip.MustParseAddr("10.0.1.1"), uint16(9000+k)))
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, so)
	}
	flood := func(so *udp.Socket, n int) {
		var idx []pkt.Index
		for range n {
			idx = append(idx, r.Frame(0, client, so.LocalAddr(), []byte("unread")))
		}
		r.Deliver(0, idx...)
	}
	for _, so := range socks {
		flood(so, 30)
	}
	count := func(name string) uint64 { return r.Errors(0, udp.InputName, name) }
	// Sockets 0 and 1 fill their queues (16 each, 14 over each); socket 2
	// gets the last 8 of the budget of 40; the rest is over budget.
	if d, q, b := count("delivered"), count("socket_queue_full"), count("socket_budget"); d != 40 || q != 28 || b != 120-40-28 {
		t.Fatalf("delivered %d, socket_queue_full %d, socket_budget %d; want 40, 28, 52", d, q, b)
	}
	if n := r.Stack.SocketBuffers(); n != 40 {
		t.Fatalf("SocketBuffers = %d, want 40", n)
	}
	msgs := make([]udp.Message, 32)
	for k := range msgs {
		msgs[k].Buf = make([]byte, 16)
	}
	if n := socks[0].RecvBatch(msgs); n != 16 {
		t.Fatalf("socket 0 read %d, want 16", n)
	}
	buf := make([]byte, 16)
	if _, _, ok := socks[1].Recv(buf); !ok {
		t.Fatal("socket 1 has nothing queued")
	}
	if n := r.Stack.SocketBuffers(); n != 40-17 {
		t.Fatalf("SocketBuffers = %d after reading 17, want 23", n)
	}
	flood(socks[3], 30) // 17 of the budget are free again
	if d := count("delivered"); d != 40+16 {
		t.Fatalf("delivered %d after the reads, want 56 (socket 3's queue of 16)", d)
	}
	for _, so := range socks {
		so.Close()
	}
	if n := r.Stack.SocketBuffers(); n != 0 {
		t.Fatalf("SocketBuffers = %d after Close, want 0", n)
	}
}

// TestSendLeavesPoolReserve: applications' sends stop with ErrNoBuffers when
// the pool is down to its reserve, which stays for the workers.
func TestSendLeavesPoolReserve(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{PoolReserve: 200, TxRing: 2048})
	defer r.Close()
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:9000"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	sent := 0
	for {
		err := so.Send([]byte("x"), client)
		if err != nil {
			if !errors.Is(err, stack.ErrNoBuffers) {
				t.Fatalf("Send: %v, want ErrNoBuffers at the reserve", err)
			}
			break
		}
		sent++
		if sent > 1024 {
			t.Fatal("Send never ran out of buffers")
		}
	}
	if sent != 1024-200 {
		t.Errorf("sent %d before ErrNoBuffers, want %d (all but the reserve)", sent, 1024-200)
	}
	var got []pkt.Index
	for range 200 {
		i, ok := r.Caches[0].Alloc()
		if !ok {
			t.Fatalf("the worker found no buffer after %d: the reserve was not kept", len(got))
		}
		got = append(got, i)
	}
	r.Caches[0].FreeN(got)
	r.Poll(0) // the worker drains the transmit ring
	r.TakeLookup()
	r.Caches[0].Flush() // what the worker freed goes back to the shared pool
	if err := so.Send([]byte("x"), client); err != nil {
		t.Fatalf("Send after the worker drained the ring: %v", err)
	}
	r.Poll(0)
	r.TakeLookup()
}
