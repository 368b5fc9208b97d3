package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/vecnet/vecnet/examples/trafficgen/gen"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// cmdBench runs "vecnet bench forward": the Linux kernel and vecnet (AF_XDP
// and AF_PACKET) forwarding 64-byte frames between two namespaces, in
// interleaved rounds, with medians, a PNG bar plot and the final line
// "afxdp/kernel: R". With -tcp it runs iperf3 TCP through the kernel and
// vecnet instead, the peers' offloads at their defaults, ending with
// "tcp/kernel: R".
func cmdBench(path string, args []string) error {
	return dispatch(path, "Benchmarks in network namespaces, as root, with interleaved rounds and medians (BENCHMARKS.md).", benchCommands, args)
}

// benchCommands are the subcommands of "vecnet bench".
var benchCommands = []command{
	{"forward", "kernel vs vecnet (AF_XDP, AF_PACKET, DPDK) forwarding of small frames; -tcp: iperf3 TCP", cmdBenchForward},
	{"dns", "DNS answers per second: kernel, in-graph and sock servers, Knot", cmdBenchDNS},
	{"http", "HTTP requests per second: kernel, net/http on sock, in-graph, nginx", cmdBenchHTTP},
	{"memif", "memif forwarding: kernel, vecnet as memif server or client, testpmd", cmdBenchMemif},
	{"services", "1 000 ACL rules + sessions + NAT44: vecnet vs the kernel with nftables", cmdBenchServices},
	{"latency", "sockperf ping-pong round trips through the kernel and vecnet, unloaded and beside a UDP stream", cmdBenchLatency},
	{"churn", "1 M route updates through fib.ApplyRoutes while vecnet forwards an untouched prefix: updates/s, loss, FIB memory", cmdBenchChurn},
}

// cmdBenchForward runs "vecnet bench forward".
func cmdBenchForward(path string, args []string) error {
	fs := newFlags(path, "[flags]", "Forward 64-byte frames host A → router → host B through the kernel and vecnet in interleaved rounds;\nprint the medians, draw a bar plot, end with \"afxdp/kernel: R\". With -tcp, iperf3 TCP instead (\"tcp/kernel: R\").")
	rounds := fs.Int("rounds", 3, "interleaved rounds over the configurations")
	seconds := fs.Float64("seconds", 5, "measurement window per configuration and round, in seconds")
	size := fs.Int("size", 64, "frame size on the wire, FCS included")
	png := fs.String("png", "bench-forward.png", "bar plot of the median sink rates (empty: none)")
	jsonPath := fs.String("json", "", "write the samples and medians as JSON to this file")
	configs := fs.String("configs", "kernel,afxdp,afpacket,dpdk", "configurations to compare (dpdk: testpmd's AF_XDP PMD in mac forwarding mode)")
	napi := fs.Bool("napi", false, "run the router ingress veth's receive path in a threaded NAPI kernel thread pinned to the router's CPU (default false: in the generator's softirq on its CPU, as veth does; the table then charges each router the whole machine's CPU per packet)")
	napiNice := fs.Int("napi-nice", 5, "nice value of the pinned NAPI thread (CFS shares the router CPU between it and vecnet's busy-polling worker)")
	xdpMode := fs.String("xdp-mode", "", "afxdp's XDP attach mode: native, generic or empty (the driver's choice)")
	show := fs.Bool("show", false, "print show runtime/errors/interfaces and the AF_XDP socket counters after each vecnet window")
	v6 := fs.Bool("6", false, "forward IPv6 (UDP, 2001:db8:70:1::2 → 2001:db8:70:2::2; -size defaults to 82, the smallest IPv6 generator frame)")
	tcp := fs.Bool("tcp", false, "iperf3 TCP host A → host B through the kernel and vecnet, peers' offloads at their defaults (-configs defaults to kernel,afxdp, -xdp-mode to native; -seconds is iperf3 -t; -size, -png, -napi do not apply)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("bench: needs root (network namespaces, XDP)")
	}
	if *tcp {
		// Defaults of their own: kernel and AF_XDP, in native mode (on a
		// veth the driver's choice is generic, where the peer's TCP comes
		// as GSO super-frames; native mode makes the kernel turn the peer's
		// TSO/GSO off).
		cfgs, mode := "kernel,afxdp", "native"
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "configs":
				cfgs = *configs
			case "xdp-mode":
				mode = *xdpMode
			}
		})
		topt := TCPOptions{Rounds: *rounds, Window: time.Duration(*seconds * float64(time.Second)),
			Configs: strings.Split(cfgs, ","), XDPMode: mode, RouterCPU: 1, Log: os.Stderr}
		if *show {
			topt.Show = os.Stderr
		}
		return benchTCP(topt, *jsonPath)
	}
	opt := ForwardOptions{
		Rounds: *rounds, Window: time.Duration(*seconds * float64(time.Second)), Warmup: 500 * time.Millisecond,
		Size: *size, Configs: strings.Split(*configs, ","), SenderCPU: 0, RouterCPU: 1, Log: os.Stderr,
		NAPI: *napi, NAPINice: *napiNice, XDPMode: *xdpMode, IPv6: *v6,
	}
	if *v6 {
		sizeSet := false
		fs.Visit(func(f *flag.Flag) { sizeSet = sizeSet || f.Name == "size" })
		if !sizeSet {
			opt.Size = gen.MinFrameLen6 + 4
		}
	}
	if *show {
		opt.Show = os.Stderr
	}
	// The first signal cancels the run: RunForward stops the generator and
	// the router before it removes the rig (closing the rig under a running
	// generator unmaps the TX ring it writes). A second one forces the exit.
	cancel := make(chan struct{})
	opt.Cancel = cancel
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; !ok {
			return
		}
		slog.Warn("bench interrupted: stopping the generator and removing the namespaces")
		close(cancel)
		if _, ok := <-sig; ok {
			benchCleanup.run()
			os.Exit(130)
		}
	}()
	samples, err := RunForward(opt)
	if err != nil {
		return err
	}
	sum := Summarize(samples, opt.Configs)
	WriteForwardTable(os.Stdout, sum, opt)
	if *png != "" {
		if err := WriteBarPNG(*png, "vecnet bench forward: frames forwarded, median", "sink Mpps", sum); err != nil {
			return err
		}
		fmt.Println("plot:", *png)
	}
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(struct {
			Options ForwardOptions `json:"options"`
			Samples []Sample       `json:"samples"`
			Medians []Summary      `json:"medians"`
		}{opt, samples, sum}, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(RatioLine(sum))
	return nil
}

