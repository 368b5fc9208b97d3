package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/examples/trafficgen/gen"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/wire"
)

// MemifOptions shape one "vecnet bench memif" run: generator → memif →
// router → memif → sink, with the router being vecnet ("vecnet", routing,
// serving both sockets; "vecnet-client", the client of both with its
// arena as the memif region — zero-copy — and the ends serving;
// "vecnet-client-copy", the same copying) or DPDK's testpmd io-forwarding between its two memifs ("testpmd", no
// routing: the ceiling of the memif path here), against the kernel
// forwarding between veths ("kernel", the bench forward rig). vecnet's
// worker runs in its default adaptive mode (busy-polls under load, sleeps
// on the memif interrupt when idle); a "-poll" suffix ("vecnet-client-poll")
// makes it busy-poll for ever like testpmd's lcore (worker.BusyPoll).
type MemifOptions struct {
	Rounds    int
	Window    time.Duration
	Warmup    time.Duration
	Size      int       // frame size on the wire, FCS included
	Configs   []string  // of "kernel", "vecnet", "vecnet-client", "vecnet-client-copy" (each also with "-poll"), "testpmd"
	SenderCPU int       // the generator's CPU (the sink is not pinned)
	RouterCPU int       // vecnet's worker, testpmd's forwarding lcore
	Log       io.Writer `json:"-"`
}

// memifProcs are the child processes (testpmd, the ends) and the socket
// directory of a running memif benchmark, for the signal handler to
// remove: a stray testpmd would busy-poll a CPU for ever.
var memifProcs struct {
	mu    sync.Mutex
	procs map[*os.Process]bool
}

func trackProc(p *os.Process, on bool) {
	memifProcs.mu.Lock()
	defer memifProcs.mu.Unlock()
	if memifProcs.procs == nil {
		memifProcs.procs = map[*os.Process]bool{}
	}
	if on {
		memifProcs.procs[p] = true
	} else {
		delete(memifProcs.procs, p)
	}
}

// killMemifProcs kills every child a memif benchmark started and waits
// (briefly) for them to go.
func killMemifProcs() {
	memifProcs.mu.Lock()
	procs := make([]*os.Process, 0, len(memifProcs.procs))
	for p := range memifProcs.procs {
		procs = append(procs, p)
	}
	memifProcs.mu.Unlock()
	for _, p := range procs {
		_ = p.Kill()
	}
	for _, p := range procs {
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if !alive(p.Pid) {
				break
			}
		}
	}
}

// alive reports whether process pid exists and is not a zombie (killed,
// not yet reaped: it holds nothing any more).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// childAttr makes a child die with the benchmark (PR_SET_PDEATHSIG), even
// if the benchmark is killed outright.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// Addresses of the memif rig: host A (the generator) → vecnet → host B
// (the sink).
var (
	memifRouterMACA = config.MAC{0x02, 0x76, 0x6e, 0x6d, 0, 1}
	memifRouterMACB = config.MAC{0x02, 0x76, 0x6e, 0x6d, 0, 2}
	memifHostBMAC   = wire.MAC{0x02, 0x68, 0x62, 0, 0, 2}
)

// memifRouter is a router between two memif sockets while it runs.
type memifRouter interface {
	snapshot() routerSnap
	stop() error
}

type testpmdRouter struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *strings.Builder // stdout and stderr; read only after done
	done chan struct{}
}

// testpmdCycles matches the forwarding statistics testpmd prints when it
// stops with --record-core-cycles: the TSC cycles its lcore spent in
// bursts that received packets, per forwarded packet, and the TSC rate.
var testpmdCycles = regexp.MustCompile(`CPU cycles/packet=([0-9.]+) .* at ([0-9]+) MHz Clock`)

// busyNsPerPkt returns testpmd's busy time per forwarded packet (its
// lcore's cycles in non-empty bursts, as vecnet's node clocks count only
// calls that moved packets), from the statistics it printed when it
// stopped; 0 if it printed none. Call it after stop.
func (t *testpmdRouter) busyNsPerPkt() float64 {
	m := testpmdCycles.FindStringSubmatch(t.out.String())
	if m == nil {
		return 0
	}
	cycles, err1 := strconv.ParseFloat(m[1], 64)
	mhz, err2 := strconv.ParseFloat(m[2], 64)
	if err1 != nil || err2 != nil || mhz <= 0 {
		return 0
	}
	return cycles / mhz * 1e3
}

