package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/worker"
)

// LatencyOptions shape one "vecnet bench latency" run: sockperf ping-pong
// from host A to a sockperf server on host B through the router, unloaded
// and beside a fixed-rate iperf3 UDP stream through the same router.
type LatencyOptions struct {
	Rounds   int           // interleaved rounds over Configs
	Window   time.Duration // sockperf -t per row and round
	Configs  []string      // of "kernel", "afxdp", "afpacket", "afxdp-sleep", "afpacket-sleep"
	LoadMbps int           // the stream's rate, iperf3 -u -b (0: no loaded rows)
	MsgSize  int           // sockperf -m, UDP payload bytes
	IdleFor  time.Duration // how long the idle router's CPU is measured
	XDPMode  string        // afxdp's XDP attach mode ("" the driver's choice)
	// Spin is the worker's adaptive-polling time for the vecnet rows
	// (worker.Worker.Spin); negative keeps the configuration's default.
	Spin      time.Duration
	RouterCPU int       // vecnet's worker CPU
	Log       io.Writer `json:"-"`
	// Cancel, when closed, ends the run early, the rig removed.
	Cancel <-chan struct{} `json:"-"`
}

// LatencySample is one configuration, unloaded or loaded, in one round.
// Times are round trips in microseconds.
type LatencySample struct {
	Config string  `json:"config"`
	Loaded bool    `json:"loaded"`
	Round  int     `json:"round"`
	Err    string  `json:"error,omitempty"`
	P50    float64 `json:"p50_us"`
	P99    float64 `json:"p99_us"`
	P999   float64 `json:"p99_9_us"`
	Obs    uint64  `json:"observations"`
	// LoadMbps is the stream host B received during the window.
	LoadMbps float64 `json:"load_mbps"`
	// IdleCPU is the router's CPU with no traffic, in cores (vecnet only:
	// the whole daemon process); -1 where not measured.
	IdleCPU float64 `json:"idle_cpu"`
	// Sleeps and Loops are the worker's sleeps and dispatch passes per
	// second during the window (vecnet only).
	Sleeps float64 `json:"worker_sleeps_per_s,omitempty"`
	Loops  float64 `json:"worker_loops_per_s,omitempty"`
}

// Row names the table row of a sample.
func (s LatencySample) Row() string {
	if s.Loaded {
		return s.Config + " loaded"
	}
	return s.Config + " unloaded"
}

// minObservations is the fewest round trips a row needs to count.
const minObservations = 100

// latencyPort is the sockperf server's UDP port on host B.
const latencyPort = 11111

// latencyRigOptions: the peers keep their offloads (64-byte UDP is not
// segmented; vecnet completes partial checksums).
var latencyRigOptions = topo.RigOptions{Prefix: "vnl"}

func (opt LatencyOptions) cancelled() bool {
	select {
	case <-opt.Cancel:
		return true
	default:
		return false
	}
}

// RunLatency builds a rig, starts the sockperf and iperf3 servers on host B
// and measures every configuration in every round, interleaved.
func RunLatency(opt LatencyOptions) (samples []LatencySample, err error) {
	if len(opt.Configs) == 0 || opt.Rounds < 1 || opt.Window < time.Second {
		return nil, errors.New("bench: need configurations, rounds ≥ 1 and a window of at least 1 s")
	}
	for _, c := range opt.Configs {
		if _, ok := latencyDriver(c); !ok {
			return nil, fmt.Errorf("bench: unknown configuration %q (kernel, or afxdp or afpacket with -sleep and -rt options)", c)
		}
	}
	rig, err := topo.NewRig(latencyRigOptions)
	if err != nil {
		return nil, err
	}
	procs := &procSet{}
	closeAll := func() error { procs.killAll(); return rig.Close() }
	benchCleanup.set(closeAll)
	defer func() {
		benchCleanup.set(nil)
		err = errors.Join(err, closeAll())
	}()
	srv := rig.B.Command("sockperf", "server", "-i", topo.HostBAddr, "-p", strconv.Itoa(latencyPort))
	servers := []*exec.Cmd{srv}
	if err := procs.start(srv); err != nil {
		return nil, err
	}
	if err := waitUDP(rig.B, latencyPort, 10*time.Second); err != nil {
		return nil, err
	}
	if opt.LoadMbps > 0 {
		ips := rig.B.Command("iperf3", "-s")
		if err := procs.start(ips); err != nil {
			return nil, err
		}
		servers = append(servers, ips)
		if err := WaitListening(rig.B, 5201, 10*time.Second); err != nil {
			return nil, err
		}
	}
	for round := 1; round <= opt.Rounds; round++ {
		for _, c := range opt.Configs {
			if opt.cancelled() {
				return samples, errInterrupted
			}
			for _, s := range measureLatency(rig, procs, servers, c, round, opt) {
				if s.Err != "" {
					fmt.Fprintf(opt.Log, "round %d %-24s error: %s\n", round, s.Row(), s.Err)
				} else {
					fmt.Fprintf(opt.Log, "round %d %-24s p50 %.1f p99 %.1f p99.9 %.1f µs (%d obs, load %.0f Mbit/s)\n",
						round, s.Row(), s.P50, s.P99, s.P999, s.Obs, s.LoadMbps)
				}
				samples = append(samples, s)
			}
		}
	}
	return samples, nil
}

