// Package snapshot is what the data plane's observers read at once: every
// worker's node runtime and error counters, every interface's port
// counters, the buffer pool, the neighbour table and the FIB's size. The
// daemon fills a Snapshot by reading the per-worker counters on the workers
// themselves (between dispatch passes, so the hot path needs no lock or
// atomic); the Prometheus collector (control/metrics) and the web page
// (control/web) render it.
package snapshot

import (
	"time"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/worker"
)

// Source gives a fresh Snapshot each time it is asked.
type Source interface {
	// Snapshot reads the counters now. It never fails as a whole: a worker
	// that did not answer is marked down (Worker.Up false) with no rows.
	Snapshot() *Snapshot
}

// Snapshot is the state of a running data plane at one moment.
type Snapshot struct {
	// Time is when the snapshot was taken.
	Time time.Time
	// TicksPerSecond converts node clocks (graph.Stats.Clocks, TSC ticks)
	// to seconds.
	TicksPerSecond float64
	// Workers are in worker order.
	Workers []Worker
	// Interfaces are in configuration order.
	Interfaces []Interface
	// Buffers is the packet buffer pool.
	Buffers Buffers
	// Neighbors are the neighbour table's counts (and the FIB's
	// adjacencies).
	Neighbors neighbor.Stats
	// Routes is the number of prefixes in the FIB (connected, local and
	// static routes).
	Routes int
}

// Worker is one worker's counters.
type Worker struct {
	ID int
	// Up is false when the worker did not answer in time (wedged): its
	// Stats, Nodes and Errors are then empty.
	Up bool
	// Stats are the worker loop's own counters.
	Stats worker.Stats
	// Nodes are the worker's graph's node counters, in registration order.
	Nodes []graph.NodeStats
	// Errors are every error counter of the worker's graph, zeros
	// included, sorted by node and reason.
	Errors []graph.ErrorCount
}

// Interface is one interface's identity and its ports' counters summed over
// the workers that answered.
type Interface struct {
	Name   string
	Index  uint16
	Driver string // "afxdp", "afpacket", "tap", "memif", ...
	MAC    string
	MTU    int
	Stats  driver.Stats
}

// Buffers are the packet buffer pool's counts.
type Buffers struct {
	// Slots is the pool's size in buffers, each SlotBytes long.
	Slots     int
	SlotBytes int
	// Free counts the buffers in the shared pool and in the workers'
	// caches. The two are read at slightly different moments, so the sum
	// is a gauge's estimate, not an audit (Pool.Check is the audit).
	Free int
}

// InFlight is the number of buffers not free: on driver rings, in the
// kernel, in vectors, in queues, in the host stack's socket caches.
func (b Buffers) InFlight() int { return max(b.Slots-b.Free, 0) }
