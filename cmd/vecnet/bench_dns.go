package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vecnet/vecnet/internal/topo"
)

// DNSOptions shape one "vecnet bench dns" run.
type DNSOptions struct {
	Rounds    int           // interleaved rounds over Configs
	Window    time.Duration // kxdpgun's run per configuration and round (whole seconds)
	QPS       int           // kxdpgun's offered rate
	Dnsperf   time.Duration // dnsperf's run after kxdpgun's (0: none)
	Configs   []string      // of "kernel", "ingraph", "sock", "knot", "knot-xdp"
	ClientCPU int           // kxdpgun's and dnsperf's CPU
	ServerCPU int           // the server process's CPU (all its threads)
	NAPI      bool          // receive the server ingress veth in a threaded NAPI thread pinned to ServerCPU (else: in the client's softirq, on its CPU)
	NAPINice  int           // nice value of that NAPI thread (it shares the CPU with the server)
	Server    string        // the dnsserver binary
	Log       io.Writer     `json:"-"`
}

// DNSSample is one configuration measured in one round.
type DNSSample struct {
	Config string  `json:"config"`
	Round  int     `json:"round"`
	Err    string  `json:"error,omitempty"`
	Window float64 `json:"window_s"`

	SentQPS     float64 `json:"sent_qps"`     // kxdpgun: queries sent per second
	AnswersQPS  float64 `json:"answers_qps"`  // kxdpgun: replies received per second
	Replies     uint64  `json:"replies"`      // kxdpgun: replies received
	ServerIdle  float64 `json:"server_idle"`  // idle share of ServerCPU during kxdpgun
	ServerBusy  float64 `json:"server_busy"`  // share of the window the server did work: vecnet's worker busy time, else 1-idle
	ClientIdle  float64 `json:"client_idle"`  // idle share of ClientCPU during kxdpgun
	ServerQs    uint64  `json:"server_qs"`    // dnsserver's own query count over the whole run (0: knot)
	DnsperfQPS  float64 `json:"dnsperf_qps"`  // dnsperf's "Queries per second" (0: not run)
	DnsperfLost float64 `json:"dnsperf_lost"` // dnsperf's lost share
}

// DNSSummary is the DNS benchmark's per-configuration medians.
type DNSSummary = BenchSummary[DNSSample]

