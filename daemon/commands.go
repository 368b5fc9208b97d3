package daemon

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"text/tabwriter"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/worker"
)

type dataplaneHop = fib.NextHop

func (d *Daemon) registerCommands() {
	for _, c := range []cli.Command{
		{Path: "show runtime", Help: "per-node calls, vectors, clocks/packet and vectors/call, per worker state", Run: d.showRuntime},
		{Path: "show errors", Help: "error counters by node and reason", Run: d.showErrors},
		{Path: "show interfaces", Help: "interfaces with addresses and counters", Run: d.showInterfaces},
		{Path: "show offload", Help: "software GSO segmentation and checksum completion per interface, and frames not handled", Run: d.showOffload},
		{Path: "show fib", Help: "the IPv4 forwarding table", Run: d.showFIB},
		{Path: "show neighbors", Help: "ARP entries with their state, then the table's and the FIB's adjacency counts", Run: d.showNeighbors},
		{Path: "show neighbors stats", Help: "neighbour and adjacency counts as \"key value\" lines (for scripts)", Run: d.showNeighborStats},
		{Path: "show acls", Help: "ACLs with each rule's hit count", Run: d.showACLs},
		{Path: "show linux-cp", Help: "linux-cp pairs (vecnet interface and its TAP in the kernel) and the netlink mirror's counters", Run: d.showLinuxCP},
		{Path: "show policers", Help: "policers with their rates and per-colour packet and byte counts", Run: d.showPolicers},
		{Path: "show trace", Help: "what each node did to the traced packets", Run: d.showTrace},
		{Path: "trace add", Help: "trace add N: trace the next N packets on every worker", Run: d.traceAdd},
		{Path: "clear trace", Help: "drop trace records", Run: d.clearTrace},
		{Path: "clear runtime", Help: "zero node statistics", Run: d.clearRuntime},
		{Path: "clear errors", Help: "zero error counters", Run: d.clearErrors},
		{Path: "ip route add", Help: "ip route add PREFIX via ADDR [ADDR...] [dev IFACE]", Run: d.routeAdd},
		{Path: "ip route del", Help: "ip route del PREFIX", Run: d.routeDel},
	} {
		if err := d.CLI.Register(c); err != nil {
			panic(err) // a duplicate path is a programming error
		}
	}
}

// Runtime returns each worker's node statistics, read on the workers.
func (d *Daemon) Runtime() [][]graph.NodeStats {
	out := make([][]graph.NodeStats, len(d.Workers))
	d.OnWorkers(func(w *worker.Worker) { out[w.ID] = w.Graph.Runtime() })
	return out
}

// Errors returns each worker's error counters, read on the workers.
func (d *Daemon) Errors() [][]graph.ErrorCount {
	out := make([][]graph.ErrorCount, len(d.Workers))
	d.OnWorkers(func(w *worker.Worker) { out[w.ID] = w.Graph.Errors(false) })
	return out
}

// PortStats returns an interface's counters summed over its ports.
func (d *Daemon) PortStats(ifc *Interface) driver.Stats {
	var sum driver.Stats
	d.OnWorkers(func(w *worker.Worker) {
		if w.ID < len(ifc.Ports) && ifc.Ports[w.ID] != nil {
			sum.Add(ifc.Ports[w.ID].Stats())
		}
	})
	return sum
}

func (d *Daemon) showRuntime(w io.Writer, _ []string) error {
	perWorker := make([][]graph.NodeStats, len(d.Workers))
	stats := make([]worker.Stats, len(d.Workers))
	err := d.OnWorkers(func(x *worker.Worker) {
		perWorker[x.ID] = x.Graph.Runtime()
		stats[x.ID] = x.Stats()
	})
	tpn := tsc.TicksPerNanosecond()
	for i, wk := range d.Workers {
		st := stats[i]
		cpu := "any cpu"
		if wk.CPU >= 0 {
			cpu = "cpu " + strconv.Itoa(wk.CPU)
		}
		fmt.Fprintf(w, "Thread %d vecnet_wk_%d (%s): %s; loops %d, sleeps %d, packets %d, busy %.3fs\n",
			wk.ID, wk.ID, cpu, wk.State(), st.Loops, st.Sleeps, st.Packets, float64(st.BusyNs)/1e9)
		dataplane.WriteRuntime(w, perWorker[i:i+1], tpn)
		fmt.Fprintln(w)
	}
	if len(d.Workers) > 1 {
		fmt.Fprintln(w, "All workers:")
		dataplane.WriteRuntime(w, perWorker, tpn)
	}
	return err // a wedged worker's rows are missing: say which
}

func (d *Daemon) showErrors(w io.Writer, _ []string) error {
	dataplane.WriteErrors(w, d.Errors())
	return nil
}

