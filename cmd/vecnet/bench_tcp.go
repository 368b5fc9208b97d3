package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/l3/ip4"
)

// TCPOptions shape one "vecnet bench forward -tcp" run: iperf3 TCP from
// host A to host B through the router, the rig's veths at their default
// offloads.
type TCPOptions struct {
	Rounds    int           // interleaved rounds over Configs
	Window    time.Duration // iperf3 -t per configuration and round
	Configs   []string      // of "kernel", "afxdp", "afpacket"
	XDPMode   string        // afxdp's XDP attach mode ("" the driver's choice)
	RouterCPU int           // vecnet's worker CPU
	Log       io.Writer     `json:"-"`
	Show      io.Writer     `json:"-"` // when set, vecnet's show runtime and show errors after each window
}

// TCPSample is one configuration measured in one round.
type TCPSample struct {
	Config string  `json:"config"`
	Round  int     `json:"round"`
	Err    string  `json:"error,omitempty"`
	Window float64 `json:"window_s"`

	Gbps        float64 `json:"gbps"`        // received by host B's iperf3
	Retransmits uint64  `json:"retransmits"` // counted by host A's iperf3
	RouterCPU   float64 `json:"router_cpu"`  // busy share of the router's CPU
	// vecnet only
	Completed   uint64  `json:"l4_checksum_completed,omitempty"` // partial checksums vecnet completed
	Dropped     uint64  `json:"dropped,omitempty"`               // vecnet's graph drops (errors and warnings)
	GraphNsPerP float64 `json:"graph_ns_per_pkt,omitempty"`      // clocks of the nodes after the input node / packets forwarded
}

func (s *TCPSample) configName() string { return s.Config }
func (s *TCPSample) failure() string    { return s.Err }
func (s *TCPSample) setConfig(c string) { s.Config = c }
func (s *TCPSample) columns() []any {
	return []any{&s.Window, &s.Gbps, &s.Retransmits, &s.RouterCPU, &s.Completed, &s.Dropped, &s.GraphNsPerP}
}

// TCPSummary is the TCP benchmark's per-configuration medians.
type TCPSummary = BenchSummary[TCPSample]

// tcpRigOptions shape the TCP benchmark's rig: the peers' offloads at
// their defaults (TX checksum, TSO, GSO), for vecnet and the kernel alike.
var tcpRigOptions = topo.RigOptions{Prefix: "vnt"}

// RunForwardTCP builds a rig with the peers' offloads at their defaults,
// starts an iperf3 server on host B and measures every configuration in
// every round, interleaved.
func RunForwardTCP(opt TCPOptions) (samples []TCPSample, err error) {
	if len(opt.Configs) == 0 || opt.Rounds < 1 || opt.Window < time.Second {
		return nil, errors.New("bench: need configurations, rounds ≥ 1 and a window of at least 1 s")
	}
	for _, tool := range []string{"iperf3", "ss"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("bench: %s is missing: run scripts/setup.sh", tool)
		}
	}
	rig, err := topo.NewRig(tcpRigOptions)
	if err != nil {
		return nil, err
	}
	benchCleanup.set(rig.Close)
	defer func() {
		benchCleanup.set(nil)
		err = errors.Join(err, rig.Close())
	}()
	srv := rig.B.Command("iperf3", "-s")
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if err := WaitListening(rig.B, 5201, 10*time.Second); err != nil {
		return nil, err
	}
	for round := 1; round <= opt.Rounds; round++ {
		for _, c := range opt.Configs {
			s := measureTCP(rig, c, round, opt)
			if s.Err != "" {
				fmt.Fprintf(opt.Log, "round %d %-8s error: %s\n", round, c, s.Err)
			} else {
				fmt.Fprintf(opt.Log, "round %d %-8s %.2f Gbit/s, %d retransmits\n", round, c, s.Gbps, s.Retransmits)
			}
			samples = append(samples, s)
		}
	}
	return samples, nil
}

