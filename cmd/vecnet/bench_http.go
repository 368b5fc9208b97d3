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

// HTTPOptions shape one "vecnet bench http" run.
type HTTPOptions struct {
	Rounds    int           // interleaved rounds over Configs
	Window    time.Duration // wrk's run per configuration, connection mode and round (whole seconds)
	Conns     int           // wrk's connections
	Configs   []string      // of "kernel", "nethttp", "nethttp-dedicated", "ingraph", "nginx"
	ClientCPU int           // wrk's CPU
	ServerCPU int           // the server process's CPU (all its threads)
	Server    string        // the httpserver binary
	Log       io.Writer     `json:"-"`
}

// HTTPSample is one configuration measured in one round and connection
// mode (keep-alive, or a new connection per request).
type HTTPSample struct {
	Config    string  `json:"config"`
	KeepAlive bool    `json:"keep_alive"`
	Round     int     `json:"round"`
	Err       string  `json:"error,omitempty"`
	Window    float64 `json:"window_s"`

	ReqPerSec  float64 `json:"req_per_s"`   // wrk's Requests/sec
	Requests   float64 `json:"requests"`    // wrk's requests completed
	Errors     float64 `json:"errors"`      // wrk's socket errors and non-2xx answers
	P50us      float64 `json:"p50_us"`      // wrk's latency percentiles, µs
	P99us      float64 `json:"p99_us"`      //
	ServerBusy float64 `json:"server_busy"` // 1 - idle share of ServerCPU during wrk
	ClientBusy float64 `json:"client_busy"` // 1 - idle share of ClientCPU during wrk
	CPUus      float64 `json:"cpu_us_req"`  // server CPU time per request, µs (ServerBusy × window / requests)
	WorkerUs   float64 `json:"worker_us_req"`
	// The server process's own figures (all its threads, from
	// /proc/PID/task/*/schedstat): unlike ServerBusy they leave out other
	// processes sharing its CPU, so they hold on a loaded machine.
	ProcUs    float64 `json:"proc_cpu_us_req"`  // its CPU time per request, µs
	SwitchReq float64 `json:"switches_per_req"` // times its threads were switched in, per request
	FaultsReq float64 `json:"faults_per_req"`   // its page faults (/proc/PID/stat minflt+majflt) per request
}

func (s *HTTPSample) configName() string { return s.Config }
func (s *HTTPSample) failure() string    { return s.Err }
func (s *HTTPSample) setConfig(c string) { s.Config = c }
func (s *HTTPSample) columns() []any {
	return []any{&s.Window, &s.ReqPerSec, &s.Requests, &s.Errors, &s.P50us, &s.P99us, &s.ServerBusy, &s.ClientBusy,
		&s.CPUus, &s.WorkerUs, &s.ProcUs, &s.SwitchReq, &s.FaultsReq}
}

// HTTPSummary is the HTTP benchmark's per-configuration medians.
type HTTPSummary = BenchSummary[HTTPSample]

// httpBody is what every configuration serves at GET /.
const httpBody = "hello from httpserver\n"

