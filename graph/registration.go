package graph

import "github.com/vecnet/vecnet/pkt"

// Kind says how the dispatcher runs a node.
type Kind uint8

const (
	// Internal nodes run when a frame is pending for them.
	Internal Kind = iota
	// Input nodes are polled on every dispatch pass with an empty vector to fill.
	Input
)

// Func processes a vector. An internal node must hand every packet of v on
// (Enqueue, EnqueueAll) or free it before returning; an input node receives an
// empty v, fills it and hands it on. Func returns the number of packets it
// processed, which the node's statistics count.
type Func func(n *Node, v *pkt.Vector) int

// Error describes one of a node's error counters.
type Error struct {
	Name     string // snake_case, e.g. "too_short"
	Help     string // one line for "show errors", e.g. "ip4 length < 20 bytes"
	Severity Severity
}

// Severity classifies an error counter as VPP does.
type Severity uint8

const (
	// SevError counts packets lost to a fault in the packet or the system.
	SevError Severity = iota
	// SevWarn counts packets lost to policy or to missing state (no route, no ARP).
	SevWarn
	// SevInfo counts events that are not losses (ARP replies sent, echo replies).
	SevInfo
)

func (s Severity) String() string {
	switch s {
	case SevError:
		return "error"
	case SevWarn:
		return "warn"
	default:
		return "info"
	}
}

// Registration describes a node. It is data: Build reads it and never changes it.
type Registration struct {
	Name   string   // kebab-case, unique in the graph, e.g. "ip4-input"
	Kind   Kind     // Internal or Input
	Next   []string // next nodes; they become edges 1..len(Next), edge 0 is "error-drop"
	Errors []Error  // error codes 0..len(Errors)-1 for Node.Err
	Func   Func
	// Init, if set, runs once per graph instance after edges are resolved,
	// typically to set Node.State. An error fails Build.
	Init func(n *Node) error
	// Close, if set, runs at Graph.Close: a node that holds buffers across
	// calls (a pending queue) frees them here.
	Close func(n *Node)
	// Tick, if set, runs on the worker about every TickInterval, before the
	// input nodes of a Poll, whether or not packets arrive: timers (ageing,
	// expiring held packets, retries). It may enqueue packets; the Poll
	// dispatches them.
	Tick func(n *Node)
	// Format, if set, renders a traced packet's recorded bytes for "show trace".
	Format func(rec *TraceRecord) string
}

// TickInterval is how often Registration.Tick runs. A sleeping worker
// wakes at least this often (worker.MaxSleep).
const TickInterval = 10_000_000 // ns

// NextDrop is edge 0 of every node: the error-drop node.
const NextDrop = 0
