// Package dataplane wires the forwarding nodes into one graph per worker:
// the IPv4 router of VPP's vnet (ethernet-input, arp-input, ip4-input,
// ip4-lookup, ip4-rewrite, ip4-glean, ip4-local, icmp4-error,
// interface-output) over the shared tables it owns: interfaces, FIB and
// neighbours. The tables are shared by all workers and read lock-free; each
// worker gets its own graph, counters and buffer cache.
package dataplane

import (
	"fmt"
	"net/netip"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
)

// Dataplane holds the state that all workers share.
type Dataplane struct {
	Arena     *pkt.Arena
	Pool      *pkt.Pool
	Ifaces    *iface.Table
	FIB       *fib.Table
	Neighbors *neighbor.Table
	// Extra registrations and arc features added by services (ACL, the
	// host stack) before workers are built.
	Extra    []graph.Registration
	Features []graph.Feature
	LocalUDP string // node for UDP to the host (host stack), "" = port unreachable
	// Punt, if set, is the node that gets what ip4-local does not handle
	// (ip4.LocalConfig.PuntNode: linux-cp's punt to the kernel).
	Punt string
	// Stack, if set (NewStack), adds the host UDP stack's nodes to every
	// worker's graph and receives the host's UDP (LocalUDP is ignored).
	Stack     *stack.Stack
	VLANs     map[uint16][]uint16
	ICMPError ip4.ICMPErrorConfig
	EchoReply ip4.RateLimit // echo replies per worker; default ip4.DefaultEchoLimit
	// Reassembly bounds each worker's reassembly of fragments for the host.
	Reassembly ip4.ReassemblyConfig
	Glean      neighbor.GleanConfig
}

// New makes a data plane with an arena of slots packet buffers.
func New(slots int) (*Dataplane, error) { return newDataplane(slots, pkt.NewArena) }

// NewShared is New over a shared (memfd) arena, pkt.NewSharedArena: the
// buffer region of zero-copy memif clients.
func NewShared(slots int) (*Dataplane, error) { return newDataplane(slots, pkt.NewSharedArena) }

func newDataplane(slots int, arena func(int) (*pkt.Arena, error)) (*Dataplane, error) {
	a, err := arena(slots)
	if err != nil {
		return nil, err
	}
	f := fib.New()
	return &Dataplane{Arena: a, Pool: pkt.NewPool(a), Ifaces: iface.NewTable(), FIB: f, Neighbors: neighbor.NewTable(f)}, nil
}

// Close checks that every packet buffer came back (see pkt.Pool.Close) and
// releases the arena. Workers must have stopped and their caches flushed.
func (d *Dataplane) Close() error { return d.Pool.Close() }

// AddInterface registers an interface with its addresses: the FIB gets its
// connected and local routes.
func (d *Dataplane) AddInterface(name string, mac [6]byte, mtu uint16, addrs ...netip.Prefix) (uint16, error) {
	idx, err := d.Ifaces.Add(name, mac, mtu)
	if err != nil {
		return 0, err
	}
	d.FIB.AddInterface(idx, mac, mtu)
	for _, p := range addrs {
		if err := d.Ifaces.AddAddress(idx, p); err != nil {
			return 0, err
		}
		if err := d.FIB.AddConnected(idx, p); err != nil {
			return 0, fmt.Errorf("dataplane: %s: %w", name, err)
		}
	}
	return idx, nil
}

// NewStack makes the host UDP stack over the data plane's pool, FIB and
// interfaces (cfg.Source defaults to the route's interface address) and
// sets d.Stack, so graphs built afterwards include it. cfg.Workers must be
// the number of worker graphs that will be built.
func (d *Dataplane) NewStack(cfg stack.Config) *stack.Stack {
	if cfg.Source == nil {
		cfg.Source = stack.RouteSource(d.FIB, d.Ifaces)
	}
	d.Stack = stack.New(d.Pool, cfg)
	return d.Stack
}

// Registrations returns every node of one worker's graph. inputs are the
// worker's input nodes (from driver.InputNode); ports is indexed by
// interface and holds this worker's queue of each interface.
func (d *Dataplane) Registrations(inputs []graph.Registration, ports []driver.Port) []graph.Registration {
	ethCfg := &ethernet.Config{AllowVLAN: func(port, vid uint16) bool {
		for _, v := range d.VLANs[port] {
			if v == vid {
				return true
			}
		}
		return false
	}}
	localUDP, localICMP, localTCP := d.LocalUDP, "", ""
	regs := append([]graph.Registration{}, inputs...)
	if d.Stack != nil {
		localUDP, localICMP = stack.UDPInputName, stack.ICMPInputName
		if d.Stack.TCPEnabled() {
			localTCP = stack.TCPInputName
		}
		regs = append(regs, d.Stack.Registrations()...)
	}
	regs = append(regs,
		ethernet.Node(d.Ifaces, ethCfg),
		neighbor.ARPNode(d.Ifaces, d.Neighbors),
		ip4.InputNode(d.Ifaces),
		ip4.LookupNode(d.FIB),
		ip4.RewriteNode(d.FIB),
		ip4.FragNode(),
		neighbor.GleanNode(d.Ifaces, d.FIB, d.Neighbors, d.Glean),
		ip4.LocalNode(ip4.LocalConfig{UDPNode: localUDP, ICMPNode: localICMP, TCPNode: localTCP, PuntNode: d.Punt, Echo: d.EchoReply}),
		ip4.ReassemblyNode(d.Reassembly),
		ip4.ICMPErrorNode(d.Ifaces, d.ICMPError),
		driver.OutputNode(ports),
	)
	return append(regs, d.Extra...)
}

// Arcs returns the feature arcs, with any service features added.
func (d *Dataplane) Arcs() []graph.Arc {
	return []graph.Arc{{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: d.Features}}
}

// BuildGraph builds one worker's graph.
func (d *Dataplane) BuildGraph(c *pkt.Cache, inputs []graph.Registration, ports []driver.Port) (*graph.Graph, error) {
	return graph.Build(c, d.Registrations(inputs, ports), d.Arcs()...)
}
