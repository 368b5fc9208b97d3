package daemon

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/control/lcpsync"
	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/tap"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/service/linuxcp"
	"github.com/vecnet/vecnet/service/policer"
	"github.com/vecnet/vecnet/worker"
)

// lcpPair is one linux-cp pair: a vecnet interface (the phy) and its TAP
// in the host kernel.
type lcpPair struct {
	phy     *Interface
	hostIf  string
	netns   string
	tap     *tap.Interface
	host    uint16 // the TAP's index among interface-output's ports
	ifindex int    // the TAP's kernel ifindex
	meter   *policer.Meter
}

// linuxCP is the daemon's linux-cp state (nil without pairs).
type linuxCP struct {
	pairs   []*lcpPair
	table   linuxcp.Pairs
	mirrors []*lcpsync.Mirror
}

// setupLinuxCP creates a TAP for each configured pair, with one queue per
// worker and the phy's MAC, MTU and addresses, and adds the linux-cp nodes
// to the graph (ip4-local punts to linux-cp-punt). It runs after the
// interfaces are added and before the workers' graphs are built.
func (d *Daemon) setupLinuxCP(dp *dataplane.Dataplane, workers int) error {
	if len(d.Config.LinuxCP) == 0 {
		return nil
	}
	lcp := &linuxCP{}
	d.lcp = lcp
	n := len(d.Interfaces)
	lcp.table.HostOf = make([]uint16, n)
	lcp.table.Meter = make([]*policer.Meter, n)
	lcp.table.PhyOf = make([]uint16, n+len(d.Config.LinuxCP))
	for i := range lcp.table.HostOf {
		lcp.table.HostOf[i] = linuxcp.NoPair
	}
	for i := range lcp.table.PhyOf {
		lcp.table.PhyOf[i] = linuxcp.NoPair
	}
	set := dp.Ifaces.Load()
	for k, lc := range d.Config.LinuxCP {
		phy := d.iface(lc.Interface)
		if phy == nil {
			return fmt.Errorf("linux_cp: no interface %q", lc.Interface)
		}
		p := &lcpPair{phy: phy, hostIf: lc.HostIf, netns: lc.Netns, host: uint16(n + k)}
		if p.netns == "" {
			p.netns = phy.Config.Netns
		}
		meter, err := policer.NewMeter(lc.Punt, 0)
		if err != nil {
			return fmt.Errorf("linux_cp %s: %w", lc.Interface, err)
		}
		p.meter = meter
		in := set.Get(phy.Index)
		err = inNetns(p.netns, func() error {
			t, err := tap.Open(tap.Config{Name: lc.HostIf, Queues: workers, MTU: int(in.MTU)})
			if err != nil {
				return err
			}
			p.tap = t
			d.kernel = append(d.kernel, t) // closed (and so removed) by Stop
			link, err := netlink.LinkByName(lc.HostIf)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetHardwareAddr(link, net.HardwareAddr(in.MAC[:])); err != nil {
				return fmt.Errorf("set MAC: %w", err)
			}
			for _, a := range in.Addrs {
				ipn := &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), 32)}
				if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipn}); err != nil {
					return fmt.Errorf("address %v: %w", a, err)
				}
			}
			p.ifindex = link.Attrs().Index
			return nil
		})
		if err != nil {
			return fmt.Errorf("linux_cp %s: host interface %s: %w", lc.Interface, lc.HostIf, err)
		}
		lcp.table.HostOf[phy.Index] = p.host
		lcp.table.PhyOf[p.host] = phy.Index
		lcp.table.Meter[phy.Index] = meter
		lcp.pairs = append(lcp.pairs, p)
	}
	dp.Punt = linuxcp.PuntName
	dp.Extra = append(dp.Extra, linuxcp.PuntNode(&lcp.table), linuxcp.ARPNode(&lcp.table), linuxcp.InjectNode(&lcp.table))
	return nil
}

// workerInputs returns worker w's input nodes over its port set: port-input
// (whose next is linux-cp-arp when there are pairs) and linux-cp-input,
// which polls the TAPs' queues of the worker. The TAPs join the port set
// at their host indexes (past the vecnet interfaces), so that
// interface-output sends what linux-cp-punt hands it to the kernel; they
// are polled by linux-cp-input, not by port-input.
func (d *Daemon) workerInputs(w int, ps *driver.PortSet) []graph.Registration {
	if d.lcp == nil {
		return []graph.Registration{driver.InputNodeSet(driver.PortInputName, ps, ethernet.NodeName)}
	}
	var hosts []driver.Binding
	for _, p := range d.lcp.pairs {
		q := p.tap.Ports()[w]
		ps.Attach(p.host, q, false)
		hosts = append(hosts, driver.Binding{If: p.host, Port: q})
	}
	return []graph.Registration{driver.InputNodeSet(driver.PortInputName, ps, linuxcp.ARPName), linuxcp.InputNode(hosts)}
}

