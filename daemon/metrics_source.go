package daemon

import (
	"errors"
	"time"

	"github.com/vecnet/vecnet/control/snapshot"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/worker"
)

// Snapshot reads every counter the observers need (snapshot.Source, for
// control/metrics and control/web). The per-worker counters (node runtime,
// error counters, port statistics, the worker's buffer cache) are read on
// each worker in one call between its dispatch passes, so the hot path
// needs neither lock nor atomic; a wedged worker is marked down.
func (d *Daemon) Snapshot() *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		TicksPerSecond: tsc.TicksPerNanosecond() * 1e9,
		Workers:        make([]snapshot.Worker, len(d.Workers)),
		Interfaces:     make([]snapshot.Interface, len(d.Interfaces)),
	}
	ports := make([][]driver.Stats, len(d.Workers)) // by worker, then interface
	cached := make([]int, len(d.Workers))
	for i := range s.Workers {
		s.Workers[i].ID = i
	}
	d.OnWorkers(func(w *worker.Worker) {
		x := &s.Workers[w.ID]
		x.Up = true
		x.Stats = w.Stats()
		x.Nodes = w.Graph.Runtime()
		x.Errors = w.Graph.Errors(true)
		ps := make([]driver.Stats, len(d.Interfaces))
		for k, ifc := range d.Interfaces {
			if w.ID < len(ifc.Ports) && ifc.Ports[w.ID] != nil {
				ps[k] = ifc.Ports[w.ID].Stats()
			}
		}
		ports[w.ID] = ps
		if w.ID < len(d.caches) {
			cached[w.ID] = d.caches[w.ID].Len()
		}
	})
	s.Time = time.Now()
	set := d.DP.Ifaces.Load()
	for k, ifc := range d.Interfaces {
		x := &s.Interfaces[k]
		x.Name, x.Index, x.Driver, x.MTU = ifc.Config.Name, ifc.Index, ifc.Config.Driver, ifc.Config.MTU
		if i := set.Get(ifc.Index); i != nil {
			x.MAC = macString(i.MAC)
		}
		for _, ps := range ports {
			if ps != nil {
				x.Stats.Add(ps[k])
			}
		}
	}
	free := d.DP.Pool.Free()
	for _, n := range cached {
		free += n
	}
	s.Buffers = snapshot.Buffers{Slots: d.DP.Pool.Arena().Slots(), SlotBytes: pkt.SlotSize, Free: free}
	s.Neighbors = d.DP.Neighbors.Stats()
	s.Routes = d.DP.FIB.Load().Len()
	return s
}

// Topology returns the graph's nodes with the names of their next nodes,
// read on the first worker (every worker builds the same graph), or nil
// when no worker answered.
func (d *Daemon) Topology() []graph.NodeInfo {
	for _, wk := range d.Workers {
		var out []graph.NodeInfo
		err := wk.Do(func() { out = wk.Graph.Topology() })
		switch {
		case err == nil:
			return out
		case errors.Is(err, worker.ErrStopped): // nothing else touches its graph now
			return wk.Graph.Topology()
		}
	}
	return nil
}
