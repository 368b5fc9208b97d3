package web

import (
	"sort"

	"github.com/vecnet/vecnet/control/snapshot"
	"github.com/vecnet/vecnet/graph"
)

// Data is the page's data.json: cumulative counters summed over the
// workers that answered; the page derives rates from two successive polls.
type Data struct {
	TimeMs         int64       `json:"time_ms"` // when the counters were read, Unix milliseconds
	TicksPerSecond float64     `json:"ticks_per_second"`
	Workers        []Worker    `json:"workers"`
	Nodes          []Node      `json:"nodes"`
	Interfaces     []Interface `json:"interfaces"`
	Errors         []Error     `json:"errors"` // non-zero counters only
	Buffers        Buffers     `json:"buffers"`
	Neighbors      int         `json:"neighbors"`
	Routes         int         `json:"routes"`
}

// Worker is one worker's state.
type Worker struct {
	ID          int     `json:"id"`
	Up          bool    `json:"up"`
	Loops       uint64  `json:"loops"`
	Packets     uint64  `json:"packets"`
	BusySeconds float64 `json:"busy_seconds"`
}

// Node is one graph node with its arcs and counters.
type Node struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "input" or "internal"
	// Next are the nodes its arcs lead to, error-drop (every node's edge 0)
	// left out.
	Next    []string `json:"next"`
	Calls   uint64   `json:"calls"`
	Vectors uint64   `json:"vectors"`
	Clocks  uint64   `json:"clocks"`
}

// Interface is one interface's counters.
type Interface struct {
	Name      string `json:"name"`
	Driver    string `json:"driver"`
	MAC       string `json:"mac"`
	MTU       int    `json:"mtu"`
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	Drops     uint64 `json:"drops"` // port drops both ways, receive errors and the kernel's AF_XDP drops
}

// Error is one non-zero error counter.
type Error struct {
	Node     string `json:"node"`
	Reason   string `json:"reason"`
	Help     string `json:"help"`
	Severity string `json:"severity"`
	Count    uint64 `json:"count"`
}

// Buffers are the packet buffer pool's counts.
type Buffers struct {
	Slots    int `json:"slots"`
	Free     int `json:"free"`
	InFlight int `json:"in_flight"`
}

// Build renders a snapshot and a topology as the page's data. Nodes come
// in the topology's order (the nodes the topology lacks after them, in the
// snapshot's order); errors sorted by node and reason.
func Build(s *snapshot.Snapshot, topo []graph.NodeInfo) *Data {
	d := &Data{
		TimeMs: s.Time.UnixMilli(), TicksPerSecond: s.TicksPerSecond,
		Workers:    []Worker{},
		Nodes:      []Node{},
		Interfaces: []Interface{},
		Errors:     []Error{},
		Buffers:    Buffers{Slots: s.Buffers.Slots, Free: s.Buffers.Free, InFlight: s.Buffers.InFlight()},
		Neighbors:  s.Neighbors.Entries,
		Routes:     s.Routes,
	}
	at := map[string]int{}
	node := func(name string, kind graph.Kind) *Node {
		if i, ok := at[name]; ok {
			return &d.Nodes[i]
		}
		k := "internal"
		if kind == graph.Input {
			k = "input"
		}
		at[name] = len(d.Nodes)
		d.Nodes = append(d.Nodes, Node{Name: name, Kind: k, Next: []string{}})
		return &d.Nodes[len(d.Nodes)-1]
	}
	for _, t := range topo {
		n := node(t.Name, t.Kind)
		for e, next := range t.Next {
			if e != graph.NextDrop && next != t.Name {
				n.Next = append(n.Next, next)
			}
		}
	}
	type ekey struct{ node, reason string }
	errs := map[ekey]*Error{}
	for _, w := range s.Workers {
		d.Workers = append(d.Workers, Worker{ID: w.ID, Up: w.Up, Loops: w.Stats.Loops, Packets: w.Stats.Packets, BusySeconds: float64(w.Stats.BusyNs) / 1e9})
		for _, r := range w.Nodes {
			n := node(r.Name, r.Kind)
			n.Calls += r.Stats.Calls
			n.Vectors += r.Stats.Vectors
			n.Clocks += r.Stats.Clocks
		}
		for _, e := range w.Errors {
			if e.Count == 0 {
				continue
			}
			k := ekey{e.Node, e.Name}
			if x := errs[k]; x != nil {
				x.Count += e.Count
			} else {
				errs[k] = &Error{Node: e.Node, Reason: e.Name, Help: e.Help, Severity: e.Severity.String(), Count: e.Count}
			}
		}
	}
	for _, e := range errs {
		d.Errors = append(d.Errors, *e)
	}
	sort.Slice(d.Errors, func(i, j int) bool {
		a, b := d.Errors[i], d.Errors[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.Reason < b.Reason
	})
	for _, x := range s.Interfaces {
		st := x.Stats
		d.Interfaces = append(d.Interfaces, Interface{
			Name: x.Name, Driver: x.Driver, MAC: x.MAC, MTU: x.MTU,
			RxPackets: st.RxPackets, RxBytes: st.RxBytes, TxPackets: st.TxPackets, TxBytes: st.TxBytes,
			Drops: st.RxDrops + st.TxDrops + st.RxErrors + st.Kernel.Drops(),
		})
	}
	return d
}
