package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
)

// TestBenchMemif runs one short round of the memif benchmark with vecnet
// (serving both memifs; or their client, zero-copy and copying) and
// testpmd routing between two memifs (the generator and sink in a child
// process) and checks the plumbing, not the rates: frames reach the sink
// through each, the table has every row, the ratio lines are there.
func TestBenchMemif(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "dpdk-testpmd")
	opt := MemifOptions{Rounds: 1, Window: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, Size: 64,
		Configs: []string{"vecnet", "vecnet-client", "vecnet-client-copy", "testpmd"}, SenderCPU: 0, RouterCPU: 1, Log: io.Discard}
	samples, err := RunMemif(opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.Err != "" || s.Forwarded == 0 {
			t.Fatalf("%s: forwarded %d, error %q", s.Config, s.Forwarded, s.Err)
		}
	}
	sum := Summarize(samples, opt.Configs)
	var out bytes.Buffer
	WriteMemifTable(&out, sum, opt)
	for _, row := range []string{"| vecnet ", "| vecnet-client ", "| vecnet-client-copy ", "| testpmd "} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("table has no %q row:\n%s", row, out.String())
		}
	}
	lines := MemifRatioLines(sum)
	if !strings.HasPrefix(lines, "vecnet row: vecnet-client\nvecnet/testpmd: ") || strings.Contains(lines, "vecnet/testpmd: n/a") || !strings.HasSuffix(lines, "memif/kernel: n/a") {
		t.Errorf("ratio lines %q", lines)
	}
}

// TestBenchForwardDPDK runs one short round of bench forward's dpdk row
// (testpmd's AF_XDP PMD on the router veths): frames reach the sink, and no
// XDP program is left on the router's veths for the next configuration.
func TestBenchForwardDPDK(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "dpdk-testpmd")
	opt := ForwardOptions{Rounds: 1, Window: time.Second, Warmup: 200 * time.Millisecond, Size: 64,
		Configs: []string{"dpdk", "kernel"}, SenderCPU: 0, RouterCPU: 1, Log: io.Discard}
	samples, err := RunForward(opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.Err != "" || s.Forwarded == 0 {
			t.Fatalf("%s: forwarded %d, error %q", s.Config, s.Forwarded, s.Err)
		}
	}
}
