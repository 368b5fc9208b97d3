package sock_test

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/wire"
	"github.com/vecnet/vecnet/worker"
)

// loopDP is a one-interface data plane with the stack on a running worker;
// sockets on 10.0.1.1 talk to each other through ip4-lookup and ip4-local.
func loopDP(b *testing.B) (*stack.Stack, func()) {
	dp, err := dataplane.New(8192)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dp.AddInterface("eth0", wire.MAC{2, 0, 0, 0, 0, 1}, 1500, netip.MustParsePrefix("10.0.1.1/24")); err != nil {
		b.Fatal(err)
	}
	st := dp.NewStack(stack.Config{Workers: 1, RxRing: 4096, TxRing: 4096})
	cache := dp.Pool.NewCache()
	g, err := dp.BuildGraph(cache, nil, []driver.Port{&capPort{}})
	if err != nil {
		b.Fatal(err)
	}
	w, err := worker.New(0, g, nil)
	if err != nil {
		b.Fatal(err)
	}
	wt, err := st.TxWaiter(g)
	if err != nil {
		b.Fatal(err)
	}
	w.AddWaiter(wt)
	w.Start()
	return st, func() {
		w.Stop()
		st.Close()
		g.Close()
		cache.Flush()
		st.Flush()
		if err := dp.Close(); err != nil {
			b.Error(err)
		}
	}
}

// BenchmarkLoopbackBatch streams 64-byte datagrams from one socket to
// another through the worker (WriteBatch -> graph -> ReadBatch).
func BenchmarkLoopbackBatch(b *testing.B) {
	st, done := loopDP(b)
	defer done()
	a, _ := sock.ListenUDP(st, netip.MustParseAddrPort("10.0.1.1:1"))
	z, _ := sock.ListenUDP(st, netip.MustParseAddrPort("10.0.1.1:2"))
	defer a.Close()
	defer z.Close()
	const batch = 64
	out := make([]sock.Message, batch)
	in := make([]sock.Message, batch)
	for k := range out {
		out[k] = sock.Message{Buf: make([]byte, 64), N: 64, Addr: netip.MustParseAddrPort("10.0.1.1:2")}
		in[k].Buf = make([]byte, 2048)
	}
	b.SetBytes(64 * batch)
	for b.Loop() {
		if _, err := a.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < batch; {
			n, err := z.ReadBatch(in)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/datagram")
}

// BenchmarkPingPong measures one round trip between two sockets through
// the worker (including the reader wake-ups).
func BenchmarkPingPong(b *testing.B) {
	st, done := loopDP(b)
	defer done()
	a, _ := sock.ListenUDP(st, netip.MustParseAddrPort("10.0.1.1:1"))
	z, _ := sock.ListenUDP(st, netip.MustParseAddrPort("10.0.1.1:2"))
	defer a.Close()
	defer z.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := z.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if _, err := z.WriteToUDPAddrPort(buf[:n], from); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	to := netip.MustParseAddrPort("10.0.1.1:2")
	for b.Loop() {
		if _, err := a.WriteToUDPAddrPort(buf[:32], to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := a.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTTPKeepAlive: one keep-alive GET / to net/http served on
// vecnet's listener, from a vecnet connection of a second data plane (the
// in-memory link between them), as wrk does against -mode nethttp. Its
// allocations per request are net/http's plus sock's.
// Sub-benchmarks: the workers dedicated (each on a thread of its own) and
// Shared (net/http's goroutines run on the worker's thread).
func BenchmarkHTTPKeepAlive(b *testing.B) {
	b.Run("dedicated", func(b *testing.B) { benchmarkHTTPKeepAlive(b, false) })
	b.Run("shared", func(b *testing.B) { benchmarkHTTPKeepAlive(b, true) })
}

func benchmarkHTTPKeepAlive(b *testing.B, shared bool) {
	server, client := tcpPair(b, shared)
	addr := netip.MustParseAddrPort("10.9.0.1:8081")
	l, err := sock.ListenTCP(server.st, addr)
	if err != nil {
		b.Fatal(err)
	}
	body := "hello from httpserver\n"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }),
		ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() { srv.Close(); <-served }()
	c, err := sock.DialTCP(context.Background(), client.st, netip.AddrPort{}, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: 10.9.0.1\r\n\r\n")
	buf := make([]byte, 4096)
	roundTrip := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(body) || string(buf[got-len(body):got]) != body; {
			n, err := c.Read(buf[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	roundTrip()
	b.ReportAllocs()
	for b.Loop() {
		roundTrip()
	}
}
