package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/examples/trafficgen/gen"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/fib"
	"golang.org/x/sys/unix"
)

// ChurnOptions shape one "vecnet bench churn" run.
type ChurnOptions struct {
	Routes     int           // routes added then withdrawn per cycle
	Batch      int           // changes per fib.ApplyRoutes call
	Cycles     int           // add/withdraw cycles
	Rate       float64       // the generator's fixed rate, packets per second
	Window     time.Duration // the calm window (no churn)
	Driver     string        // vecnet's port driver: afxdp or afpacket
	XDPMode    string        // afxdp's attach mode
	ChurnCPU   int           // the CPU the updates run on (the router's worker is on CPU 1)
	RTPriority int           // when > 0, the router's worker runs under SCHED_FIFO at this priority (config worker_rt_priority)
	Trace      io.Writer     // when set, gets a timeline of the path's counters during the churn
	TraceEvery time.Duration // the timeline's interval
	Log        io.Writer
}

// ChurnPhase is one measured stretch: calm, or one cycle's churn.
type ChurnPhase struct {
	Name             string
	Updates          int
	AddSecs, DelSecs float64
	Offered, Sink    float64 // packets per second over the phase
	Loss             float64 // 1 - sink/offered
	// Drops are the packets a counter saw dropped on the way: host A's
	// transmit, the router's links and AF_XDP sockets (XDP_STATISTICS) and
	// ports. Loss instead compares the ends: a phase's loss may include
	// packets still in the router's rings at its end (up to a few hundred
	// when the worker waits for its CPU there), which the next phase then
	// counts; the "all" row compares every packet offered and sunk.
	Drops                           uint64
	Before, Full, After             fib.Stats
	HeapBefore, HeapFull, HeapAfter uint64 // HeapInuse after GC, bytes
}