// snapshot reads the CPU time of testpmd's forwarding lcore thread.
func (t *testpmdRouter) snapshot() routerSnap {
	var s routerSnap
	dir := fmt.Sprintf("/proc/%d/task", t.cmd.Process.Pid)
	tasks, _ := os.ReadDir(dir)
	for _, task := range tasks {
		comm, _ := os.ReadFile(filepath.Join(dir, task.Name(), "comm"))
		if !strings.HasPrefix(string(comm), "rte-worker") && !strings.HasPrefix(string(comm), "lcore-worker") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
		if len(f) >= 13 {
			u, _ := strconv.ParseUint(f[11], 10, 64)
			st, _ := strconv.ParseUint(f[12], 10, 64)
			s.utime, s.stime = s.utime+u, s.stime+st
		}
	}
	return s
}

func (t *testpmdRouter) stop() error {
	_, _ = t.in.Write([]byte("\n"))
	select {
	case <-t.done:
	case <-time.After(20 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
	}
	return nil
}

// startTestpmd runs testpmd serving sockA (port 0) and sockB (port 1),
// io-forwarding 0 → 1 and 1 → 0 on one lcore pinned to cpu.
func startTestpmdRouter(sockA, sockB string, cpu int, logw io.Writer) (*testpmdRouter, error) {
	main := 0
	if cpu == 0 {
		main = 1
	}
	cmd := exec.Command("dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "-l", fmt.Sprintf("%d,%d", main, cpu),
		"--main-lcore", fmt.Sprint(main),
		"--vdev", "net_memif0,role=server,socket-abstract=no,socket="+sockA,
		"--vdev", "net_memif1,role=server,socket-abstract=no,socket="+sockB,
		"--", "--total-num-mbufs", "16384", "--forward-mode=io", "--port-topology=paired", "--record-core-cycles")
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testpmd: %w", err)
	}
	trackProc(cmd.Process, true)
	t := &testpmdRouter{cmd: cmd, in: in, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); trackProc(cmd.Process, false); close(t.done) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, ea := os.Stat(sockA)
		_, eb := os.Stat(sockB)
		if ea == nil && eb == nil {
			return t, nil
		}
		select {
		case <-t.done:
			return nil, fmt.Errorf("testpmd exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.stop()
			return nil, errors.New("testpmd made no sockets in 30s")
		}
	}
}

// startMemifVecnet starts vecnet routing between sockA and sockB in role
// ("server" or "client") and bindMode (a client's "" zero-copy or "copy"),
// its worker busy-polling for ever when busyPoll.
func startMemifVecnet(sockA, sockB, role, bindMode string, busyPoll bool, opt MemifOptions) (*vecnetRouter, error) {
	cfg := &config.Config{Workers: 1, Interfaces: []config.Interface{
		{Name: "mema", Driver: "memif", MAC: memifRouterMACA, MTU: 1500, MemifSocket: sockA, MemifRole: role, BindMode: bindMode,
			Queues: 1, RingSize: config.DefaultMemifRingSize, Addresses: []netip.Prefix{netip.MustParsePrefix(topo.RouterAAddr + "/24")}},
		{Name: "memb", Driver: "memif", MAC: memifRouterMACB, MTU: 1500, MemifSocket: sockB, MemifRole: role, BindMode: bindMode,
			Queues: 1, RingSize: config.DefaultMemifRingSize, Addresses: []netip.Prefix{netip.MustParsePrefix(topo.RouterBAddr + "/24")}},
	}, Neighbors: []config.Neighbor{{Interface: "memb", IP: netip.MustParseAddr(topo.HostBAddr), MAC: config.MAC(memifHostBMAC)}}}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, Logger: newLogger(opt.Log),
		BeforeRun: func(d *daemon.Daemon) error {
			d.Workers[0].CPU = opt.RouterCPU
			d.Workers[0].BusyPoll = busyPoll
			return nil
		}})
	if err != nil {
		return nil, err
	}
	v := &vecnetRouter{d: d}
	d.Workers[0].Do(func() { v.tid = unix.Gettid() })
	return v, nil
}