// cmdBenchDNS runs "vecnet bench dns".
func cmdBenchDNS(path string, args []string) error {
	fs := newFlags(path, "[flags]", "Offer DNS queries (kxdpgun, dnsperf) to the kernel, vecnet's in-graph and sock servers and Knot;\nprint the medians and draw a bar plot of the answer rates.")
	rounds := fs.Int("rounds", 3, "interleaved rounds over the configurations")
	seconds := fs.Int("seconds", 5, "kxdpgun's run per configuration and round, in seconds")
	qps := fs.Int("qps", 3000000, "kxdpgun's offered queries per second")
	perf := fs.Int("dnsperf", 3, "dnsperf's run per configuration and round, in seconds (0: none)")
	configs := fs.String("configs", "kernel,ingraph,sock,knot,knot-xdp", "configurations to compare")
	server := fs.String("server", "", "the dnsserver binary (default: go build vecnet/examples/dnsserver)")
	png := fs.String("png", "bench-dns.png", "bar plot of the median answer rates (empty: none)")
	jsonPath := fs.String("json", "", "write the samples and medians as JSON to this file")
	napi := fs.Bool("napi", false, "run the server ingress veth's receive path in a threaded NAPI kernel thread pinned to the server's CPU (default false: in the client's softirq, on its CPU, for every server alike; see BENCHMARKS.md)")
	napiNice := fs.Int("napi-nice", 5, "nice value of the pinned NAPI thread (CFS shares the server CPU between it and the server)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if err := benchNeeds("dns", "kxdpgun", "dig", "taskset"); err != nil {
		return err
	}
	defer removeRigOnSignal()()
	dir, err := os.MkdirTemp("", "vecnet-bench-dns")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opt := DNSOptions{
		Rounds: *rounds, Window: time.Duration(*seconds) * time.Second, QPS: *qps, Dnsperf: time.Duration(*perf) * time.Second,
		Configs: strings.Split(*configs, ","), ClientCPU: 0, ServerCPU: 1, Server: *server, Log: os.Stderr,
		NAPI: *napi, NAPINice: *napiNice,
	}
	if opt.Server == "" {
		opt.Server = filepath.Join(dir, "dnsserver")
		if out, err := exec.Command("go", "build", "-o", opt.Server, "github.com/vecnet/vecnet/examples/dnsserver").CombinedOutput(); err != nil {
			return fmt.Errorf("go build vecnet/examples/dnsserver (or pass -server): %w: %s", err, out)
		}
	}
	samples, err := RunDNS(opt, dir)
	if err != nil {
		return err
	}
	sum := SummarizeDNS(samples, opt.Configs)
	WriteDNSTable(os.Stdout, sum, opt)
	if *png != "" {
		bars := make([]Summary, len(sum))
		for i, s := range sum {
			bars[i] = Summary{Config: s.Config, Rounds: s.Rounds, Median: Sample{SinkPPS: s.Median.AnswersQPS}}
		}
		if err := WriteBarPNG(*png, "vecnet bench dns: answers received, median", "answers, M/s", bars); err != nil {
			return err
		}
		fmt.Println("plot:", *png, "(bars: answers received, M/s)")
	}
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(struct {
			Options DNSOptions   `json:"options"`
			Samples []DNSSample  `json:"samples"`
			Medians []DNSSummary `json:"medians"`
		}{opt, samples, sum}, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(DNSRatioLine(sum))
	return nil
}

// dnsRigOptions shape the DNS benchmark's rig: peer offloads off, as
// before offloads were left at their defaults elsewhere (kxdpgun writes
// whole frames through AF_XDP; the kernel-side servers' answers would
// otherwise leave with partial checksums), so that figures stay
// comparable with earlier runs.
var dnsRigOptions = topo.RigOptions{Prefix: "vnd", OffloadsOff: true}

// RunDNS builds a rig (host A the client, the router namespace the server,
// host B unused), writes the zone and the query file into dir, and measures
// every configuration in every round, interleaved.
func RunDNS(opt DNSOptions, dir string) (samples []DNSSample, err error) {
	rig, err := topo.NewRig(dnsRigOptions)
	if err != nil {
		return nil, err
	}
	benchCleanup.set(rig.Close)
	defer func() {
		benchCleanup.set(nil)
		err = errors.Join(err, rig.Close())
	}()
	if err := rig.StaticNeighbors(); err != nil {
		return nil, err
	}
	for _, ns := range []topo.NS{rig.A, rig.R} {
		if _, err := ns.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"); err != nil {
			return nil, err
		}
	}
	if opt.NAPI {
		if err := (napiPin{rig.R, topo.RouterA, opt.ServerCPU, opt.NAPINice}).enable(); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "zone"), []byte(dnsBenchZone), 0o644); err != nil {
		return nil, err
	}
	qfile := filepath.Join(dir, "queries")
	if err := os.WriteFile(qfile, []byte(dnsBenchQueries), 0o644); err != nil {
		return nil, err
	}
	for r := 1; r <= opt.Rounds; r++ {
		for _, c := range opt.Configs {
			s := measureDNS(rig, c, r, dir, qfile, opt)
			if s.Err != "" {
				fmt.Fprintf(opt.Log, "round %d %-8s error: %s\n", r, c, s.Err)
			} else {
				fmt.Fprintf(opt.Log, "round %d %-8s sent %.0f/s answers %.0f/s server idle %.0f%% dnsperf %.0f/s\n",
					r, c, s.SentQPS, s.AnswersQPS, 100*s.ServerIdle, s.DnsperfQPS)
			}
			samples = append(samples, s)
		}
	}
	return samples, nil
}

