// Package daemon runs vecnet from a config: it opens each interface's ports,
// builds the data plane and one graph per worker, starts the workers, and
// serves the CLI (show runtime, show errors, trace, ip route ...) on a unix
// socket for vecnetctl.
package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/vecnet/vecnet/control/api"
	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/afxdp"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/service/acl"
	"github.com/vecnet/vecnet/service/nat44"
	"github.com/vecnet/vecnet/service/policer"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/worker"
)

// Interface is a configured interface with its ports, one per worker.
type Interface struct {
	Config config.Interface
	Index  uint16
	Ports  []driver.Port // by worker
	// Info is a line for "show interfaces" from the driver (mode, queue ...).
	Info string
	// LiveInfo, when set, describes the interface's current state instead
	// of Info (a memif port's peer and connection state).
	LiveInfo func() string
	// txWaiters[w] is set when worker w owns a queue that workers without
	// one transmit on (driver.ShareTX): it sleeps on it too.
	txWaiters []driver.Waiter
	// xdp is the AF_XDP interface's attachment watch (nil for other drivers).
	xdp *xdpWatch
	// kernel is the kernel or memif interface the ports belong to (nil for
	// mem and pcap), closed after them.
	kernel kernelInterface
	mac    [6]byte
	// Sub is set on a VLAN sub-interface (Daemon.Subs): it has no ports
	// of its own and sends on parent's.
	Sub    *config.SubInterface
	parent *Interface
}

// Daemon is a running data plane.
type Daemon struct {
	Config     *config.Config
	DP         *dataplane.Dataplane
	Interfaces []*Interface
	// Subs are the VLAN sub-interfaces (config.SubInterfaces), after
	// Interfaces in index order.
	Subs    []*Interface
	Workers []*worker.Worker
	caches  []*pkt.Cache
	CLI     *cli.Registry
	server  *cli.Server
	// API is the HTTP API server (nil with Options.NoCLI); handlers such
	// as metrics join it with API.Mount.
	API *api.Server
	Log *slog.Logger // the daemon's structured log (Options.Logger)
	// Stack is the host UDP stack when Options.HostStack is set.
	Stack     *stack.Stack
	kernel    []kernelInterface // kernel-driver interfaces, in opening order
	umemOwner *afxdp.Interface  // the AF_XDP interface whose sockets registered the arena
	// watchStop and watchDone run the XDP attachment watch (xdpwatch.go).
	watchStop, watchDone chan struct{}
	// policers and policerTable are the configured policers (policers.go).
	policers     []policerBinding
	policerTable policer.Table
	// acls, aclTable and aclOutTable are the configured ACLs (acls.go):
	// by receive interface and by transmit interface.
	acls        []aclBinding
	aclTable    acl.Table
	aclOutTable acl.Table
	// nat is the NAT44 configuration, nil without one (nat44.go).
	nat *nat44.Config
	// pcap is the runtime capture (pcaptrace.go).
	pcap pcapTraceState
	// portSets[w] is worker w's ports, changed at run time by a reload.
	portSets []*driver.PortSet
	// ifMu guards the Interfaces slice header against a reload replacing
	// it while the XDP watch reads it; reloadMu serialises reloads.
	ifMu     sync.RWMutex
	reloadMu sync.Mutex
	// configFile is where Reload reads the config (Options.ConfigFile).
	configFile string
	// ctlCache is the reload's buffer cache (reloadCache).
	ctlCache *pkt.Cache
	// lcp is linux-cp's state, nil without pairs (linuxcp.go).
	lcp *linuxCP
}