// memifEnds are the generator and the sink: a child process ("vecnet
// bench memif -ends"), as a network function beside vecnet would be, whose
// one thread, pinned to a CPU, attaches to both sockets as a memif client
// and alternates: a batch onto the generator's ring (as much as fits), then
// whatever reached the sink. (In vecnet's own process it would take the Go
// scheduler's second P, and the runtime would preempt it or the worker.)
type memifEnds struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startMemifEnds starts the child: frames of size bytes to sockA, counted
// from sockB, on cpu; role is the ends' memif role ("client" or "server").
func startMemifEnds(sockA, sockB string, size, cpu int, role string) (*memifEnds, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "bench", "memif", "-ends", sockA, sockB, fmt.Sprint(size), fmt.Sprint(cpu), role)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	e := &memifEnds{cmd: cmd}
	if e.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e.out = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	trackProc(cmd.Process, true)
	return e, nil
}

// counts asks the child for its frames sent and received so far.
func (e *memifEnds) counts() (sent, got uint64, err error) {
	if _, err := e.in.Write([]byte("?\n")); err != nil {
		return 0, 0, err
	}
	line, err := e.out.ReadString('\n')
	if err != nil {
		return 0, 0, err
	}
	_, err = fmt.Sscan(line, &sent, &got)
	return sent, got, err
}

func (e *memifEnds) close() error {
	e.in.Close()
	err := e.cmd.Wait()
	trackProc(e.cmd.Process, false)
	return err
}

// runMemifEnds is the child: it answers each line on stdin with "sent got"
// and ends at end of input.
func runMemifEnds(args []string) error {
	if len(args) != 5 || (args[4] != "client" && args[4] != "server") {
		return errors.New("bench memif -ends SOCK_A SOCK_B SIZE CPU client|server")
	}
	size, err1 := strconv.Atoi(args[2])
	cpu, err2 := strconv.Atoi(args[3])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	spec := gen.FrameSpec{SrcMAC: wire.MAC{0x02, 0x68, 0x61, 0, 0, 1}, DstMAC: wire.MAC(memifRouterMACA),
		Src: netip.MustParseAddr(topo.HostAAddr), Dst: netip.MustParseAddr(topo.HostBAddr), Size: size, Flows: 1}
	var sent, got atomic.Uint64
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		_ = unix.SchedSetaffinity(0, &set)
		done <- floodMemif(args[0], args[1], args[4] == "server", &spec, &sent, &got, &stop)
	}()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Printf("%d %d\n", sent.Load(), got.Load())
	}
	stop.Store(true)
	return <-done
}

// floodMemif attaches the sink to sockB and the generator to sockA (as
// clients, or as servers the router dials) and alternates sending and
// counting until stop.
func floodMemif(sockA, sockB string, server bool, spec *gen.FrameSpec, sent, got *atomic.Uint64, stop *atomic.Bool) error {
	frames := make([][]byte, gen.Batch)
	for k := range frames {
		frames[k] = make([]byte, spec.FrameLen())
		if _, err := gen.Build(frames[k], spec, k, uint64(k)); err != nil {
			return err
		}
	}
	timeout := 30 * time.Second
	if server {
		timeout = 0 // both listen first; the router dials them
	}
	sink, err := app.Attach(app.Config{Socket: sockB, Name: "bench-sink", Server: server}, timeout)
	if err != nil {
		return err
	}
	defer sink.Close()
	src, err := app.Attach(app.Config{Socket: sockA, Name: "bench-gen", Server: server}, timeout)
	if err != nil {
		return err
	}
	defer src.Close()
	for deadline := time.Now().Add(30 * time.Second); !src.Connected() || !sink.Connected(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return errors.New("the router did not connect to both ends in 30s")
		}
	}
	bufs, lens := make([][]byte, 256), make([]int, 256)
	for k := range bufs {
		bufs[k] = make([]byte, 2048)
	}
	for !stop.Load() {
		if n := src.Send(frames); n > 0 {
			sent.Add(uint64(n))
		}
		if n := sink.Recv(bufs, lens); n > 0 {
			got.Add(uint64(n))
		}
	}
	return nil
}

