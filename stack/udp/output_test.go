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

func TestSocketSend(t *testing.T) {
	src := [4]byte{10, 0, 9, 1}
	r := stacktest.New(t, 2048, stack.Config{Workers: 2, Source: func(dst [4]byte) ([4]byte, bool) {
		return src, dst[0] == 10
	}})
	defer r.Close()
	tests := []struct {
		name    string
		laddr   string
		to      string
		payload string
		wantSrc string
		wantErr error
	}{
		{"bound", "10.0.1.1:5353", "10.0.1.2:40000", "hello", "10.0.1.1:5353", nil},
		{"unbound uses route source", "0.0.0.0:6000", "10.7.7.7:53", "q", "10.0.9.1:6000", nil},
		{"empty payload", "0.0.0.0:6001", "10.7.7.7:53", "", "10.0.9.1:6001", nil},
		{"no source", "0.0.0.0:6002", "192.168.1.1:53", "q", "", stack.ErrNoSource},
		{"port zero", "0.0.0.0:6003", "10.1.1.1:0", "q", "", stack.ErrBadAddress},
		{"too long", "0.0.0.0:6004", "10.1.1.1:1", string(make([]byte, udp.MaxPayload+1)), "", udp.ErrTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			so, err := r.UDP.Open(netip.MustParseAddrPort(tc.laddr))
			if err != nil {
				t.Fatal(err)
			}
			defer so.Close()
			to := netip.MustParseAddrPort(tc.to)
			err = so.Send([]byte(tc.payload), to)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Send: %v, want %v", err, tc.wantErr)
			}
			for w := range r.Graphs {
				r.Poll(w)
			}
			got := r.TakeLookup()
			if tc.wantErr != nil {
				if len(got) != 0 {
					t.Fatalf("%d packets sent after an error", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d packets at ip4-lookup, want 1", len(got))
			}
			c := got[0]
			if c.Meta.L3 != 14 || c.Meta.L4 != 34 || c.Meta.Flags&pkt.FlagLocal == 0 || c.Meta.RxPort != stack.LocalPort {
				t.Errorf("meta %+v", c.Meta)
			}
			s, d, p := checkUDP(t, c.Data, 14)
			if s.String() != tc.wantSrc || d != to || string(p) != tc.payload {
				t.Errorf("sent %v -> %v %q, want %v -> %v %q", s, d, p, tc.wantSrc, to, tc.payload)
			}
		})
	}
}

func TestSendBatchAndRing(t *testing.T) {
	r := stacktest.New(t, 1024, stack.Config{TxRing: 300})
	defer r.Close()
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	to := netip.MustParseAddrPort("10.0.1.2:9")
	msgs := make([]udp.Message, 600)
	for k := range msgs {
		msgs[k] = udp.Message{Buf: []byte{byte(k), byte(k >> 8)}, N: 2, Addr: to}
	}
	n, err := so.SendBatch(msgs)
	if n != 512 || !errors.Is(err, udp.ErrQueueFull) {
		t.Fatalf("SendBatch = %d, %v; want 512 (ring size), ErrQueueFull", n, err)
	}
	// One pass moves at most one vector.
	if got := r.Poll(0); got != pkt.VectorSize {
		t.Fatalf("first pass sent %d", got)
	}
	r.Poll(0)
	r.Poll(0)
	got := r.TakeLookup()
	if len(got) != 512 {
		t.Fatalf("%d packets", len(got))
	}
	for k, c := range got {
		_, _, p := checkUDP(t, c.Data, 14)
		if int(p[0])|int(p[1])<<8 != k {
			t.Fatalf("packet %d out of order: %v", k, p)
		}
	}
	// Unsent packets still queued at Close are freed (Rig.Close checks).
	if _, err := so.SendBatch(msgs[:10]); err != nil {
		t.Fatal(err)
	}
	so.Close()
	if err := so.Send([]byte("x"), to); !errors.Is(err, stack.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestMultiWorkerReceive(t *testing.T) {
	r := stacktest.New(t, 2048, stack.Config{Workers: 2})
	defer r.Close()
	so, err := r.UDP.Open(netip.MustParseAddrPort("0.0.0.0:777"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	dst := netip.MustParseAddrPort("10.0.1.1:777")
	r.Deliver(0, r.Frame(0, client, dst, []byte("w0")))
	r.Deliver(1, r.Frame(1, client, dst, []byte("w1")))
	msgs := make([]udp.Message, 4)
	for k := range msgs {
		msgs[k].Buf = make([]byte, 16)
	}
	n := so.RecvBatch(msgs)
	if n != 2 {
		t.Fatalf("RecvBatch = %d", n)
	}
	got := map[string]bool{}
	for _, m := range msgs[:n] {
		got[string(m.Buf[:m.N])] = true
		if m.Addr != client {
			t.Errorf("from %v", m.Addr)
		}
	}
	if !got["w0"] || !got["w1"] {
		t.Errorf("got %v", got)
	}
}
