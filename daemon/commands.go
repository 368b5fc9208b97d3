package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/memif"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/worker"
)

type dataplaneHop = fib.NextHop

// registerCommands puts the control layer's commands (package ctl) over
// the daemon's Backend on its CLI.
func (d *Daemon) registerCommands() {
	// CLI words beside ctl's: the capture's and the reload's (the API has
	// those as ctl.Backend operations).
	extra := []cli.Command{
		{Path: "pcap trace", Help: "pcap trace [rx] [tx] [drop] [interface NAME] [max N] [snap BYTES] file PATH: capture to a pcapng file", Run: d.pcapTraceCmd},
		{Path: "pcap trace off", Help: "stop the capture and close its file", Run: d.pcapTraceOffCmd},
		{Path: "show pcap", Help: "the running capture: what, where, packets recorded, written and lost", Run: d.showPcapCmd},
		{Path: "reload", Help: "re-read the config file and apply the difference (interfaces, addresses, neighbours, routes)", Run: d.reloadCmd},
	}
	for _, c := range append(ctl.Commands(d.Backend()), extra...) {
		if err := d.CLI.Register(c); err != nil {
			panic(err) // a duplicate path is a programming error
		}
	}
}

// Backend returns the daemon as the control layer sees it: typed rows and
// operations, for the CLI and the HTTP API.
func (d *Daemon) Backend() ctl.Backend { return backend{d} }

// backend implements ctl.Backend: it gathers rows (reading per-worker
// counters on the workers) and applies changes; it does not format.
type backend struct{ d *Daemon }

// perWorker reads f of every worker's graph, on the workers (OnWorkers):
// one result per worker, in worker order; a worker that did not answer
// leaves its zero value, and the error says which.
func perWorker[T any](d *Daemon, f func(*graph.Graph) T) ([]T, error) {
	out := make([]T, len(d.Workers))
	err := d.OnWorkers(func(w *worker.Worker) { out[w.ID] = f(w.Graph) })
	return out, err
}

// Runtime returns each worker's node statistics, read on the workers.
func (d *Daemon) Runtime() [][]graph.NodeStats {
	out, _ := perWorker(d, (*graph.Graph).Runtime)
	return out
}