// linuxCPPorts returns worker w's TAP queues, for the worker's wake-ups.
func (d *Daemon) linuxCPPorts(w int) []driver.Port {
	if d.lcp == nil {
		return nil
	}
	var out []driver.Port
	for _, p := range d.lcp.pairs {
		out = append(out, p.tap.Ports()[w])
	}
	return out
}

// startLinuxCP starts the netlink mirror of each namespace with host
// interfaces.
func (d *Daemon) startLinuxCP() error {
	if d.lcp == nil {
		return nil
	}
	byNS := map[string]map[int]uint16{}
	var order []string
	for _, p := range d.lcp.pairs {
		if byNS[p.netns] == nil {
			byNS[p.netns] = map[int]uint16{}
			order = append(order, p.netns)
		}
		byNS[p.netns][p.ifindex] = p.phy.Index
	}
	for _, ns := range order {
		m, err := lcpsync.Start(lcpsync.Config{Netns: ns, Links: byNS[ns], FIB: d.DP.FIB, Neighbors: d.DP.Neighbors,
			Logf: func(f string, a ...any) { d.Log.Info("linux-cp: " + fmt.Sprintf(f, a...)) }})
		if err != nil {
			return err
		}
		d.lcp.mirrors = append(d.lcp.mirrors, m)
	}
	return nil
}

// stopLinuxCP stops the netlink mirrors (the TAPs close with the kernel
// interfaces).
func (d *Daemon) stopLinuxCP() {
	if d.lcp == nil {
		return
	}
	for _, m := range d.lcp.mirrors {
		m.Close()
	}
	d.lcp.mirrors = nil
}

// LinuxCPStats returns the netlink mirrors' counters summed.
func (d *Daemon) LinuxCPStats() lcpsync.Stats {
	var s lcpsync.Stats
	if d.lcp == nil {
		return s
	}
	for _, m := range d.lcp.mirrors {
		x := m.Stats()
		s.RoutesAdded += x.RoutesAdded
		s.RoutesDeleted += x.RoutesDeleted
		s.RoutesSkipped += x.RoutesSkipped
		s.RouteErrors += x.RouteErrors
		s.Neighbors += x.Neighbors
		s.Batches += x.Batches
		s.Installed += x.Installed
	}
	return s
}

// LinuxCP implements ctl.Backend: show linux-cp. A pair's punted and
// injected counts are its TAP's transmitted and received frames, summed
// over the workers' queues (read on each worker).
func (b backend) LinuxCP() (ctl.LinuxCPReport, error) {
	d := b.d
	r := ctl.LinuxCPReport{Pairs: []ctl.LinuxCPPair{}}
	if d.lcp == nil {
		return r, nil
	}
	stats := make([]driver.Stats, len(d.lcp.pairs))
	err := d.OnWorkers(func(w *worker.Worker) {
		for k, p := range d.lcp.pairs {
			if qs := p.tap.Ports(); w.ID < len(qs) {
				stats[k].Add(qs[w.ID].Stats())
			}
		}
	})
	for k, p := range d.lcp.pairs {
		c := p.meter.Config()
		st := stats[k]
		r.Pairs = append(r.Pairs, ctl.LinuxCPPair{Interface: p.phy.Config.Name, HostIf: p.hostIf, Netns: p.netns,
			HostIfIndex: p.ifindex, PuntRateBits: c.CIR * 8, PuntBurst: c.CBS,
			Punted: st.TxPackets, PuntedBytes: st.TxBytes, Injected: st.RxPackets, InjectedBytes: st.RxBytes})
	}
	s := d.LinuxCPStats()
	r.Mirror = ctl.LinuxCPMirror{RoutesInstalled: uint64(s.Installed), RoutesAdded: s.RoutesAdded,
		RoutesDeleted: s.RoutesDeleted, RoutesSkipped: s.RoutesSkipped, RouteErrors: s.RouteErrors,
		Batches: s.Batches, Neighbors: s.Neighbors}
	return r, err
}
