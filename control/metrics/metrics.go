// Package metrics exports vecnet's counters to Prometheus: a custom
// collector reads a snapshot.Source at scrape time (the daemon reads the
// per-worker counters on the workers themselves, so the hot path carries no
// lock or atomic for it) and NewHandler serves it with the Go runtime's and
// the process's metrics in the text exposition format.
//
// Names follow Prometheus conventions: the vecnet_ prefix, _total on
// counters, base units (bytes, seconds: node clocks are converted to
// seconds with the TSC's rate). Node and error counters carry a worker
// label, as VPP's per-thread "show runtime"; sum(...) without (worker)
// gives the totals.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vecnet/vecnet/control/snapshot"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
)

// NewHandler returns the /metrics handler: a registry of its own with the
// Collector over src, the Go collector and the process collector.
// Concurrent scrapes share one collection (promhttp's CoalesceGather), so
// a burst of scrapes asks the workers once.
func NewHandler(src snapshot.Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, CoalesceGather: true})
}

// Collector is a prometheus.Collector over a snapshot.Source.
type Collector struct {
	src     snapshot.Source
	version string
}

// NewCollector returns a collector that takes one snapshot of src per
// scrape.
func NewCollector(src snapshot.Source) *Collector {
	c := &Collector{src: src, version: "(unknown)"}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		c.version = bi.Main.Version
	}
	return c
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("vecnet_"+name, help, labels, nil)
}

var (
	workerL = []string{"worker"}
	nodeL   = []string{"worker", "node"}
	ifL     = []string{"interface"}

	buildInfo = desc("build_info", "vecnet's version and the Go version it was built with (always 1).", "version", "goversion")

	workerUp      = desc("worker_up", "1 when the worker answered this scrape, 0 when it is wedged (its counters are then missing).", workerL...)
	workerLoops   = desc("worker_loops_total", "Dispatch passes of the worker's loop.", workerL...)
	workerSleeps  = desc("worker_sleeps_total", "Times the worker went to sleep on its rings' wake-up.", workerL...)
	workerPackets = desc("worker_input_packets_total", "Packets the worker's input nodes produced.", workerL...)
	workerBusy    = desc("worker_busy_seconds_total", "Wall time the worker spent in passes that moved packets.", workerL...)

	nodeCalls   = desc("node_calls_total", "Calls of the node's function that processed at least one packet.", nodeL...)
	nodeVectors = desc("node_vectors_total", "Packets the node processed (VPP's vectors).", nodeL...)
	nodeTime    = desc("node_time_seconds_total", "Time spent in the node's function: its TSC clocks converted to seconds.", nodeL...)
	nodeErrors  = desc("node_errors_total", "The node's error counters by reason (VPP's show errors); severity info counts events that are not losses.", "worker", "node", "reason", "severity")

	ifInfo      = desc("interface_info", "An interface's driver, MAC and index (always 1).", "interface", "driver", "mac", "index")
	ifMTU       = desc("interface_mtu_bytes", "The interface's MTU.", ifL...)
	ifRxPackets = desc("interface_rx_packets_total", "Frames received on the interface's ports.", ifL...)
	ifRxBytes   = desc("interface_rx_bytes_total", "Bytes received on the interface's ports.", ifL...)
	ifTxPackets = desc("interface_tx_packets_total", "Frames transmitted on the interface's ports.", ifL...)
	ifTxBytes   = desc("interface_tx_bytes_total", "Bytes transmitted on the interface's ports.", ifL...)
	ifRxDrops   = desc("interface_rx_drops_total", "Frames a port saw but could not deliver (no buffer, ring overflow).", ifL...)
	ifTxDrops   = desc("interface_tx_drops_total", "Packets handed to a port that it did not transmit.", ifL...)
	ifRxErrors  = desc("interface_rx_errors_total", "Malformed frames a port rejected (too long, bad descriptor).", ifL...)

	xdpRxDropped      = desc("interface_xdp_rx_dropped_total", "AF_XDP: frames the kernel dropped with no buffer to receive into (XDP_STATISTICS rx_dropped).", ifL...)
	xdpRxInvalid      = desc("interface_xdp_rx_invalid_descs_total", "AF_XDP: frames the kernel dropped on an invalid fill descriptor.", ifL...)
	xdpRxRingFull     = desc("interface_xdp_rx_ring_full_total", "AF_XDP: frames the kernel dropped because the RX ring was full.", ifL...)
	xdpFillRingEmpty  = desc("interface_xdp_fill_ring_empty_total", "AF_XDP: times the kernel found the fill ring empty (the frames are in rx_dropped).", ifL...)
	xdpTxInvalid      = desc("interface_xdp_tx_invalid_descs_total", "AF_XDP: TX descriptors the kernel rejected.", ifL...)
	xdpTxRingEmptyDes = desc("interface_xdp_tx_ring_empty_total", "AF_XDP: times the kernel found the TX ring empty (not a drop).", ifL...)

	bufSize     = desc("buffer_pool_buffers", "Packet buffers in the pool.")
	bufBytes    = desc("buffer_size_bytes", "Size of one packet buffer (headroom and data).")
	bufFree     = desc("buffer_pool_free_buffers", "Packet buffers free, in the shared pool or a worker's cache.")
	bufInFlight = desc("buffer_pool_in_flight_buffers", "Packet buffers not free: on rings, in the kernel, in vectors and queues.")

	nbEntries  = desc("neighbor_entries", "Neighbour (ARP) table entries, static ones included.")
	nbStatic   = desc("neighbor_static_entries", "Static neighbour entries.")
	nbState    = desc("neighbor_state_entries", "Dynamic neighbour entries by state.", "state")
	nbLimit    = desc("neighbor_entries_limit", "The neighbour table's entry limit.")
	nbCreated  = desc("neighbor_created_total", "Neighbour entries created.")
	nbChanged  = desc("neighbor_changed_total", "Neighbour entries whose MAC changed.")
	nbEvicted  = desc("neighbor_evicted_total", "Neighbour entries evicted to make room.")
	nbExpired  = desc("neighbor_expired_total", "Neighbour entries that expired.")
	nbRefused  = desc("neighbor_refused_total", "Neighbour entries refused because the table was full.")
	adjLive    = desc("fib_adjacencies", "Adjacencies in use.")
	adjFree    = desc("fib_adjacencies_free", "Adjacency slots free (quarantined ones included).")
	adjSlots   = desc("fib_adjacency_slots", "Adjacency slots allocated.")
	fibRoutes  = desc("fib_routes", "Prefixes in the IPv4 FIB (connected, local and static).")
	everyDescs = []*prometheus.Desc{buildInfo,
		workerUp, workerLoops, workerSleeps, workerPackets, workerBusy,
		nodeCalls, nodeVectors, nodeTime, nodeErrors,
		ifInfo, ifMTU, ifRxPackets, ifRxBytes, ifTxPackets, ifTxBytes, ifRxDrops, ifTxDrops, ifRxErrors,
		xdpRxDropped, xdpRxInvalid, xdpRxRingFull, xdpFillRingEmpty, xdpTxInvalid, xdpTxRingEmptyDes,
		bufSize, bufBytes, bufFree, bufInFlight,
		nbEntries, nbStatic, nbState, nbLimit, nbCreated, nbChanged, nbEvicted, nbExpired, nbRefused,
		adjLive, adjFree, adjSlots, fibRoutes}
)

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range everyDescs {
		ch <- d
	}
}

// Collect takes one snapshot and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Snapshot()
	e := emitter{ch}
	gauge, counter := e.gauge, e.counter
	gauge(buildInfo, 1, c.version, runtime.Version())
	for _, w := range s.Workers {
		e.worker(w, s.TicksPerSecond)
	}
	for _, ifc := range s.Interfaces {
		e.iface(ifc)
	}
	b := s.Buffers
	gauge(bufSize, float64(b.Slots))
	gauge(bufBytes, float64(b.SlotBytes))
	gauge(bufFree, float64(b.Free))
	gauge(bufInFlight, float64(b.InFlight()))
	n := s.Neighbors
	gauge(nbEntries, float64(n.Entries))
	gauge(nbStatic, float64(n.Static))
	gauge(nbState, float64(n.Reachable), "reachable")
	gauge(nbState, float64(n.Stale), "stale")
	gauge(nbState, float64(n.Probe), "probe")
	gauge(nbLimit, float64(n.Limit))
	counter(nbCreated, n.Created)
	counter(nbChanged, n.Changed)
	counter(nbEvicted, n.Evicted)
	counter(nbExpired, n.Expired)
	counter(nbRefused, n.Refused)
	gauge(adjLive, float64(n.Adj.Live))
	gauge(adjFree, float64(n.Adj.Free))
	gauge(adjSlots, float64(n.Adj.Slots))
	gauge(fibRoutes, float64(s.Routes))
}

// emitter sends const metrics on a Collect channel.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (e emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func (e emitter) seconds(d *prometheus.Desc, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func (e emitter) worker(w snapshot.Worker, ticksPerSecond float64) {
	id := strconv.Itoa(w.ID)
	if !w.Up {
		e.gauge(workerUp, 0, id)
		return
	}
	e.gauge(workerUp, 1, id)
	e.counter(workerLoops, w.Stats.Loops, id)
	e.counter(workerSleeps, w.Stats.Sleeps, id)
	e.counter(workerPackets, w.Stats.Packets, id)
	e.seconds(workerBusy, float64(w.Stats.BusyNs)/1e9, id)
	seen := make(map[string]bool, len(w.Nodes))
	for _, n := range w.Nodes {
		if seen[n.Name] {
			continue // names are unique in a graph; a duplicate would fail the whole scrape
		}
		seen[n.Name] = true
		e.counter(nodeCalls, n.Stats.Calls, id, n.Name)
		e.counter(nodeVectors, n.Stats.Vectors, id, n.Name)
		secs := 0.0
		if ticksPerSecond > 0 {
			secs = float64(n.Stats.Clocks) / ticksPerSecond
		}
		e.seconds(nodeTime, secs, id, n.Name)
	}
	// One series per node and reason: counters that share both are summed.
	type key struct{ node, reason string }
	at := make(map[key]int, len(w.Errors))
	var rows []graph.ErrorCount
	for _, x := range w.Errors {
		k := key{x.Node, x.Name}
		if i, ok := at[k]; ok {
			rows[i].Count += x.Count
			continue
		}
		at[k] = len(rows)
		rows = append(rows, x)
	}
	for _, r := range rows {
		e.counter(nodeErrors, r.Count, id, r.Node, r.Name, r.Severity.String())
	}
}

func (e emitter) iface(ifc snapshot.Interface) {
	name, st := ifc.Name, ifc.Stats
	e.gauge(ifInfo, 1, name, ifc.Driver, ifc.MAC, strconv.Itoa(int(ifc.Index)))
	e.gauge(ifMTU, float64(ifc.MTU), name)
	e.counter(ifRxPackets, st.RxPackets, name)
	e.counter(ifRxBytes, st.RxBytes, name)
	e.counter(ifTxPackets, st.TxPackets, name)
	e.counter(ifTxBytes, st.TxBytes, name)
	e.counter(ifRxDrops, st.RxDrops, name)
	e.counter(ifTxDrops, st.TxDrops, name)
	e.counter(ifRxErrors, st.RxErrors, name)
	if ifc.Driver == "afxdp" {
		e.kernel(name, st.Kernel)
	}
}

// kernel sends an AF_XDP interface's kernel counters (XDP_STATISTICS).
func (e emitter) kernel(name string, k driver.KernelStats) {
	e.counter(xdpRxDropped, k.RxDropped, name)
	e.counter(xdpRxInvalid, k.RxInvalidDescs, name)
	e.counter(xdpRxRingFull, k.RxRingFull, name)
	e.counter(xdpFillRingEmpty, k.FillRingEmpty, name)
	e.counter(xdpTxInvalid, k.TxInvalidDescs, name)
	e.counter(xdpTxRingEmptyDes, k.TxRingEmptyDesc, name)
}
