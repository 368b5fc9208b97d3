package daemon

import (
	"fmt"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l2/bridge"
	"github.com/vecnet/vecnet/wire"
)

// bviDriver is the Driver a BVI's Interface reports (it has no driver
// ports: its per-worker port is a bridge.BVIPort).
const bviDriver = "bvi"

// setupBridges adds the configured bridge domains: each BVI becomes an
// interface (with its addresses, so routes and neighbours may name it)
// whose per-worker port enters the bridge, and the domains are set in
// dp.Bridges before the graphs are built. It runs after the configured
// interfaces are registered.
func (d *Daemon) setupBridges(dp *dataplane.Dataplane, nw int) error {
	if len(d.Config.Bridges) == 0 {
		return nil
	}
	var ds []bridge.Domain
	for _, bc := range d.Config.Bridges {
		dom := bridge.Domain{ID: bc.ID, Age: bc.Age, MaxMACs: bc.MaxMACs}
		for _, m := range bc.Members {
			ifc := d.iface(m.Interface)
			if ifc == nil {
				return fmt.Errorf("bridge %d: no interface %q", bc.ID, m.Interface)
			}
			dom.Members = append(dom.Members, bridge.Member{If: ifc.Index, Group: m.SplitHorizon})
		}
		if bc.BVI != nil {
			ifc, err := d.addBVI(&bc, nw)
			if err != nil {
				return err
			}
			dom.HasBVI, dom.BVI, dom.BVIMAC = true, ifc.Index, ifc.mac
		}
		ds = append(ds, dom)
	}
	dp.Bridges = bridge.NewTable()
	return dp.Bridges.SetDomains(ds)
}

// addBVI registers bridge bc's BVI as an interface with one bridge.BVIPort
// per worker.
func (d *Daemon) addBVI(bc *config.Bridge, nw int) (*Interface, error) {
	v := bc.BVI
	ifc := &Interface{
		Config: config.Interface{Name: v.Name, Driver: bviDriver, MAC: config.MAC(bc.BVIMAC()), MTU: v.MTU, Addresses: v.Addresses},
		Info:   fmt.Sprintf("bridge %d BVI", bc.ID),
		mac:    bc.BVIMAC(),
	}
	if err := d.registerInterface(ifc); err != nil {
		return nil, fmt.Errorf("bridge %d bvi %s: %w", bc.ID, v.Name, err)
	}
	if err := d.DP.Ifaces.SetKind(ifc.Index, iface.KindBVI); err != nil {
		return nil, err
	}
	for w := 0; w < nw; w++ {
		ifc.Ports = append(ifc.Ports, bridge.NewBVIPort(ifc.Index))
	}
	return ifc, nil
}

// bindBVIs points worker graph g's BVI ports (worker w's) at its l2-fwd.
func (d *Daemon) bindBVIs(w int, g *graph.Graph) {
	for _, ifc := range d.Interfaces {
		if ifc.Config.Driver != bviDriver || w >= len(ifc.Ports) {
			continue
		}
		if p, ok := ifc.Ports[w].(*bridge.BVIPort); ok {
			p.Bind(g)
		}
	}
}

// isBVIPort reports whether p is a BVI's port (never polled).
func isBVIPort(p driver.Port) bool { _, ok := p.(*bridge.BVIPort); return ok }

// ifaceName returns interface i's name, or its index as a string.
func (d *Daemon) ifaceName(i uint16) string {
	if x := d.DP.Ifaces.Load().Get(i); x != nil {
		return x.Name
	}
	return fmt.Sprint(i)
}

// Bridges implements ctl.Backend: show bridge.
func (b backend) Bridges() ([]ctl.BridgeRow, error) {
	d := b.d
	rows := []ctl.BridgeRow{}
	if d.DP.Bridges == nil {
		return rows, nil
	}
	macs, err := perWorker(d, bridge.MACs)
	count := map[uint32]int{}
	for _, ms := range macs {
		for _, m := range ms {
			count[m.Domain]++
		}
	}
	for _, dom := range d.DP.Bridges.Domains() {
		r := ctl.BridgeRow{ID: dom.ID, AgeSeconds: int64(dom.Age / time.Second), MaxMACs: dom.MaxMACs, MACs: count[dom.ID]}
		for _, m := range dom.Members {
			r.Members = append(r.Members, ctl.BridgeMemberRow{Interface: d.ifaceName(m.If), SplitHorizon: m.Group})
		}
		if dom.HasBVI {
			r.BVI = d.ifaceName(dom.BVI)
		}
		rows = append(rows, r)
	}
	return rows, unavailable(err)
}

// BridgeMACs implements ctl.Backend: show bridge macs.
func (b backend) BridgeMACs() ([]ctl.BridgeMACRow, error) {
	d := b.d
	rows := []ctl.BridgeMACRow{}
	if d.DP.Bridges == nil {
		return rows, nil
	}
	macs, err := perWorker(d, bridge.MACs)
	for w, ms := range macs {
		for _, m := range ms {
			rows = append(rows, ctl.BridgeMACRow{Worker: w, Bridge: m.Domain, MAC: wire.MAC(m.MAC).String(),
				Interface: d.ifaceName(m.If), IdleSeconds: m.Idle / int64(time.Second)})
		}
	}
	return rows, unavailable(err)
}

// BridgeMACsClear implements ctl.Backend: clear bridge macs. The workers
// forget their MACs at their next timer tick.
func (b backend) BridgeMACsClear() error {
	if b.d.DP.Bridges == nil {
		return ctl.Errorf(ctl.NotFound, "no bridge domains")
	}
	b.d.DP.Bridges.ClearMACs()
	return nil
}
