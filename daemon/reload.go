package daemon

import (
	"errors"
	"fmt"
	"github.com/vecnet/vecnet/control/ctl"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/worker"
)

// Reload without restart: "reload" (and SIGHUP, in cmd/vecnet) re-reads
// the config file and applies the difference to the running data plane:
// interfaces added and removed, addresses, static neighbours and routes.
// Everything is checked before anything changes, so a config that cannot
// be applied leaves the daemon as it was. What the change does not touch
// keeps forwarding: routes change in one FIB batch (one View swap), an
// added interface is attached to the workers before a route can point at
// it, and a removed one is detached after the routes through it are gone.

// reloadSpareSlots is how many packet buffers a reload leaves free for the
// traffic in flight when it stocks an added interface's rings.
const reloadSpareSlots = 16384

// ErrNoConfigFile is returned by Reload when the daemon was started from a
// config in memory (Options.ConfigFile empty).
var ErrNoConfigFile = errors.New("reload: the daemon has no config file (started without Options.ConfigFile)")

// Reload reads the config file again and applies it (see Apply). A file
// that does not parse is rejected with its file:line:column errors and
// nothing changes.
func (d *Daemon) Reload() (string, error) {
	if d.configFile == "" {
		return "", ErrNoConfigFile
	}
	cfg, err := config.Load(d.configFile)
	if err != nil {
		return "", fmt.Errorf("reload: nothing changed: %w", err)
	}
	return d.Apply(cfg)
}

// configDiff is what Apply changes.
type configDiff struct {
	addIfs, delIfs   []config.Interface
	addAddrs         map[string][]netip.Prefix // by interface name
	delAddrs         map[string][]netip.Prefix
	addNbrs, delNbrs []config.Neighbor
	routes           []config.Route // to install (new or changed)
	delRoutes        []netip.Prefix
}

func (c *configDiff) empty() bool {
	return len(c.addIfs)+len(c.delIfs)+len(c.addAddrs)+len(c.delAddrs)+len(c.addNbrs)+len(c.delNbrs)+len(c.routes)+len(c.delRoutes) == 0
}

// summary describes the change in one line per kind.
func (c *configDiff) summary() string {
	if c.empty() {
		return "reload: no change"
	}
	var b strings.Builder
	b.WriteString("reload: applied")
	names := func(ics []config.Interface) string {
		var s []string
		for _, ic := range ics {
			s = append(s, ic.Name)
		}
		return strings.Join(s, " ")
	}
	count := func(m map[string][]netip.Prefix) int {
		n := 0
		for _, ps := range m {
			n += len(ps)
		}
		return n
	}
	if len(c.addIfs) > 0 {
		fmt.Fprintf(&b, "; interfaces added: %s", names(c.addIfs))
	}
	if len(c.delIfs) > 0 {
		fmt.Fprintf(&b, "; interfaces removed: %s", names(c.delIfs))
	}
	fmt.Fprintf(&b, "; addresses +%d -%d; neighbours +%d -%d; routes installed %d, deleted %d",
		count(c.addAddrs), count(c.delAddrs), len(c.addNbrs), len(c.delNbrs), len(c.routes), len(c.delRoutes))
	return b.String()
}