// measureMemif runs one memif configuration for one round.
func measureMemif(dir, name string, round int, opt MemifOptions) Sample {
	smp := Sample{Config: name, Round: round}
	sockA, sockB := filepath.Join(dir, name+"-a.sock"), filepath.Join(dir, name+"-b.sock")
	var r memifRouter
	var err error
	endsRole := "client"
	base := strings.TrimSuffix(name, "-poll")
	poll := base != name && strings.HasPrefix(base, "vecnet")
	switch base {
	case "vecnet":
		r, err = startMemifVecnet(sockA, sockB, "server", "", poll, opt)
	case "vecnet-client", "vecnet-client-copy":
		endsRole = "server"
		r, err = startMemifVecnet(sockA, sockB, "client", map[bool]string{true: "copy"}[base == "vecnet-client-copy"], poll, opt)
	case "testpmd":
		if name != base {
			err = fmt.Errorf("unknown configuration %q (testpmd always busy-polls)", name)
			break
		}
		r, err = startTestpmdRouter(sockA, sockB, opt.RouterCPU, opt.Log)
	default:
		err = fmt.Errorf("unknown configuration %q (kernel, vecnet, vecnet-client, vecnet-client-copy, each also with -poll, testpmd)", name)
	}
	if err != nil {
		smp.Err = err.Error()
		return smp
	}
	ends, err := startMemifEnds(sockA, sockB, opt.Size, opt.SenderCPU, endsRole)
	if err != nil {
		r.stop()
		smp.Err = err.Error()
		return smp
	}
	// Both ends attached and traffic flowing before the warm-up counts.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, got, err := ends.counts()
		if err == nil && got > 0 {
			break
		}
		if err != nil || time.Now().After(deadline) {
			ends.close()
			r.stop()
			smp.Err = fmt.Sprintf("no frame reached the sink in 30s (%v)", err)
			return smp
		}
	}
	time.Sleep(opt.Warmup) // traffic settles; not synchronisation
	type edge struct {
		at        time.Time
		sent, got uint64
		busy      []uint64
		router    routerSnap
	}
	read := func() edge {
		e := edge{at: time.Now(), router: r.snapshot()}
		e.sent, e.got, _ = ends.counts()
		e.busy, _ = cpuBusyJiffies()
		return e
	}
	s0 := read()
	time.Sleep(opt.Window)
	s1 := read()
	// The router stops first, while its peers are attached: testpmd's
	// memif reports no counters once disconnected, and it prints its
	// forwarding statistics (busy cycles) when it stops.
	if err := r.stop(); err != nil {
		smp.Err = "stop: " + err.Error()
	}
	if err := ends.close(); err != nil && smp.Err == "" {
		smp.Err = err.Error()
	}
	secs := s1.at.Sub(s0.at).Seconds()
	smp.Window = secs
	smp.OfferedPPS = float64(s1.sent-s0.sent) / secs
	smp.Forwarded = s1.got - s0.got
	smp.SinkPPS = float64(smp.Forwarded) / secs
	if smp.OfferedPPS > 0 {
		smp.RouterLoss = max(0, 1-smp.SinkPPS/smp.OfferedPPS)
	}
	share := func(cpu int) float64 {
		if cpu+1 >= len(s0.busy) || cpu+1 >= len(s1.busy) {
			return 0
		}
		return float64(s1.busy[cpu+1]-s0.busy[cpu+1]) * jiffyNs / 1e9 / secs
	}
	smp.SenderCPUBusy, smp.RouterCPUBusy = share(opt.SenderCPU), share(opt.RouterCPU)
	if smp.Forwarded > 0 && len(s0.busy) > 0 && len(s1.busy) > 0 {
		smp.CPUNsPerPkt = float64(s1.busy[0]-s0.busy[0]) * jiffyNs / float64(smp.Forwarded)
	}
	smp.RouterRxDrops = s1.router.rxDrops - s0.router.rxDrops
	smp.RouterTxDrops = s1.router.txDrops - s0.router.txDrops
	du, ds := s1.router.utime-s0.router.utime, s1.router.stime-s0.router.stime
	if du+ds > 0 {
		smp.WorkerSysShare = float64(ds) / float64(du+ds)
	}
	smp.WorkerCPU = float64(du+ds) * jiffyNs / 1e9 / secs
	if strings.HasPrefix(name, "vecnet") {
		var clocks, pkts uint64
		for i, n := range s1.router.runtime {
			if i >= len(s0.router.runtime) {
				break
			}
			d, o := n.Stats, s0.router.runtime[i].Stats
			clocks += d.Clocks - o.Clocks
			pkts = max(pkts, d.Vectors-o.Vectors)
			if n.Name == inputNode && d.Calls > o.Calls {
				smp.VectorsPerCall = float64(d.Vectors-o.Vectors) / float64(d.Calls-o.Calls)
			}
		}
		if pkts > 0 {
			smp.GraphNsPerPkt = float64(clocks) / float64(pkts) / tsc.TicksPerNanosecond()
		}
	}
	if t, ok := r.(*testpmdRouter); ok {
		smp.GraphNsPerPkt = t.busyNsPerPkt()
	}
	return smp
}