// Options tune a daemon beyond its config.
type Options struct {
	Slots     int                   // packet buffers; default 65536
	NoCLI     bool                  // do not listen on the CLI socket nor serve the HTTP API
	PinCPUs   bool                  // pin worker i to CPU i
	Logger    *slog.Logger          // default slog.Default()
	BeforeRun func(d *Daemon) error // runs after graphs are built, before workers start
	// HostStack adds the host UDP stack (package stack) to every worker's
	// graph: applications then reach the router's addresses through
	// Daemon.Stack (in-graph handlers, sock.ListenUDP).
	HostStack bool
	// XDPWatch is how often the daemon checks that its XDP programs are
	// still attached and re-attaches those someone detached: 0 means
	// DefaultXDPWatch, a negative value never.
	XDPWatch time.Duration
	// HostTCP adds TCP to the host stack (and implies HostStack): a TCP
	// engine per worker, sock.ListenTCP and sock.DialTCP on Daemon.Stack.
	HostTCP bool
	// ConfigFile is the file the config came from: "reload" (and SIGHUP in
	// cmd/vecnet) reads it again and applies the difference.
	ConfigFile string
	// TCPFault, with HostTCP, injects faults into the host TCP's segments
	// in both directions (tests; see stack.TCPFault). Nil means none.
	TCPFault *stack.TCPFault
}

