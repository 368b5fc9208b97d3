package gen

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/wire"
)

// pair builds two namespaces joined by a veth pair "ga" (in a) — "gb" (in b)
// and returns them with the ifindexes of the ends and b's MAC.
func pair(t *testing.T) (a, b *testutil.NS, ia, ib int, macB wire.MAC) {
	t.Helper()
	a, b = testutil.NewNS(t, "gena"), testutil.NewNS(t, "genb")
	testutil.Veth(t, a, "ga", b, "gb")
	for _, x := range []struct {
		ns  *testutil.NS
		dev string
		idx *int
	}{{a, "ga", &ia}, {b, "gb", &ib}} {
		if err := x.ns.Do(func() error {
			ifi, err := net.InterfaceByName(x.dev)
			if err != nil {
				return err
			}
			*x.idx = ifi.Index
			if x.dev == "gb" {
				macB = wire.MAC(ifi.HardwareAddr)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, ia, ib, macB
}

func openSender(t *testing.T, ns *testutil.NS, kind string, ifindex int, spec FrameSpec) Sender {
	t.Helper()
	var s Sender
	if err := ns.Do(func() error {
		var err error
		switch kind {
		case "afxdp":
			s, err = NewXDPSender(ifindex, 0, spec)
		default:
			s, err = NewPacketSender(ifindex, spec)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func specTo(mac wire.MAC) FrameSpec {
	return FrameSpec{
		SrcMAC: wire.MAC{2, 0, 0, 0, 0, 1}, DstMAC: mac,
		Src: netip.MustParseAddr("10.99.0.1"), Dst: netip.MustParseAddr("10.99.0.2"),
		Size: 64, Flows: 4,
	}
}

// TestSendToSink sends N frames over the veth into an AF_PACKET sink in the
// other namespace; every one must arrive, valid, with no gap — and a
// deliberately skipped range must be reported as exactly one gap.
func TestSendToSink(t *testing.T) {
	for _, kind := range []string{"afpacket", "afxdp"} {
		t.Run(kind, func(t *testing.T) {
			a, b, ia, ib, macB := pair(t)
			var sink *PacketSink
			if err := b.Do(func() (err error) { sink, err = NewPacketSink(ib); return err }); err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			s := openSender(t, a, kind, ia, specTo(macB))
			done := make(chan *SinkResult, 1)
			go func() {
				r, err := sink.Run(0, 500*time.Millisecond, 20*time.Second)
				if err != nil {
					t.Error(err)
				}
				done <- r
			}()
			const n, skip = 5000, 300
			cfg := SendConfig{Count: n, Rate: 100000, CPU: -1}
			r1, err := s.Send(cfg)
			if err != nil || r1.Sent != n || r1.TxErrors != 0 || r1.NextSeq != n {
				t.Fatalf("first send: %v, %v", r1, err)
			}
			cfg.Seq = n + skip
			r2, err := s.Send(cfg)
			if err != nil || r2.Sent != n {
				t.Fatalf("second send: %v, %v", r2, err)
			}
			got := <-done
			t.Logf("%s sender: %v / %v; sink: %v", kind, r1, r2, got)
			if got.Frames != 2*n || got.Invalid != 0 {
				t.Errorf("sink got %d frames (%d invalid), want %d valid", got.Frames, got.Invalid, 2*n)
			}
			if got.Seq.Lost != skip || got.Seq.Gaps != 1 || got.Seq.Duplicates != 0 || got.Seq.Reordered != 0 {
				t.Errorf("sequence: lost %d in %d gaps (want %d in 1), dup %d, reordered %d",
					got.Seq.Lost, got.Seq.Gaps, skip, got.Seq.Duplicates, got.Seq.Reordered)
			}
		})
	}
}

// TestXDPCounter counts frames dropped in XDP on the receiving end.
func TestXDPCounter(t *testing.T) {
	for _, mode := range []bool{false, true} {
		t.Run(fmt.Sprintf("generic=%v", mode), func(t *testing.T) {
			a, b, ia, ib, macB := pair(t)
			var c *XDPCounter
			if err := b.Do(func() (err error) { c, err = AttachXDPCounter(ib, mode); return err }); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			before, _, err := c.Count()
			if err != nil {
				t.Fatal(err)
			}
			s := openSender(t, a, "afxdp", ia, specTo(macB))
			const n = 20000
			r, err := s.Send(SendConfig{Count: n, Rate: 200000, CPU: -1})
			if err != nil || r.Sent != n {
				t.Fatalf("send: %v, %v", r, err)
			}
			var frames, bytes uint64
			testutil.Eventually(t, 5*time.Second, "counter reaches n", func() bool {
				frames, bytes, _ = c.Count()
				return frames-before >= n
			})
			// Other frames (IPv6 router solicitations) may add a few.
			if frames-before > n+20 || bytes < n*60 {
				t.Errorf("counted %d frames, %d bytes for %d sent", frames-before, bytes, n)
			}
		})
	}
}

// TestSendNoAllocs: a whole Send of a few batches allocates nothing.
func TestSendNoAllocs(t *testing.T) {
	for _, kind := range []string{"afpacket", "afxdp"} {
		t.Run(kind, func(t *testing.T) {
			a, _, ia, _, macB := pair(t)
			s := openSender(t, a, kind, ia, specTo(macB))
			cfg := SendConfig{Count: 4 * Batch, CPU: -1}
			if _, err := s.Send(cfg); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(20, func() { s.Send(cfg) }); n != 0 {
				t.Fatalf("Send allocates %v times per call", n)
			}
		})
	}
}