// RunMemif runs the interleaved rounds and returns every sample in run
// order. The kernel row runs on the bench forward rig. Rounds alternate
// the order of the configurations (memifRoundOrder).
func RunMemif(opt MemifOptions) (samples []Sample, err error) {
	if len(opt.Configs) == 0 || opt.Rounds < 1 || opt.Window <= 0 {
		return nil, errors.New("bench: need configurations, rounds ≥ 1 and a window")
	}
	dir, err := os.MkdirTemp("", "vecnet-bench-memif")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var br *benchRig
	// A signal (removeRigOnSignal) kills the children, removes the kernel
	// rig's namespaces and the sockets' directory.
	benchCleanup.set(func() error {
		killMemifProcs()
		if br != nil {
			br.Close()
		}
		return os.RemoveAll(dir)
	})
	defer benchCleanup.set(nil)
	for _, c := range opt.Configs {
		if c == "kernel" && br == nil {
			rig, err := newBenchRig(opt.Size, 1, false)
			if err != nil {
				return nil, err
			}
			br = rig
			defer func() {
				if e := br.Close(); err == nil {
					err = e
				}
			}()
		}
	}
	fopt := ForwardOptions{Window: opt.Window, Warmup: opt.Warmup, Size: opt.Size, SenderCPU: opt.SenderCPU, RouterCPU: opt.RouterCPU, Log: opt.Log}
	for round := 1; round <= opt.Rounds; round++ {
		for _, c := range memifRoundOrder(opt.Configs, round) {
			var s Sample
			if c == "kernel" {
				s = measure(br, c, round, fopt)
			} else {
				s = measureMemif(dir, c, round, opt)
			}
			if s.Err != "" {
				fmt.Fprintf(opt.Log, "round %d %-18s error: %s\n", round, c, s.Err)
			} else {
				fmt.Fprintf(opt.Log, "round %d %-18s offered %.3f Mpps, sink %.3f Mpps\n", round, c, s.OfferedPPS/1e6, s.SinkPPS/1e6)
			}
			samples = append(samples, s)
		}
	}
	return samples, nil
}

// memifRoundOrder is the order of the configurations in round round
// (from 1): as given in odd rounds, reversed in even ones. Two
// configurations compared by their per-round ratio (vecnet-client-poll and
// testpmd, adjacent in the default list) then take turns to run first, so
// a machine that speeds up or slows down steadily over a round favours
// neither (A B, B A: an ABBA design).
func memifRoundOrder(configs []string, round int) []string {
	if round%2 == 1 {
		return configs
	}
	out := slices.Clone(configs)
	slices.Reverse(out)
	return out
}