// latencyVariant is a configuration of the latency benchmark: the kernel,
// or vecnet on a driver with options.
type latencyVariant struct {
	driver string // "" for the kernel
	sleep  bool   // worker Spin 0: sleep after worker.IdlePolls empty passes
	rt     bool   // worker under SCHED_FIFO (latencyRTPriority)
	// frames: afpacket's receive ring is the TPACKET_V2 frame ring
	// (rx_ring: frames) instead of the default block ring.
	frames bool
	// pinned: the peers (sockperf, iperf3, both ends) on the CPU the
	// worker does not use, and the worker spinning (latencyPinnedSpin, or
	// -spin): the standard bypass deployment, a core for the data plane.
	pinned bool
}

// latencyPinnedSpin is the worker's adaptive-polling time in "-pinned"
// rows when -spin does not set one: far longer than the gap between two
// round trips, so the worker does not sleep while sockperf runs, and short
// enough that an idle router goes back to sleep.
const latencyPinnedSpin = time.Millisecond

// latencyRTPriority is the worker's SCHED_FIFO priority in "-rt" rows.
const latencyRTPriority = 10

// latencyDriver parses a configuration name: "kernel" or "kernel-pinned",
// or "afxdp" or "afpacket" followed by any of "-sleep" (adaptive polling
// off), "-rt" (the worker under SCHED_FIFO), "-pinned" (peers on the
// other CPU, the worker spinning) and, for afpacket, "-frames" (the
// TPACKET_V2 frame ring).
func latencyDriver(c string) (latencyVariant, bool) {
	switch c {
	case "kernel":
		return latencyVariant{}, true
	case "kernel-pinned":
		return latencyVariant{pinned: true}, true
	}
	parts := strings.Split(c, "-")
	v := latencyVariant{driver: parts[0]}
	if v.driver != "afxdp" && v.driver != "afpacket" {
		return v, false
	}
	for _, p := range parts[1:] {
		switch p {
		case "sleep":
			v.sleep = true
		case "rt":
			v.rt = true
		case "pinned":
			v.pinned = true
		case "frames":
			if v.driver != "afpacket" {
				return v, false
			}
			v.frames = true
		default:
			return v, false
		}
	}
	return v, true
}

