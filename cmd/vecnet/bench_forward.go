package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/internal/xsk"
)

// ForwardOptions shape one "vecnet bench forward" run.
type ForwardOptions struct {
	Rounds    int           // interleaved rounds over Configs
	Window    time.Duration // measurement window per configuration and round
	Warmup    time.Duration // traffic before the window opens
	Size      int           // frame size on the wire, FCS included
	Configs   []string      // of "kernel", "afxdp", "afpacket"
	SenderCPU int           // the generator's CPU
	RouterCPU int           // vecnet's worker CPU
	NAPI      bool          // receive the router ingress veth in a threaded NAPI thread pinned to RouterCPU (else: in the sender's softirq, on its CPU)
	NAPINice  int           // nice value of that NAPI thread (it shares the CPU with the router process)
	XDPMode   string        // afxdp's XDP attach mode: "native", "generic" or "" (the driver's choice)
	Flows     int           // UDP flows the generator rotates over (0: one)
	IPv6      bool          // forward IPv6 (host6A -> host6B) instead of IPv4
	Log       io.Writer     `json:"-"` // progress lines
	Show      io.Writer     `json:"-"` // when set, vecnet's show output after each window
	// Cancel, when closed, ends the run early: the round in progress stops
	// its generator and router, and RunForward returns errInterrupted.
	Cancel <-chan struct{} `json:"-"`
	// Routers, when set, starts the configurations it knows (ok false:
	// the built-in ones); "vecnet bench services" adds its own with it.
	Routers func(br *benchRig, name string, opt ForwardOptions) (r routerRun, ok bool, err error) `json:"-"`
}

// pause waits for d, or until opt.Cancel is closed; it reports whether the
// whole d passed.
func (opt ForwardOptions) pause(d time.Duration) bool {
	select {
	case <-opt.Cancel:
		return false
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-opt.Cancel:
		return false
	}
}

// Sample is one configuration measured in one round. Counts are deltas
// over the window; rates are per second of the window.
type Sample struct {
	Config string  `json:"config"`
	Round  int     `json:"round"`
	Err    string  `json:"error,omitempty"`
	Window float64 `json:"window_s"`

	OfferedPPS    float64 `json:"offered_pps"`     // host-a eth0 tx_packets
	GenTxDrops    uint64  `json:"gen_tx_drops"`    // host-a eth0 tx_dropped (refused by the router's veth)
	SenderCPUBusy float64 `json:"sender_cpu_busy"` // busy share of the generator's CPU (1 = saturated)
	RouterCPUBusy float64 `json:"router_cpu_busy"` // busy share of the router's CPU
	RouterLoss    float64 `json:"router_loss"`     // 1 - sink/offered
	RouterRxDrops uint64  `json:"router_rx_drops"` // router ingress rx_dropped + vecnet port rx drops
	RouterTxDrops uint64  `json:"router_tx_drops"` // router egress tx_dropped + vecnet port tx drops
	Forwarded     uint64  `json:"forwarded"`       // frames the sink counted
	SinkPPS       float64 `json:"sink_pps"`
	CPUNsPerPkt   float64 `json:"cpu_ns_per_pkt"` // whole-machine busy time / forwarded

	// vecnet only
	GraphNsPerPkt  float64 `json:"graph_ns_per_pkt,omitempty"` // node clocks / packets
	VectorsPerCall float64 `json:"vectors_per_call,omitempty"` // of the input node
	WorkerSysShare float64 `json:"worker_sys_share,omitempty"` // stime / (utime+stime) of the worker thread
	WorkerCPU      float64 `json:"worker_cpu,omitempty"`       // the worker thread's CPU share
}

// routerRun is a configuration of the router while it runs.
type routerRun interface {
	// snapshot reads the configuration's own counters.
	snapshot() routerSnap
	stop() error
}

type routerSnap struct {
	rxDrops, txDrops uint64
	runtime          []graph.NodeStats // summed over workers; nil for the kernel
	utime, stime     uint64
}

// startRouter brings up configuration name in the rig's router namespace.
func startRouter(br *benchRig, name string, opt ForwardOptions) (routerRun, error) {
	if opt.Routers != nil {
		if r, ok, err := opt.Routers(br, name, opt); ok {
			return r, err
		}
	}
	switch name {
	case "kernel":
		if opt.IPv6 {
			return startKernelRouter6(br.rig)
		}
		return startKernelRouter(br.rig)
	case "afxdp", "afpacket":
		return startVecnet(br.rig, name, opt)
	case "dpdk":
		return startDPDKRouter(br.rig, opt)
	}
	return nil, fmt.Errorf("unknown configuration %q (kernel, afxdp, afpacket, dpdk)", name)
}