// WriteMemifTable prints the medians as a Markdown table and the per-round
// rates.
func WriteMemifTable(w io.Writer, sum []Summary, opt MemifOptions) {
	fmt.Fprintf(w, "\nmemif, %d-byte frames, medians of %d interleaved rounds × %v (memif generator and sink: one thread of another process on CPU %d; router on CPU %d; vecnet's worker adaptive, or busy-polling like testpmd's lcore in the -poll rows; kernel: the bench forward rig)\n\n",
		opt.Size, opt.Rounds, opt.Window, opt.SenderCPU, opt.RouterCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintf(tw, "| config\t offered Mpps\t CPU%d busy (gen)\t CPU%d busy (router)\t router thread CPU\t router rx/tx drops\t sink Mpps\t loss\t ×kernel\t CPU ns/pkt\t router ns/pkt\t busy ns/pkt\t vec/call\t\n", opt.SenderCPU, opt.RouterCPU)
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, s := range sum {
		if s.Rounds == 0 {
			fmt.Fprintf(tw, "| %s\t unavailable: %s\t\t\t\t\t\t\t\t\t\t\t\t\n", s.Config, s.firstError())
			continue
		}
		m := s.Median
		vec := func(f string, v float64) string {
			if !strings.HasPrefix(s.Config, "vecnet") {
				return "–"
			}
			return fmt.Sprintf(f, v)
		}
		thread, perPkt := "–", "–"
		if s.Config != "kernel" && m.WorkerCPU > 0 {
			thread = fmt.Sprintf("%.0f%%", 100*m.WorkerCPU)
			perPkt = fmt.Sprintf("%.0f", m.WorkerCPU*1e9/m.SinkPPS)
		}
		busy := "–"
		if m.GraphNsPerPkt > 0 {
			busy = fmt.Sprintf("%.1f", m.GraphNsPerPkt)
		}
		fmt.Fprintf(tw, "| %s\t %.3f\t %.0f%%\t %.0f%%\t %s\t %d/%d\t %.3f\t %.0f%%\t %.2f\t %.0f\t %s\t %s\t %s\t\n",
			s.Config, m.OfferedPPS/1e6, 100*m.SenderCPUBusy, 100*m.RouterCPUBusy, thread, m.RouterRxDrops, m.RouterTxDrops, m.SinkPPS/1e6,
			100*m.RouterLoss, s.RatioToKernel, m.CPUNsPerPkt, perPkt, busy, vec("%.1f", m.VectorsPerCall))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nper round, sink Mpps:")
	writeRounds(w, sum, "%.3f", 1e6)
	fmt.Fprintln(w, "\nrouter thread CPU: the share of a CPU the router's thread got (vecnet's worker, testpmd's forwarding lcore);")
	fmt.Fprintln(w, "router ns/pkt: that thread's CPU time per forwarded packet, which machine load does not inflate (a")
	fmt.Fprintln(w, "busy-polling thread spends its whole CPU, so this is also its share over the rate).")
	fmt.Fprintln(w, "busy ns/pkt: the router's time in calls that moved packets, per packet (vecnet: its nodes' clocks;")
	fmt.Fprintln(w, "testpmd: --record-core-cycles, its lcore's cycles in non-empty bursts): the cost of a packet without the")
	fmt.Fprintln(w, "empty polls, the like-with-like CPU comparison.")
	fmt.Fprintln(w, "vecnet routes (ip4-input, lookup, rewrite, TTL and checksum); testpmd io-forwards between its two memifs")
	fmt.Fprintln(w, "untouched. A memif generator floods with back pressure (a full ring waits), so memif offered ≈ sink.")
}

// memifRatio is one comparison of the vecnet row with testpmd: the
// median of its per-round values and their spread.
type memifRatio struct {
	Median, Min, Max float64
	Rounds           int
}

// pairedRatios returns, for every round in which both configurations ran,
// f(a's sample, b's sample). Pairing within a round compares two
// configurations measured a few seconds apart, so the machine's drift
// (the VM's speed moves up to 5× over minutes) mostly cancels.
func pairedRatios(samples []Sample, a, b string, f func(x, y *Sample) float64) memifRatio {
	byRound := map[int]map[string]*Sample{}
	for k := range samples {
		s := &samples[k]
		if s.Err != "" || s.SinkPPS <= 0 {
			continue
		}
		if byRound[s.Round] == nil {
			byRound[s.Round] = map[string]*Sample{}
		}
		byRound[s.Round][s.Config] = s
	}
	var vals []float64
	for _, r := range byRound {
		if x, y := r[a], r[b]; x != nil && y != nil {
			if v := f(x, y); v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) == 0 {
		return memifRatio{}
	}
	sort.Float64s(vals)
	m := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		m = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	return memifRatio{Median: m, Min: vals[0], Max: vals[len(vals)-1], Rounds: len(vals)}
}

// routerNsPerPkt is the router thread's CPU time per forwarded packet.
func routerNsPerPkt(s *Sample) float64 {
	if s.WorkerCPU <= 0 || s.SinkPPS <= 0 {
		return 0
	}
	return s.WorkerCPU * 1e9 / s.SinkPPS
}

// memifRow returns the first of rows that has a rate, or "".
func memifRow(rate map[string]float64, rows ...string) string {
	for _, r := range rows {
		if rate[r] > 0 {
			return r
		}
	}
	return ""
}

// MemifRatioLines are the benchmark's last lines. Against testpmd, whose
// lcore busy-polls, the vecnet row is a busy-polling one — like with like:
// vecnet-client-poll (zero-copy) when it ran, else vecnet-poll, else the
// adaptive rows; "vecnet/testpmd: R" is the median over rounds of the
// per-round ratio of sink rates, then its spread and the same ratio by CPU
// time and by busy time per packet (testpmd's ns/pkt over vecnet's: above
// 1 when vecnet spends less on a packet). Against the kernel, whose
// forwarding sleeps when idle, the row is vecnet's default adaptive worker
// (vecnet-client, else vecnet, else the -poll rows): "memif/kernel: R" (of
// the median rates), last. Each ratio's row is named on a line before it.
func MemifRatioLines(samples []Sample, sum []Summary) string {
	rate := map[string]float64{}
	for _, s := range sum {
		if s.Rounds > 0 {
			rate[s.Config] = s.Median.SinkPPS
		}
	}
	row := memifRow(rate, "vecnet-client-poll", "vecnet-poll", "vecnet-client", "vecnet")
	krow := memifRow(rate, "vecnet-client", "vecnet", "vecnet-client-poll", "vecnet-poll")
	out := "vecnet/testpmd row: " + row + "\n"
	mpps := pairedRatios(samples, row, "testpmd", func(x, y *Sample) float64 { return x.SinkPPS / y.SinkPPS })
	cpu := pairedRatios(samples, row, "testpmd", func(x, y *Sample) float64 {
		if routerNsPerPkt(x) == 0 {
			return 0
		}
		return routerNsPerPkt(y) / routerNsPerPkt(x)
	})
	busy := pairedRatios(samples, row, "testpmd", func(x, y *Sample) float64 {
		if x.GraphNsPerPkt <= 0 {
			return 0
		}
		return y.GraphNsPerPkt / x.GraphNsPerPkt
	})
	if mpps.Rounds > 0 {
		out += fmt.Sprintf("vecnet/testpmd: %.2f\n", mpps.Median)
		out += fmt.Sprintf("vecnet/testpmd per round (sink Mpps, %d rounds): min %.2f, median %.2f, max %.2f\n", mpps.Rounds, mpps.Min, mpps.Median, mpps.Max)
	} else {
		out += "vecnet/testpmd: n/a\n"
	}
	if cpu.Rounds > 0 {
		out += fmt.Sprintf("vecnet/testpmd by CPU per packet (testpmd's router ns/pkt ÷ vecnet's, %d rounds): min %.2f, median %.2f, max %.2f\n", cpu.Rounds, cpu.Min, cpu.Median, cpu.Max)
	}
	if busy.Rounds > 0 {
		out += fmt.Sprintf("vecnet/testpmd by busy time per packet (testpmd's busy ns/pkt ÷ vecnet's, %d rounds): min %.2f, median %.2f, max %.2f\n", busy.Rounds, busy.Min, busy.Median, busy.Max)
	}
	out += "memif/kernel row: " + krow + "\n"
	if v, kernel := rate[krow], rate["kernel"]; kernel > 0 && v > 0 {
		return out + fmt.Sprintf("memif/kernel: %.2f", v/kernel)
	}
	return out + "memif/kernel: n/a"
}

// cmdBenchMemif runs "vecnet bench memif".
func cmdBenchMemif(path string, args []string) error {
	if len(args) > 0 && args[0] == "-ends" {
		return runMemifEnds(args[1:])
	}
	fs := newFlags(path, "[flags]", "Forward frames between two memif applications through the kernel (veth), vecnet and testpmd; print the medians.")
	rounds := fs.Int("rounds", 7, "interleaved rounds over the configurations (their order reversed every other round)")
	seconds := fs.Float64("seconds", 5, "measurement window per configuration and round, in seconds")
	size := fs.Int("size", 64, "frame size on the wire, FCS included")
	configs := fs.String("configs", "kernel,vecnet,vecnet-client,vecnet-client-poll,testpmd", "configurations to compare (vecnet-client: vecnet dials the ends, zero-copy; vecnet-client-copy: the same, copying; a -poll suffix: vecnet's worker busy-polls like testpmd's lcore)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if err := benchNeeds("memif"); err != nil {
		return err
	}
	defer removeRigOnSignal()()
	opt := MemifOptions{Rounds: *rounds, Window: time.Duration(*seconds * float64(time.Second)), Warmup: 500 * time.Millisecond,
		Size: *size, Configs: strings.Split(*configs, ","), SenderCPU: 0, RouterCPU: 1, Log: os.Stderr}
	samples, err := RunMemif(opt)
	if err != nil {
		return err
	}
	sum := Summarize(samples, opt.Configs)
	WriteMemifTable(os.Stdout, sum, opt)
	fmt.Println(MemifRatioLines(samples, sum))
	return nil
}