// diff compares the running config with next and checks that next can be
// applied without a restart.
func (d *Daemon) diff(next *config.Config) (*configDiff, error) {
	cur := d.Config
	var errs []error
	restart := func(what string) {
		errs = append(errs, fmt.Errorf("%s changed: that needs a restart", what))
	}
	if max(cur.Workers, 1) != max(next.Workers, 1) {
		restart("workers")
	}
	if cur.Socket != next.Socket {
		restart("socket")
	}
	if cur.WorkerSpin != next.WorkerSpin || cur.WorkerRTPriority != next.WorkerRTPriority {
		restart("worker_spin or worker_rt_priority")
	}
	if cur.WorkerShared != next.WorkerShared {
		restart("worker_thread")
	}
	if !reflect.DeepEqual(cur.ARP, next.ARP) {
		restart("arp")
	}
	if !reflect.DeepEqual(cur.Limits, next.Limits) {
		restart("limits")
	}
	// The services and the API are built into the graphs and servers at
	// start: changing them is a restart, never a silent no-op.
	if !reflect.DeepEqual(cur.Policers, next.Policers) {
		restart("policers")
	}
	if !reflect.DeepEqual(cur.ACLs, next.ACLs) {
		restart("acls")
	}
	if cur.Sessions != next.Sessions {
		restart("sessions")
	}
	if !reflect.DeepEqual(cur.NAT44, next.NAT44) {
		restart("nat44")
	}
	if !reflect.DeepEqual(cur.HTTP, next.HTTP) {
		restart("http")
	}
	if !reflect.DeepEqual(cur.SubInterfaces, next.SubInterfaces) {
		restart("sub-interfaces")
	}
	// linux-cp's TAPs take interface indexes past the interfaces' at
	// start: with pairs, interfaces (and the pairs) change with a restart.
	if !reflect.DeepEqual(cur.LinuxCP, next.LinuxCP) {
		restart("linux_cp")
	}
	// The bridge nodes and each worker's MAC table are built with the
	// graphs; the BVIs take interface indexes at start.
	if !reflect.DeepEqual(cur.Bridges, next.Bridges) {
		restart("bridges")
	}
	if len(cur.LinuxCP) > 0 {
		names := func(c *config.Config) (out []string) {
			for _, ic := range c.Interfaces {
				out = append(out, ic.Name)
			}
			return out
		}
		if !reflect.DeepEqual(names(cur), names(next)) {
			restart("interfaces (with linux_cp pairs)")
		}
	}
	c := &configDiff{addAddrs: map[string][]netip.Prefix{}, delAddrs: map[string][]netip.Prefix{}}
	old := map[string]config.Interface{}
	for _, ic := range cur.Interfaces {
		old[ic.Name] = ic
	}
	nw := map[string]config.Interface{}
	for _, ic := range next.Interfaces {
		nw[ic.Name] = ic
		o, ok := old[ic.Name]
		if !ok {
			if ic.MemifZeroCopy() {
				errs = append(errs, fmt.Errorf("interface %s: a zero-copy memif client needs the shared arena: add it with a restart", ic.Name))
			}
			c.addIfs = append(c.addIfs, ic)
			continue
		}
		a, b := o, ic
		a.Addresses, b.Addresses = nil, nil
		if !reflect.DeepEqual(a, b) {
			errs = append(errs, fmt.Errorf("interface %s: only its addresses change on a reload; remove it in one reload and add it back in the next", ic.Name))
			continue
		}
		for _, p := range ic.Addresses {
			if !slices.Contains(o.Addresses, p) {
				c.addAddrs[ic.Name] = append(c.addAddrs[ic.Name], p)
			}
		}
		for _, p := range o.Addresses {
			if !slices.Contains(ic.Addresses, p) {
				c.delAddrs[ic.Name] = append(c.delAddrs[ic.Name], p)
			}
		}
	}
	for _, ic := range cur.Interfaces {
		if _, ok := nw[ic.Name]; ok {
			continue
		}
		if ifc := d.iface(ic.Name); ifc != nil && ifc.kernel != nil && ifc.kernel == kernelInterface(d.umemOwner) && d.umemOwner != nil {
			errs = append(errs, fmt.Errorf("interface %s: its AF_XDP sockets registered the packet arena that the other AF_XDP interfaces share: remove it with a restart", ic.Name))
		}
		c.delIfs = append(c.delIfs, ic)
	}
	// The added interfaces' rings are stocked from the packet arena, which
	// was sized at start for the interfaces then (slotsFor): refuse what
	// would leave the running interfaces short of buffers.
	if len(c.addIfs) > 0 {
		need := slotsFor(&config.Config{Interfaces: c.addIfs}) - slotsFor(&config.Config{})
		free := d.DP.Pool.Free() // the shared pool; the workers' caches hold a little more
		if need > 0 && need > free-reloadSpareSlots {
			errs = append(errs, fmt.Errorf("the added interfaces' rings need %d packet buffers, %d are free (keeping %d spare): that needs a restart", need, free, reloadSpareSlots))
		}
	}
	// Neighbours by (interface, IP).
	type nkey struct {
		ifc string
		ip  netip.Addr
	}
	oldN := map[nkey]config.Neighbor{}
	for _, n := range cur.Neighbors {
		oldN[nkey{n.Interface, n.IP}] = n
	}
	newN := map[nkey]config.Neighbor{}
	for _, n := range next.Neighbors {
		newN[nkey{n.Interface, n.IP}] = n
		if o, ok := oldN[nkey{n.Interface, n.IP}]; !ok || o.MAC != n.MAC {
			c.addNbrs = append(c.addNbrs, n)
		}
	}
	for _, n := range cur.Neighbors {
		if _, ok := newN[nkey{n.Interface, n.IP}]; !ok {
			if _, kept := nw[n.Interface]; kept { // a removed interface takes its neighbours along
				c.delNbrs = append(c.delNbrs, n)
			}
		}
	}
	// Routes by prefix.
	oldR := map[netip.Prefix]config.Route{}
	for _, r := range cur.Routes {
		oldR[r.Prefix] = r
	}
	newR := map[netip.Prefix]bool{}
	for _, r := range next.Routes {
		newR[r.Prefix] = true
		if o, ok := oldR[r.Prefix]; !ok || !reflect.DeepEqual(o, r) {
			c.routes = append(c.routes, r)
		}
		errs = append(errs, checkRouteHops(r, next)...)
	}
	for _, r := range cur.Routes {
		if !newR[r.Prefix] {
			c.delRoutes = append(c.delRoutes, r.Prefix)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("reload: nothing changed:\n%w", err)
	}
	return c, nil
}

// checkRouteHops checks that each next hop of r without an interface lies
// on a connected subnet of cfg (the FIB resolves it there): a route left
// pointing at a removed interface's subnet is refused before anything
// changes.
func checkRouteHops(r config.Route, cfg *config.Config) []error {
	if r.Interface != "" {
		return nil
	}
	var errs []error
	for _, via := range r.Via {
		on := false
		for _, ic := range cfg.Interfaces {
			for _, p := range ic.Addresses {
				if p.Masked().Contains(via) {
					on = true
				}
			}
		}
		for _, b := range cfg.Bridges {
			if b.BVI == nil {
				continue
			}
			for _, p := range b.BVI.Addresses {
				if p.Masked().Contains(via) {
					on = true
				}
			}
		}
		if !on {
			errs = append(errs, fmt.Errorf("route %v: next hop %v is on no interface's subnet", r.Prefix, via))
		}
	}
	return errs
}

// Apply makes the running data plane match next: see the package comment
// of reload.go for the order. It returns a summary of what changed. On a
// config that cannot be applied without a restart (workers, socket, an
// interface's driver settings ...) it changes nothing and says why.
func (d *Daemon) Apply(next *config.Config) (string, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	c, err := d.diff(next)
	if err != nil {
		return "", err
	}
	nw := len(d.Workers)
	// 1. Open the added interfaces: the one step that can fail on the
	// outside world (a device missing). On failure close them: nothing
	// changed.
	var opened []*Interface
	own := d.reloadCache() // for ports closed here: the workers' caches are theirs
	defer own.Flush()
	for _, ic := range c.addIfs {
		ifc, err := d.openInterface(ic, nw, own)
		if err != nil {
			for _, o := range opened {
				d.closeOpened(o, o.Ports, own)
			}
			return "", fmt.Errorf("reload: nothing changed: %w", err)
		}
		opened = append(opened, ifc)
	}
	// 2. Register them and attach their ports to the workers, before any
	// route can point at them.
	var errs []error
	for _, ifc := range opened {
		if err := d.registerInterface(ifc); err != nil {
			d.closeOpened(ifc, ifc.Ports, own)
			errs = append(errs, fmt.Errorf("interface %s: %w", ifc.Config.Name, err))
			continue
		}
		if err := d.OnWorkers(func(wk *worker.Worker) { attachInterface(wk, d.portSets[wk.ID], ifc) }); err != nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", ifc.Config.Name, err))
		}
	}
	if len(opened) > 0 {
		d.clampSegmentMTU()
	}
	// 3. Addresses and static neighbours that come.
	for name, ps := range c.addAddrs {
		ifc := d.iface(name)
		for _, p := range ps {
			if err := d.DP.Ifaces.AddAddress(ifc.Index, p); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := d.DP.FIB.AddConnected(ifc.Index, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, n := range c.addNbrs {
		ifc := d.iface(n.Interface)
		d.DP.Neighbors.AddStatic(ifc.Index, n.IP.As4(), [6]byte(n.MAC))
	}
	// 4. Routes: one batch, one View.
	var batch []fib.RouteChange
	for _, p := range c.delRoutes {
		batch = append(batch, fib.RouteChange{Prefix: p})
	}
	for _, r := range c.routes {
		port := -1
		if r.Interface != "" {
			port = int(d.iface(r.Interface).Index)
		}
		var hops []fib.NextHop
		for _, a := range r.Via {
			hops = append(hops, fib.NextHop{Addr: a, Port: port})
		}
		batch = append(batch, fib.RouteChange{Prefix: r.Prefix, Hops: hops})
	}
	if len(batch) > 0 {
		if err := d.DP.FIB.ApplyRoutes(batch); err != nil {
			errs = append(errs, err)
		}
	}
	// 5. Neighbours and addresses that go.
	for _, n := range c.delNbrs {
		if ifc := d.iface(n.Interface); ifc != nil {
			d.DP.Neighbors.Delete(ifc.Index, n.IP.As4())
		}
	}
	for name, ps := range c.delAddrs {
		ifc := d.iface(name)
		for _, p := range ps {
			if err := d.DP.FIB.DelConnected(ifc.Index, p); err != nil {
				errs = append(errs, err)
			}
			if err := d.DP.Ifaces.DelAddress(ifc.Index, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// 6. Interfaces that go: nothing routes to them any more.
	for _, ic := range c.delIfs {
		if ifc := d.iface(ic.Name); ifc != nil {
			errs = append(errs, d.removeInterface(ifc))
		}
	}
	d.Config = next
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("reload: partly applied: %w", err)
	}
	return c.summary(), nil
}

// removeInterface detaches ifc from every worker, closes its ports and
// forgets it: its neighbours, its FIB entries, its slot in the
// interface table.
func (d *Daemon) removeInterface(ifc *Interface) error {
	d.DP.ND.SetRA(ifc.Index, nil)
	for _, e := range d.DP.Neighbors.List() {
		if e.Port == ifc.Index {
			d.DP.Neighbors.Delete(e.Port, e.IP.As4())
		}
	}
	d.DP.FIB.DelInterface(ifc.Index)
	// Detach on every worker first, then close: a worker without a queue
	// of its own hands its packets for ifc to the owner's (driver.ShareTX),
	// so no port closes while another worker can still reach it.
	var errs []error
	ports := make([]driver.Port, len(d.Workers))
	if err := d.OnWorkers(func(wk *worker.Worker) {
		p := d.portSets[wk.ID].Detach(ifc.Index)
		ports[wk.ID] = p
		if wt, ok := p.(driver.Waiter); ok {
			wk.RemoveWaiter(wt)
		}
		if wk.ID < len(ifc.txWaiters) && ifc.txWaiters[wk.ID] != nil {
			wk.RemoveWaiter(ifc.txWaiters[wk.ID])
		}
	}); err != nil {
		errs = append(errs, err)
	}
	// Close here, not on the workers: closing a socket can wait for an RCU
	// grace period (packet_release), tens of milliseconds the workers keep
	// forwarding. The ports are detached, so this goroutine owns them; the
	// buffers they hold go back through a cache of its own.
	c := d.reloadCache()
	for _, p := range ports {
		if p != nil {
			if err := p.Close(c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if ifc.kernel != nil {
		if err := ifc.kernel.Close(c); err != nil {
			errs = append(errs, err)
		}
	}
	c.Flush()
	if ifc.kernel != nil {
		d.forgetKernel(ifc.kernel)
	}
	if err := d.DP.Ifaces.Remove(ifc.Index); err != nil {
		errs = append(errs, err)
	}
	d.ifMu.Lock()
	d.Interfaces = slices.DeleteFunc(slices.Clone(d.Interfaces), func(x *Interface) bool { return x == ifc })
	d.ifMu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("interface %s: %w", ifc.Config.Name, err)
	}
	return nil
}

// reloadCache is the reload's own buffer cache (made once: the pool keeps
// every cache it made), used under reloadMu and flushed after use.
func (d *Daemon) reloadCache() *pkt.Cache {
	if d.ctlCache == nil {
		d.ctlCache = d.DP.Pool.NewCache()
	}
	return d.ctlCache
}

func (d *Daemon) reloadCmd(w io.Writer, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("usage: reload")
	}
	s, err := d.Reload()
	if err != nil {
		return err
	}
	d.Log.Info("reloaded", "changes", s)
	_, err = fmt.Fprintln(w, s)
	return err
}

// Reload implements ctl.Backend: the config file re-read and applied. A
// refused reload changed nothing (400); one partly applied is a 500.
func (b backend) Reload() (ctl.Status, error) {
	s, err := b.d.Reload()
	switch {
	case err == nil:
		return ctl.Status{Status: s}, nil
	case strings.Contains(err.Error(), "partly applied"):
		return ctl.Status{}, ctl.Errorf(ctl.Internal, "%v", err)
	}
	return ctl.Status{}, ctl.Errorf(ctl.BadInput, "%v", err)
}