// cmdBenchHTTP runs "vecnet bench http".
func cmdBenchHTTP(path string, args []string) error {
	fs := newFlags(path, "[flags]", "Load HTTP servers (kernel net/http, net/http on vecnet's sock, in-graph, nginx) with wrk; print the medians.")
	rounds := fs.Int("rounds", 3, "interleaved rounds over the configurations")
	seconds := fs.Int("seconds", 5, "wrk's run per configuration, connection mode and round, in seconds")
	conns := fs.Int("conns", 32, "wrk's connections")
	configs := fs.String("configs", "kernel,nethttp,ingraph,nginx", "configurations to compare (also nethttp-dedicated: net/http on vecnet with the worker on its own thread)")
	server := fs.String("server", "", "the httpserver binary (default: go build vecnet/examples/httpserver)")
	jsonPath := fs.String("json", "", "write the samples and medians as JSON to this file")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if err := benchNeeds("http", "wrk", "curl", "taskset"); err != nil {
		return err
	}
	defer removeRigOnSignal()()
	dir, err := os.MkdirTemp("", "vecnet-bench-http")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opt := HTTPOptions{Rounds: *rounds, Window: time.Duration(*seconds) * time.Second, Conns: *conns,
		Configs: strings.Split(*configs, ","), ClientCPU: 0, ServerCPU: 1, Server: *server, Log: os.Stderr}
	if opt.Server == "" {
		opt.Server = filepath.Join(dir, "httpserver")
		if out, err := exec.Command("go", "build", "-o", opt.Server, "github.com/vecnet/vecnet/examples/httpserver").CombinedOutput(); err != nil {
			return fmt.Errorf("go build vecnet/examples/httpserver (or pass -server): %w: %s", err, out)
		}
	}
	samples, err := RunHTTP(opt, dir)
	if err != nil {
		return err
	}
	var ka, cl []HTTPSample
	for _, s := range samples {
		if s.KeepAlive {
			ka = append(ka, s)
		} else {
			cl = append(cl, s)
		}
	}
	sumKA, sumCl := SummarizeHTTP(ka, opt.Configs), SummarizeHTTP(cl, opt.Configs)
	WriteHTTPTable(os.Stdout, sumKA, sumCl, opt)
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(struct {
			Options   HTTPOptions   `json:"options"`
			Samples   []HTTPSample  `json:"samples"`
			KeepAlive []HTTPSummary `json:"medians_keep_alive"`
			Close     []HTTPSummary `json:"medians_new_connection"`
		}{opt, samples, sumKA, sumCl}, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(HTTPRatioLine(sumKA))
	return nil
}

// RunHTTP builds a rig (host A the client, the router namespace the
// server, peers at their default offloads) and measures every
// configuration in both connection modes in every round, interleaved.
func RunHTTP(opt HTTPOptions, dir string) (samples []HTTPSample, err error) {
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "vnh"})
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
	for r := 1; r <= opt.Rounds; r++ {
		for _, c := range opt.Configs {
			for _, ka := range []bool{true, false} {
				s := measureHTTP(rig, c, ka, r, dir, opt)
				mode := "keep-alive"
				if !ka {
					mode = "new-conn"
				}
				if s.Err != "" {
					fmt.Fprintf(opt.Log, "round %d %-8s %-10s error: %s\n", r, c, mode, s.Err)
				} else {
					fmt.Fprintf(opt.Log, "round %d %-8s %-10s %8.0f req/s p50 %5.0f µs p99 %6.0f µs server CPU %3.0f%% %.1f µs/req proc %.1f µs/req %.2f switches/req %.3f faults/req worker %.1f µs/req client CPU %3.0f%%\n",
						r, c, mode, s.ReqPerSec, s.P50us, s.P99us, 100*s.ServerBusy, s.CPUus, s.ProcUs, s.SwitchReq, s.FaultsReq, s.WorkerUs, 100*s.ClientBusy)
				}
				samples = append(samples, s)
			}
		}
	}
	return samples, nil
}

