package daemon

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/service/policer"
)

// setupPolicers builds the configured policers and, when there are any,
// adds ip4-policer to the graph and its feature to the ip4-unicast arc.
// It runs after the interfaces are added (it binds by interface index)
// and before the workers' graphs are built.
func (d *Daemon) setupPolicers(dp *dataplane.Dataplane) error {
	if len(d.Config.Policers) == 0 {
		return nil
	}
	byPort := make([]*policer.Policer, len(d.Interfaces))
	for _, pc := range d.Config.Policers {
		ifc := d.iface(pc.Interface)
		if ifc == nil {
			return fmt.Errorf("policer %s: no interface %q", pc.Name, pc.Interface)
		}
		m, err := policer.NewMeter(pc.Meter, 0)
		if err != nil {
			return fmt.Errorf("policer %s: %w", pc.Name, err)
		}
		p := &policer.Policer{Name: pc.Name, Meter: m, Actions: pc.Actions}
		byPort[ifc.Index] = p
		d.policers = append(d.policers, policerBinding{p: p, ifname: ifc.Config.Name, port: ifc.Index})
	}
	d.policerTable.Set(byPort)
	dp.Extra = append(dp.Extra, policer.Node(&d.policerTable))
	dp.Features = append(dp.Features, policer.Feature)
	return nil
}

// enablePolicers turns ip4-policer on for the policed interfaces of one
// worker's graph.
func (d *Daemon) enablePolicers(g *graph.Graph) error {
	for _, b := range d.policers {
		if err := g.EnableFeature(ip4.UnicastArc, policer.NodeName, b.port, true); err != nil {
			return err
		}
	}
	return nil
}

// policerBinding is a configured policer and the interface it polices.
type policerBinding struct {
	p      *policer.Policer
	ifname string
	port   uint16
}

// Policers returns each policer's name, interface and per-colour counts.
func (d *Daemon) Policers() []PolicerStats {
	out := make([]PolicerStats, 0, len(d.policers))
	for _, b := range d.policers {
		s := PolicerStats{Name: b.p.Name, Interface: b.ifname, Config: b.p.Meter.Config()}
		s.Packets, s.Bytes = b.p.Counts()
		out = append(out, s)
	}
	return out
}

// PolicerStats is one policer's configuration and counts.
type PolicerStats struct {
	Name, Interface string
	Config          policer.Config
	Packets, Bytes  [policer.NumColors]uint64
}

func (d *Daemon) showPolicers(w io.Writer, _ []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tInterface\tMode\tCIR bit/s\tPIR bit/s\tGreen pkts\tYellow pkts\tRed pkts\tGreen bytes\tYellow bytes\tRed bytes")
	for _, s := range d.Policers() {
		mode, pir := "srTCM", "-"
		if s.Config.Mode == policer.TwoRate {
			mode, pir = "trTCM", fmt.Sprint(s.Config.PIR*8)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", s.Name, s.Interface, mode, s.Config.CIR*8, pir,
			s.Packets[0], s.Packets[1], s.Packets[2], s.Bytes[0], s.Bytes[1], s.Bytes[2])
	}
	return tw.Flush()
}