func (d *Daemon) showInterfaces(w io.Writer, _ []string) error {
	set := d.DP.Ifaces.Load()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tIdx\tDriver\tMAC\tMTU\tAddresses\tRx pkts\tRx bytes\tTx pkts\tTx bytes\tDrops rx/tx\tRx errors")
	stats := make([]driver.Stats, len(d.Interfaces))
	for k, ifc := range d.Interfaces {
		x := set.Get(ifc.Index)
		s := d.PortStats(ifc)
		stats[k] = s
		info := ifc.Info
		if ifc.LiveInfo != nil {
			info = ifc.LiveInfo()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d/%d\t%d\n", x.Name, x.Index, ifc.Config.Driver+" "+info,
			macString(x.MAC), x.MTU, joinPrefixes(x.Addrs), s.RxPackets, s.RxBytes, s.TxPackets, s.TxBytes, s.RxDrops, s.TxDrops, s.RxErrors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeKernelStats(w, d.Interfaces, stats)
}

// writeKernelStats prints the kernel's AF_XDP socket counters of the afxdp
// interfaces (summed over their queues): what the kernel dropped before
// vecnet could see it.
func writeKernelStats(w io.Writer, ifcs []*Interface, stats []driver.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := false
	for k, ifc := range ifcs {
		if ifc.Config.Driver != "afxdp" {
			continue
		}
		if !header {
			fmt.Fprintln(tw, "\nAF_XDP kernel counters (XDP_STATISTICS):")
			fmt.Fprintln(tw, "Name\tRx dropped\tRx invalid descs\tRx ring full\tFill ring empty\tTx invalid descs\tTx ring empty\tXDP program")
			header = true
		}
		ks := stats[k].Kernel
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", ifc.Config.Name,
			ks.RxDropped, ks.RxInvalidDescs, ks.RxRingFull, ks.FillRingEmpty, ks.TxInvalidDescs, ks.TxRingEmptyDesc, ifc.XDPStatus())
	}
	return tw.Flush()
}

func (d *Daemon) ifName(i uint16) string {
	if x := d.DP.Ifaces.Load().Get(i); x != nil {
		return x.Name
	}
	return "if" + strconv.Itoa(int(i))
}

func (d *Daemon) showFIB(w io.Writer, _ []string) error {
	for _, r := range d.DP.FIB.Routes() {
		fmt.Fprintln(w, formatRoute(r, d.ifName))
	}
	return nil
}

func (d *Daemon) showNeighbors(w io.Writer, _ []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Interface\tIP\tMAC\tType\tState\tAge")
	for _, e := range d.DP.Neighbors.List() {
		typ := "dynamic"
		if e.Static {
			typ = "static"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ifName(e.Port), e.IP, macString(e.MAC), typ, e.State, sinceString(e.Updated))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := d.DP.Neighbors.Stats()
	_, err := fmt.Fprintf(w, "%d entries (%d static, %d reachable, %d stale, %d probe), limit %d; created %d, evicted %d, expired %d, refused %d\n"+
		"adjacencies: %d live, %d free (%d quarantined), %d slots\n",
		s.Entries, s.Static, s.Reachable, s.Stale, s.Probe, s.Limit, s.Created, s.Evicted, s.Expired, s.Refused,
		s.Adj.Live, s.Adj.Free, s.Adj.Quarantined, s.Adj.Slots)
	return err
}

func (d *Daemon) traceAdd(w io.Writer, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: trace add N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n <= 0 || n > 10000 {
		return fmt.Errorf("trace add: N must be 1..10000, got %q", args[0])
	}
	if err := d.OnWorkers(func(wk *worker.Worker) { wk.Graph.TraceAdd(n) }); err != nil {
		return err
	}
	fmt.Fprintf(w, "tracing the next %d packets on each of %d workers\n", n, len(d.Workers))
	return nil
}

// showTrace copies each worker's raw records on the worker and formats them
// here, on the CLI's goroutine: a client that stops reading then holds only
// this goroutine (until the CLI's write timeout), never a worker.
func (d *Daemon) showTrace(w io.Writer, _ []string) error {
	recs := make([][]graph.TraceRecord, len(d.Workers))
	err := d.OnWorkers(func(wk *worker.Worker) { recs[wk.ID] = wk.Graph.TraceCopy() })
	for i, wk := range d.Workers {
		if len(recs[i]) == 0 {
			continue
		}
		fmt.Fprintf(w, "------- worker %d -------\n", wk.ID)
		wk.Graph.FormatTrace(w, recs[i])
	}
	return err
}

func (d *Daemon) clearTrace(io.Writer, []string) error {
	return d.OnWorkers(func(wk *worker.Worker) { wk.Graph.TraceClear() })
}

func (d *Daemon) clearRuntime(io.Writer, []string) error {
	return d.OnWorkers(func(wk *worker.Worker) { wk.Graph.ClearRuntime() })
}

func (d *Daemon) clearErrors(io.Writer, []string) error {
	return d.OnWorkers(func(wk *worker.Worker) { wk.Graph.ClearErrors() })
}

func (d *Daemon) routeAdd(w io.Writer, args []string) error {
	if len(args) < 3 || args[1] != "via" {
		return fmt.Errorf("usage: ip route add PREFIX via ADDR [ADDR...] [dev IFACE]")
	}
	p, err := netip.ParsePrefix(args[0])
	if err != nil {
		return fmt.Errorf("ip route add: %w", err)
	}
	var via []netip.Addr
	dev := ""
	for k := 2; k < len(args); k++ {
		if args[k] == "dev" && k+1 < len(args) {
			dev = args[k+1]
			k++
			continue
		}
		a, err := netip.ParseAddr(args[k])
		if err != nil {
			return fmt.Errorf("ip route add: next hop: %w", err)
		}
		via = append(via, a)
	}
	if err := d.AddRoute(p.Masked(), via, dev); err != nil {
		return fmt.Errorf("ip route add: %w", err)
	}
	fmt.Fprintf(w, "added %v\n", p.Masked())
	return nil
}

func (d *Daemon) routeDel(w io.Writer, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: ip route del PREFIX")
	}
	p, err := netip.ParsePrefix(args[0])
	if err != nil {
		return fmt.Errorf("ip route del: %w", err)
	}
	if err := d.DP.FIB.DelRoute(p.Masked()); err != nil {
		return fmt.Errorf("ip route del: %w", err)
	}
	fmt.Fprintf(w, "deleted %v\n", p.Masked())
	return nil
}