// nginxConf serves httpBody at every path, one worker in the foreground,
// no logging, keep-alive without a request limit (as the others).
func nginxConf(dir string) string {
	return fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path %[1]s;
    proxy_temp_path %[1]s;
    fastcgi_temp_path %[1]s;
    uwsgi_temp_path %[1]s;
    scgi_temp_path %[1]s;
    server {
        listen %[2]s:80;
        location / { default_type text/plain; return 200 %[3]q; }
    }
}
`, dir, dnsServerAddr, httpBody)
}

// startHTTPServer brings up configuration name in the rig's router
// namespace, pinned to cpu, and waits until it answers GET /.
func startHTTPServer(rig *topo.Rig, name, dir, server string, cpu int) (*dnsServer, error) {
	cpus := strconv.Itoa(cpu)
	s := &dnsServer{name: name, stderr: new(lockedBuffer), exited: make(chan struct{})}
	var err error
	switch name {
	case "kernel":
		err = kernelOwnsAddr(rig)
		s.cmd = rig.R.Command("taskset", "-c", cpus, server, "-kernel", "-listen", dnsServerAddr+":80")
	case "nethttp", "nethttp-dedicated", "ingraph":
		err = vecnetOwnsAddr(rig)
		yaml := filepath.Join(dir, "vecnet.yaml")
		if err == nil {
			s.cli = filepath.Join(dir, "cli.sock")
			err = os.WriteFile(yaml, []byte(vecnetYAML(rig, s.cli)), 0o644)
		}
		mode, thread := name, []string{}
		if name == "nethttp-dedicated" { // net/http with the worker on a thread of its own (before worker_thread: shared)
			mode, thread = "nethttp", []string{"-worker-thread", "dedicated"}
		}
		s.cmd = exec.Command("taskset", append([]string{"-c", cpus, server, "-vecnet", "-config", yaml, "-mode", mode,
			"-listen", dnsServerAddr + ":80"}, thread...)...)
	case "nginx":
		err = kernelOwnsAddr(rig)
		conf := filepath.Join(dir, "nginx.conf")
		if err == nil {
			err = os.WriteFile(conf, []byte(nginxConf(dir)), 0o644)
		}
		s.cmd = rig.R.Command("taskset", "-c", cpus, "nginx", "-c", conf, "-p", dir, "-e", "stderr")
	default:
		return nil, fmt.Errorf("unknown configuration %q (kernel, nethttp, nethttp-dedicated, ingraph, nginx)", name)
	}
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := rig.A.Command("curl", "-s", "--max-time", "1", "http://"+dnsServerAddr+"/").Output()
		if string(out) == httpBody {
			return s, nil
		}
		select {
		case <-s.exited:
			deadline = time.Time{}
		case <-time.After(100 * time.Millisecond): // poll interval of the readiness check
		}
		if time.Now().After(deadline) {
			err := s.stop()
			return nil, fmt.Errorf("%s: no answer within 15 s or exited (stop: %v): %s", name, err, lastLines(s.stderr.String(), 5))
		}
	}
}

// measureHTTP runs wrk against one configuration with /proc/stat read
// around it.
func measureHTTP(rig *topo.Rig, name string, keepAlive bool, round int, dir string, opt HTTPOptions) (s HTTPSample) {
	s = HTTPSample{Config: name, KeepAlive: keepAlive, Round: round}
	srv, err := startHTTPServer(rig, name, dir, opt.Server, opt.ServerCPU)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer func() {
		if err := srv.stop(); err != nil && s.Err == "" {
			s.Err = err.Error()
		}
	}()
	args := []string{"-c", strconv.Itoa(opt.ClientCPU), "wrk", "-t", "1", "-c", strconv.Itoa(opt.Conns),
		"-d", strconv.Itoa(int(opt.Window/time.Second)) + "s", "--latency"}
	if !keepAlive {
		args = append(args, "-H", "Connection: close")
	}
	args = append(args, "http://"+dnsServerAddr+"/")
	busy0, vecnet := srv.busy()
	run0, sw0, procOK := procSchedstat(srv.cmd.Process.Pid)
	flt0, fltOK := procFaults(srv.cmd.Process.Pid)
	t0 := time.Now()
	samp := startCPUSampler(100 * time.Millisecond)
	out, err := rig.A.Run("taskset", args...)
	idleS, idleC := samp.stop(opt.ServerCPU, opt.ClientCPU)
	el := time.Since(t0)
	run1, sw1, procOK1 := procSchedstat(srv.cmd.Process.Pid)
	flt1, fltOK1 := procFaults(srv.cmd.Process.Pid)
	s.ServerBusy, s.ClientBusy = 1-idleS, 1-idleC
	if err != nil {
		s.Err = err.Error() + ": " + lastLines(out, 3)
		return s
	}
	if err := parseWrk(out, &s); err != nil {
		s.Err = err.Error()
		return s
	}
	s.Window = opt.Window.Seconds()
	if s.Requests > 0 {
		s.CPUus = s.ServerBusy * s.Window * 1e6 / s.Requests
		if procOK && procOK1 {
			perReq := s.Requests * el.Seconds() / s.Window // requests in el, as for WorkerUs
			s.ProcUs = float64(run1-run0) / float64(time.Microsecond) / perReq
			s.SwitchReq = float64(sw1-sw0) / perReq
			if fltOK && fltOK1 {
				s.FaultsReq = float64(flt1-flt0) / perReq
			}
		}
		if busy1, ok := srv.busy(); vecnet && ok {
			s.WorkerUs = float64(busy1-busy0) / float64(time.Microsecond) / (s.Requests * el.Seconds() / s.Window)
		}
	}
	return s
}

// procSchedstat sums the CPU time (ns) and the times switched in over the
// threads of process pid (/proc/PID/task/*/schedstat: run time, wait time,
// timeslices); false when it cannot be read.
func procSchedstat(pid int) (runNs, switches uint64, ok bool) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) < 3 {
			continue
		}
		run, _ := strconv.ParseUint(f[0], 10, 64)
		n, _ := strconv.ParseUint(f[2], 10, 64)
		runNs += run
		switches += n
	}
	return runNs, switches, true
}

// procFaults returns process pid's page faults (minor and major, from
// /proc/PID/stat); false when it cannot be read.
func procFaults(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces: count from its ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 10 {
		return 0, false
	}
	minflt, err1 := strconv.ParseUint(f[7], 10, 64) // field 10
	majflt, err2 := strconv.ParseUint(f[9], 10, 64) // field 12
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return minflt + majflt, true
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(\d+) requests in`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\b`)
	wrkSockErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's summary (with --latency) into s.
func parseWrk(out string, s *HTTPSample) error {
	m := wrkRPS.FindStringSubmatch(out)
	t := wrkTotal.FindStringSubmatch(out)
	if m == nil || t == nil {
		return errors.New("wrk output not understood: " + lastLines(out, 4))
	}
	s.ReqPerSec, _ = strconv.ParseFloat(m[1], 64)
	s.Requests, _ = strconv.ParseFloat(t[1], 64)
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		switch p[3] {
		case "ms":
			v *= 1e3
		case "s":
			v *= 1e6
		}
		if p[1] == "50" {
			s.P50us = v
		} else {
			s.P99us = v
		}
	}
	if e := wrkSockErrs.FindStringSubmatch(out); e != nil {
		for _, f := range e[1:] {
			n, _ := strconv.ParseFloat(f, 64)
			s.Errors += n
		}
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		n, _ := strconv.ParseFloat(e[1], 64)
		s.Errors += n
	}
	return nil
}

// SummarizeHTTP takes per-field medians per configuration, in configs
// order; the headline rate is wrk's requests per second.
func SummarizeHTTP(samples []HTTPSample, configs []string) []HTTPSummary {
	return summarize(samples, configs, func(s *HTTPSample) float64 { return s.ReqPerSec })
}

// WriteHTTPTable prints the medians of both connection modes as Markdown
// tables and how to read them.
func WriteHTTPTable(w io.Writer, ka, cl []HTTPSummary, opt HTTPOptions) {
	fmt.Fprintf(w, "\nHTTP GET / (%d-byte body), medians of %d interleaved rounds × %v (wrk -t1 -c%d on CPU %d in host A; server on CPU %d; peers at default offloads)\n",
		len(httpBody), opt.Rounds, opt.Window, opt.Conns, opt.ClientCPU, opt.ServerCPU)
	for _, t := range []struct {
		title string
		sum   []HTTPSummary
	}{{"keep-alive", ka}, {"new connection per request (Connection: close)", cl}} {
		fmt.Fprintf(w, "\n%s\n\n", t.title)
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
		fmt.Fprintf(tw, "| config\t req/s\t ×kernel\t p50 µs\t p99 µs\t server CPU\t CPU µs/req\t proc µs/req\t switches/req\t faults/req\t worker µs/req\t client CPU\t errors\t\n")
		fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
		for _, s := range t.sum {
			if s.Rounds == 0 {
				fmt.Fprintf(tw, "| %s\t unavailable: %s\t\t\t\t\t\t\t\t\t\t\t\t\n", s.Config, s.firstError())
				continue
			}
			m := s.Median
			wk := "–"
			if m.WorkerUs > 0 {
				wk = fmt.Sprintf("%.1f", m.WorkerUs)
			}
			fmt.Fprintf(tw, "| %s\t %.0f\t %.2f\t %.0f\t %.0f\t %.0f%%\t %.1f\t %.1f\t %.2f\t %.3f\t %s\t %.0f%%\t %.0f\t\n", s.Config, m.ReqPerSec,
				s.RatioToKernel, m.P50us, m.P99us, 100*m.ServerBusy, m.CPUus, m.ProcUs, m.SwitchReq, m.FaultsReq, wk, 100*m.ClientBusy, m.Errors)
		}
		tw.Flush()
		fmt.Fprintln(w, "\nper round, kreq/s:")
		writeRounds(w, t.sum, "%.1f", 1e3)
	}
	fmt.Fprintln(w, "\nserver CPU: 1 − idle of the server's CPU while wrk ran; CPU µs/req = that × window / requests. vecnet's")
	fmt.Fprintln(w, "worker may poll while idle, so for nethttp/ingraph worker µs/req (its busy time in show runtime per request)")
	fmt.Fprintln(w, "is the work done. A client CPU near 100% with server CPU left idle means wrk is the ceiling: compare CPU/req then.")
	fmt.Fprintln(w, "proc µs/req, switches/req and faults/req are the server process's own CPU time, context switches (its")
	fmt.Fprintln(w, "threads' schedstat) and page faults per request: other processes on its CPU do not count, so they hold on")
	fmt.Fprintln(w, "a loaded machine.")
}

// HTTPRatioLine is the benchmark's last line: "vecnet/kernel: R", the
// in-graph mode's keep-alive requests per second over net/http on the
// kernel's.
func HTTPRatioLine(ka []HTTPSummary) string {
	for _, s := range ka {
		if s.Config == "ingraph" && s.RatioToKernel > 0 {
			return fmt.Sprintf("vecnet/kernel: %.2f", s.RatioToKernel)
		}
	}
	return "vecnet/kernel: n/a"
}