type kernelRouter struct{ rig *topo.Rig }

func startKernelRouter(rig *topo.Rig) (routerRun, error) {
	if err := rig.KernelForwarding(); err != nil {
		return nil, err
	}
	if _, err := rig.R.Run("ip", "neigh", "replace", topo.HostBAddr, "lladdr", topo.HostBMAC, "dev", topo.RouterB, "nud", "permanent"); err != nil {
		rig.NoKernelForwarding()
		return nil, err
	}
	return kernelRouter{rig}, nil
}

// startKernelRouter6 is startKernelRouter for IPv6: the router namespace's
// kernel gets IPv6 (off in the rig) only while it is the router, its
// addresses without DAD, forwarding, and a permanent neighbour for host B.
func startKernelRouter6(rig *topo.Rig) (routerRun, error) {
	if err := rig.KernelForwarding(); err != nil {
		return nil, err
	}
	cmds := [][]string{
		{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0"},
		{"sysctl", "-qw", "net.ipv6.conf." + topo.RouterA + ".disable_ipv6=0"},
		{"sysctl", "-qw", "net.ipv6.conf." + topo.RouterB + ".disable_ipv6=0"},
		{"sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"},
		{"ip", "-6", "addr", "add", bench6RouterA + "/64", "dev", topo.RouterA, "nodad"},
		{"ip", "-6", "addr", "add", bench6RouterB + "/64", "dev", topo.RouterB, "nodad"},
		{"ip", "-6", "neigh", "replace", bench6HostB, "lladdr", topo.HostBMAC, "dev", topo.RouterB, "nud", "permanent"},
	}
	for _, c := range cmds {
		if out, err := rig.R.Run(c[0], c[1:]...); err != nil {
			kernelRouter6{rig}.stop()
			return nil, fmt.Errorf("%v: %w: %s", c, err, out)
		}
	}
	return kernelRouter6{rig}, nil
}

type kernelRouter6 struct{ rig *topo.Rig }

func (k kernelRouter6) snapshot() routerSnap { return routerSnap{} }
func (k kernelRouter6) stop() error {
	k.rig.R.Run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=0")
	k.rig.R.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	return k.rig.NoKernelForwarding()
}

func (k kernelRouter) snapshot() routerSnap { return routerSnap{} }
func (k kernelRouter) stop() error          { return k.rig.NoKernelForwarding() }

type vecnetRouter struct {
	d   *daemon.Daemon
	tid int
}

func startVecnet(rig *topo.Rig, driver string, opt ForwardOptions) (routerRun, error) {
	return startVecnetConfig(rig, driver, opt, nil)
}

// startVecnetConfig starts vecnet on the rig's router with the demo
// configuration, edited by edit when it is not nil.
func startVecnetConfig(rig *topo.Rig, driver string, opt ForwardOptions, edit func(*config.Config)) (routerRun, error) {
	cfg := DemoConfig(rig, driver, opt.XDPMode, "")
	if edit != nil {
		edit(cfg)
	}
	cfg.Neighbors = append(cfg.Neighbors, config.Neighbor{
		Interface: topo.RouterB, IP: netip.MustParseAddr(topo.HostBAddr), MAC: config.MAC(mustMAC(topo.HostBMAC)),
	})
	if opt.IPv6 {
		cfg.Interfaces[0].Addresses = append(cfg.Interfaces[0].Addresses, netip.MustParsePrefix(bench6RouterA+"/64"))
		cfg.Interfaces[1].Addresses = append(cfg.Interfaces[1].Addresses, netip.MustParsePrefix(bench6RouterB+"/64"))
		cfg.Neighbors = append(cfg.Neighbors, config.Neighbor{
			Interface: topo.RouterB, IP: netip.MustParseAddr(bench6HostB), MAC: config.MAC(mustMAC(topo.HostBMAC)),
		})
	}
	d, err := daemon.Start(cfg, daemon.Options{
		NoCLI:  true,
		Logger: newLogger(opt.Log),
		BeforeRun: func(d *daemon.Daemon) error {
			d.Workers[0].CPU = opt.RouterCPU
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	v := &vecnetRouter{d: d}
	d.Workers[0].Do(func() { v.tid = unix.Gettid() })
	if opt.IPv6 {
		// The IPv6 prefixes are on link once their DAD passed.
		for end := time.Now().Add(10 * time.Second); d.DP.ND.DADPending() > 0; {
			if time.Now().After(end) {
				d.Stop()
				return nil, errors.New("bench: vecnet's IPv6 addresses still in DAD after 10 s")
			}
			time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
		}
	}
	return v, nil
}

// xdpStatser is an AF_XDP port: its socket's kernel counters hold the
// drops before the port sees a frame (RX ring full, no fill buffer).
type xdpStatser interface{ XDPStats() (xsk.Stats, error) }

func (v *vecnetRouter) snapshot() routerSnap {
	var s routerSnap
	for _, ifc := range v.d.Interfaces {
		ps := v.d.PortStats(ifc)
		s.rxDrops += ps.RxDrops
		s.txDrops += ps.TxDrops
		for _, p := range ifc.Ports {
			if x, ok := p.(xdpStatser); ok {
				if st, err := x.XDPStats(); err == nil {
					s.rxDrops += st.RXDropped + st.RXRingFull
				}
			}
		}
	}
	byName := map[string]int{}
	for _, rows := range v.d.Runtime() {
		for _, r := range rows {
			i, ok := byName[r.Name]
			if !ok {
				i = len(s.runtime)
				byName[r.Name] = i
				s.runtime = append(s.runtime, graph.NodeStats{Name: r.Name, Kind: r.Kind})
			}
			s.runtime[i].Stats.Add(r.Stats)
		}
	}
	s.utime, s.stime, _ = threadTimes(v.tid)
	return s
}

func (v *vecnetRouter) stop() error { return v.d.Stop() }

// show writes vecnet's view of the window just measured (cumulative since
// the daemon started, warm-up included): show runtime, errors, interfaces
// and each AF_XDP socket's kernel counters.
func (v *vecnetRouter) show(w io.Writer, name string, round int) {
	fmt.Fprintf(w, "---- %s round %d: vecnet state at the end of the window ----\n", name, round)
	for _, c := range []string{"show runtime", "show errors", "show interfaces"} {
		fmt.Fprintf(w, "vecnet> %s\n", c)
		if err := v.d.CLI.Exec(w, c); err != nil {
			fmt.Fprintln(w, "error:", err)
		}
	}
	for _, ifc := range v.d.Interfaces {
		for q, p := range ifc.Ports {
			if x, ok := p.(xdpStatser); ok {
				if st, err := x.XDPStats(); err == nil {
					fmt.Fprintf(w, "xsk %s q%d: %+v\n", ifc.Config.Name, q, st)
				}
			}
		}
	}
}

// inputNode is the daemon's port input node, whose vectors/call the table
// reports.
const inputNode = driver.PortInputName

// snap is everything read at one edge of the window.
type snap struct {
	at            time.Time
	hostA, ra, rb devStats
	sink          uint64
	busy          []uint64 // machine, then per CPU
	router        routerSnap
}

type devStats struct{ rxPackets, rxDropped, txPackets, txDropped uint64 }

func (br *benchRig) read(r routerRun) snap {
	s := snap{at: time.Now()}
	get := func(role, dev string) devStats {
		st := br.links[role].stats(dev)
		return devStats{st.RxPackets, st.RxDropped, st.TxPackets, st.TxDropped}
	}
	s.hostA, s.ra, s.rb = get("a", topo.HostDev), get("r", topo.RouterA), get("r", topo.RouterB)
	s.sink, _, _ = br.sink.Count()
	s.busy, _ = cpuBusyJiffies()
	s.router = r.snapshot()
	return s
}

// measure runs one configuration for one round.
func measure(br *benchRig, name string, round int, opt ForwardOptions) Sample {
	smp := Sample{Config: name, Round: round}
	r, err := startRouter(br, name, opt)
	if err != nil {
		smp.Err = err.Error()
		return smp
	}
	if opt.NAPI {
		// After the router started: an XDP program attached in native mode
		// rebuilds the NAPI instance and its thread.
		if _, err := (napiPin{br.rig.R, topo.RouterA, opt.RouterCPU, opt.NAPINice}).pin(); err != nil {
			r.stop()
			smp.Err = err.Error()
			return smp
		}
	}
	g := br.startGenerator(opt.SenderCPU, opt.Warmup+opt.Window+5*time.Second, opt.Log)
	fmt.Fprintf(opt.Log, "round %d %-8s running\n", round, name)
	// Traffic settles, then the window; not synchronisation. Cancelled:
	// the generator stops before the router, both before the rig goes.
	var s0 snap
	if opt.pause(opt.Warmup) {
		s0 = br.read(r)
	}
	if s0.at.IsZero() || !opt.pause(opt.Window) {
		g.wait()
		r.stop()
		smp.Err = errInterrupted.Error()
		return smp
	}
	s1 := br.read(r)
	if v, ok := r.(*vecnetRouter); ok && opt.Show != nil {
		v.show(opt.Show, name, round)
	}
	g.wait()
	if err := r.stop(); err != nil {
		smp.Err = "stop: " + err.Error()
	}
	_, isVecnet := r.(*vecnetRouter)
	fill(&smp, s0, s1, isVecnet, opt)
	return smp
}

// fill computes a sample's figures from the two snapshots.
func fill(smp *Sample, s0, s1 snap, vecnet bool, opt ForwardOptions) {
	secs := s1.at.Sub(s0.at).Seconds()
	smp.Window = secs
	smp.OfferedPPS = float64(s1.hostA.txPackets-s0.hostA.txPackets) / secs
	smp.GenTxDrops = s1.hostA.txDropped - s0.hostA.txDropped
	share := func(cpu int) float64 {
		if cpu+1 >= len(s0.busy) || cpu+1 >= len(s1.busy) {
			return 0
		}
		return float64(s1.busy[cpu+1]-s0.busy[cpu+1]) * jiffyNs / 1e9 / secs
	}
	smp.SenderCPUBusy, smp.RouterCPUBusy = share(opt.SenderCPU), share(opt.RouterCPU)
	smp.RouterRxDrops = s1.ra.rxDropped - s0.ra.rxDropped + s1.router.rxDrops - s0.router.rxDrops
	smp.RouterTxDrops = s1.rb.txDropped - s0.rb.txDropped + s1.router.txDrops - s0.router.txDrops
	smp.Forwarded = s1.sink - s0.sink
	smp.SinkPPS = float64(smp.Forwarded) / secs
	if smp.OfferedPPS > 0 {
		smp.RouterLoss = max(0, 1-smp.SinkPPS/smp.OfferedPPS)
	}
	if smp.Forwarded > 0 && len(s0.busy) > 0 && len(s1.busy) > 0 {
		smp.CPUNsPerPkt = float64(s1.busy[0]-s0.busy[0]) * jiffyNs / float64(smp.Forwarded)
	}
	if !vecnet {
		return
	}
	var clocks, pkts uint64
	for i, n := range s1.router.runtime {
		if i >= len(s0.router.runtime) {
			break
		}
		d := n.Stats
		o := s0.router.runtime[i].Stats
		dc, dv, dcalls := d.Clocks-o.Clocks, d.Vectors-o.Vectors, d.Calls-o.Calls
		clocks += dc
		pkts = max(pkts, dv)
		if n.Name == inputNode && dcalls > 0 {
			smp.VectorsPerCall = float64(dv) / float64(dcalls)
		}
	}
	if pkts > 0 {
		smp.GraphNsPerPkt = float64(clocks) / float64(pkts) / tsc.TicksPerNanosecond()
	}
	du, ds := s1.router.utime-s0.router.utime, s1.router.stime-s0.router.stime
	if du+ds > 0 {
		smp.WorkerSysShare = float64(ds) / float64(du+ds)
	}
	smp.WorkerCPU = float64(du+ds) * jiffyNs / 1e9 / secs
}

// RunForward runs the interleaved rounds on a fresh rig and returns every
// sample, in run order. cancel, when closed, ends it early (with the
// samples so far) — the rig is removed in every case.
func RunForward(opt ForwardOptions) (samples []Sample, err error) {
	if len(opt.Configs) == 0 || opt.Rounds < 1 || opt.Window <= 0 {
		return nil, errors.New("bench: need configurations, rounds ≥ 1 and a window")
	}
	br, err := newBenchRig(opt.Size, opt.Flows, opt.IPv6)
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
	if opt.NAPI {
		if err := (napiPin{br.rig.R, topo.RouterA, opt.RouterCPU, opt.NAPINice}).enable(); err != nil {
			return nil, err
		}
	}
	for round := 1; round <= opt.Rounds; round++ {
		for _, c := range opt.Configs {
			if !opt.pause(0) {
				return samples, errInterrupted
			}
			s := measure(br, c, round, opt)
			if s.Err != "" {
				fmt.Fprintf(opt.Log, "round %d %-8s error: %s\n", round, c, s.Err)
			} else {
				fmt.Fprintf(opt.Log, "round %d %-8s offered %.3f Mpps, sink %.3f Mpps\n", round, c, s.OfferedPPS/1e6, s.SinkPPS/1e6)
			}
			samples = append(samples, s)
		}
	}
	return samples, nil
}

// median returns the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