// measureLatency brings configuration name up, measures its idle CPU, then
// sockperf unloaded and loaded. servers are the long-running peers on host
// B, which a "-pinned" row pins for its duration.
func measureLatency(rig *topo.Rig, procs *procSet, servers []*exec.Cmd, name string, round int, opt LatencyOptions) []LatencySample {
	un := LatencySample{Config: name, Round: round, IdleCPU: -1}
	fail := func(err error) []LatencySample {
		un.Err = err.Error()
		return []LatencySample{un}
	}
	lv, _ := latencyDriver(name)
	peerCPU := -1
	if lv.pinned {
		peerCPU = otherCPU(opt.RouterCPU)
		var one unix.CPUSet
		one.Set(peerCPU)
		for _, c := range servers {
			if err := setAffinity(c.Process.Pid, &one); err != nil {
				return fail(err)
			}
		}
		defer func() {
			var all unix.CPUSet
			for cpu := range runtime.NumCPU() {
				all.Set(cpu)
			}
			for _, c := range servers {
				_ = setAffinity(c.Process.Pid, &all)
			}
		}()
	}
	var d *daemon.Daemon
	if lv.driver == "" {
		if err := rig.KernelForwarding(); err != nil {
			return fail(err)
		}
		defer rig.NoKernelForwarding()
	} else {
		var err error
		cfg := DemoConfig(rig, lv.driver, opt.XDPMode, "")
		if lv.frames {
			for i := range cfg.Interfaces {
				cfg.Interfaces[i].RxRing = "frames"
			}
		}
		d, err = daemon.Start(cfg, daemon.Options{
			NoCLI:  true,
			Logger: newLogger(opt.Log),
			BeforeRun: func(d *daemon.Daemon) error {
				d.Workers[0].CPU = opt.RouterCPU
				switch {
				case lv.sleep:
					d.Workers[0].Spin = 0
				case lv.pinned && opt.Spin <= 0:
					d.Workers[0].Spin = latencyPinnedSpin
				case opt.Spin >= 0:
					d.Workers[0].Spin = opt.Spin
				}
				if lv.rt {
					d.Workers[0].RTPriority = latencyRTPriority
				}
				return nil
			},
		})
		if err != nil {
			return fail(err)
		}
		defer d.Stop()
		var serr error
		if err := d.Workers[0].Do(func() { serr = d.Workers[0].SchedErr() }); err != nil || serr != nil {
			return fail(errors.Join(err, serr))
		}
	}
	// A first ping settles ARP on both sides, outside the windows.
	if out, err := rig.A.Run("ping", "-c", "1", "-W", "3", topo.HostBAddr); err != nil {
		return fail(fmt.Errorf("ping: %v: %s", err, out))
	}
	if d != nil {
		c, err := idleCPU(opt.IdleFor)
		if err != nil {
			return fail(err)
		}
		un.IdleCPU = c
	}
	runOne := func(s *LatencySample) {
		w0 := workerCounts(d)
		b0 := rxBytes(rig.B)
		t0 := time.Now()
		r, err := sockperfPingPong(rig.A, procs, peerCPU, opt)
		el := time.Since(t0).Seconds()
		if err != nil {
			s.Err = err.Error()
			return
		}
		s.P50, s.P99, s.P999, s.Obs = r.p50, r.p99, r.p999, r.obs
		if r.obs < minObservations {
			// sockperf waits for each answer: a lost message stalls the
			// whole window, and a handful of round trips has no p99.
			s.Err = fmt.Sprintf("sockperf stalled: %d round trips in %.1f s (a message lost?)", r.obs, el)
			return
		}
		s.LoadMbps = float64(rxBytes(rig.B)-b0) * 8 / el / 1e6
		if d != nil {
			w1 := workerCounts(d)
			s.Sleeps = float64(w1.Sleeps-w0.Sleeps) / el
			s.Loops = float64(w1.Loops-w0.Loops) / el
			fmt.Fprintf(opt.Log, "round %d %-24s worker: %d sleeps, %d wake-ups, %d flushes, %d packets; busy passes (receive → TX flushed): %s\n",
				s.Round, s.Row(), w1.Sleeps-w0.Sleeps, w1.Wakeups-w0.Wakeups, w1.Flushes-w0.Flushes, w1.Packets-w0.Packets, passHist(w0, w1))
		}
	}
	runOne(&un)
	out := []LatencySample{un}
	if opt.LoadMbps <= 0 || opt.cancelled() {
		return out
	}
	ld := LatencySample{Config: name, Loaded: true, Round: round, IdleCPU: un.IdleCPU}
	load, err := startUDPLoad(rig, procs, peerCPU, opt)
	if err != nil {
		ld.Err = err.Error()
		return append(out, ld)
	}
	runOne(&ld)
	procs.stop(load)
	return append(out, ld)
}

// workerCounts reads the first worker's loop counters (zero for the kernel).
func workerCounts(d *daemon.Daemon) (s worker.Stats) {
	if d == nil {
		return s
	}
	wk := d.Workers[0]
	_ = wk.Do(func() { s = wk.Stats() })
	return s
}

