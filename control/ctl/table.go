package ctl

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteRuntime writes "show runtime": per worker its state line and node
// table, then, with several workers, the nodes summed over all of them.
func WriteRuntime(w io.Writer, r RuntimeReport) error {
	for _, wk := range r.Workers {
		cpu := "any cpu"
		if wk.CPU >= 0 {
			cpu = "cpu " + strconv.Itoa(wk.CPU)
		}
		fmt.Fprintf(w, "Thread %d %s (%s): %s; loops %d, sleeps %d, packets %d, busy %.3fs\n",
			wk.ID, wk.Name, cpu, wk.State, wk.Loops, wk.Sleeps, wk.Packets, wk.BusySeconds)
		WriteNodes(w, wk.Nodes, r.TicksPerNs)
		fmt.Fprintln(w)
	}
	if len(r.Workers) > 1 {
		fmt.Fprintln(w, "All workers:")
		WriteNodes(w, r.Total, r.TicksPerNs)
	}
	return nil
}

// WriteNodes writes VPP's runtime table of rows: calls, vectors, clocks
// per packet, ns per packet and vectors per call, then the graph total
// (every node's clocks over the busiest node's packets).
func WriteNodes(w io.Writer, rows []RuntimeRow, ticksPerNs float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "Name\tCalls\tVectors\tClocks/pkt\tns/pkt\tVectors/Call\t")
	var totClocks, totVec uint64
	for _, s := range rows {
		if s.Calls == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.1f\t\n", s.Name, s.Calls, s.Vectors, s.ClocksPerPacket, s.NsPerPacket, s.VectorsPerCall)
		totClocks += s.Clocks
		totVec = max(totVec, s.Vectors)
	}
	tw.Flush()
	if totVec > 0 {
		fmt.Fprintf(w, "graph total: %.1f clocks/pkt (%.2f ns/pkt) for the busiest node's %d packets\n",
			float64(totClocks)/float64(totVec), float64(totClocks)/float64(totVec)/ticksPerNs, totVec)
	}
}

// WriteErrors writes "show errors".
func WriteErrors(w io.Writer, rows []ErrorRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Count\tNode\tReason\tSeverity")
	for _, e := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s (%s)\t%s\n", e.Count, e.Node, e.Reason, e.Help, e.Severity)
	}
	return tw.Flush()
}

// WriteInterfaces writes "show interfaces": a row per interface, then the
// AF_XDP interfaces' kernel counters.
func WriteInterfaces(w io.Writer, rows []InterfaceRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tIdx\tDriver\tMAC\tMTU\tAddresses\tRx pkts\tRx bytes\tTx pkts\tTx bytes\tDrops rx/tx\tRx errors\tState")
	for _, x := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d/%d\t%d\t%s\n", x.Name, x.Index, x.Driver+" "+x.Info,
			x.MAC, x.MTU, strings.Join(x.Addresses, " "), x.RxPackets, x.RxBytes, x.TxPackets, x.TxBytes, x.RxDrops, x.TxDrops, x.RxErrors, x.AdminState)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := false
	for _, x := range rows {
		k := x.Kernel
		if k == nil {
			continue
		}
		if !header {
			fmt.Fprintln(tw, "\nAF_XDP kernel counters (XDP_STATISTICS):")
			fmt.Fprintln(tw, "Name\tRx dropped\tRx invalid descs\tRx ring full\tFill ring empty\tTx invalid descs\tTx ring empty\tXDP program")
			header = true
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", x.Name,
			k.RxDropped, k.RxInvalidDescs, k.RxRingFull, k.FillRingEmpty, k.TxInvalidDescs, k.TxRingEmpty, k.XDPProgram)
	}
	return tw.Flush()
}

// WriteFIB writes "show fib": a line per route, its paths after "via".
func WriteFIB(w io.Writer, rows []FIBRow) error {
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		fmt.Fprintf(&b, "%-18s %-9s", r.Prefix, r.Kind)
		for k, p := range r.Paths {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(" via ")
			if p.NextHop != "" && p.AdjKind != "local" {
				b.WriteString(p.NextHop)
				b.WriteByte(' ')
			}
			b.WriteString(p.Interface)
			b.WriteByte(' ')
			b.WriteString(p.AdjKind)
			if p.MAC != "" {
				b.WriteByte(' ')
				b.WriteString(p.MAC)
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteNeighbors writes "show neighbors": the entries, then the counts.
func WriteNeighbors(w io.Writer, r NeighborReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Interface\tIP\tMAC\tType\tState\tAge")
	for _, e := range r.Entries {
		age := "-"
		if e.AgeSeconds != nil {
			age = (time.Duration(*e.AgeSeconds) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Interface, e.IP, e.MAC, e.Type, e.State, age)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Stats
	_, err := fmt.Fprintf(w, "%d entries (%d static, %d reachable, %d stale, %d probe), limit %d; created %d, evicted %d, expired %d, refused %d\n"+
		"adjacencies: %d live, %d free (%d quarantined), %d slots\n",
		s.Entries, s.Static, s.Reachable, s.Stale, s.Probe, s.Limit, s.Created, s.Evicted, s.Expired, s.Refused,
		s.AdjacenciesLive, s.AdjacenciesFree, s.AdjacenciesQuarantined, s.AdjacencySlots)
	return err
}

// WriteNeighborStats writes "show neighbors stats": "key value" lines, the
// keys being the JSON field names.
func WriteNeighborStats(w io.Writer, s NeighborStats) error {
	for _, kv := range []struct {
		k string
		v any
	}{
		{"entries", s.Entries}, {"static", s.Static}, {"reachable", s.Reachable}, {"stale", s.Stale}, {"probe", s.Probe},
		{"limit", s.Limit}, {"created", s.Created}, {"changed", s.Changed}, {"evicted", s.Evicted}, {"expired", s.Expired},
		{"refused", s.Refused}, {"adjacencies_live", s.AdjacenciesLive}, {"adjacencies_free", s.AdjacenciesFree},
		{"adjacencies_quarantined", s.AdjacenciesQuarantined}, {"adjacency_slots", s.AdjacencySlots},
	} {
		if _, err := fmt.Fprintf(w, "%s %v\n", kv.k, kv.v); err != nil {
			return err
		}
	}
	return nil
}

// WriteOffload writes "show offload", the errors as "name count" pairs.
func WriteOffload(w io.Writer, rows []OffloadRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tSuper-frames segmented\tSegments\tChecksums completed\tNot handled")
	for _, r := range rows {
		var errs []string
		for _, e := range r.NotHandled {
			errs = append(errs, fmt.Sprintf("%s %d", e.Name, e.Count))
		}
		if len(errs) == 0 {
			errs = append(errs, "-")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", r.Name, r.Segmented, r.Segments, r.Completed, strings.Join(errs, ", "))
	}
	return tw.Flush()
}

// WriteTrace writes "show trace": per worker, per packet, what each node
// did with its decode.
func WriteTrace(w io.Writer, rows []TraceRow) error {
	for k, r := range rows {
		if k == 0 || rows[k-1].Worker != r.Worker {
			fmt.Fprintf(w, "------- worker %d -------\n", r.Worker)
		}
		if k == 0 || rows[k-1].Worker != r.Worker || rows[k-1].Packet != r.Packet {
			fmt.Fprintf(w, "Packet %d\n", r.Packet)
		}
		to := "-> " + r.Next
		if r.Next == "" {
			to = "dropped: " + r.Error
		}
		if _, err := fmt.Fprintf(w, "  %s %s\n    %s\n", r.Node, to, r.Detail); err != nil {
			return err
		}
	}
	return nil
}
