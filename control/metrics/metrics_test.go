package metrics_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vecnet/vecnet/control/metrics"
	"github.com/vecnet/vecnet/control/snapshot"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	vtestutil "github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/worker"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// fakeSource returns a fixed snapshot: two workers, the second wedged, an
// AF_XDP and an AF_PACKET interface.
type fakeSource struct{ s snapshot.Snapshot }

func (f *fakeSource) Snapshot() *snapshot.Snapshot { s := f.s; return &s }

func newFake() *fakeSource {
	return &fakeSource{s: snapshot.Snapshot{
		Time:           time.Unix(1700000000, 0),
		TicksPerSecond: 2e9,
		Workers: []snapshot.Worker{{
			ID: 0, Up: true,
			Stats: graphWorkerStats(),
			Nodes: []graph.NodeStats{
				{Name: "error-drop", Stats: graph.Stats{Calls: 2, Vectors: 3, Clocks: 600}},
				{Name: "ip4-input", Stats: graph.Stats{Calls: 10, Vectors: 640, Clocks: 4e9}},
			},
			Errors: []graph.ErrorCount{
				{Node: "ip4-input", Name: "bad_checksum", Severity: graph.SevError, Count: 3},
				{Node: "ip4-input", Name: "bad_checksum", Severity: graph.SevError, Count: 4}, // a duplicate row is summed
				{Node: "ip4-lookup", Name: "no_route", Severity: graph.SevWarn, Count: 0},
			},
		}, {ID: 1, Up: false}},
		Interfaces: []snapshot.Interface{
			{Name: "ra", Index: 0, Driver: "afxdp", MAC: "02:76:6e:00:01:01", MTU: 1500, Stats: driver.Stats{
				RxPackets: 100, RxBytes: 6400, TxPackets: 90, TxBytes: 5760, RxDrops: 1, TxDrops: 2, RxErrors: 3,
				Kernel: driver.KernelStats{RxDropped: 4, RxInvalidDescs: 5, RxRingFull: 6, FillRingEmpty: 7, TxInvalidDescs: 8, TxRingEmptyDesc: 9}}},
			{Name: "rb", Index: 1, Driver: "afpacket", MAC: "02:76:6e:00:02:01", MTU: 9000, Stats: driver.Stats{RxPackets: 5}},
		},
		Buffers:   snapshot.Buffers{Slots: 1000, SlotBytes: 4096, Free: 900},
		Neighbors: neighbor.Stats{Entries: 4, Static: 1, Reachable: 2, Stale: 1, Limit: 1024, Created: 7, Refused: 1, Adj: fib.AdjStats{Live: 5, Free: 3, Slots: 8}},
		Routes:    6,
	}}
}

func graphWorkerStats() (s worker.Stats) {
	s.Loops, s.Sleeps, s.Packets, s.BusyNs = 1000, 20, 640, 1_500_000_000
	return s
}

