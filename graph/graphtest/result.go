package graphtest

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

// Capture is a packet a stub node received.
type Capture struct {
	Node string   // the stub's name
	ID   uint64   // the harness's tag of the packet (Outcome.ID), 0 for a packet a node made
	Data []byte   // the bytes as they reached the stub (a copy)
	Meta pkt.Meta // the metadata as it reached the stub
}

// Outcome is what became of one injected packet.
type Outcome struct {
	ID   uint64   // the packet's tag (its Meta.Seq), unique within the harness
	Next string   // the stub it reached; empty when dropped or kept
	Drop string   // "node: error" of the error-drop counter, when dropped
	Data []byte   // bytes as the packet left (when Next is set)
	Meta pkt.Meta // metadata as the packet left (when Next is set)
}

// Where summarises the outcome: the next node's name, "drop " followed by
// the error label, or "kept" (a node still holds the packet, or freed it
// itself counting it under one of its counters).
func (o *Outcome) Where() string {
	switch {
	case o.Next != "":
		return o.Next
	case o.Drop != "":
		return "drop " + o.Drop
	}
	return "kept"
}

// Result is what one Run did.
type Result struct {
	Out []Outcome // one per injected packet, in order
	// Extra are packets stubs received that were not injected by this Run:
	// packets a node made (ARP requests) or released (held by an earlier
	// Run), in arrival order.
	Extra []Capture
	// Counters are the error counters that changed, "node: error" -> delta.
	Counters map[string]uint64
	// Trace holds the Run's trace records when Options.Trace is set.
	Trace []graph.TraceRecord
}

// At returns the Extra captures that reached the stub named node.
func (r *Result) At(node string) []Capture {
	var out []Capture
	for _, c := range r.Extra {
		if c.Node == node {
			out = append(out, c)
		}
	}
	return out
}

// Label returns the "node: error" name of an error counter, the form used
// by Outcome.Drop, Result.Counters and graph.TraceRecord.Error.
func Label(node, err string) string { return node + ": " + err }

// counters returns every error counter by label.
func (h *Harness) counters() map[string]uint64 {
	out := map[string]uint64{}
	for _, e := range h.g.Errors(true) {
		out[Label(e.Node, e.Name)] = e.Count
	}
	return out
}

// errLabel names error id e.
func (h *Harness) errLabel(e uint16) string {
	for _, r := range h.regs {
		n := h.g.Node(r.Name)
		if base := n.Err(0); e >= base && int(e-base) < len(r.Errors) {
			return Label(r.Name, r.Errors[e-base].Name)
		}
	}
	return "unknown error"
}