// measureTCP runs one configuration for one round.
func measureTCP(rig *topo.Rig, name string, round int, opt TCPOptions) TCPSample {
	smp := TCPSample{Config: name, Round: round}
	var d *daemon.Daemon
	switch name {
	case "kernel":
		if err := rig.KernelForwarding(); err != nil {
			smp.Err = err.Error()
			return smp
		}
		defer rig.NoKernelForwarding()
	case "afxdp", "afpacket":
		var err error
		d, err = daemon.Start(DemoConfig(rig, name, opt.XDPMode, ""), daemon.Options{
			NoCLI:  true,
			Logger: newLogger(opt.Log),
			BeforeRun: func(d *daemon.Daemon) error {
				d.Workers[0].CPU = opt.RouterCPU
				return nil
			},
		})
		if err != nil {
			smp.Err = err.Error()
			return smp
		}
		defer d.Stop()
	default:
		smp.Err = fmt.Sprintf("unknown configuration %q (kernel, afxdp, afpacket)", name)
		return smp
	}
	// A first ping settles ARP on both sides, outside the window.
	if out, err := rig.A.Run("ping", "-c", "1", "-W", "3", topo.HostBAddr); err != nil {
		smp.Err = fmt.Sprintf("ping before iperf3: %v: %s", err, out)
		return smp
	}
	var g0 graphCounters
	if d != nil {
		g0 = readGraph(d)
	}
	busy0, _ := cpuBusyJiffies()
	t0 := time.Now()
	secs := int(opt.Window.Seconds())
	cmd := rig.A.Command("iperf3", "-c", topo.HostBAddr, "-J", "-t", strconv.Itoa(secs), "--connect-timeout", "3000")
	timer := time.AfterFunc(opt.Window+30*time.Second, func() { cmd.Process.Kill() })
	out, err := cmd.Output()
	timer.Stop()
	el := time.Since(t0).Seconds()
	busy1, _ := cpuBusyJiffies()
	if err != nil {
		smp.Err = fmt.Sprintf("iperf3: %v: %s", err, firstLine(out))
		return smp
	}
	var res struct {
		End struct {
			SumSent struct {
				Retransmits uint64 `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				Seconds       float64 `json:"seconds"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		smp.Err = "iperf3 JSON: " + err.Error()
		return smp
	}
	if res.Error != "" {
		smp.Err = "iperf3: " + res.Error
		return smp
	}
	smp.Window = res.End.SumReceived.Seconds
	smp.Gbps = res.End.SumReceived.BitsPerSecond / 1e9
	smp.Retransmits = res.End.SumSent.Retransmits
	if c := opt.RouterCPU + 1; c < len(busy0) && c < len(busy1) {
		smp.RouterCPU = float64(busy1[c]-busy0[c]) * jiffyNs / 1e9 / el
	}
	if d != nil {
		if opt.Show != nil {
			for _, c := range []string{"show runtime", "show errors"} {
				fmt.Fprintf(opt.Show, "---- %s round %d: vecnet> %s\n", name, round, c)
				d.CLI.Exec(opt.Show, c)
			}
		}
		g1 := readGraph(d)
		smp.Completed = g1.completed - g0.completed
		smp.Dropped = g1.dropped - g0.dropped
		if p := g1.packets - g0.packets; p > 0 {
			smp.GraphNsPerP = float64(g1.clocks-g0.clocks) / float64(p) / tsc.TicksPerNanosecond()
		}
	}
	return smp
}

// graphCounters are the vecnet counters the TCP benchmark reports.
type graphCounters struct{ completed, dropped, clocks, packets uint64 }

func readGraph(d *daemon.Daemon) graphCounters {
	var g graphCounters
	for _, rows := range d.Errors() {
		for _, r := range rows {
			switch {
			case r.Node == ip4.InputName && r.Name == "l4_checksum_completed":
				g.completed += r.Count
			case r.Severity.String() != "info":
				g.dropped += r.Count
			}
		}
	}
	for _, rows := range d.Runtime() {
		for _, r := range rows {
			// The input node's clocks include its idle polls: at TCP's
			// packet rates the worker waits most of the time.
			if r.Name != inputNode {
				g.clocks += r.Stats.Clocks
			}
			if r.Name == ip4.RewriteName {
				g.packets += r.Stats.Vectors
			}
		}
	}
	return g
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// SummarizeTCP takes per-field medians per configuration, in configs
// order; the headline rate is the receiver's Gbit/s.
func SummarizeTCP(samples []TCPSample, configs []string) []TCPSummary {
	return summarize(samples, configs, func(s *TCPSample) float64 { return s.Gbps })
}

// WriteTCPTable prints the medians as a Markdown table.
func WriteTCPTable(w io.Writer, sum []TCPSummary, opt TCPOptions) {
	fmt.Fprintf(w, "\niperf3 TCP host A → host B, medians of %d interleaved rounds × %v (router on CPU %d, %s, afxdp XDP mode %q)\n\n",
		opt.Rounds, opt.Window, opt.RouterCPU, tcpRigOptions.Offloads(), opt.XDPMode)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintf(tw, "| config\t Gbit/s\t ×kernel\t retransmits\t CPU%d busy\t checksums completed\t vecnet drops\t graph ns/pkt\t\n", opt.RouterCPU)
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, s := range sum {
		if s.Rounds == 0 {
			fmt.Fprintf(tw, "| %s\t unavailable: %s\t\t\t\t\t\t\t\n", s.Config, s.firstError())
			continue
		}
		m := s.Median
		vec := func(f string, v float64) string {
			if s.Config == "kernel" {
				return "–"
			}
			return fmt.Sprintf(f, v)
		}
		fmt.Fprintf(tw, "| %s\t %.2f\t %.2f\t %d\t %.0f%%\t %s\t %s\t %s\t\n", s.Config, m.Gbps, s.RatioToKernel, m.Retransmits, 100*m.RouterCPU,
			vec("%.0f", float64(m.Completed)), vec("%.0f", float64(m.Dropped)), vec("%.0f", m.GraphNsPerP))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nper round, Gbit/s:")
	writeRounds(w, sum, "%.2f", 1)
}

// TCPRatioLine is the TCP benchmark's last line: "tcp/kernel: R", vecnet
// on AF_XDP (or the first vecnet configuration measured) over the kernel.
func TCPRatioLine(sum []TCPSummary) string {
	for _, want := range []string{"afxdp", "afpacket"} {
		for _, s := range sum {
			if s.Config == want && s.RatioToKernel > 0 {
				return fmt.Sprintf("tcp/kernel: %.2f", s.RatioToKernel)
			}
		}
	}
	return "tcp/kernel: n/a"
}
