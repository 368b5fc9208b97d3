package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/examples/trafficgen/gen"
	"github.com/vecnet/vecnet/internal/testutil"
)

// TestBenchForward6: "bench forward -6" forwards IPv6 frames through the
// kernel and through vecnet (AF_PACKET) for one short round: both routers'
// sinks count frames, and the table says IPv6. Rates are not checked.
func TestBenchForward6(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ip")
	opt := ForwardOptions{
		Rounds: 1, Window: time.Second, Warmup: 300 * time.Millisecond, Size: gen.MinFrameLen6 + 4,
		Configs: []string{"kernel", "afpacket"}, SenderCPU: 0, RouterCPU: 1, Log: io.Discard, IPv6: true,
	}
	samples, err := RunForward(opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 {
		t.Fatalf("samples: %+v", samples)
	}
	// At least 1000 frames: the sink also counts what a router sends on
	// its own (neighbour solicitations for host B, a handful a second).
	for _, s := range samples {
		if s.Err != "" || s.Forwarded < 1000 {
			t.Fatalf("%s: error %q, the sink counted %d frames", s.Config, s.Err, s.Forwarded)
		}
	}
	var out bytes.Buffer
	WriteForwardTable(&out, Summarize(samples, opt.Configs), opt)
	if !strings.Contains(out.String(), "IPv6 forwarding, 82-byte frames") {
		t.Fatalf("table header:\n%s", out.String())
	}
}