// Start builds and starts everything cfg describes.
func Start(cfg *config.Config, opt Options) (d *Daemon, err error) {
	if opt.Slots == 0 {
		opt.Slots = slotsFor(cfg)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	nw := max(cfg.Workers, 1)
	// A busy worker holds its P (the Go scheduler's processor) for as long as
	// traffic flows; the control plane and the applications on the host
	// stack (sock) need at least one more. Go sizes GOMAXPROCS from the CPU
	// affinity mask, so a vecnet pinned to one core (taskset) would
	// otherwise run an application goroutine only when the worker is
	// preempted, every 10 ms. With a P spare, the kernel shares the core
	// between the worker's thread and the application's. Shared workers
	// (worker_thread: shared) yield their P instead: a spare one would
	// only make every goroutine they wake a thread wake-up and a steal.
	if !cfg.WorkerShared && runtime.GOMAXPROCS(0) < nw+1 {
		runtime.GOMAXPROCS(nw + 1)
	}
	newDP := dataplane.New
	for i := range cfg.Interfaces {
		if cfg.Interfaces[i].MemifZeroCopy() {
			newDP = dataplane.NewShared // the arena is the memif clients' region
		}
	}
	dp, err := newDP(opt.Slots)
	if err != nil {
		return nil, err
	}
	d = &Daemon{Config: cfg, DP: dp, CLI: cli.NewRegistry(), Log: opt.Logger, configFile: opt.ConfigFile}
	nc, gc := arpConfigs(cfg.ARP)
	dp.Neighbors.SetConfig(nc)
	dp.ND.SetConfig(nc)
	dp.Glean = gc
	dp.DAD = true // IPv6 addresses are used once duplicate address detection passed
	started := d  // an error return sets d to nil: stop what was started
	defer func() {
		if err != nil {
			started.Stop()
		}
	}()
	for w := 0; w < nw; w++ {
		d.caches = append(d.caches, dp.Pool.NewCache())
	}
	for _, ic := range cfg.Interfaces {
		ifc, err := d.openInterface(ic, nw, d.caches[0])
		if err != nil {
			return nil, err
		}
		if err := d.registerInterface(ifc); err != nil {
			d.closeOpened(ifc, ifc.Ports, d.caches[0])
			return nil, err
		}
	}
	for k := range cfg.SubInterfaces {
		if err := d.registerSub(&cfg.SubInterfaces[k]); err != nil {
			return nil, err
		}
	}
	if err := d.setupBridges(dp, nw); err != nil {
		return nil, err
	}
	d.clampSegmentMTU()
	for _, n := range cfg.Neighbors {
		ifc := d.iface(n.Interface)
		if ifc == nil {
			return nil, fmt.Errorf("neighbor %v: no interface %q", n.IP, n.Interface)
		}
		if n.IP.Is6() {
			dp.ND.AddStatic(ifc.Index, n.IP.As16(), [6]byte(n.MAC))
			continue
		}
		dp.Neighbors.AddStatic(ifc.Index, n.IP.As4(), [6]byte(n.MAC))
	}
	for _, r := range cfg.Routes {
		if err := d.AddRoute(r.Prefix, r.Via, r.Interface); err != nil {
			return nil, fmt.Errorf("route %v: %w", r.Prefix, err)
		}
	}
	if opt.HostStack || opt.HostTCP {
		sc := stack.Config{Workers: nw, SocketQueue: cfg.Limits.SocketQueue,
			SocketBudget: cfg.Limits.SocketBudget, PoolReserve: cfg.Limits.PoolReserve, TCPFault: opt.TCPFault}
		if opt.HostTCP {
			sc.TCP = &tcp.Config{MTU: d.smallestMTU(), SynCookies: true} // as Linux's default tcp_syncookies=1
		}
		d.Stack = dp.NewStack(sc)
	}
	if err := d.setupPolicers(dp); err != nil {
		return nil, err
	}
	if err := d.setupACLs(dp); err != nil {
		return nil, err
	}
	if err := d.setupNAT44(dp); err != nil {
		return nil, err
	}
	if err := d.setupLinuxCP(dp, nw); err != nil {
		return nil, err
	}
	for w := 0; w < nw; w++ {
		ps := driver.NewPortSet(nil, nil)
		d.portSets = append(d.portSets, ps)
		g, err := dp.BuildGraphSet(d.caches[w], d.workerInputs(w, ps), ps)
		if err != nil {
			return nil, err
		}
		d.bindBVIs(w, g)
		if err := d.enablePolicers(g); err != nil {
			return nil, err
		}
		if err := d.enableACLs(g); err != nil {
			return nil, err
		}
		if err := d.enableNAT44(g); err != nil {
			return nil, err
		}
		wk, err := worker.New(w, g, nil)
		if err != nil {
			return nil, err
		}
		for _, ifc := range d.Interfaces {
			attachInterface(wk, ps, ifc)
		}
		for _, s := range d.Subs {
			attachSub(wk, ps, s)
		}
		for _, q := range d.linuxCPPorts(w) {
			wk.AddPort(q) // the TAPs' wake-ups and transmit flushes
		}
		if d.Stack != nil {
			wt, err := d.Stack.TxWaiter(g)
			if err != nil {
				return nil, err
			}
			wk.AddWaiter(wt)
		}
		if opt.PinCPUs {
			wk.CPU = w
		}
		if cfg.WorkerSpin != 0 {
			wk.Spin = max(cfg.WorkerSpin, 0) // negative: adaptive polling off
		}
		wk.RTPriority = cfg.WorkerRTPriority
		wk.Shared = cfg.WorkerShared
		d.Workers = append(d.Workers, wk)
	}
	d.registerCommands()
	if opt.BeforeRun != nil {
		if err := opt.BeforeRun(d); err != nil {
			return nil, err
		}
	}
	for _, wk := range d.Workers {
		wk.Start()
	}
	for _, wk := range d.Workers {
		if wk.RTPriority == 0 && !wk.Shared {
			continue
		}
		var serr error
		if err := wk.Do(func() { serr = wk.SchedErr() }); err == nil && serr != nil {
			d.Log.Warn("worker thread not set up as configured", "worker", wk.ID, "error", serr)
		}
	}
	d.startXDPWatch(opt.XDPWatch)
	if err := d.startLinuxCP(); err != nil {
		return nil, err
	}
	if !opt.NoCLI {
		path := cfg.Socket
		if path == "" {
			path = "/run/vecnet/cli.sock"
		}
		limits := cli.Limits{MaxConns: cfg.Limits.CLIConnections, WriteTimeout: cfg.Limits.CLIWriteTimeout}
		if d.server, err = cli.ListenLimits(path, d.CLI, limits); err != nil {
			return nil, err
		}
		d.Log.Info("CLI listening", "socket", path)
		if err := d.startAPI(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// openInterface opens interface ic's ports, one per worker (nw), and
// works out its MAC and MTU; registerInterface then adds it to the tables.
// On error what it opened is closed, its buffers freed to c (the caller's
// cache).
func (d *Daemon) openInterface(ic config.Interface, nw int, c *pkt.Cache) (*Interface, error) {
	ifc := &Interface{Config: ic}
	nk := len(d.kernel)
	ports, info, hwmac, err := d.openPorts(ic, nw)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ic.Name, err)
	}
	if len(d.kernel) > nk {
		ifc.kernel = d.lastKernel()
	}
	// Fewer queues than workers: the extra workers hand what they
	// route to this interface to a queue's owner (driver.ShareTX).
	if ports, ifc.txWaiters, err = driver.ShareTX(ports, nw); err != nil {
		d.closeOpened(ifc, ports, c)
		return nil, fmt.Errorf("interface %s: %w", ic.Name, err)
	}
	ifc.Ports, ifc.Info = ports, info
	if len(ports) > 0 {
		if l, ok := driver.Underlying(ports[0]).(interface{ Info() string }); ok {
			ifc.LiveInfo = l.Info
		}
	}
	if x, ok := ifc.kernel.(*afxdp.Interface); ok && ic.Driver == "afxdp" {
		ifc.xdp = &xdpWatch{x: x, netns: ic.Netns}
	}
	ifc.mac = [6]byte(ic.MAC)
	if ifc.mac == ([6]byte{}) {
		ifc.mac = hwmac
	}
	if ifc.mac == ([6]byte{}) {
		ifc.mac = [6]byte{0x02, 0x76, 0x6e, 0, 0, byte(d.DP.Ifaces.Load().Len() + 1)}
	}
	mtu, err := d.interfaceMTU(ic)
	if err != nil {
		d.closeOpened(ifc, ports, c)
		return nil, fmt.Errorf("interface %s: %w", ic.Name, err)
	}
	ifc.Config.MTU = int(mtu)
	return ifc, nil
}

// closeOpened closes what openInterface opened for ifc, before any worker
// polls it. Buffers the ports hold go to the cache c, which must be the
// caller's own (a worker's only before the workers start).
func (d *Daemon) closeOpened(ifc *Interface, ports []driver.Port, c *pkt.Cache) {
	for _, p := range ports {
		if p != nil {
			p.Close(c)
		}
	}
	if ifc.kernel != nil {
		ifc.kernel.Close(c)
		d.forgetKernel(ifc.kernel)
	}
}

// forgetKernel drops k, closed, from the kernel interfaces Stop closes
// (and from the UMEM owner an AF_XDP interface opened next would share).
func (d *Daemon) forgetKernel(k kernelInterface) {
	if x, ok := k.(*afxdp.Interface); ok && x == d.umemOwner {
		d.umemOwner = nil
	}
	for i, x := range d.kernel {
		if x == k {
			d.kernel = append(d.kernel[:i:i], d.kernel[i+1:]...)
			return
		}
	}
}

// registerInterface adds an opened interface to the interface table and
// the FIB (its connected and local routes) and to d.Interfaces.
func (d *Daemon) registerInterface(ifc *Interface) error {
	var err error
	ifc.Index, err = d.DP.AddInterface(ifc.Config.Name, ifc.mac, uint16(ifc.Config.MTU), ifc.Config.Addresses...)
	if err != nil {
		return err
	}
	if r := ifc.Config.RA; r != nil {
		d.DP.ND.SetRA(ifc.Index, &neighbor.RAConfig{Interval: r.Interval, Lifetime: r.Lifetime, Prefixes: r.Prefixes,
			Managed: r.Managed, Other: r.Other, MTU: r.MTU})
	}
	// A driver that cannot deliver a partial checksum (memif) spares
	// ip4-input its test for one.
	if len(ifc.Ports) > 0 && driver.ChecksumsComplete(ifc.Ports[0]) {
		if err := d.DP.Ifaces.SetChecksumsComplete(ifc.Index, true); err != nil {
			return err
		}
	}
	d.ifMu.Lock()
	d.Interfaces = append(d.Interfaces[:len(d.Interfaces):len(d.Interfaces)], ifc)
	d.ifMu.Unlock()
	return nil
}

// attachInterface gives worker wk its port of ifc: interface-output sends
// on it, the input node polls it (unless it hands off to another worker's
// queue) and the worker sleeps on its descriptors (as worker.New would). On a running worker,
// call it on the worker's thread.
func attachInterface(wk *worker.Worker, ps *driver.PortSet, ifc *Interface) {
	w := wk.ID
	if w < len(ifc.Ports) && ifc.Ports[w] != nil {
		_, handoff := ifc.Ports[w].(*driver.TxHandoff)
		ps.Attach(ifc.Index, ifc.Ports[w], !handoff && !isBVIPort(ifc.Ports[w]))
		wk.AddPort(ifc.Ports[w])
	}
	if w < len(ifc.txWaiters) && ifc.txWaiters[w] != nil {
		wk.AddWaiter(ifc.txWaiters[w])
	}
}

// interfaces returns the current interfaces (a reload replaces the slice,
// never changes it in place).
func (d *Daemon) interfaces() []*Interface {
	d.ifMu.RLock()
	defer d.ifMu.RUnlock()
	return d.Interfaces
}

// lastKernel returns the kernel interface opened last, or nil.
func (d *Daemon) lastKernel() kernelInterface {
	if len(d.kernel) == 0 {
		return nil
	}
	return d.kernel[len(d.kernel)-1]
}

func (d *Daemon) iface(name string) *Interface {
	for _, ifc := range d.Interfaces {
		if ifc.Config.Name == name {
			return ifc
		}
	}
	for _, s := range d.Subs {
		if s.Config.Name == name {
			return s
		}
	}
	return nil
}

// registerSub adds VLAN sub-interface sc of a registered interface to the
// tables and to d.Subs.
func (d *Daemon) registerSub(sc *config.SubInterface) error {
	parent := d.iface(sc.Parent)
	if parent == nil || parent.Sub != nil {
		return fmt.Errorf("sub-interface %s: no interface %q to be its parent", sc.Name, sc.Parent)
	}
	s := iface.Sub{Parent: parent.Index, VLAN: uint16(sc.VLAN), OuterVLAN: uint16(sc.OuterVLAN), OuterTPID: uint16(sc.OuterTPID)}
	idx, err := d.DP.AddSubInterface(sc.Name, s, uint16(sc.MTU), sc.Addresses...)
	if err != nil {
		return fmt.Errorf("sub-interface %s: %w", sc.Name, err)
	}
	mtu := d.DP.Ifaces.Load().Get(idx).MTU
	ifc := &Interface{Config: config.Interface{Name: sc.Name, Driver: "sub", MTU: int(mtu), Addresses: sc.Addresses},
		Index: idx, Info: subInfo(sc), Sub: sc, parent: parent, mac: parent.mac}
	d.ifMu.Lock()
	d.Subs = append(d.Subs[:len(d.Subs):len(d.Subs)], ifc)
	d.ifMu.Unlock()
	return nil
}

// subInfo describes a sub-interface for "show interfaces": its parent and
// tags, outer first ("eth0 dot1ad 200 dot1q 300").
func subInfo(sc *config.SubInterface) string {
	s := sc.Parent
	if sc.OuterVLAN != 0 {
		if sc.OuterTPID == 0x8100 {
			s += fmt.Sprintf(" dot1q %d", sc.OuterVLAN)
		} else {
			s += fmt.Sprintf(" dot1ad %d", sc.OuterVLAN)
		}
	}
	return s + fmt.Sprintf(" dot1q %d", sc.VLAN)
}

// attachSub maps sub-interface s to its parent's port on worker wk:
// interface-output sends its frames there; nothing polls it (the parent's
// input does). On a running worker, call it on the worker's thread.
func attachSub(wk *worker.Worker, ps *driver.PortSet, s *Interface) {
	if w := wk.ID; w < len(s.parent.Ports) && s.parent.Ports[w] != nil {
		ps.Attach(s.Index, s.parent.Ports[w], false)
	}
}

// AddRoute adds a static route via next hops, optionally pinned to an
// interface.
func (d *Daemon) AddRoute(p netip.Prefix, via []netip.Addr, ifname string) error {
	port := -1
	if ifname != "" {
		ifc := d.iface(ifname)
		if ifc == nil {
			return &noInterfaceError{ifname}
		}
		port = int(ifc.Index)
	}
	if len(via) == 0 {
		return fib.ErrNoNextHop
	}
	var hops []dataplaneHop
	for _, a := range via {
		hops = append(hops, dataplaneHop{Addr: a, Port: port})
	}
	if p.Addr().Is6() {
		return d.DP.FIB6.AddRoute(p, hops)
	}
	return d.DP.FIB.AddRoute(p, hops)
}

// OnWorkers runs f on every worker's thread, in worker order. A stopped
// worker's f runs on the caller (nothing else touches that worker any
// more); a wedged worker is skipped after worker.DefaultDoTimeout, and the
// returned error names it.
func (d *Daemon) OnWorkers(f func(w *worker.Worker)) error {
	var errs []error
	for _, wk := range d.Workers {
		err := wk.Do(func() { f(wk) })
		switch {
		case err == nil:
		case errors.Is(err, worker.ErrStopped):
			f(wk)
		default:
			errs = append(errs, fmt.Errorf("worker %d: %w", wk.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Stop stops the workers and the CLI, closes the ports and checks that every
// buffer came back.
func (d *Daemon) Stop() error {
	d.stopXDPWatch()
	d.stopLinuxCP()
	d.StopPcapTrace() // none running is fine
	if d.server != nil {
		d.server.Close()
		d.server = nil
	}
	if d.API != nil {
		d.API.Close()
		d.API = nil
	}
	for _, wk := range d.Workers {
		wk.Stop()
	}
	// Close ports in reverse order: AF_XDP interfaces that share the first
	// one's UMEM go before it.
	for w, wk := range d.Workers {
		wk.Graph.Close()
		for k := len(d.Interfaces) - 1; k >= 0; k-- {
			if ifc := d.Interfaces[k]; w < len(ifc.Ports) && ifc.Ports[w] != nil {
				ifc.Ports[w].Close(d.caches[w])
			}
		}
	}
	if len(d.Workers) == 0 && len(d.caches) > 0 {
		for k := len(d.Interfaces) - 1; k >= 0; k-- {
			for _, p := range d.Interfaces[k].Ports {
				if p != nil {
					p.Close(d.caches[0])
				}
			}
		}
	}
	var errs []error
	for k := len(d.kernel) - 1; k >= 0; k-- {
		if err := d.kernel[k].Close(d.caches[0]); err != nil {
			errs = append(errs, err)
		}
	}
	d.kernel, d.umemOwner = nil, nil
	d.Workers = nil
	for _, c := range d.caches {
		c.Flush()
	}
	if d.Stack != nil {
		d.Stack.Flush()
		d.Stack.Close()
	}
	if err := d.DP.Close(); err != nil {
		errs = append(errs, fmt.Errorf("vecnet: at exit: %w", err))
	}
	return errors.Join(errs...)
}

// noInterfaceError is AddRoute's error for an interface name it does not
// know.
type noInterfaceError struct{ name string }

func (e *noInterfaceError) Error() string { return fmt.Sprintf("no interface %q", e.name) }

// slotsFor sizes the packet arena for cfg: every AF_XDP queue keeps its fill
// and transmit rings stocked with buffers (and so does a zero-copy memif
// client's queue, its two rings), and the workers need room for
// vectors in flight, glean queues and their caches.
func slotsFor(cfg *config.Config) int {
	n := 32768
	for _, ic := range cfg.Interfaces {
		if ic.Driver == "afxdp" {
			ring := ic.RingSize
			if ring == 0 {
				ring = config.DefaultRingSize
			}
			n += max(ic.Queues, 1) * (ring + afxdp.DefaultTXRingSize)
		}
		if ic.MemifZeroCopy() { // its rings hold arena slots: receive stocked, sent until consumed
			ring := ic.RingSize
			if ring == 0 {
				ring = config.DefaultMemifRingSize
			}
			n += max(ic.Queues, 1) * 2 * ring
		}
	}
	return min(n, 1<<20)
}

// clampSegmentMTU has every AF_XDP interface cut the GSO super-frames it
// receives with no segment size (copy mode) to the smallest MTU of all
// interfaces, so that a segment fits whichever way it is routed (see
// afxdp.Interface.SetSegmentMTU).
func (d *Daemon) clampSegmentMTU() {
	least := d.smallestMTU()
	for _, ifc := range d.Interfaces {
		if ifc.xdp != nil {
			ifc.xdp.x.SetSegmentMTU(least)
		}
	}
}

// smallestMTU is the smallest interface MTU (the TCP MSS is derived from
// it), or 0 (the engine's default) without interfaces.
func (d *Daemon) smallestMTU() int {
	m := 0
	for _, ifc := range d.Interfaces {
		if mtu := ifc.Config.MTU; mtu > 0 && (m == 0 || mtu < m) {
			m = mtu
		}
	}
	return m
}
