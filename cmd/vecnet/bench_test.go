package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
)

// TestBenchForwardKernel runs the benchmark machinery for one short round
// of the kernel configuration only (so it does not depend on the drivers)
// and checks the plumbing, not the rates.
func TestBenchForwardKernel(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ip")
	opt := ForwardOptions{
		Rounds: 1, Window: time.Second, Warmup: 200 * time.Millisecond, Size: 64,
		Configs: []string{"kernel"}, SenderCPU: 0, RouterCPU: 1, Log: io.Discard,
	}
	samples, err := RunForward(opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].Err != "" {
		t.Fatalf("samples: %+v", samples)
	}
	if samples[0].Forwarded == 0 || samples[0].OfferedPPS == 0 {
		t.Fatalf("the sink counted %d packets, offered %.0f pps", samples[0].Forwarded, samples[0].OfferedPPS)
	}
	sum := Summarize(samples, opt.Configs)
	var out bytes.Buffer
	WriteForwardTable(&out, sum, opt)
	if !strings.Contains(out.String(), "| kernel ") {
		t.Fatalf("table has no kernel row:\n%s", out.String())
	}
	png := filepath.Join(t.TempDir(), "b.png")
	if err := WriteBarPNG(png, "forward", "sink Mpps", sum); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("plot: %v", err)
	}
	if got := RatioLine(sum); got != "afxdp/kernel: n/a" {
		t.Errorf("ratio line without afxdp: %q", got)
	}
	// The rig is gone (this process's; a benchmark may be running beside).
	list := testutil.Run(t, "ip", "netns", "list")
	if strings.Contains(list, fmt.Sprintf("vnb%d-", os.Getpid())) {
		t.Errorf("namespaces left behind:\n%s", list)
	}
}

func TestSummarizeAndRatio(t *testing.T) {
	samples := []Sample{
		{Config: "kernel", Round: 1, SinkPPS: 1e6, OfferedPPS: 2e6},
		{Config: "afxdp", Round: 1, SinkPPS: 1.5e6, OfferedPPS: 2e6},
		{Config: "kernel", Round: 2, SinkPPS: 3e6, OfferedPPS: 3e6},
		{Config: "afxdp", Round: 2, SinkPPS: 0.5e6, OfferedPPS: 2e6},
		{Config: "kernel", Round: 3, SinkPPS: 2e6, OfferedPPS: 2e6},
		{Config: "afxdp", Round: 3, Err: "driver missing"},
		{Config: "afpacket", Round: 1, Err: "driver missing"},
	}
	sum := Summarize(samples, []string{"kernel", "afxdp", "afpacket"})
	if sum[0].Median.SinkPPS != 2e6 || sum[1].Median.SinkPPS != 1e6 || sum[1].Rounds != 2 || sum[2].Rounds != 0 {
		t.Fatalf("medians: %+v", sum)
	}
	if got := RatioLine(sum); got != "afxdp/kernel: 0.50" {
		t.Errorf("ratio line %q", got)
	}
	var out bytes.Buffer
	WriteForwardTable(&out, sum, ForwardOptions{Rounds: 3, Window: time.Second, Size: 64, SenderCPU: 0, RouterCPU: 1})
	if !strings.Contains(out.String(), "unavailable: driver missing") {
		t.Errorf("no unavailable row:\n%s", out.String())
	}
}
