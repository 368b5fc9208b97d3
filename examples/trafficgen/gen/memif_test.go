package gen

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/wire"
)

// TestMemifSendToSink: the memif sender, attached as client, floods a memif
// sink serving the socket; the sink counts every frame, valid and in
// sequence, though the ring fills up again and again (back pressure, not
// loss).
func TestMemifSendToSink(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	sink, err := NewMemifSink(app.Config{Socket: sock, Server: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	spec := FrameSpec{DstMAC: wire.MAC{2, 0, 0, 0, 0, 2}, SrcMAC: wire.MAC{2, 0, 0, 0, 0, 1},
		Src: netip.MustParseAddr("10.0.1.2"), Dst: netip.MustParseAddr("10.0.2.2"), Size: 128, Flows: 4}
	s, err := NewMemifSender(app.Config{Socket: sock}, 5*time.Second, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const count = 200000
	res := make(chan *SinkResult, 1)
	go func() {
		r, err := sink.Run(0, 2*time.Second, 60*time.Second)
		if err != nil {
			t.Error(err)
		}
		res <- r
	}()
	sr, err := s.Send(SendConfig{Count: count, CPU: -1})
	if err != nil || sr.Sent != count {
		t.Fatalf("sent %v: %v", sr, err)
	}
	r := <-res
	if r.Frames != count || r.Invalid != 0 || r.Other != 0 || r.Seq.Lost != 0 || r.Seq.Reordered != 0 || r.Seq.Duplicates != 0 {
		t.Fatalf("sink: %v", r)
	}
	t.Logf("sender: %v; sink: %v", sr, r)
}
