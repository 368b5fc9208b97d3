package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/internal/topo"
)

// This file is "vecnet bench churn -trace": a timeline of every counter on
// the path from the generator to the sink, sampled every few milliseconds
// while the churn runs, to tell where a lost packet was dropped and what
// the process was doing then.

// churnTrace samples the path's counters on its own thread.
type churnTrace struct {
	br        *benchRig
	v         *vecnetRouter
	every     time.Duration
	start     time.Time
	churnTID  atomic.Int64 // the update thread, once pinned
	step      atomic.Int64 // the churn's progress: cycle<<32 | batch (adds 1.., withdrawals 1001.., reclaims 9999)
	stop      chan struct{}
	done      chan struct{}
	rows      []traceRow
	gcSamples []metrics.Sample
	lastPause [2][]uint64 // the stop-the-world pause histograms' counts at the last sample
}

// traceRow is one sample, cumulative counters.
type traceRow struct {
	at                   time.Duration // since the trace began
	step                 int64
	aTx, aTxDrop         uint64 // host A's eth0
	raRx, raRxDrop       uint64 // the router's link from A (veth counters)
	xskDrop, xskFull     uint64 // the router's AF_XDP sockets (XDP_STATISTICS)
	xskFillEmpty         uint64
	backlogDrop, squeeze uint64 // /proc/net/softnet_stat, all CPUs
	sink                 uint64 // the XDP counter on host B
	wRun, wWait          uint64 // the router worker thread's schedstat: ns on CPU, ns waiting for it
	wFlt, cFlt, pFlt     uint64 // minor faults: worker thread, update thread, process
	gcCycles             uint64
	wVol, wInvol         uint64     // the worker's context switches
	wState               string     // the worker thread's state letter and wchan
	wStack               string     // its kernel stack, when it is not running
	stwUs                [2]float64 // the longest stop-the-world pause (GC, other) since the last sample, µs (a histogram bucket's upper bound)
}

func newChurnTrace(br *benchRig, v *vecnetRouter, every time.Duration) *churnTrace {
	return &churnTrace{br: br, v: v, every: every, stop: make(chan struct{}), done: make(chan struct{}),
		gcSamples: []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"},
			{Name: "/sched/pauses/total/gc:seconds"}, {Name: "/sched/pauses/total/other:seconds"}}}
}

