package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// sockperfOut is sockperf 3.7's ping-pong summary, colours and all.
const sockperfOut = "sockperf: \x1b[2;35m== version #3.7-no.git == \x1b[0m\n" +
	"sockperf: [Valid Duration] RunTime=0.550 sec; SentMessages=24059; ReceivedMessages=24059\n" +
	"sockperf: \x1b[2;35m====> avg-rtt=22.855 (std-dev=102.313)\x1b[0m\n" +
	"sockperf: \x1b[2;35mTotal 24059 observations\x1b[0m; each percentile contains 240.59 observations\n" +
	"sockperf: ---> <MAX> observation = 5514.318\n" +
	"sockperf: ---> percentile 99.999 = 5514.318\n" +
	"sockperf: ---> percentile 99.990 = 4543.768\n" +
	"sockperf: ---> percentile 99.900 = 1675.157\n" +
	"sockperf: ---> percentile 99.000 =   63.270\n" +
	"sockperf: ---> percentile 90.000 =   18.515\n" +
	"sockperf: ---> percentile 50.000 =   17.082\n" +
	"sockperf: ---> <MIN> observation =   16.120\n"

func TestParseSockperf(t *testing.T) {
	r, err := parseSockperf(sockperfOut)
	if err != nil {
		t.Fatal(err)
	}
	if r.p50 != 17.082 || r.p99 != 63.27 || r.p999 != 1675.157 || r.obs != 24059 {
		t.Fatalf("parsed %+v", r)
	}
	for _, bad := range []string{
		"",
		"sockperf: No messages were received from the server. Is the server down?\n",
		strings.Replace(sockperfOut, "percentile 99.900", "percentile 99.800", 1),
		strings.Replace(sockperfOut, "Total 24059", "Total 0", 1),
	} {
		if _, err := parseSockperf(bad); err == nil {
			t.Errorf("no error for %q", firstLine([]byte(bad)))
		}
	}
}