// benchTCP runs "vecnet bench forward -tcp" and prints its table, ending
// with "tcp/kernel: R".
func benchTCP(opt TCPOptions, jsonPath string) error {
	defer removeRigOnSignal()()
	samples, err := RunForwardTCP(opt)
	if err != nil {
		return err
	}
	sum := SummarizeTCP(samples, opt.Configs)
	WriteTCPTable(os.Stdout, sum, opt)
	if jsonPath != "" {
		b, _ := json.MarshalIndent(struct {
			Options TCPOptions   `json:"options"`
			Samples []TCPSample  `json:"samples"`
			Medians []TCPSummary `json:"medians"`
		}{opt, samples, sum}, "", "  ")
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(TCPRatioLine(sum))
	return nil
}

// benchCleanup holds what a signal must remove while a benchmark runs.
var benchCleanup cleanupSlot

type cleanupSlot struct {
	mu sync.Mutex
	f  func() error
}

func (c *cleanupSlot) set(f func() error) { c.mu.Lock(); c.f = f; c.mu.Unlock() }

func (c *cleanupSlot) run() {
	c.mu.Lock()
	f := c.f
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// Summary is the forwarding benchmark's per-configuration medians.
type Summary = BenchSummary[Sample]

// Summarize takes per-field medians per configuration, in configs order;
// the headline rate is the sink's.
func Summarize(samples []Sample, configs []string) []Summary {
	return summarize(samples, configs, func(s *Sample) float64 { return s.SinkPPS })
}

// WriteForwardTable prints the medians as a Markdown table, one row per
// configuration, then what limited each one.
func WriteForwardTable(w io.Writer, sum []Summary, opt ForwardOptions) {
	family := "IPv4"
	if opt.IPv6 {
		family = "IPv6"
	}
	fmt.Fprintf(w, "\n%s forwarding, %d-byte frames, medians of %d interleaved rounds × %v (generator AF_XDP on CPU %d, router on CPU %d, %s, %s)\n\n",
		family, opt.Size, opt.Rounds, opt.Window, opt.SenderCPU, opt.RouterCPU, napiNote(opt.NAPI, opt.RouterCPU, "router"), forwardRigOptions.Offloads())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintf(tw, "| config\t offered Mpps\t CPU%d busy (gen)\t CPU%d busy (router)\t gen tx drops\t router rx drops\t router tx drops\t sink Mpps\t loss\t ×kernel\t CPU ns/pkt\t graph ns/pkt\t vec/call\t worker sys\t worker CPU\t limit\t\n", opt.SenderCPU, opt.RouterCPU)
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, s := range sum {
		if s.Rounds == 0 {
			fmt.Fprintf(tw, "| %s\t unavailable: %s\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", s.Config, s.firstError())
			continue
		}
		m := s.Median
		vec := func(f string, v float64) string {
			if s.Config == "kernel" || s.Config == "dpdk" {
				return "–"
			}
			return fmt.Sprintf(f, v)
		}
		fmt.Fprintf(tw, "| %s\t %.3f\t %.0f%%\t %.0f%%\t %d\t %d\t %d\t %.3f\t %.0f%%\t %.2f\t %.0f\t %s\t %s\t %s\t %s\t %s\t\n",
			s.Config, m.OfferedPPS/1e6, 100*m.SenderCPUBusy, 100*m.RouterCPUBusy, m.GenTxDrops, m.RouterRxDrops, m.RouterTxDrops, m.SinkPPS/1e6, 100*m.RouterLoss,
			s.RatioToKernel, m.CPUNsPerPkt, vec("%.0f", m.GraphNsPerPkt), vec("%.1f", m.VectorsPerCall),
			vec("%.0f%%", 100*m.WorkerSysShare), vec("%.0f%%", 100*m.WorkerCPU), limit(m))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nper round, sink Mpps:")
	writeRounds(w, sum, "%.3f", 1e6)
	fmt.Fprintln(w, "\nlimit: \"generator\" when the sink received ≥ 97% of what the generator offered and the router's ingress refused")
	fmt.Fprintln(w, "≤ 1% more (gen tx drops: the veth's ring full because its receiver did not keep up) — the rig, not the router, is")
	fmt.Fprintln(w, "the ceiling; \"router\" otherwise (see the drop columns).")
}

// napiNote says where the ingress veth's receive path ran.
func napiNote(on bool, cpu int, who string) string {
	if !on {
		return who + " ingress received in the sender's softirq"
	}
	return fmt.Sprintf("%s ingress received by threaded NAPI on CPU %d", who, cpu)
}

// limit says which side capped a configuration's rate.
func limit(m Sample) string {
	if m.OfferedPPS > 0 && m.SinkPPS >= 0.97*m.OfferedPPS && float64(m.GenTxDrops) <= 0.01*m.OfferedPPS*m.Window {
		return "generator"
	}
	return "router"
}

// RatioLine is the benchmark's last line: "afxdp/kernel: R".
func RatioLine(sum []Summary) string {
	for _, s := range sum {
		if s.Config == "afxdp" && s.RatioToKernel > 0 {
			return fmt.Sprintf("afxdp/kernel: %.2f", s.RatioToKernel)
		}
	}
	return "afxdp/kernel: n/a"
}

// benchNeeds checks, before a benchmark builds anything, that it runs as
// root and that the tools it drives are installed (scripts/setup.sh --bench).
func benchNeeds(name string, tools ...string) error {
	if os.Geteuid() != 0 {
		return errors.New("bench: needs root (network namespaces, XDP)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("bench %s needs %s (bash scripts/setup.sh --bench)", name, tool)
		}
	}
	return nil
}

// removeRigOnSignal has the first SIGINT or SIGTERM remove the benchmark's
// namespaces (benchCleanup) and exit 130; call the function it returns when
// the benchmark is done.
func removeRigOnSignal() (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			slog.Warn("bench interrupted: removing the namespaces")
			benchCleanup.run()
			os.Exit(130)
		}
	}()
	return func() { signal.Stop(sig) }
}