const wantText = `
# HELP vecnet_buffer_pool_in_flight_buffers Packet buffers not free: on rings, in the kernel, in vectors and queues.
# TYPE vecnet_buffer_pool_in_flight_buffers gauge
vecnet_buffer_pool_in_flight_buffers 100
# HELP vecnet_buffer_size_bytes Size of one packet buffer (headroom and data).
# TYPE vecnet_buffer_size_bytes gauge
vecnet_buffer_size_bytes 4096
# HELP vecnet_fib_routes Prefixes in the IPv4 FIB (connected, local and static).
# TYPE vecnet_fib_routes gauge
vecnet_fib_routes 6
# HELP vecnet_interface_info An interface's driver, MAC and index (always 1).
# TYPE vecnet_interface_info gauge
vecnet_interface_info{driver="afpacket",index="1",interface="rb",mac="02:76:6e:00:02:01"} 1
vecnet_interface_info{driver="afxdp",index="0",interface="ra",mac="02:76:6e:00:01:01"} 1
# HELP vecnet_interface_rx_packets_total Frames received on the interface's ports.
# TYPE vecnet_interface_rx_packets_total counter
vecnet_interface_rx_packets_total{interface="ra"} 100
vecnet_interface_rx_packets_total{interface="rb"} 5
# HELP vecnet_interface_tx_bytes_total Bytes transmitted on the interface's ports.
# TYPE vecnet_interface_tx_bytes_total counter
vecnet_interface_tx_bytes_total{interface="ra"} 5760
vecnet_interface_tx_bytes_total{interface="rb"} 0
# HELP vecnet_interface_xdp_fill_ring_empty_total AF_XDP: times the kernel found the fill ring empty (the frames are in rx_dropped).
# TYPE vecnet_interface_xdp_fill_ring_empty_total counter
vecnet_interface_xdp_fill_ring_empty_total{interface="ra"} 7
# HELP vecnet_neighbor_state_entries Dynamic neighbour entries by state.
# TYPE vecnet_neighbor_state_entries gauge
vecnet_neighbor_state_entries{state="probe"} 0
vecnet_neighbor_state_entries{state="reachable"} 2
vecnet_neighbor_state_entries{state="stale"} 1
# HELP vecnet_node_errors_total The node's error counters by reason (VPP's show errors); severity info counts events that are not losses.
# TYPE vecnet_node_errors_total counter
vecnet_node_errors_total{node="ip4-input",reason="bad_checksum",severity="error",worker="0"} 7
vecnet_node_errors_total{node="ip4-lookup",reason="no_route",severity="warn",worker="0"} 0
# HELP vecnet_node_time_seconds_total Time spent in the node's function: its TSC clocks converted to seconds.
# TYPE vecnet_node_time_seconds_total counter
vecnet_node_time_seconds_total{node="error-drop",worker="0"} 3e-07
vecnet_node_time_seconds_total{node="ip4-input",worker="0"} 2
# HELP vecnet_node_vectors_total Packets the node processed (VPP's vectors).
# TYPE vecnet_node_vectors_total counter
vecnet_node_vectors_total{node="error-drop",worker="0"} 3
vecnet_node_vectors_total{node="ip4-input",worker="0"} 640
# HELP vecnet_worker_busy_seconds_total Wall time the worker spent in passes that moved packets.
# TYPE vecnet_worker_busy_seconds_total counter
vecnet_worker_busy_seconds_total{worker="0"} 1.5
# HELP vecnet_worker_up 1 when the worker answered this scrape, 0 when it is wedged (its counters are then missing).
# TYPE vecnet_worker_up gauge
vecnet_worker_up{worker="0"} 1
vecnet_worker_up{worker="1"} 0
`

// TestCollectorValues checks names, labels and values of a sample of the
// metrics against a fake source: clocks become seconds through
// TicksPerSecond, duplicate error rows are summed, the kernel's AF_XDP
// counters appear only for the afxdp interface, a wedged worker reports
// up 0 and nothing else.
func TestCollectorValues(t *testing.T) {
	c := metrics.NewCollector(newFake())
	names := []string{
		"vecnet_buffer_pool_in_flight_buffers", "vecnet_buffer_size_bytes", "vecnet_fib_routes",
		"vecnet_interface_info", "vecnet_interface_rx_packets_total", "vecnet_interface_tx_bytes_total",
		"vecnet_interface_xdp_fill_ring_empty_total", "vecnet_neighbor_state_entries",
		"vecnet_node_errors_total", "vecnet_node_time_seconds_total", "vecnet_node_vectors_total",
		"vecnet_worker_busy_seconds_total", "vecnet_worker_up",
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantText), names...); err != nil {
		t.Fatal(err)
	}
	// Every series of the wedged worker is missing but its up gauge.
	if n := testutil.CollectAndCount(c, "vecnet_node_calls_total"); n != 2 {
		t.Errorf("vecnet_node_calls_total: %d series, want 2 (worker 0's nodes only)", n)
	}
	if n := testutil.CollectAndCount(c, "vecnet_build_info"); n != 1 {
		t.Errorf("vecnet_build_info: %d series, want 1", n)
	}
}

// TestCollectorLint runs client_golang's promlint over the collector's
// output (names, units, _total on counters, help text).
func TestCollectorLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(metrics.NewCollector(newFake()))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestPromtoolCheckMetrics serves NewHandler and runs Prometheus's own
// promtool over the scrape (Go and process metrics included).
func TestPromtoolCheckMetrics(t *testing.T) {
	vtestutil.RequireTool(t, "promtool")
	body := scrape(t, metrics.NewHandler(newFake()))
	for _, want := range []string{"vecnet_build_info{", "go_goroutines ", "process_open_fds ", "vecnet_interface_rx_packets_total{interface=\"ra\"} 100"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
