package udp_test

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
)

func TestNoAllocs(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{})
	defer r.Close()
	r.Discard = true
	if err := r.UDP.Handle(53, func(b *udp.Batch) {
		for k := 0; k < b.Len(); k++ {
			p := b.Payload(k)
			b.Reply(k, copy(p[:len(p)+2], p)+2)
		}
	}); err != nil {
		t.Fatal(err)
	}
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:9000"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	payload := []byte("0123456789abcdef0123456789abcdef")
	sockDst := netip.MustParseAddrPort("10.0.1.1:9000")
	var idx [32]pkt.Index
	var buf [64]byte
	msgs := make([]udp.Message, 32)
	for k := range msgs {
		msgs[k] = udp.Message{Buf: make([]byte, 64), N: len(payload), Addr: client}
	}
	cases := []struct {
		name string
		f    func()
	}{
		{"handler reply", func() {
			for k := range idx {
				idx[k] = r.Frame(0, client, server, payload)
			}
			r.Deliver(0, idx[:]...)
		}},
		{"socket receive", func() {
			for k := range idx {
				idx[k] = r.Frame(0, client, sockDst, payload)
			}
			r.Deliver(0, idx[:]...)
			for range idx {
				if _, _, ok := so.Recv(buf[:]); !ok {
					panic("lost datagram")
				}
			}
		}},
		{"socket receive batch", func() {
			for k := range idx {
				idx[k] = r.Frame(0, client, sockDst, payload)
			}
			r.Deliver(0, idx[:]...)
			if so.RecvBatch(msgs) != len(msgs) {
				panic("lost datagrams")
			}
		}},
		{"socket send", func() {
			for range 8 {
				if err := so.Send(payload, client); err != nil {
					panic(err)
				}
			}
			r.Poll(0)
		}},
		{"socket send batch", func() {
			for k := range msgs {
				msgs[k].N = len(payload)
			}
			if n, err := so.SendBatch(msgs); n != len(msgs) || err != nil {
				panic(err)
			}
			r.Poll(0)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.f() // warm up (handler batch, caches)
			if n := testing.AllocsPerRun(100, tc.f); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
	if r.Discarded == 0 {
		t.Fatal("nothing reached the capture nodes")
	}
}

func BenchmarkHandlerReply(b *testing.B) {
	r := stacktest.New(b, 2048, stack.Config{})
	defer r.Close()
	r.Discard = true
	_ = r.UDP.Handle(53, func(bt *udp.Batch) {
		for k := 0; k < bt.Len(); k++ {
			bt.Reply(k, len(bt.Payload(k)))
		}
	})
	payload := make([]byte, 64)
	var idx [pkt.VectorSize]pkt.Index
	b.ResetTimer()
	for b.Loop() {
		for k := range idx {
			idx[k] = r.Frame(0, client, server, payload)
		}
		r.Deliver(0, idx[:]...)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pkt.VectorSize), "ns/pkt")
}

func BenchmarkSocketRecvBatch(b *testing.B) {
	r := stacktest.New(b, 2048, stack.Config{})
	defer r.Close()
	so, _ := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:9000"))
	defer so.Close()
	dst := netip.MustParseAddrPort("10.0.1.1:9000")
	payload := make([]byte, 64)
	msgs := make([]udp.Message, 64)
	for k := range msgs {
		msgs[k].Buf = make([]byte, 128)
	}
	var idx [pkt.VectorSize]pkt.Index
	for b.Loop() {
		for k := range idx {
			idx[k] = r.Frame(0, client, dst, payload)
		}
		r.Deliver(0, idx[:]...)
		for got := 0; got < len(idx); got += so.RecvBatch(msgs) {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pkt.VectorSize), "ns/pkt")
}

func BenchmarkSocketSendBatch(b *testing.B) {
	r := stacktest.New(b, 2048, stack.Config{})
	defer r.Close()
	r.Discard = true
	so, _ := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:9000"))
	defer so.Close()
	msgs := make([]udp.Message, 64)
	for k := range msgs {
		msgs[k] = udp.Message{Buf: make([]byte, 64), N: 64, Addr: client}
	}
	for b.Loop() {
		for range 4 {
			if n, err := so.SendBatch(msgs); n != len(msgs) {
				b.Fatal(n, err)
			}
		}
		r.Poll(0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/pkt")
}
