package dataplane

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/vecnet/vecnet/graph"
)

// WriteRuntime writes VPP's "show runtime" table: per node, summed over the
// workers given, calls, vectors, clocks per packet and vectors per call.
// ticksPerNs converts clocks to nanoseconds for the ns/pkt column.
func WriteRuntime(w io.Writer, perWorker [][]graph.NodeStats, ticksPerNs float64) {
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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Name\tCalls\tVectors\tClocks/pkt\tns/pkt\tVectors/Call\t")
	var totClocks, totVec uint64
	for _, name := range order {
		s := sum[name]
		if s.Calls == 0 {
			continue
		}
		cpp := float64(s.Clocks) / float64(s.Vectors)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.1f\t\n", name, s.Calls, s.Vectors, cpp, cpp/ticksPerNs, float64(s.Vectors)/float64(s.Calls))
		totClocks += s.Clocks
		totVec = max(totVec, s.Vectors)
	}
	tw.Flush()
	if totVec > 0 {
		fmt.Fprintf(w, "graph total: %.1f clocks/pkt (%.2f ns/pkt) for the busiest node's %d packets\n",
			float64(totClocks)/float64(totVec), float64(totClocks)/float64(totVec)/ticksPerNs, totVec)
	}
}

// WriteErrors writes VPP's "show errors": every non-zero counter summed over
// the workers given.
func WriteErrors(w io.Writer, perWorker [][]graph.ErrorCount) {
	type key struct{ node, name string }
	sum := map[key]*graph.ErrorCount{}
	for _, rows := range perWorker {
		for _, r := range rows {
			k := key{r.Node, r.Name}
			if e := sum[k]; e != nil {
				e.Count += r.Count
			} else {
				c := r
				sum[k] = &c
			}
		}
	}
	var rows []*graph.ErrorCount
	for _, e := range sum {
		rows = append(rows, e)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Node != rows[j].Node {
			return rows[i].Node < rows[j].Node
		}
		return rows[i].Name < rows[j].Name
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Count\tNode\tReason\tSeverity")
	for _, e := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s (%s)\t%s\n", e.Count, e.Node, e.Name, e.Help, e.Severity)
	}
	tw.Flush()
}