// run samples until stop; on its own locked thread so that it is not
// queued behind the goroutines it watches.
func (ct *churnTrace) run() {
	defer close(ct.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ct.start = time.Now()
	tk := time.NewTicker(ct.every)
	defer tk.Stop()
	for {
		ct.rows = append(ct.rows, ct.sample())
		select {
		case <-ct.stop:
			return
		case <-tk.C:
		}
	}
}

func (ct *churnTrace) close() {
	close(ct.stop)
	<-ct.done
}

func (ct *churnTrace) sample() traceRow {
	r := traceRow{at: time.Since(ct.start), step: ct.step.Load()}
	a := ct.br.links["a"].stats(topo.HostDev)
	ra := ct.br.links["r"].stats(topo.RouterA)
	r.aTx, r.aTxDrop, r.raRx, r.raRxDrop = a.TxPackets, a.TxDropped, ra.RxPackets, ra.RxDropped
	for _, ifc := range ct.v.d.Interfaces {
		for _, p := range ifc.Ports {
			if x, ok := p.(xdpStatser); ok {
				if st, err := x.XDPStats(); err == nil {
					r.xskDrop += st.RXDropped
					r.xskFull += st.RXRingFull
					r.xskFillEmpty += st.RXFillRingEmptyDescs
				}
			}
		}
	}
	r.backlogDrop, r.squeeze = softnetDrops()
	r.sink, _, _ = ct.br.sink.Count()
	r.wRun, r.wWait = schedstat(ct.v.tid)
	r.wFlt = taskMinFlt(fmt.Sprintf("/proc/self/task/%d/stat", ct.v.tid))
	if tid := ct.churnTID.Load(); tid > 0 {
		r.cFlt = taskMinFlt(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	}
	r.pFlt = taskMinFlt("/proc/self/stat")
	r.wVol, r.wInvol = ctxSwitches(ct.v.tid)
	r.wState = taskState(ct.v.tid)
	if r.wState != "" && r.wState[0] != 'R' {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stack", ct.v.tid))
		r.wStack = strings.Join(strings.Fields(string(b)), " ")
	}
	metrics.Read(ct.gcSamples)
	r.gcCycles = ct.gcSamples[0].Value.Uint64()
	for k := range 2 {
		h := ct.gcSamples[1+k].Value.Float64Histogram()
		for b := len(h.Counts) - 1; b >= 0; b-- {
			if b < len(ct.lastPause[k]) && h.Counts[b] != ct.lastPause[k][b] {
				r.stwUs[k] = min(h.Buckets[b+1], 10) * 1e6
				break
			}
		}
		ct.lastPause[k] = append(ct.lastPause[k][:0], h.Counts...)
	}
	return r
}

// write prints the rows as deltas per interval (tab separated), then the
// totals of each counter.
func (ct *churnTrace) write(w io.Writer) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintln(bw, "# t_ms\tcycle\tbatch\ta_tx\ta_txdrop\tra_rx\tra_rxdrop\txsk_drop\txsk_full\txsk_fillempty\tbacklog_drop\tsqueeze\tsink\tw_run_us\tw_wait_us\tw_vol\tw_invol\tw_flt\tc_flt\tp_flt\tgc\tstw_gc_us\tstw_other_us\tw_state\tw_stack")
	for i := 1; i < len(ct.rows); i++ {
		p, r := ct.rows[i-1], ct.rows[i]
		fmt.Fprintf(bw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%s\t%s\n",
			r.at.Milliseconds(), r.step>>32, int32(r.step),
			r.aTx-p.aTx, r.aTxDrop-p.aTxDrop, r.raRx-p.raRx, r.raRxDrop-p.raRxDrop,
			r.xskDrop-p.xskDrop, r.xskFull-p.xskFull, r.xskFillEmpty-p.xskFillEmpty,
			r.backlogDrop-p.backlogDrop, r.squeeze-p.squeeze, r.sink-p.sink,
			(r.wRun-p.wRun)/1000, (r.wWait-p.wWait)/1000, r.wVol-p.wVol, r.wInvol-p.wInvol,
			r.wFlt-p.wFlt, r.cFlt-p.cFlt, r.pFlt-p.pFlt, r.gcCycles-p.gcCycles, r.stwUs[0], r.stwUs[1], r.wState, r.wStack)
	}
	if len(ct.rows) < 2 {
		return
	}
	f, l := ct.rows[0], ct.rows[len(ct.rows)-1]
	fmt.Fprintf(bw, "# totals: a_tx %d a_txdrop %d ra_rx %d ra_rxdrop %d xsk_drop %d xsk_full %d xsk_fillempty %d backlog_drop %d sink %d lost %d; worker wait %.1f ms, faults worker %d update %d process %d, gc %d\n",
		l.aTx-f.aTx, l.aTxDrop-f.aTxDrop, l.raRx-f.raRx, l.raRxDrop-f.raRxDrop, l.xskDrop-f.xskDrop, l.xskFull-f.xskFull,
		l.xskFillEmpty-f.xskFillEmpty, l.backlogDrop-f.backlogDrop, l.sink-f.sink, int64(l.aTx-f.aTx)-int64(l.sink-f.sink),
		float64(l.wWait-f.wWait)/1e6, l.wFlt-f.wFlt, l.cFlt-f.cFlt, l.pFlt-f.pFlt, l.gcCycles-f.gcCycles)
}

// softnetDrops sums /proc/net/softnet_stat's dropped (backlog full) and
// time_squeeze columns over the CPUs.
func softnetDrops() (dropped, squeeze uint64) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		d, _ := strconv.ParseUint(f[1], 16, 64)
		s, _ := strconv.ParseUint(f[2], 16, 64)
		dropped, squeeze = dropped+d, squeeze+s
	}
	return dropped, squeeze
}

// schedstat returns a thread's time on a CPU and time waiting on a run
// queue, in ns.
func schedstat(tid int) (run, wait uint64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/schedstat", tid))
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0
	}
	run, _ = strconv.ParseUint(f[0], 10, 64)
	wait, _ = strconv.ParseUint(f[1], 10, 64)
	return run, wait
}

// taskMinFlt returns the minor faults of a /proc stat file (field 10).
func taskMinFlt(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 8 {
		return 0
	}
	n, _ := strconv.ParseUint(f[7], 10, 64)
	return n
}

// ctxSwitches returns a thread's voluntary and involuntary context switches.
func ctxSwitches(tid int) (vol, invol uint64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "voluntary_ctxt_switches":
			vol = n
		case "nonvoluntary_ctxt_switches":
			invol = n
		}
	}
	return vol, invol
}

// taskState returns a thread's state letter and, when it sleeps, the
// kernel function it sleeps in ("S futex_wait_queue").
func taskState(tid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	st := s[i+2 : i+3]
	if st != "R" {
		if w, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/wchan", tid)); err == nil {
			st += " " + string(w)
		}
	}
	return st
}