// measureDNS runs one server configuration: kxdpgun for the window with
// /proc/stat read around it, then dnsperf, then the server stops.
func measureDNS(rig *topo.Rig, name string, round int, dir, qfile string, opt DNSOptions) (s DNSSample) {
	s = DNSSample{Config: name, Round: round}
	srv, err := startDNSServer(rig, name, dir, opt.Server, opt.ServerCPU)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer func() {
		if err := srv.stop(); err != nil && s.Err == "" {
			s.Err = err.Error()
		}
		s.ServerQs = srv.queries()
	}()
	if opt.NAPI {
		// After the server started: an XDP program attached in native mode
		// (knot-xdp) rebuilds the NAPI instance and its thread.
		if _, err := (napiPin{rig.R, topo.RouterA, opt.ServerCPU, opt.NAPINice}).pin(); err != nil {
			s.Err = err.Error()
			return s
		}
	}
	busy0, vecnet := srv.busy()
	t0 := time.Now()
	samp := startCPUSampler(100 * time.Millisecond)
	out, err := rig.A.Run("taskset", "-c", strconv.Itoa(opt.ClientCPU), "kxdpgun", "-t", strconv.Itoa(int(opt.Window/time.Second)),
		"-Q", strconv.Itoa(opt.QPS), "-i", qfile, "-I", topo.HostDev, "-F", strconv.Itoa(opt.ClientCPU),
		"-R", topo.RouterAMAC, dnsServerAddr)
	s.ServerIdle, s.ClientIdle = samp.stop(opt.ServerCPU, opt.ClientCPU)
	s.ServerBusy = 1 - s.ServerIdle
	if busy1, ok := srv.busy(); vecnet && ok {
		s.ServerBusy = float64(busy1-busy0) / float64(time.Since(t0))
	}
	// kxdpgun detaches its program at exit; make sure before the next run.
	rig.A.Run("ip", "link", "set", "dev", topo.HostDev, "xdp", "off")
	if err != nil {
		s.Err = err.Error()
		return s
	}
	sent, _, ok1 := kxdpgunTotal(out, "total queries")
	replies, _, ok2 := kxdpgunTotal(out, "total replies")
	if !ok1 || !ok2 {
		s.Err = "kxdpgun output not understood: " + lastLines(out, 4)
		return s
	}
	s.Window = opt.Window.Seconds()
	s.SentQPS, s.AnswersQPS, s.Replies = float64(sent)/s.Window, float64(replies)/s.Window, replies
	if opt.Dnsperf > 0 {
		if _, err := exec.LookPath("dnsperf"); err == nil {
			out, err := rig.A.Run("taskset", "-c", strconv.Itoa(opt.ClientCPU), "dnsperf", "-s", dnsServerAddr,
				"-d", qfile, "-l", strconv.Itoa(int(opt.Dnsperf/time.Second)), "-c", "8", "-q", "1000", "-t", "2")
			if err == nil {
				s.DnsperfQPS = dnsperfFloat(out, `Queries per second:\s+([0-9.]+)`)
				s.DnsperfLost = dnsperfFloat(out, `Queries lost:\s+\d+ \(([0-9.]+)%\)`) / 100
			}
		}
	}
	return s
}

// kxdpgunTotal reads a "total queries:  N (R pps)" line of kxdpgun.
func kxdpgunTotal(out, label string) (n uint64, pps float64, ok bool) {
	re := regexp.MustCompile(regexp.QuoteMeta(label) + `:\s+(\d+) \((\d+) pps\)`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, false
	}
	n, _ = strconv.ParseUint(m[1], 10, 64)
	pps, _ = strconv.ParseFloat(m[2], 64)
	return n, pps, true
}