func TestLatencyVariants(t *testing.T) {
	for name, want := range map[string]latencyVariant{
		"kernel": {}, "afxdp": {driver: "afxdp"}, "afpacket-sleep": {driver: "afpacket", sleep: true},
		"afxdp-rt": {driver: "afxdp", rt: true}, "afxdp-sleep-rt": {driver: "afxdp", sleep: true, rt: true},
		"afxdp-pinned": {driver: "afxdp", pinned: true}, "kernel-pinned": {pinned: true},
		"afpacket-sleep-pinned": {driver: "afpacket", sleep: true, pinned: true},
		"afpacket-frames":       {driver: "afpacket", frames: true},
	} {
		if got, ok := latencyDriver(name); !ok || got != want {
			t.Errorf("%s: %+v %v, want %+v", name, got, ok, want)
		}
	}
	for _, bad := range []string{"dpdk", "afxdp-fast", "kernel-rt", "kernel-sleep", "pinned", "afxdp-frames", "kernel-frames", ""} {
		if _, ok := latencyDriver(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLatencySummaryAndRatio(t *testing.T) {
	var samples []LatencySample
	add := func(c string, loaded bool, round int, p99 float64, err string) {
		samples = append(samples, LatencySample{Config: c, Loaded: loaded, Round: round, Err: err, P50: p99 / 4, P99: p99, P999: 2 * p99, IdleCPU: 0.01})
	}
	for r, k := range []float64{100, 300, 200} {
		add("kernel", false, r+1, k, "")
		add("kernel", true, r+1, 2*k, "")
		add("afxdp", false, r+1, k/2, "")
		add("afxdp", true, r+1, k, "")
	}
	add("afpacket", false, 1, 0, "sockperf: timeout")
	rows := SummarizeLatency(samples, []string{"kernel", "afxdp", "afpacket"})
	if len(rows) != 5 { // afpacket has no loaded sample at all
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	if r := rows[1]; r.Config != "afxdp" || r.Loaded || r.P99 != 100 || r.P99Min != 50 || r.P99Max != 150 || r.P99Ratio != 0.5 {
		t.Fatalf("afxdp unloaded: %+v", r)
	}
	if r := rows[2]; r.Config != "afpacket" || r.Rounds != 0 || len(r.Errors) != 1 {
		t.Fatalf("afpacket: %+v", r)
	}
	if r := rows[4]; r.Config != "afxdp" || !r.Loaded || r.P99 != 200 || r.P99Ratio != 0.5 {
		t.Fatalf("afxdp loaded: %+v", r)
	}
	lines := strings.Split(LatencyRatioLine(rows), "\n")
	if len(lines) != 2 || lines[0] != "p99/kernel unloaded: 0.50" || lines[1] != "p99/kernel: 0.50" {
		t.Errorf("ratio lines %q", lines)
	}
	if got := LatencyRatioLine(rows[:1]); !strings.HasSuffix(got, "p99/kernel: n/a") {
		t.Errorf("ratio line without vecnet %q", got)
	}
	var out bytes.Buffer
	WriteLatencyTable(&out, rows, LatencyOptions{Rounds: 3, Window: 5 * time.Second, LoadMbps: 200, RouterCPU: 1})
	for _, want := range []string{"| kernel ", "| afxdp ", "200 Mbit/s UDP", "unavailable: sockperf: timeout", "1.0%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBenchLatencyKernel runs one short round with the kernel router,
// unloaded and beside a small stream, and checks the plumbing, not the
// figures.
func TestBenchLatencyKernel(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"sockperf", "iperf3", "ping", "ss"} {
		testutil.RequireTool(t, tool)
	}
	samples, err := RunLatency(LatencyOptions{Rounds: 1, Window: time.Second, Configs: []string{"kernel"}, LoadMbps: 20, RouterCPU: 1, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 {
		t.Fatalf("samples: %+v", samples)
	}
	for _, s := range samples {
		if s.Err != "" || s.Obs == 0 || s.P50 <= 0 || s.P99 < s.P50 {
			t.Fatalf("sample: %+v", s)
		}
	}
	if samples[1].LoadMbps < 5 {
		t.Errorf("loaded row saw %.1f Mbit/s of the 20 Mbit/s stream", samples[1].LoadMbps)
	}
}

// TestPinnedPeers: a "-pinned" row runs its clients under taskset on the
// CPU the worker does not use and pins every thread of the running servers
// there.
func TestPinnedPeers(t *testing.T) {
	ns := topo.NS{Name: "vnl-none"}
	if got := peerCommand(ns, -1, "sockperf", "ping-pong").Args; strings.Join(got, " ") != "ip netns exec vnl-none sockperf ping-pong" {
		t.Errorf("unpinned: %q", got)
	}
	if got := peerCommand(ns, otherCPU(1), "iperf3", "-c").Args; strings.Join(got, " ") != "ip netns exec vnl-none taskset -c 0 iperf3 -c" {
		t.Errorf("pinned: %q", got)
	}
	if otherCPU(0) != 1 || otherCPU(3) != 0 {
		t.Errorf("otherCPU(0) = %d, otherCPU(3) = %d", otherCPU(0), otherCPU(3))
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var one unix.CPUSet
	one.Set(0)
	if err := setAffinity(cmd.Process.Pid, &one); err != nil {
		t.Fatal(err)
	}
	var got unix.CPUSet
	if err := unix.SchedGetaffinity(cmd.Process.Pid, &got); err != nil {
		t.Fatal(err)
	}
	if got != one {
		t.Errorf("affinity after setAffinity: %d CPUs, CPU0 %v; want CPU0 only", got.Count(), got.IsSet(0))
	}
}

// TestLatencyTableKernelPinned: a kernel-pinned row, like the kernel's,
// has no worker, so its worker columns are dashes, not zeros.
func TestLatencyTableKernelPinned(t *testing.T) {
	rows := SummarizeLatency([]LatencySample{
		{Config: "kernel", Round: 1, P50: 20, P99: 80, P999: 100, IdleCPU: -1},
		{Config: "kernel-pinned", Round: 1, P50: 20, P99: 70, P999: 90, IdleCPU: -1},
	}, []string{"kernel", "kernel-pinned"})
	var out bytes.Buffer
	WriteLatencyTable(&out, rows, LatencyOptions{Rounds: 1, Window: time.Second, RouterCPU: 1})
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "| kernel-pinned") {
			if f := strings.Fields(l); f[len(f)-2] != "–" || f[len(f)-4] != "–" || f[len(f)-6] != "–" {
				t.Errorf("kernel-pinned row: %q, want – for idle CPU, sleeps and passes", l)
			}
			return
		}
	}
	t.Fatalf("no kernel-pinned row:\n%s", out.String())
}
