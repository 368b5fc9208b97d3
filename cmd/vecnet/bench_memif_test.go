package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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
		Configs: []string{"vecnet", "vecnet-client", "vecnet-client-copy", "vecnet-client-poll", "testpmd"}, SenderCPU: 0, RouterCPU: 1, Log: io.Discard}
	samples, err := RunMemif(opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.Err != "" || s.Forwarded == 0 {
			t.Fatalf("%s: forwarded %d, error %q", s.Config, s.Forwarded, s.Err)
		}
		if s.GraphNsPerPkt <= 0 {
			t.Errorf("%s: no busy ns/pkt (testpmd's from --record-core-cycles, vecnet's from its node clocks)", s.Config)
		}
	}
	sum := Summarize(samples, opt.Configs)
	var out bytes.Buffer
	WriteMemifTable(&out, sum, opt)
	for _, row := range []string{"| vecnet ", "| vecnet-client ", "| vecnet-client-copy ", "| vecnet-client-poll ", "| testpmd "} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("table has no %q row:\n%s", row, out.String())
		}
	}
	lines := MemifRatioLines(samples, sum)
	if !strings.HasPrefix(lines, "vecnet/testpmd row: vecnet-client-poll\nvecnet/testpmd: ") || strings.Contains(lines, "vecnet/testpmd: n/a") ||
		!strings.HasSuffix(lines, "memif/kernel row: vecnet-client\nmemif/kernel: n/a") {
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

// TestMemifRatioLines: the vecnet/testpmd ratio is the median of the
// per-round ratios (paired within a round, so that a round where the
// machine was slow for both counts once), with their spread, on the
// busy-polling row; the CPU comparison divides testpmd's router ns/pkt by
// vecnet's; memif/kernel, on the adaptive row, is the last line.
func TestMemifRatioLines(t *testing.T) {
	var samples []Sample
	add := func(round int, config string, mpps, threadCPU float64) {
		samples = append(samples, Sample{Config: config, Round: round, SinkPPS: mpps * 1e6, WorkerCPU: threadCPU, Forwarded: 1,
			GraphNsPerPkt: 100 / mpps}) // busy ns/pkt: testpmd's ÷ vecnet's is the rate ratio here
	}
	// Round 2 is slow for both: its ratio is still 1.
	add(1, "kernel", 1, 0)
	add(1, "vecnet-client", 6, 1) // the adaptive row: memif/kernel's
	add(2, "vecnet-client", 6, 1)
	add(3, "vecnet-client", 6, 1)
	add(1, "vecnet-client-poll", 12, 1)
	add(1, "testpmd", 15, 1) // 0.80; CPU: (1e9/15e6) / (1e9/12e6) = 0.80
	add(2, "kernel", 0.5, 0)
	add(2, "vecnet-client-poll", 2, 0.5)
	add(2, "testpmd", 2, 1) // 1.00; CPU 2.00
	add(3, "kernel", 1, 0)
	add(3, "vecnet-client-poll", 14, 1)
	add(3, "testpmd", 10, 1) // 1.40; CPU 1.40
	add(4, "testpmd", 99, 1) // vecnet-client-poll failed in round 4: unpaired, ignored
	samples = append(samples, Sample{Config: "vecnet-client-poll", Round: 4, Err: "boom"})
	configs := []string{"kernel", "vecnet-client", "vecnet-client-poll", "testpmd"}
	got := MemifRatioLines(samples, Summarize(samples, configs))
	want := "vecnet/testpmd row: vecnet-client-poll\n" +
		"vecnet/testpmd: 1.00\n" +
		"vecnet/testpmd per round (sink Mpps, 3 rounds): min 0.80, median 1.00, max 1.40\n" +
		"vecnet/testpmd by CPU per packet (testpmd's router ns/pkt ÷ vecnet's, 3 rounds): min 0.80, median 1.40, max 2.00\n" +
		"vecnet/testpmd by busy time per packet (testpmd's busy ns/pkt ÷ vecnet's, 3 rounds): min 0.80, median 1.00, max 1.40\n" +
		"memif/kernel row: vecnet-client\n" +
		"memif/kernel: 6.00"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestBenchMemifSIGINT interrupts "vecnet bench memif" (SIGINT to the
// benchmark alone, as kill(1) sends it) while testpmd forwards: it must
// exit 130 at once and leave no testpmd, no generator process, no
// namespace of the kernel rig and no socket directory behind.
func TestBenchMemifSIGINT(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "dpdk-testpmd")
	testutil.RequireTool(t, "ip")
	bin := buildVecnet(t)
	cmd := exec.Command(bin, "bench", "memif", "-rounds", "2", "-seconds", "60", "-configs", "testpmd,kernel")
	var log testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	// The benchmark's children: testpmd and the ends (vecnet bench memif -ends).
	var kids []int
	testutil.Eventually(t, 90*time.Second, "testpmd and the ends running", func() bool {
		kids = childrenOf(cmd.Process.Pid)
		return len(kids) >= 2
	})
	sockDir := ""
	for _, pid := range kids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		for _, arg := range strings.Split(string(b), "\x00") {
			if i := strings.Index(arg, "socket="); i >= 0 {
				sockDir = filepath.Dir(arg[i+len("socket="):])
			}
		}
	}
	if sockDir == "" {
		t.Fatalf("no socket path on the children's command lines (%v)", kids)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var werr error
	select {
	case werr = <-exited:
		exited <- werr
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGINT")
	}
	if code := exitCode(werr); code != 130 {
		t.Errorf("exit %d (%v), want 130\n%s", code, werr, log.String())
	}
	testutil.Eventually(t, 10*time.Second, "the benchmark's children gone", func() bool {
		for _, pid := range kids {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z ") {
				return false
			}
		}
		return true
	})
	if _, err := os.Stat(sockDir); err == nil {
		t.Errorf("socket directory %s left behind", sockDir)
	}
	if list := testutil.Run(t, "ip", "netns", "list"); strings.Contains(list, fmt.Sprintf("vnb%d-", cmd.Process.Pid)) {
		t.Errorf("namespaces left behind:\n%s", list)
	}
}

// childrenOf lists the pids whose parent is ppid.
func childrenOf(ppid int) []int {
	var kids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			kids = append(kids, pid)
		}
	}
	return kids
}

// TestMemifRoundOrder: odd rounds run the configurations as given, even
// rounds in reverse, so that the compared pair takes turns to go first;
// the caller's list is not changed.
func TestMemifRoundOrder(t *testing.T) {
	configs := []string{"kernel", "vecnet-client", "vecnet-client-poll", "testpmd"}
	for _, tc := range []struct {
		round int
		want  []string
	}{
		{1, []string{"kernel", "vecnet-client", "vecnet-client-poll", "testpmd"}},
		{2, []string{"testpmd", "vecnet-client-poll", "vecnet-client", "kernel"}},
		{3, []string{"kernel", "vecnet-client", "vecnet-client-poll", "testpmd"}},
	} {
		if got := memifRoundOrder(configs, tc.round); !slices.Equal(got, tc.want) {
			t.Errorf("round %d: %v, want %v", tc.round, got, tc.want)
		}
	}
	if configs[0] != "kernel" {
		t.Errorf("the caller's list changed: %v", configs)
	}
}
