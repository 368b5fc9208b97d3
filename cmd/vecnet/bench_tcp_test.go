package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
)

func TestTCPSummaryAndRatio(t *testing.T) {
	samples := []TCPSample{
		{Config: "kernel", Round: 1, Gbps: 10},
		{Config: "afxdp", Round: 1, Gbps: 2, Completed: 100},
		{Config: "kernel", Round: 2, Gbps: 14},
		{Config: "afxdp", Round: 2, Gbps: 4, Completed: 300},
		{Config: "kernel", Round: 3, Gbps: 12},
		{Config: "afxdp", Round: 3, Err: "iperf3: timeout"},
	}
	sum := SummarizeTCP(samples, []string{"kernel", "afxdp"})
	if sum[0].Median.Gbps != 12 || sum[1].Median.Gbps != 3 || sum[1].Rounds != 2 || sum[1].Median.Completed != 200 {
		t.Fatalf("medians: %+v", sum)
	}
	if got := TCPRatioLine(sum); got != "tcp/kernel: 0.25" {
		t.Errorf("ratio line %q", got)
	}
	if got := TCPRatioLine(sum[:1]); got != "tcp/kernel: n/a" {
		t.Errorf("ratio line without vecnet %q", got)
	}
	var out bytes.Buffer
	WriteTCPTable(&out, sum, TCPOptions{Rounds: 3, Window: 5 * time.Second, RouterCPU: 1, XDPMode: "native"})
	for _, want := range []string{"peer offloads at defaults", "| kernel ", "| afxdp ", "per round"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBenchForwardTCPKernel runs one short round of the TCP benchmark
// with the kernel router only and checks the plumbing, not the rate.
func TestBenchForwardTCPKernel(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "iperf3")
	testutil.RequireTool(t, "ping")
	samples, err := RunForwardTCP(TCPOptions{Rounds: 1, Window: time.Second, Configs: []string{"kernel"}, RouterCPU: 1, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].Err != "" || samples[0].Gbps <= 0 {
		t.Fatalf("samples: %+v", samples)
	}
}