// passHist formats the busy-pass histogram between two reads: "<1µs:N
// <2µs:N …" for the non-empty buckets.
func passHist(a, b worker.Stats) string {
	var out []string
	for k := range b.BusyPassHist {
		n := b.BusyPassHist[k] - a.BusyPassHist[k]
		if n == 0 {
			continue
		}
		if k == len(b.BusyPassHist)-1 {
			out = append(out, fmt.Sprintf("≥%dµs:%d", 1<<(k-1), n))
		} else {
			out = append(out, fmt.Sprintf("<%dµs:%d", 1<<k, n))
		}
	}
	return strings.Join(out, " ")
}

// idleCPU measures this process's CPU (the daemon runs in it) over d with
// no traffic, in cores.
func idleCPU(d time.Duration) (float64, error) {
	if d <= 0 {
		d = 3 * time.Second
	}
	var r0, r1 unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &r0); err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(d) // the measurement window itself, not synchronisation
	if err := unix.Getrusage(unix.RUSAGE_SELF, &r1); err != nil {
		return 0, err
	}
	tv := func(r unix.Rusage) float64 {
		return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
	}
	return (tv(r1) - tv(r0)) / time.Since(t0).Seconds(), nil
}

// otherCPU is the CPU the peers of a "-pinned" row run on: one the router
// worker (on cpu) does not use.
func otherCPU(cpu int) int {
	if cpu == 0 {
		return 1
	}
	return 0
}

// setAffinity pins every thread of process pid to set.
func setAffinity(pid int, set *unix.CPUSet) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin pid %d thread %d: %w", pid, tid, err)
		}
	}
	return nil
}

// peerCommand is ns.Command, under taskset -c cpu when cpu >= 0.
func peerCommand(ns topo.NS, cpu int, name string, args ...string) *exec.Cmd {
	if cpu < 0 {
		return ns.Command(name, args...)
	}
	return ns.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
}