func dnsperfFloat(out, expr string) float64 {
	m := regexp.MustCompile(expr).FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// SummarizeDNS takes per-field medians per configuration, in configs order;
// the headline rate is the answers the client received.
func SummarizeDNS(samples []DNSSample, configs []string) []DNSSummary {
	return summarize(samples, configs, func(s *DNSSample) float64 { return s.AnswersQPS })
}

// WriteDNSTable prints the medians as a Markdown table and how to read it.
func WriteDNSTable(w io.Writer, sum []DNSSummary, opt DNSOptions) {
	fmt.Fprintf(w, "\nDNS answers/s, medians of %d interleaved rounds × %v (kxdpgun AF_XDP on CPU %d offering %d qps; server on CPU %d, %s, %s)\n\n",
		opt.Rounds, opt.Window, opt.ClientCPU, opt.QPS, opt.ServerCPU, napiNote(opt.NAPI, opt.ServerCPU, "server"), dnsRigOptions.Offloads())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintf(tw, "| config\t sent kqps\t answers kqps\t ×kernel\t CPU%d idle (server)\t server busy\t CPU%d idle (client)\t server counted/client got\t dnsperf kqps\t\n", opt.ServerCPU, opt.ClientCPU)
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, s := range sum {
		if s.Rounds == 0 {
			fmt.Fprintf(tw, "| %s\t unavailable: %s\t\t\t\t\t\t\t\t\n", s.Config, s.firstError())
			continue
		}
		m := s.Median
		cross := "–"
		if m.ServerQs > 0 && m.Replies > 0 {
			cross = fmt.Sprintf("%.2f", float64(m.ServerQs)/float64(m.Replies))
		}
		perf := "–"
		if m.DnsperfQPS > 0 {
			perf = fmt.Sprintf("%.0f", m.DnsperfQPS/1e3)
		}
		fmt.Fprintf(tw, "| %s\t %.0f\t %.0f\t %.2f\t %.0f%%\t %.0f%%\t %.0f%%\t %s\t %s\t\n", s.Config, m.SentQPS/1e3, m.AnswersQPS/1e3,
			s.RatioToKernel, 100*m.ServerIdle, 100*m.ServerBusy, 100*m.ClientIdle, cross, perf)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nper round, answers kqps:")
	writeRounds(w, sum, "%.0f", 1e3)
	fmt.Fprintln(w, "\nanswers: replies kxdpgun received per second. A server CPU with idle time left while answers < sent means the")
	fmt.Fprintln(w, "client side (kxdpgun and the veth work it pays for on its CPU) is the ceiling, not the server.")
	fmt.Fprintln(w, "server busy: share of the window the server worked. vecnet's worker busy-polls, so its CPU shows no idle time;")
	fmt.Fprintln(w, "its busy share is the time it spent in dispatch passes that moved packets (show runtime), the rest was")
	fmt.Fprintln(w, "empty polling: spare capacity. For the others it is 1 − idle.")
	fmt.Fprintln(w, "server counted/client got: the dnsserver's own query count over the whole run (readiness probes, kxdpgun and dnsperf)")
	fmt.Fprintln(w, "over kxdpgun's replies: ≥ 1, the excess is dnsperf's share and replies lost on the way back.")
}

// DNSRatioLine is the benchmark's last line: "ingraph/kernel: R".
func DNSRatioLine(sum []DNSSummary) string {
	for _, s := range sum {
		if s.Config == "ingraph" && s.RatioToKernel > 0 {
			return fmt.Sprintf("ingraph/kernel: %.2f", s.RatioToKernel)
		}
	}
	return "ingraph/kernel: n/a"
}

// cpuSampler reads /proc/stat every period while kxdpgun runs, so that the
// idle shares cover only the time it was sending, not its start-up.
type cpuSampler struct {
	done chan struct{}
	out  chan []cpuSnap
}

// cpuSnap is /proc/stat's busy ticks per CPU at a time.
type cpuSnap struct {
	at   time.Time
	busy []uint64
}

func startCPUSampler(period time.Duration) *cpuSampler {
	c := &cpuSampler{done: make(chan struct{}), out: make(chan []cpuSnap, 1)}
	go func() {
		var snaps []cpuSnap
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			if b, err := cpuBusyJiffies(); err == nil {
				snaps = append(snaps, cpuSnap{time.Now(), b})
			}
			select {
			case <-c.done:
				c.out <- snaps
				return
			case <-t.C:
			}
		}
	}()
	return c
}

// stop returns the idle shares of the server and the client CPU over the
// sampling periods in which the client CPU was at least 90% busy (the
// generator sending); over all periods when there was none.
func (c *cpuSampler) stop(server, client int) (serverIdle, clientIdle float64) {
	close(c.done)
	snaps := <-c.out
	var sb, cb, n, asb, acb, an float64
	for i := 1; i < len(snaps); i++ {
		a, b := snaps[i-1].busy, snaps[i].busy
		if len(a) <= 1+max(server, client) || len(a) != len(b) {
			continue
		}
		ds, dc := float64(b[1+server]-a[1+server]), float64(b[1+client]-a[1+client])
		per := float64(snaps[i].at.Sub(snaps[i-1].at)) / jiffyNs
		asb, acb, an = asb+ds, acb+dc, an+per
		if dc >= 0.9*per {
			sb, cb, n = sb+ds, cb+dc, n+per
		}
	}
	if n == 0 {
		sb, cb, n = asb, acb, an
	}
	if n == 0 {
		return 0, 0
	}
	return max(0, 1-sb/n), max(0, 1-cb/n)
}