// Errors returns each worker's error counters, read on the workers.
func (d *Daemon) Errors() [][]graph.ErrorCount {
	out, _ := perWorker(d, func(g *graph.Graph) []graph.ErrorCount { return g.Errors(false) })
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

func (b backend) Runtime() (ctl.RuntimeReport, error) {
	d := b.d
	perWorker := make([][]graph.NodeStats, len(d.Workers))
	stats := make([]worker.Stats, len(d.Workers))
	err := d.OnWorkers(func(x *worker.Worker) {
		perWorker[x.ID] = x.Graph.Runtime()
		stats[x.ID] = x.Stats()
	})
	tpn := tsc.TicksPerNanosecond()
	r := ctl.RuntimeReport{TicksPerNs: tpn, Workers: []ctl.WorkerRuntime{}}
	for i, wk := range d.Workers {
		st := stats[i]
		r.Workers = append(r.Workers, ctl.WorkerRuntime{ID: wk.ID, Name: fmt.Sprintf("vecnet_wk_%d", wk.ID), CPU: max(wk.CPU, -1),
			State: wk.State().String(), Loops: st.Loops, Sleeps: st.Sleeps, Packets: st.Packets,
			BusySeconds: float64(st.BusyNs) / 1e9, Nodes: ctl.NodeRows(perWorker[i:i+1], tpn)})
	}
	r.Total = ctl.NodeRows(perWorker, tpn)
	return r, unavailable(err)
}

func (b backend) Errors() ([]ctl.ErrorRow, error) {
	out, err := perWorker(b.d, func(g *graph.Graph) []graph.ErrorCount { return g.Errors(false) })
	return ctl.ErrorRows(out), unavailable(err)
}

func (b backend) Interfaces() ([]ctl.InterfaceRow, error) {
	d := b.d
	set := d.DP.Ifaces.Load()
	rows := make([]ctl.InterfaceRow, 0, len(d.Interfaces))
	for _, ifc := range d.Interfaces {
		x := set.Get(ifc.Index)
		s := d.PortStats(ifc)
		info := ifc.Info
		if ifc.LiveInfo != nil {
			info = ifc.LiveInfo()
		}
		admin := "up"
		if x.Down {
			admin = "down"
		}
		row := ctl.InterfaceRow{Name: x.Name, Index: x.Index, AdminState: admin, Driver: ifc.Config.Driver, Info: info,
			MAC: macString(x.MAC), MTU: x.MTU, Addresses: []string{}, Kind: x.Kind.String(),
			RxPackets: s.RxPackets, RxBytes: s.RxBytes, TxPackets: s.TxPackets, TxBytes: s.TxBytes,
			RxDrops: s.RxDrops, TxDrops: s.TxDrops, RxErrors: s.RxErrors}
		for _, p := range x.Addrs {
			row.Addresses = append(row.Addresses, p.String())
		}
		for _, p := range x.Addrs6 {
			row.Addresses = append(row.Addresses, p.String())
		}
		for _, a := range x.Tentative6 { // under duplicate address detection
			row.Addresses = append(row.Addresses, a.String()+"(tentative)")
		}
		if ifc.Config.Driver == "afxdp" {
			k := s.Kernel
			row.Kernel = &ctl.KernelRow{RxDropped: k.RxDropped, RxInvalidDescs: k.RxInvalidDescs, RxRingFull: k.RxRingFull,
				FillRingEmpty: k.FillRingEmpty, TxInvalidDescs: k.TxInvalidDescs, TxRingEmpty: k.TxRingEmptyDesc, XDPProgram: ifc.XDPStatus()}
		}
		if len(ifc.Ports) > 0 {
			if p, ok := driver.Underlying(ifc.Ports[0]).(*memif.Port); ok {
				e := p.Endpoint()
				app, name, lastErr := e.Peer()
				row.Memif = &ctl.MemifRow{Role: e.Config().Role.String(), State: e.State().String(), Peer: app, PeerIface: name, LastError: lastErr}
			}
		}
		rows = append(rows, row)
	}
	return d.subRows(set, rows)
}

// subRows appends the sub-interfaces' rows to rows, with their counters
// (ethernet-input's and interface-output's, summed over the workers).
func (d *Daemon) subRows(set *iface.Set, rows []ctl.InterfaceRow) ([]ctl.InterfaceRow, error) {
	if len(d.Subs) == 0 {
		return rows, nil
	}
	type pair struct{ rx, tx []iface.Counters }
	per, err := perWorker(d, func(g *graph.Graph) pair { return pair{ethernet.Counters(g), driver.SubCounters(g)} })
	var rx, tx [][]iface.Counters
	for _, p := range per {
		rx, tx = append(rx, p.rx), append(tx, p.tx)
	}
	rxs, txs := iface.SumCounters(rx), iface.SumCounters(tx)
	for _, s := range d.Subs {
		x := set.Get(s.Index)
		if x == nil {
			continue
		}
		admin := "up"
		if x.Down {
			admin = "down"
		}
		row := ctl.InterfaceRow{Name: x.Name, Index: x.Index, AdminState: admin, Driver: "sub", Info: s.Info,
			MAC: macString(x.MAC), MTU: x.MTU, Addresses: []string{}, Kind: iface.KindSub.String(),
			Parent: s.Sub.Parent, VLAN: uint16(s.Sub.VLAN), OuterVLAN: uint16(s.Sub.OuterVLAN)}
		if s.Sub.OuterVLAN != 0 {
			row.OuterTPID = fmt.Sprintf("%#04x", s.Sub.OuterTPID)
		}
		if int(x.Index) < len(rxs) {
			row.RxPackets, row.RxBytes = rxs[x.Index].RxPackets, rxs[x.Index].RxBytes
		}
		if int(x.Index) < len(txs) {
			row.TxPackets, row.TxBytes = txs[x.Index].TxPackets, txs[x.Index].TxBytes
		}
		for _, p := range x.Addrs {
			row.Addresses = append(row.Addresses, p.String())
		}
		for _, p := range x.Addrs6 {
			row.Addresses = append(row.Addresses, p.String())
		}
		for _, a := range x.Tentative6 {
			row.Addresses = append(row.Addresses, a.String()+"(tentative)")
		}
		rows = append(rows, row)
	}
	return rows, unavailable(err)
}

func (d *Daemon) ifName(i uint16) string {
	if x := d.DP.Ifaces.Load().Get(i); x != nil {
		return x.Name
	}
	return fmt.Sprintf("if%d", i)
}

func (b backend) FIB() ([]ctl.FIBRow, error) {
	routes := append(b.d.DP.FIB.Routes(), b.d.DP.FIB6.Routes()...)
	rows := make([]ctl.FIBRow, 0, len(routes))
	for _, r := range routes {
		row := ctl.FIBRow{Prefix: r.Prefix.String(), Kind: r.Kind.String(), Paths: []ctl.FIBPath{}}
		for _, p := range r.Paths {
			fp := ctl.FIBPath{Interface: b.d.ifName(p.Port), Adjacency: uint32(p.Adj), AdjKind: p.AdjKind.String()}
			if p.NextHop.IsValid() {
				fp.NextHop = p.NextHop.String()
			}
			if p.AdjKind == fib.AdjRewrite {
				fp.MAC = macString(p.MAC)
			}
			row.Paths = append(row.Paths, fp)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (b backend) Neighbors() (ctl.NeighborReport, error) {
	d := b.d
	r := ctl.NeighborReport{Entries: []ctl.NeighborRow{}}
	now := time.Now()
	for _, e := range append(d.DP.Neighbors.List(), d.DP.ND.List()...) {
		typ := "dynamic"
		if e.Static {
			typ = "static"
		}
		row := ctl.NeighborRow{Interface: d.ifName(e.Port), IP: e.IP.String(), MAC: macString(e.MAC), Type: typ, State: e.State.String()}
		if !e.Updated.IsZero() {
			age := int64(now.Sub(e.Updated).Round(time.Second) / time.Second)
			row.AgeSeconds = &age
		}
		r.Entries = append(r.Entries, row)
	}
	s := d.DP.Neighbors.Stats()
	r.Stats = ctl.NeighborStats{Entries: s.Entries, Static: s.Static, Reachable: s.Reachable, Stale: s.Stale, Probe: s.Probe,
		Limit: s.Limit, Created: s.Created, Changed: s.Changed, Evicted: s.Evicted, Expired: s.Expired, Refused: s.Refused,
		AdjacenciesLive: s.Adj.Live, AdjacenciesFree: s.Adj.Free, AdjacenciesQuarantined: s.Adj.Quarantined, AdjacencySlots: s.Adj.Slots}
	return r, nil
}

func (b backend) Offload() ([]ctl.OffloadRow, error) {
	rows := []ctl.OffloadRow{}
	for _, r := range b.d.Offload() {
		c := r.Counters
		row := ctl.OffloadRow{Name: r.Name, Segmented: c.Segmented, Segments: c.Segments, Completed: c.Completed, NotHandled: []ctl.NamedCount{}}
		c.Each(func(name string, n uint64) {
			row.NotHandled = append(row.NotHandled, ctl.NamedCount{Name: name, Count: n})
		})
		rows = append(rows, row)
	}
	return rows, nil
}

// Trace copies each worker's raw records on the worker and decodes them
// here, on the caller's goroutine: a client that stops reading then holds
// only its own goroutine, never a worker.
func (b backend) Trace() ([]ctl.TraceRow, error) {
	d := b.d
	recs, err := perWorker(d, (*graph.Graph).TraceCopy)
	rows := []ctl.TraceRow{}
	for i, wk := range d.Workers {
		rows = append(rows, ctl.TraceRows(wk.ID, recs[i], wk.Graph.TraceDetail)...)
	}
	return rows, unavailable(err)
}

func (b backend) TraceAdd(n int) error {
	if n <= 0 || n > ctl.MaxTrace {
		return ctl.Errorf(ctl.BadInput, "trace add: N must be 1..%d, got %d", ctl.MaxTrace, n)
	}
	return unavailable(b.d.OnWorkers(func(wk *worker.Worker) { wk.Graph.TraceAdd(n) }))
}

func (b backend) TraceClear() error {
	return unavailable(b.d.OnWorkers(func(wk *worker.Worker) { wk.Graph.TraceClear() }))
}

func (b backend) RuntimeClear() error {
	return unavailable(b.d.OnWorkers(func(wk *worker.Worker) { wk.Graph.ClearRuntime() }))
}

func (b backend) ErrorsClear() error {
	return unavailable(b.d.OnWorkers(func(wk *worker.Worker) { wk.Graph.ClearErrors() }))
}

func (b backend) RouteAdd(r ctl.Route) error {
	if !r.Prefix.IsValid() {
		return ctl.Errorf(ctl.BadInput, "a route needs a prefix")
	}
	return fibError(b.d.AddRoute(r.Prefix.Masked(), r.Via, r.Interface))
}

func (b backend) RouteDel(p netip.Prefix) error {
	if !p.IsValid() {
		return ctl.Errorf(ctl.BadInput, "a route needs a prefix")
	}
	del := b.d.DP.FIB.DelRoute
	if p.Addr().Is6() {
		del = b.d.DP.FIB6.DelRoute
	}
	return fibError(del(p.Masked()))
}

func (b backend) RouteBatch(changes []ctl.RouteChange) (ctl.RouteBatchResult, error) {
	if err := ctl.CheckRouteBatch(changes); err != nil {
		return ctl.RouteBatchResult{}, err
	}
	batch, res, err := b.d.routeBatch(changes)
	if err != nil {
		return ctl.RouteBatchResult{}, err
	}
	if err := b.d.DP.FIB.ApplyRoutes(batch); err != nil {
		return ctl.RouteBatchResult{}, fibError(err)
	}
	return res, nil
}

func (b backend) NeighborAdd(n ctl.Neighbor) error {
	ifc := b.d.iface(n.Interface)
	switch {
	case ifc == nil:
		return ctl.Errorf(ctl.NotFound, "no interface %q", n.Interface)
	case !n.IP.Is4():
		return ctl.Errorf(ctl.BadInput, "neighbor %v: not an IPv4 address", n.IP)
	}
	mac, err := ctl.ParseMAC(n.MAC)
	if err != nil {
		return err
	}
	if mac[0]&1 != 0 || mac == ([6]byte{}) {
		return ctl.Errorf(ctl.BadInput, "neighbor %v: %s is not a unicast MAC", n.IP, n.MAC)
	}
	b.d.DP.Neighbors.AddStatic(ifc.Index, n.IP.As4(), mac)
	return nil
}

func (b backend) NeighborDel(name string, ip netip.Addr) error {
	ifc := b.d.iface(name)
	switch {
	case ifc == nil:
		return ctl.Errorf(ctl.NotFound, "no interface %q", name)
	case !ip.Is4():
		return ctl.Errorf(ctl.BadInput, "neighbor %v: not an IPv4 address", ip)
	}
	if _, ok := b.d.DP.Neighbors.Get(ifc.Index, ip.As4()); !ok {
		return ctl.Errorf(ctl.NotFound, "no neighbor %v on %s", ip, name)
	}
	b.d.DP.Neighbors.Delete(ifc.Index, ip.As4())
	return nil
}

func (b backend) AddressAdd(name string, p netip.Prefix) error {
	ifc := b.d.iface(name)
	switch {
	case ifc == nil:
		return ctl.Errorf(ctl.NotFound, "no interface %q", name)
	case !p.Addr().Is4() || p.Bits() < 1 || p.Bits() > 32:
		return ctl.Errorf(ctl.BadInput, "address %v: not an IPv4 address with its prefix length", p)
	}
	for _, x := range b.d.DP.Ifaces.Load().All() {
		for _, q := range x.Addrs {
			if q.Addr() == p.Addr() || q.Masked() == p.Masked() {
				return ctl.Errorf(ctl.Conflict, "address %v: %v is already on %s", p, q, x.Name)
			}
		}
	}
	if err := b.d.DP.Ifaces.AddAddress(ifc.Index, p); err != nil {
		return ctl.Errorf(ctl.Conflict, "%v", err)
	}
	if err := b.d.DP.FIB.AddConnected(ifc.Index, p); err != nil {
		return fibError(err)
	}
	return nil
}

func (b backend) AddressDel(name string, p netip.Prefix) error {
	ifc := b.d.iface(name)
	if ifc == nil {
		return ctl.Errorf(ctl.NotFound, "no interface %q", name)
	}
	found := false
	if x := b.d.DP.Ifaces.Load().Get(ifc.Index); x != nil {
		for _, q := range x.Addrs {
			found = found || q == p
		}
	}
	if !found || !p.Addr().Is4() {
		return ctl.Errorf(ctl.NotFound, "%s has no address %v", name, p)
	}
	// As a reload removes one: the connected subnet (kept while another
	// address is on it) and the local /32 leave the FIB, then the address.
	if err := b.d.DP.FIB.DelConnected(ifc.Index, p); err != nil {
		return fibError(err)
	}
	if err := b.d.DP.Ifaces.DelAddress(ifc.Index, p); err != nil {
		return ctl.Errorf(ctl.Conflict, "%v", err)
	}
	return nil
}

// LinkSet sets an interface administratively up or down: a down
// interface's frames are dropped (and counted) by ethernet-input and
// interface-output; its ports keep running.
func (b backend) LinkSet(name string, up bool) error {
	ifc := b.d.iface(name)
	if ifc == nil {
		return ctl.Errorf(ctl.NotFound, "no interface %q", name)
	}
	return b.d.DP.Ifaces.SetDown(ifc.Index, !up)
}

// fibError classifies the FIB's and AddRoute's errors.
func fibError(err error) error {
	var nf *noInterfaceError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf), errors.Is(err, fib.ErrNoRoute), errors.Is(err, fib.ErrNoInterface):
		return &ctl.Error{Kind: ctl.NotFound, Err: err}
	case errors.Is(err, fib.ErrNotIPv4), errors.Is(err, fib.ErrNoNextHop), errors.Is(err, fib.ErrUnreachable):
		return &ctl.Error{Kind: ctl.BadInput, Err: err}
	}
	return err
}

// unavailable marks OnWorkers' error (a worker that did not answer).
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return &ctl.Error{Kind: ctl.Unavailable, Err: err}
}

// CommandList returns the commands every daemon serves on its CLI socket,
// with their help lines, sorted by path, without starting a daemon:
// vecnetctl's help, which works with no daemon running, is generated from
// it.
func CommandList() []cli.Command {
	d := &Daemon{CLI: cli.NewRegistry()}
	d.registerCommands()
	return d.CLI.Commands()
}

// macString formats a MAC.
func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }
