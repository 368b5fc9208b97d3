package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/metrics"
	"github.com/vecnet/vecnet/internal/daemontest"
	vtestutil "github.com/vecnet/vecnet/internal/testutil"
)

// TestPrometheusScrapesLiveDaemon runs vecnet as a router with pings
// flowing through it, serves NewHandler on a loopback port, and starts a
// real Prometheus server (Debian's prometheus) that scrapes it every
// second. It queries Prometheus's HTTP API until the scrape target is up
// and vecnet_interface_rx_packets_total of the router's host A side has
// grown between two scrapes; the error counter of the unrouted pings must
// be there too. Prometheus and its temporary directory are removed at
// cleanup.
func TestPrometheusScrapesLiveDaemon(t *testing.T) {
	vtestutil.RequireRoot(t)
	vtestutil.RequireTool(t, "prometheus")
	rig, d := daemontest.Router(t, "vpm", "afxdp")
	daemontest.Traffic(t, rig)
	target := serve(t, metrics.NewHandler(d))
	checkMetrics(t, "http://"+target+"/metrics")
	api := startPrometheus(t, target)

	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond) // Prometheus scrapes every second
	defer tick.Stop()
	first := -1.0
	for ; ; <-tick.C {
		v, err := api.value(`vecnet_interface_rx_packets_total{interface="ra",job="vecnet"}`)
		switch {
		case err != nil:
		case first < 0 && v > 0:
			first = v
			t.Logf("Prometheus has vecnet_interface_rx_packets_total{interface=\"ra\"} = %v", v)
		case first >= 0 && v > first:
			t.Logf("... then %v: growing", v)
			if n, err := api.value(`sum(vecnet_node_errors_total{node="ip4-lookup",job="vecnet"})`); err != nil || n <= 0 {
				t.Errorf("ip4-lookup's error counters in Prometheus: %v, %v; want > 0 (unrouted pings)", n, err)
			}
			if n, err := api.value(`vecnet_build_info{job="vecnet"}`); err != nil || n != 1 {
				t.Errorf("vecnet_build_info: %v, %v", n, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vecnet_interface_rx_packets_total did not show up growing in Prometheus (first value %v, last error %v)\ntargets: %s\nprometheus log:\n%s",
				first, err, api.get("/api/v1/targets"), api.log)
		}
	}
}

// checkMetrics runs promtool check metrics over a scrape of url.
func checkMetrics(t *testing.T, url string) {
	t.Helper()
	vtestutil.RequireTool(t, "promtool")
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", url, resp.Status, err)
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics on the live daemon's scrape: %v\n%s", err, out)
	}
	t.Logf("promtool check metrics: clean on %d bytes, %d lines", len(body), bytes.Count(body, []byte("\n")))
}

// serve serves h on a loopback port until the test ends and returns the
// host:port.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// promAPI queries a Prometheus server's HTTP API.
type promAPI struct {
	base   string
	client *http.Client
	log    *vtestutil.SyncBuffer
}

// startPrometheus starts Prometheus on a loopback port with a temporary
// configuration and storage that scrape target every second; it is killed
// (and its directory removed) at cleanup.
func startPrometheus(t *testing.T, target string) *promAPI {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vecnet
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	log := &vtestutil.SyncBuffer{}
	cmd := exec.Command("prometheus",
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	api := &promAPI{base: "http://" + addr, client: &http.Client{Timeout: 5 * time.Second}, log: log}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		api.client.CloseIdleConnections()
		cmd.Process.Kill()
		<-exited
	})
	vtestutil.Eventually(t, 60*time.Second, "Prometheus ready on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", log)
		default:
		}
		return api.get("/-/ready") != ""
	})
	return api
}

// freePort returns a loopback address with a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// get returns the body of a 200 response to GET path, or "".
func (p *promAPI) get(path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	resp, err := p.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// value runs an instant query that must return one sample and returns it.
func (p *promAPI) value(query string) (float64, error) {
	body := p.get("/api/v1/query?query=" + url.QueryEscape(query))
	if body == "" {
		return 0, errors.New("query failed")
	}
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return 0, err
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %s", query, body)
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}
