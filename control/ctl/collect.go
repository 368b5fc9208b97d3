package ctl

import (
	"sort"

	"github.com/vecnet/vecnet/graph"
)

// NodeRows turns node statistics summed over perWorker (one slice per
// worker) into rows, in order of first appearance, leaving out the nodes
// that never ran.
func NodeRows(perWorker [][]graph.NodeStats, ticksPerNs float64) []RuntimeRow {
	sum := map[string]*graph.Stats{}
	var order []string
	for _, rows := range perWorker {
		for _, r := range rows {
			s := sum[r.Name]
			if s == nil {
				s = &graph.Stats{}
				sum[r.Name] = s
				order = append(order, r.Name)
			}
			s.Add(r.Stats)
		}
	}
	out := []RuntimeRow{}
	for _, name := range order {
		s := sum[name]
		if s.Calls == 0 {
			continue
		}
		row := RuntimeRow{Name: name, Calls: s.Calls, Vectors: s.Vectors, Clocks: s.Clocks,
			VectorsPerCall: float64(s.Vectors) / float64(s.Calls)}
		if s.Vectors > 0 {
			row.ClocksPerPacket = float64(s.Clocks) / float64(s.Vectors)
			if ticksPerNs > 0 {
				row.NsPerPacket = row.ClocksPerPacket / ticksPerNs
			}
		}
		out = append(out, row)
	}
	return out
}

// SumNodes sums rows of several workers by node name, in order of first
// appearance, recomputing the averages.
func SumNodes(perWorker [][]RuntimeRow, ticksPerNs float64) []RuntimeRow {
	stats := make([][]graph.NodeStats, len(perWorker))
	for k, rows := range perWorker {
		for _, r := range rows {
			stats[k] = append(stats[k], graph.NodeStats{Name: r.Name, Stats: graph.Stats{Calls: r.Calls, Vectors: r.Vectors, Clocks: r.Clocks}})
		}
	}
	return NodeRows(stats, ticksPerNs)
}

// ErrorRows sums error counters over perWorker (one slice per worker),
// sorted by node then reason.
func ErrorRows(perWorker [][]graph.ErrorCount) []ErrorRow {
	type key struct{ node, name string }
	sum := map[key]*ErrorRow{}
	for _, rows := range perWorker {
		for _, r := range rows {
			k := key{r.Node, r.Name}
			if e := sum[k]; e != nil {
				e.Count += r.Count
			} else {
				sum[k] = &ErrorRow{Count: r.Count, Node: r.Node, Reason: r.Name, Help: r.Help, Severity: r.Severity.String()}
			}
		}
	}
	out := make([]ErrorRow, 0, len(sum))
	for _, e := range sum {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// TraceRows turns one worker's trace records into rows grouped by packet
// (in order of each packet's first record); detail decodes a record (the
// graph's TraceDetail).
func TraceRows(worker int, recs []graph.TraceRecord, detail func(*graph.TraceRecord) string) []TraceRow {
	var order []uint64
	byPkt := map[uint64][]int{}
	for k := range recs {
		p := recs[k].Packet
		if _, ok := byPkt[p]; !ok {
			order = append(order, p)
		}
		byPkt[p] = append(byPkt[p], k)
	}
	out := make([]TraceRow, 0, len(recs))
	for _, p := range order {
		for _, k := range byPkt[p] {
			r := &recs[k]
			out = append(out, TraceRow{Worker: worker, Packet: r.Packet, Node: r.Node, Next: r.Next, Error: r.Error, Detail: detail(r)})
		}
	}
	return out
}