// churnPrefixes returns n distinct prefixes in 11.0.0.0-110.255.255.255
// (the rig's addresses are in 10.77/16): 70 % random /24s, 30 % /25../32
// clustered in n/64 /24 blocks, as l3/fib's churn benchmark uses.
func churnPrefixes(n int) []netip.Prefix {
	rng := rand.New(rand.NewPCG(5, 6))
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	blocks := make([]uint32, n/64+1)
	for i := range blocks {
		blocks[i] = rng.Uint32()&0x00ffff00 | uint32(11+rng.IntN(100))<<24
	}
	addr := func(a uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	}
	for len(out) < n {
		var p netip.Prefix
		if rng.IntN(10) < 7 {
			p = netip.PrefixFrom(addr(rng.Uint32()&0x00ffff00|uint32(11+rng.IntN(100))<<24), 24)
		} else {
			p = netip.PrefixFrom(addr(blocks[rng.IntN(len(blocks))]|rng.Uint32()&0xff), 25+rng.IntN(8)).Masked()
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// RunChurn forwards host A → host B at a fixed rate through vecnet (to
// host B's address, a prefix the churn never touches) and measures a calm
// window, then Cycles times adds and withdraws Routes routes in batches
// with fib.ApplyRoutes, in process (the path POST /api/v1/routes/batch
// takes after decoding).
func RunChurn(opt ChurnOptions) (phases []ChurnPhase, err error) {
	if opt.Routes < 1 || opt.Batch < 1 || opt.Cycles < 1 || opt.Rate <= 0 {
		return nil, errors.New("bench churn: need routes, batch, cycles ≥ 1 and a rate")
	}
	br, err := newBenchRig(64, 1, false)
	if err != nil {
		return nil, err
	}
	benchCleanup.set(br.Close)
	defer func() {
		benchCleanup.set(nil)
		if e := br.Close(); err == nil {
			err = e
		}
	}()
	fopt := ForwardOptions{RouterCPU: 1, Log: opt.Log, XDPMode: opt.XDPMode}
	r, err := startVecnetConfig(br.rig, opt.Driver, fopt, func(c *config.Config) { c.WorkerRTPriority = opt.RTPriority })
	if err != nil {
		return nil, err
	}
	v := r.(*vecnetRouter)
	defer func() {
		if e := r.stop(); err == nil {
			err = e
		}
	}()
	ps := churnPrefixes(opt.Routes)
	hops := [2][]fib.NextHop{
		{{Addr: netip.MustParseAddr(topo.HostBAddr), Port: -1}},
		{{Addr: netip.MustParseAddr(topo.HostAAddr), Port: -1}},
	}
	var add, del [][]fib.RouteChange
	for lo := 0; lo < len(ps); lo += opt.Batch {
		hi := min(lo+opt.Batch, len(ps))
		a, d := make([]fib.RouteChange, 0, hi-lo), make([]fib.RouteChange, 0, hi-lo)
		for i, p := range ps[lo:hi] {
			a = append(a, fib.RouteChange{Prefix: p, Hops: hops[i&1]})
			d = append(d, fib.RouteChange{Prefix: p})
		}
		add, del = append(add, a), append(del, d)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := br.sender.Send(gen.SendConfig{Rate: opt.Rate, Duration: time.Hour, CPU: 0, Stop: stop})
		done <- err
	}()
	stopped := false
	stopGenerator := func() error {
		if stopped {
			return nil
		}
		stopped = true
		close(stop)
		if e := <-done; e != nil {
			return fmt.Errorf("generator: %w", e)
		}
		return nil
	}
	defer func() {
		if e := stopGenerator(); err == nil {
			err = e
		}
	}()
	if !fopt.pause(time.Second) { // traffic settles (ARP is static): not synchronisation
		return nil, errInterrupted
	}
	// The phases abut: each starts from the snapshot that ended the one
	// before, so a packet still in the router's rings at an edge (the
	// forced GC of heapInuse stops the worker there) is counted in the next
	// phase instead of in none, and the last row, "all", sums every packet
	// from the first snapshot to the last.
	var first, last snap
	measured := false
	sample := func(p *ChurnPhase, s0, s1 snap) {
		var smp Sample
		fill(&smp, s0, s1, false, fopt)
		p.Offered, p.Sink, p.Loss = smp.OfferedPPS, smp.SinkPPS, smp.RouterLoss
		p.Drops = smp.GenTxDrops + smp.RouterRxDrops + smp.RouterTxDrops
	}
	phase := func(name string, run func(p *ChurnPhase) error) error {
		p := ChurnPhase{Name: name, Before: v.d.DP.FIB.Stats(), HeapBefore: heapInuse()}
		s0 := last
		if !measured {
			s0 = br.read(r)
			first, measured = s0, true
		}
		if err := run(&p); err != nil {
			return err
		}
		s1 := br.read(r)
		last = s1
		sample(&p, s0, s1)
		p.After, p.HeapAfter = v.d.DP.FIB.Stats(), heapInuse()
		phases = append(phases, p)
		fmt.Fprintf(opt.Log, "%s: offered %.0f pps, sink %.0f pps, loss %.4f%%\n", name, p.Offered, p.Sink, 100*p.Loss)
		return nil
	}
	// allPhase stops the generator, lets the path drain (the sink's count
	// stops moving) and compares every packet offered with every packet
	// sunk since the first snapshot.
	allPhase := func() error {
		if err := stopGenerator(); err != nil {
			return err
		}
		drained := br.read(r)
		for range 50 { // at most ~1 s: the rings hold milliseconds of traffic
			if !fopt.pause(20 * time.Millisecond) {
				return errInterrupted
			}
			s := br.read(r)
			if s.sink == drained.sink {
				break
			}
			drained = s
		}
		all := ChurnPhase{Name: "all", Before: phases[0].Before, HeapBefore: phases[0].HeapBefore,
			After: phases[len(phases)-1].After, HeapAfter: phases[len(phases)-1].HeapAfter}
		sample(&all, first, drained)
		phases = append(phases, all)
		return nil
	}
	if err := phase("calm", func(*ChurnPhase) error {
		if !fopt.pause(opt.Window) {
			return errInterrupted
		}
		return nil
	}); err != nil {
		return phases, err
	}
	// The updates run on a thread pinned to ChurnCPU (the control plane's
	// CPU), off the router worker's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpus unix.CPUSet
	cpus.Set(opt.ChurnCPU)
	if err := unix.SchedSetaffinity(0, &cpus); err != nil {
		return phases, fmt.Errorf("pin the churn thread to CPU %d: %w", opt.ChurnCPU, err)
	}
	var ct *churnTrace
	mark := func(int, int) {}
	if opt.Trace != nil {
		ct = newChurnTrace(br, v, max(opt.TraceEvery, time.Millisecond))
		ct.churnTID.Store(int64(unix.Gettid()))
		mark = func(c, b int) { ct.step.Store(int64(c)<<32 | int64(b)) }
		go ct.run()
		defer func() {
			ct.close()
			ct.write(opt.Trace)
		}()
	}
	for c := 1; c <= opt.Cycles; c++ {
		err := phase(fmt.Sprintf("churn %d", c), func(p *ChurnPhase) error {
			t0 := time.Now()
			for i, b := range add {
				mark(c, 1+i)
				if err := v.d.DP.FIB.ApplyRoutes(b); err != nil {
					return err
				}
			}
			p.AddSecs = time.Since(t0).Seconds()
			p.Full, p.HeapFull = v.d.DP.FIB.Stats(), heapInuse() // outside the timed parts
			t1 := time.Now()
			for i, b := range del {
				mark(c, 1001+i)
				if err := v.d.DP.FIB.ApplyRoutes(b); err != nil {
					return err
				}
			}
			p.DelSecs = time.Since(t1).Seconds()
			p.Updates = 2 * len(ps)
			// Two neighbour sweeps' worth (untimed): the withdrawn table's
			// quarantined groups and emptied pages go, as they would within
			// about two seconds in the daemon.
			mark(c, 9999)
			v.d.DP.FIB.Reclaim()
			v.d.DP.FIB.Reclaim()
			mark(c, 0)
			return nil
		})
		if err != nil {
			return phases, err
		}
	}
	// The RIB keeps its map through a withdrawal soon refilled (the cycles
	// above reuse it); left idle it gives it back after a few sweeps.
	// "settled": the daemon's sweeps over the next ~6 s, untimed.
	err = phase("settled", func(*ChurnPhase) error {
		for range 6 {
			v.d.DP.FIB.Reclaim()
		}
		if !fopt.pause(opt.Window) {
			return errInterrupted
		}
		return nil
	})
	if err == nil {
		err = allPhase()
	}
	runtime.KeepAlive(add) // the batches stay live to the end, so the heap
	runtime.KeepAlive(del) // figures compare the FIB's own memory
	return phases, err
}

// WriteChurnTable prints the phases.
func WriteChurnTable(w io.Writer, opt ChurnOptions, phases []ChurnPhase) {
	fmt.Fprintf(w, "vecnet bench churn: %d routes (/24../32) added then withdrawn in batches of %d, %s, generator at %.0f pps to an untouched prefix\n",
		opt.Routes, opt.Batch, opt.Driver, opt.Rate)
	fmt.Fprintf(w, "%-8s %8s %8s %9s %10s %10s %8s %7s %20s %20s %18s\n", "phase", "add s", "del s", "Mupd/s", "offered/s", "sink/s", "loss %", "drops", "FIB pages b/f/a", "FIB groups b/f/a", "heap MiB b/f/a")
	for _, p := range phases {
		rate := "-"
		if p.Updates == 0 {
			p.Full, p.HeapFull = p.Before, p.HeapBefore
		} else {
			rate = fmt.Sprintf("%.3f", float64(p.Updates)/(p.AddSecs+p.DelSecs)/1e6)
		}
		fmt.Fprintf(w, "%-8s %8.2f %8.2f %9s %10.0f %10.0f %8.4f %7d %8d/%5d/%5d %8d/%5d/%5d %6d/%5d/%5d\n", p.Name, p.AddSecs, p.DelSecs, rate,
			p.Offered, p.Sink, 100*p.Loss, p.Drops, p.Before.Pages, p.Full.Pages, p.After.Pages, p.Before.Groups, p.Full.Groups, p.After.Groups,
			p.HeapBefore>>20, p.HeapFull>>20, p.HeapAfter>>20)
	}
}

// cmdBenchChurn runs "vecnet bench churn".
func cmdBenchChurn(path string, args []string) error {
	fs := newFlags(path, "[flags]", "Add then withdraw a large table with fib.ApplyRoutes while host A sends to host B at a fixed rate through vecnet;\nprint updates per second, forwarding rate and loss with and without churn, FIB first-level pages holding routes, groups and heap before, full and after each cycle (after two Reclaims).")
	routes := fs.Int("routes", 1<<20, "routes added then withdrawn per cycle")
	batch := fs.Int("batch", 100_000, "changes per batch (one hold of the FIB writer lock each)")
	cycles := fs.Int("cycles", 3, "add/withdraw cycles")
	rate := fs.Float64("rate", 100_000, "the generator's rate, packets per second")
	seconds := fs.Float64("seconds", 5, "the calm window, in seconds")
	driver := fs.String("driver", "afxdp", "vecnet's port driver: afxdp or afpacket")
	churnCPU := fs.Int("churn-cpu", 0, "the CPU the route updates run on (the generator's is 0, the router worker's 1)")
	xdpMode := fs.String("xdp-mode", "", "afxdp's XDP attach mode: native, generic or empty (the driver's choice)")
	rtPrio := fs.Int("rt-priority", 0, "run the router's worker under SCHED_FIFO at this priority (0: the default, SCHED_OTHER)")
	trace := fs.String("trace", "", "write a timeline of the path's counters during the churn to this file (a row per -trace-every)")
	traceEvery := fs.Duration("trace-every", 10*time.Millisecond, "the timeline's interval")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("bench: needs root (network namespaces, XDP)")
	}
	defer removeRigOnSignal()()
	opt := ChurnOptions{Routes: *routes, Batch: *batch, Cycles: *cycles, Rate: *rate,
		Window: time.Duration(*seconds * float64(time.Second)), Driver: *driver, XDPMode: *xdpMode, ChurnCPU: *churnCPU, Log: os.Stderr,
		TraceEvery: *traceEvery, RTPriority: *rtPrio}
	if *trace != "" {
		f, err := os.Create(*trace)
		if err != nil {
			return err
		}
		defer f.Close()
		opt.Trace = f
	}
	phases, err := RunChurn(opt)
	WriteChurnTable(os.Stdout, opt, phases)
	return err
}
