package graph

import (
	"fmt"
	"io"

	"github.com/vecnet/vecnet/pkt"
)

// TraceDataLen is how many bytes of a packet a trace record keeps.
const TraceDataLen = 96

// maxTraceRecords bounds the trace buffer of one graph.
const maxTraceRecords = 8192

// TraceRecord is one step of a traced packet: which node handed it to which
// next node (or dropped it, and why), with the packet's first bytes as they
// were at that moment.
type TraceRecord struct {
	Packet uint64 // trace number of the packet (1, 2, ...)
	Node   string // node that enqueued or dropped the packet
	Next   string // next node; empty when dropped or freed
	Error  string // "node: error" for a drop or a free
	Meta   pkt.Meta
	Len    int // bytes in Data
	Data   [TraceDataLen]byte
}

type traceState struct {
	budget  int
	seq     uint64
	records []TraceRecord
}

// TraceAdd arms tracing for the next count packets the input nodes produce.
func (g *Graph) TraceAdd(count int) { g.trace.budget += count }

// TraceClear drops every record and disarms tracing.
func (g *Graph) TraceClear() { g.trace = traceState{} }

// TraceRecords returns the records so far, in order.
func (g *Graph) TraceRecords() []TraceRecord { return g.trace.records }

// TraceStart marks the first packets of v as traced while the trace budget
// lasts. Input nodes call it once per vector after filling v; its cost when
// tracing is off is one comparison.
func (n *Node) TraceStart(v *pkt.Vector) {
	t := &n.g.trace
	if t.budget <= 0 {
		return
	}
	a := n.g.arena
	k := min(t.budget, v.Len)
	for _, i := range v.Idx[:k] {
		m := a.Meta(i)
		m.Flags |= pkt.FlagTraced
		t.seq++
		m.Seq = t.seq
	}
	t.budget -= k
	v.Traced = true
}

func (t *traceState) add(n *Node, i pkt.Index, next *Node, errLabel string) {
	if len(t.records) >= maxTraceRecords {
		return
	}
	a := n.g.arena
	m := a.Meta(i)
	r := TraceRecord{Packet: m.Seq, Node: n.Name, Error: errLabel, Meta: *m}
	if next != nil {
		r.Next = next.Name
	}
	r.Len = copy(r.Data[:], a.Data(i))
	t.records = append(t.records, r)
}

func (n *Node) traceOne(i pkt.Index, e uint16) {
	if n.g.arena.Meta(i).Flags&pkt.FlagTraced != 0 {
		n.g.trace.add(n, i, n.edges[e], "")
	}
}

func (n *Node) traceEnqueueAll(v *pkt.Vector, e uint16) {
	for _, i := range v.Idx[:v.Len] {
		n.traceOne(i, e)
	}
}

func (n *Node) traceEnqueue(v *pkt.Vector, nexts []uint16) {
	for k, i := range v.Idx[:v.Len] {
		n.traceOne(i, nexts[k])
	}
}

func (n *Node) traceFree(v *pkt.Vector, code int) {
	label := n.Name + ": " + n.reg.Errors[code].Name
	for _, i := range v.Idx[:v.Len] {
		if n.g.arena.Meta(i).Flags&pkt.FlagTraced != 0 {
			n.g.trace.add(n, i, nil, label)
		}
	}
}

// TraceCopy returns a copy of the records so far, in order. Call it on the
// worker (through worker.Do): it only copies, so a control call holds the
// worker for a memcpy, not for formatting or a client's socket. Format the
// copy with FormatTrace on the control goroutine.
func (g *Graph) TraceCopy() []TraceRecord {
	if len(g.trace.records) == 0 {
		return nil
	}
	return append([]TraceRecord(nil), g.trace.records...)
}

// FormatTrace writes recs (from TraceCopy) grouped by packet, VPP-style: one
// block per packet listing each node it passed and what that node decided.
// It reads only what Build fixed (node names and their Format functions),
// so it is safe on any goroutine while the worker runs; it must never run
// on the worker, whose forwarding would then wait on the writer.
func (g *Graph) FormatTrace(w io.Writer, recs []TraceRecord) {
	byPkt := map[uint64][]*TraceRecord{}
	var order []uint64
	for k := range recs {
		r := &recs[k]
		if _, ok := byPkt[r.Packet]; !ok {
			order = append(order, r.Packet)
		}
		byPkt[r.Packet] = append(byPkt[r.Packet], r)
	}
	for _, p := range order {
		fmt.Fprintf(w, "Packet %d\n", p)
		for _, r := range byPkt[p] {
			to := "-> " + r.Next
			if r.Next == "" {
				to = "dropped: " + r.Error
			}
			fmt.Fprintf(w, "  %s %s\n", r.Node, to)
			fmt.Fprintf(w, "    %s\n", g.TraceDetail(r))
		}
	}
}

// TraceDetail decodes one record with its node's Format function, or as
// the packet's length, ports and first bytes when the node has none.
func (g *Graph) TraceDetail(r *TraceRecord) string {
	if nd := g.byName[r.Node]; nd != nil && nd.reg.Format != nil {
		return nd.reg.Format(r)
	}
	return fmt.Sprintf("len %d rx %d tx %d: % x", r.Meta.Len, r.Meta.RxPort, r.Meta.TxPort, r.Data[:min(r.Len, 34)])
}
