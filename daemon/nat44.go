package daemon

import (
	"fmt"
	"github.com/vecnet/vecnet/control/ctl"
	"time"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/service/nat44"
)

// setupNAT44 adds nat44-in2out and nat44-out2in when the config has NAT44.
// It runs after the interfaces are added and before the graphs are built.
func (d *Daemon) setupNAT44(dp *dataplane.Dataplane) error {
	nc := d.Config.NAT44
	if nc == nil {
		return nil
	}
	out := d.iface(nc.Outside)
	if out == nil || len(out.Config.Addresses) == 0 && !nc.Address.IsValid() && len(nc.Pool) == 0 {
		return fmt.Errorf("nat44: outside interface %q has no address to translate to", nc.Outside)
	}
	var outAddr = nc.Address
	if !outAddr.IsValid() {
		outAddr = out.Config.Addresses[0].Addr()
	}
	cfg, err := nc.Engine(max(d.Config.Workers, 1), func(name string) (uint16, bool) {
		if ifc := d.iface(name); ifc != nil {
			return ifc.Index, true
		}
		return 0, false
	}, outAddr)
	if err != nil {
		return err
	}
	d.nat = &cfg
	// Graphs are built in worker order; each asks once for its index.
	seen := map[*graph.Graph]int{}
	workerOf := func(g *graph.Graph) int {
		if w, ok := seen[g]; ok {
			return w
		}
		seen[g] = len(seen)
		return seen[g]
	}
	dp.Extra = append(dp.Extra, nat44.Nodes(cfg, dp.FIB, workerOf)...)
	dp.Features = append(dp.Features, nat44.In2OutFeature, nat44.Out2InFeature)
	return nil
}

// enableNAT44 turns the NAT nodes on for their interfaces in one graph.
func (d *Daemon) enableNAT44(g *graph.Graph) error {
	if d.nat == nil {
		return nil
	}
	for _, p := range d.nat.Inside {
		if err := g.EnableFeature(ip4.UnicastArc, nat44.In2OutName, p, true); err != nil {
			return err
		}
	}
	return g.EnableFeature(ip4.UnicastArc, nat44.Out2InName, d.nat.Outside, true)
}

// NATSessions returns every worker's NAT44 mappings, read on the workers.
func (d *Daemon) NATSessions() ([][]nat44.SessionInfo, error) {
	return perWorker(d, nat44.NodeSessions)
}

// NATSessions implements ctl.Backend: show nat sessions.
func (b backend) NATSessions() ([]ctl.NATSessionRow, error) {
	per, err := b.d.NATSessions()
	rows := []ctl.NATSessionRow{}
	for w, ss := range per {
		for _, s := range ss {
			r := ctl.NATSessionRow{Worker: w, Protocol: s.Proto, Inside: s.Inside.String(), Outside: s.Outside.String(), State: s.State, Packets: s.Packets}
			if s.ExpiresIn > 0 {
				sec := int64(s.ExpiresIn.Round(time.Second) / time.Second)
				r.ExpiresInSeconds = &sec
			}
			rows = append(rows, r)
		}
	}
	return rows, unavailable(err)
}