// startUDPLoad starts iperf3 -u from host A to host B at opt.LoadMbps (on
// CPU cpu when cpu >= 0) and returns once host B receives it.
func startUDPLoad(rig *topo.Rig, procs *procSet, cpu int, opt LatencyOptions) (*exec.Cmd, error) {
	secs := int(opt.Window.Seconds()) + 30
	cmd := peerCommand(rig.A, cpu, "iperf3", "-c", topo.HostBAddr, "-u", "-b", fmt.Sprintf("%dM", opt.LoadMbps),
		"-t", strconv.Itoa(secs), "--connect-timeout", "3000")
	if err := procs.start(cmd); err != nil {
		return nil, err
	}
	// The stream is flowing once host B has received a few hundred of its
	// datagrams (about 1 ms at 200 Mbit/s).
	b0 := rxBytes(rig.B)
	deadline := time.Now().Add(10 * time.Second)
	for rxBytes(rig.B)-b0 < 500_000 {
		if time.Now().After(deadline) {
			procs.stop(cmd)
			return nil, errors.New("iperf3 UDP stream did not reach host B")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, nil
}

// rxBytes reads host B's eth0 rx_bytes.
func rxBytes(ns topo.NS) uint64 {
	out, err := ns.Command("cat", "/sys/class/net/"+topo.HostDev+"/statistics/rx_bytes").Output()
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	return v
}

// waitUDP polls until a UDP socket is bound to port in ns.
func waitUDP(ns topo.NS, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, _ := ns.Command("ss", "-Huln", fmt.Sprintf("sport = :%d", port)).Output()
		if strings.TrimSpace(string(out)) != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing bound to UDP port %d in %s after %v", port, ns.Name, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pingPong is what one sockperf ping-pong run reports: round trips in µs.
type pingPong struct {
	p50, p99, p999 float64
	obs            uint64
}

// sockperfPingPong runs sockperf ping-pong from ns for opt.Window, on CPU
// cpu when cpu >= 0.
func sockperfPingPong(ns topo.NS, procs *procSet, cpu int, opt LatencyOptions) (pingPong, error) {
	size := opt.MsgSize
	if size <= 0 {
		size = 64
	}
	cmd := peerCommand(ns, cpu, "sockperf", "ping-pong", "-i", topo.HostBAddr, "-p", strconv.Itoa(latencyPort),
		"-m", strconv.Itoa(size), "-t", strconv.Itoa(int(opt.Window.Seconds())), "--full-rtt")
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := procs.start(cmd); err != nil {
		return pingPong{}, err
	}
	timer := time.AfterFunc(opt.Window+30*time.Second, func() { cmd.Process.Kill() })
	err := procs.wait(cmd)
	timer.Stop()
	out := []byte(buf.String())
	if err != nil {
		return pingPong{}, fmt.Errorf("sockperf: %v: %s", err, stripANSI(lastLines(string(out), 3)))
	}
	return parseSockperf(string(out))
}

// procSet tracks the tools a benchmark started in its namespaces, so that
// an interrupt kills them before the namespaces go.
type procSet struct {
	mu   sync.Mutex
	cmds map[*exec.Cmd]bool
}

func (p *procSet) start(cmd *exec.Cmd) error {
	if cmd.Stdout == nil {
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.cmds == nil {
		p.cmds = map[*exec.Cmd]bool{}
	}
	p.cmds[cmd] = true
	p.mu.Unlock()
	return nil
}

// wait waits for cmd to exit and forgets it.
func (p *procSet) wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	p.mu.Lock()
	delete(p.cmds, cmd)
	p.mu.Unlock()
	return err
}

// stop kills cmd and waits for it.
func (p *procSet) stop(cmd *exec.Cmd) {
	cmd.Process.Kill()
	p.wait(cmd)
}

// killAll kills every tool still running (their Wait is left to whoever
// started them, or to the process's exit).
func (p *procSet) killAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for cmd := range p.cmds {
		cmd.Process.Kill()
	}
}

// parseSockperf reads the percentiles and the observation count from
// sockperf ping-pong's summary ("sockperf: ---> percentile 99.000 =   63.270").
func parseSockperf(out string) (pingPong, error) {
	var r pingPong
	found := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := stripANSI(sc.Text())
		if i := strings.Index(line, "Total "); i >= 0 && strings.Contains(line, "observations") {
			f := strings.Fields(line[i+len("Total "):])
			if len(f) > 0 {
				r.obs, _ = strconv.ParseUint(f[0], 10, 64)
			}
			continue
		}
		i := strings.Index(line, "---> percentile ")
		if i < 0 {
			continue
		}
		k, v, ok := strings.Cut(line[i+len("---> percentile "):], "=")
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "50.000":
			r.p50, found = x, found|1
		case "99.000":
			r.p99, found = x, found|2
		case "99.900":
			r.p999, found = x, found|4
		}
	}
	if found != 7 || r.obs == 0 {
		return r, fmt.Errorf("sockperf: no percentiles in its output: %s", stripANSI(lastLines(out, 3)))
	}
	return r, nil
}

// stripANSI removes the colour escapes sockperf writes.
func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// LatencyRow is one table row: a configuration, unloaded or loaded, its
// medians over the successful rounds and the spread (min–max) of p99.
type LatencyRow struct {
	Config  string   `json:"config"`
	Loaded  bool     `json:"loaded"`
	Rounds  int      `json:"rounds"`
	Errors  []string `json:"errors,omitempty"`
	P50     float64  `json:"p50_us"`
	P99     float64  `json:"p99_us"`
	P999    float64  `json:"p99_9_us"`
	P99Min  float64  `json:"p99_min_us"`
	P99Max  float64  `json:"p99_max_us"`
	Load    float64  `json:"load_mbps"`
	IdleCPU float64  `json:"idle_cpu"` // cores; -1: not measured
	Sleeps  float64  `json:"worker_sleeps_per_s"`
	Loops   float64  `json:"worker_loops_per_s"`
	// P99Ratio is p99 over the kernel's p99 in the same load (0 without).
	P99Ratio float64 `json:"p99_to_kernel"`
}

// SummarizeLatency groups the samples into rows, configurations in order,
// unloaded before loaded, with medians over rounds.
func SummarizeLatency(samples []LatencySample, configs []string) []LatencyRow {
	var rows []LatencyRow
	for _, loaded := range []bool{false, true} {
		for _, c := range configs {
			r := LatencyRow{Config: c, Loaded: loaded}
			var p50, p99, p999, load, idle, sl, lp []float64
			seen := false
			for _, s := range samples {
				if s.Config != c || s.Loaded != loaded {
					continue
				}
				seen = true
				if s.Err != "" {
					r.Errors = append(r.Errors, s.Err)
					continue
				}
				r.Rounds++
				p50, p99, p999 = append(p50, s.P50), append(p99, s.P99), append(p999, s.P999)
				load, idle = append(load, s.LoadMbps), append(idle, s.IdleCPU)
				sl, lp = append(sl, s.Sleeps), append(lp, s.Loops)
			}
			if !seen {
				continue
			}
			r.P50, r.P99, r.P999 = median(p50), median(p99), median(p999)
			r.Load, r.IdleCPU, r.Sleeps, r.Loops = median(load), median(idle), median(sl), median(lp)
			if len(p99) > 0 {
				s := append([]float64(nil), p99...)
				sort.Float64s(s)
				r.P99Min, r.P99Max = s[0], s[len(s)-1]
			}
			if r.Rounds == 0 {
				r.IdleCPU = -1
			}
			rows = append(rows, r)
		}
	}
	for i := range rows {
		for _, k := range rows {
			if k.Config == "kernel" && k.Loaded == rows[i].Loaded && k.Rounds > 0 && rows[i].Rounds > 0 && k.P99 > 0 {
				rows[i].P99Ratio = rows[i].P99 / k.P99
			}
		}
	}
	return rows
}

// WriteLatencyTable prints the rows as a Markdown table.
func WriteLatencyTable(w io.Writer, rows []LatencyRow, opt LatencyOptions) {
	fmt.Fprintf(w, "\nsockperf ping-pong, %d-byte UDP, round trip host A → router → host B, medians of %d interleaved rounds × %v;\n",
		max(opt.MsgSize, 64), opt.Rounds, opt.Window)
	fmt.Fprintf(w, "loaded: beside iperf3 -u -b %dM host A → host B through the same router (router worker on CPU %d, %s, afxdp XDP mode %q)\n\n",
		opt.LoadMbps, opt.RouterCPU, latencyRigOptions.Offloads(), opt.XDPMode)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| config\t load\t p50 µs\t p99 µs\t p99.9 µs\t p99 spread µs\t p99/kernel\t stream Mbit/s\t idle CPU\t worker sleeps/s\t worker passes/s\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, r := range rows {
		load := "unloaded"
		if r.Loaded {
			load = fmt.Sprintf("%d Mbit/s UDP", opt.LoadMbps)
		}
		if r.Rounds == 0 {
			e := "no successful round"
			if len(r.Errors) > 0 {
				e = r.Errors[0]
			}
			fmt.Fprintf(tw, "| %s\t %s\t unavailable: %s\t\t\t\t\t\t\t\t\t\n", r.Config, load, e)
			continue
		}
		lv, _ := latencyDriver(r.Config)
		vec := func(f string, v float64) string {
			if lv.driver == "" { // kernel, kernel-pinned: no worker
				return "–"
			}
			return fmt.Sprintf(f, v)
		}
		idle := "–"
		if r.IdleCPU >= 0 && lv.driver != "" {
			idle = fmt.Sprintf("%.1f%%", 100*r.IdleCPU)
		}
		fmt.Fprintf(tw, "| %s\t %s\t %.1f\t %.1f\t %.1f\t %.1f–%.1f\t %.2f\t %.0f\t %s\t %s\t %s\t\n",
			r.Config, load, r.P50, r.P99, r.P999, r.P99Min, r.P99Max, r.P99Ratio, r.Load, idle,
			vec("%.0f", r.Sleeps), vec("%.0f", r.Loops))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nidle CPU: the vecnet process's user+system time over a window with no traffic, in % of one core.")
}

// LatencyRatioLine is the benchmark's last two lines: "p99/kernel
// unloaded: U", then "p99/kernel: R", vecnet on AF_XDP's p99 over the
// kernel's, unloaded and loaded (AF_PACKET's when AF_XDP was not measured).
func LatencyRatioLine(rows []LatencyRow) string {
	var loaded, unloaded float64
	for _, want := range []string{"afxdp", "afpacket"} {
		for _, r := range rows {
			if r.Config == want && r.P99Ratio > 0 {
				if r.Loaded && loaded == 0 {
					loaded = r.P99Ratio
				} else if !r.Loaded && unloaded == 0 {
					unloaded = r.P99Ratio
				}
			}
		}
		if loaded > 0 || unloaded > 0 {
			break
		}
	}
	line := func(v float64) string {
		if v > 0 {
			return fmt.Sprintf("%.2f", v)
		}
		return "n/a"
	}
	return "p99/kernel unloaded: " + line(unloaded) + "\np99/kernel: " + line(loaded)
}

// writeLatencyJSON is -json's output.
func writeLatencyJSON(path string, opt LatencyOptions, samples []LatencySample, rows []LatencyRow) error {
	b, err := json.MarshalIndent(struct {
		Options LatencyOptions  `json:"options"`
		Samples []LatencySample `json:"samples"`
		Rows    []LatencyRow    `json:"rows"`
	}{opt, samples, rows}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// cmdBenchLatency runs "vecnet bench latency".
func cmdBenchLatency(path string, args []string) error {
	fs := newFlags(path, "[flags]", "sockperf ping-pong (64-byte UDP) host A → router → host B through the kernel and vecnet, unloaded and\nbeside a fixed-rate iperf3 UDP stream, in interleaved rounds; print p50/p99/p99.9 and the idle router's CPU,\nend with \"p99/kernel: R\" (vecnet AF_XDP's loaded p99 over the kernel's).")
	rounds := fs.Int("rounds", 3, "interleaved rounds over the configurations")
	seconds := fs.Int("seconds", 5, "sockperf -t per configuration, load and round, in seconds")
	load := fs.Int("load", 200, "the stream beside the loaded rows, iperf3 -u -b, in Mbit/s (0: unloaded rows only)")
	size := fs.Int("size", 64, "sockperf message size (UDP payload bytes)")
	idle := fs.Float64("idle", 3, "window over which the idle router's CPU is measured, in seconds")
	configs := fs.String("configs", "kernel,afxdp,afpacket,afpacket-frames", "configurations: kernel, afxdp, afpacket; a vecnet one may end in -sleep (adaptive polling off: sleep after worker.IdlePolls empty passes), -rt (the worker under SCHED_FIFO) and -pinned (sockperf and iperf3 on the CPU the worker does not use, the worker spinning: -spin, or 1ms), afpacket may end in -frames (rx_ring: frames, the TPACKET_V2 ring); e.g. afxdp-rt, afxdp-sleep-rt, afxdp-pinned, kernel-pinned, afpacket-frames")
	spin := fs.Duration("spin", -1, "the worker's adaptive-polling time for the vecnet rows other than -sleep (negative: the default, worker.DefaultSpin, off)")
	xdpMode := fs.String("xdp-mode", "", "afxdp's XDP attach mode: native, generic or empty (the driver's choice)")
	jsonPath := fs.String("json", "", "write the samples and rows as JSON to this file")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if err := benchNeeds("latency", "sockperf", "iperf3", "ping", "ss"); err != nil {
		return err
	}
	defer removeRigOnSignal()()
	opt := LatencyOptions{
		Rounds: *rounds, Window: time.Duration(*seconds) * time.Second, Configs: strings.Split(*configs, ","),
		LoadMbps: *load, MsgSize: *size, IdleFor: time.Duration(*idle * float64(time.Second)), XDPMode: *xdpMode,
		Spin: *spin, RouterCPU: 1, Log: os.Stderr,
	}
	samples, err := RunLatency(opt)
	if err != nil {
		return err
	}
	rows := SummarizeLatency(samples, opt.Configs)
	WriteLatencyTable(os.Stdout, rows, opt)
	if *jsonPath != "" {
		if err := writeLatencyJSON(*jsonPath, opt, samples, rows); err != nil {
			return err
		}
	}
	fmt.Println(LatencyRatioLine(rows))
	return nil
}
