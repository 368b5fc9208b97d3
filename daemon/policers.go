package daemon

import (
	"fmt"
	"github.com/vecnet/vecnet/control/ctl"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/service/policer"
)

// setupPolicers builds the configured policers and, when any is bound to
// an interface, adds ip4-policer to the graph and its feature to the
// ip4-unicast arc (class policers, without an interface, are used by the
// ACL rules that name them: setupACLs). It runs after the interfaces are
// added (it binds by interface index) and before the workers' graphs are
// built, and before setupACLs.
func (d *Daemon) setupPolicers(dp *dataplane.Dataplane) error {
	if len(d.Config.Policers) == 0 {
		return nil
	}
	byPort := make([]*policer.Policer, len(d.Interfaces))
	bound := false
	for _, pc := range d.Config.Policers {
		m, err := policer.NewMeter(pc.Meter, 0)
		if err != nil {
			return fmt.Errorf("policer %s: %w", pc.Name, err)
		}
		p := &policer.Policer{Name: pc.Name, Meter: m, Actions: pc.Actions}
		if pc.Interface == "" {
			d.policers = append(d.policers, policerBinding{p: p, class: true})
			continue
		}
		ifc := d.iface(pc.Interface)
		if ifc == nil {
			return fmt.Errorf("policer %s: no interface %q", pc.Name, pc.Interface)
		}
		byPort[ifc.Index] = p
		bound = true
		d.policers = append(d.policers, policerBinding{p: p, ifname: ifc.Config.Name, port: ifc.Index})
	}
	if !bound {
		return nil
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
		if b.class {
			continue
		}
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
	class  bool // no interface: used by ACL rules (police: NAME)
}

// policerNamed returns the configured policer called name, or nil.
func (d *Daemon) policerNamed(name string) *policer.Policer {
	for _, b := range d.policers {
		if b.p.Name == name {
			return b.p
		}
	}
	return nil
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

// Policers implements ctl.Backend: show policers.
func (b backend) Policers() ([]ctl.PolicerRow, error) {
	rows := []ctl.PolicerRow{}
	for _, s := range b.d.Policers() {
		r := ctl.PolicerRow{Name: s.Name, Interface: s.Interface, Mode: "srTCM", CIRBits: s.Config.CIR * 8}
		if s.Config.Mode == policer.TwoRate {
			r.Mode, r.PIRBits = "trTCM", s.Config.PIR*8
		}
		c := func(k policer.Color) ctl.ColorCounter {
			return ctl.ColorCounter{Packets: s.Packets[k], Bytes: s.Bytes[k]}
		}
		r.Green, r.Yellow, r.Red = c(policer.Green), c(policer.Yellow), c(policer.Red)
		rows = append(rows, r)
	}
	return rows, nil
}
