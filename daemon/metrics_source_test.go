package daemon_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
)

// TestSnapshotCountsWhatWasForwarded forwards a known number of frames
// between two mem interfaces and checks the snapshot's figures against it:
// the ports' counters, the nodes' vectors, the buffer pool's accounting,
// the FIB and neighbour sizes; and the topology's arcs.
func TestSnapshotCountsWhatWasForwarded(t *testing.T) {
	d, pa, pb, _ := startMemRouter(t, daemon.Options{NoCLI: true}, config.Limits{})
	const n = 300
	forwardAB(t, pa, pb, n, 10*time.Second)
	s := d.Snapshot()
	if len(s.Workers) != 1 || !s.Workers[0].Up {
		t.Fatalf("workers %+v", s.Workers)
	}
	if a, b := s.Interfaces[0], s.Interfaces[1]; a.Name != "a" || a.Driver != "mem" || a.Stats.RxPackets != n || b.Stats.TxPackets != n || a.MAC != "02:00:00:00:0a:01" || a.MTU != 1500 {
		t.Errorf("interfaces: a %+v, b %+v; want %d received on a, sent on b", a, b, n)
	}
	var vectors uint64
	for _, r := range s.Workers[0].Nodes {
		if r.Name == ip4.InputName {
			vectors = r.Stats.Vectors
		}
	}
	if vectors != n {
		t.Errorf("%s vectors %d, want %d", ip4.InputName, vectors, n)
	}
	if len(s.Workers[0].Errors) == 0 {
		t.Error("no error counters (Errors(true) lists zeros too)")
	}
	if b := s.Buffers; b.Slots != 8192 || b.Free <= 0 || b.Free > b.Slots || b.SlotBytes <= 0 {
		t.Errorf("buffers %+v", b)
	}
	// Two connected /24s, two local /32s at least; two static neighbours.
	if s.Routes < 4 || s.Neighbors.Entries != 2 || s.Neighbors.Static != 2 {
		t.Errorf("routes %d, neighbours %+v", s.Routes, s.Neighbors)
	}
	if s.TicksPerSecond <= 0 || s.Time.IsZero() {
		t.Errorf("ticks/s %v, time %v", s.TicksPerSecond, s.Time)
	}
	topo := d.Topology()
	i := slices.IndexFunc(topo, func(n graph.NodeInfo) bool { return n.Name == ip4.InputName })
	if i < 0 || !slices.Contains(topo[i].Next, ip4.LookupName) || topo[i].Next[0] != graph.DropNodeName {
		t.Fatalf("topology: %+v", topo)
	}
}

// TestSnapshotMarksAWedgedWorkerDown: a worker that does not answer is
// reported down, with no rows, after worker.DefaultDoTimeout, and the
// interfaces' counters are still there.
func TestSnapshotMarksAWedgedWorkerDown(t *testing.T) {
	d, _, _, _ := startMemRouter(t, daemon.Options{NoCLI: true}, config.Limits{})
	release, wedged := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- d.Workers[0].Do(func() { close(wedged); <-release }) }()
	<-wedged
	s := d.Snapshot()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := s.Workers[0]; w.Up || w.Nodes != nil || w.Errors != nil {
		t.Errorf("wedged worker: %+v, want down with no rows", w)
	}
	if len(s.Interfaces) != 2 || s.Buffers.Slots == 0 {
		t.Errorf("snapshot of a wedged daemon: %+v", s)
	}
	if d.Snapshot().Workers[0].Up != true {
		t.Error("the worker is back, but the next snapshot says it is down")
	}
}
