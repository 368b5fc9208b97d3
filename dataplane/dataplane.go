// Package dataplane wires the forwarding nodes into one graph per worker:
// the dual-stack router of VPP's vnet (ethernet-input, arp-input, ip4-input,
// ip4-lookup, ip4-rewrite, ip4-glean, ip4-local, icmp4-error; ip6-input,
// ip6-lookup, ip6-rewrite, ip6-glean, ip6-local, nd-input, icmp6-error;
// interface-output) over the shared tables it owns: interfaces, FIBs and
// neighbours. The tables are shared by all workers and read lock-free; each
// worker gets its own graph, counters and buffer cache.
package dataplane

import (
	"fmt"
	"net/netip"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l2/bridge"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/host"
	"github.com/vecnet/vecnet/wire"
)

// Dataplane holds the state that all workers share.
type Dataplane struct {
	Arena     *pkt.Arena
	Pool      *pkt.Pool
	Ifaces    *iface.Table
	FIB       *fib.Table
	Neighbors *neighbor.Table
	// FIB6 and ND are IPv6's forwarding table and neighbour table.
	FIB6 *fib.Table6
	ND   *neighbor.NDTable
	// DAD, when set, makes AddInterface's IPv6 addresses (link-local
	// included) tentative until duplicate address detection passes; when
	// not, they are assigned at once (tests, benchmarks).
	DAD bool
	// NoLinkLocal, when set, gives IPv6 interfaces no EUI-64 link-local
	// address.
	NoLinkLocal bool
	ICMP6Error  ip6.ICMPErrorConfig
	EchoReply6  ip6.RateLimit
	// Extra registrations and arc features added by services (ACL, the
	// host stack) before workers are built: Features on the ip4-unicast
	// arc, OutputFeatures on the ip4-output arc (per egress interface).
	Extra          []graph.Registration
	Features       []graph.Feature
	OutputFeatures []graph.Feature
	// Features6 and OutputFeatures6 are the same for IPv6: the
	// ip6-unicast arc (per receive interface) and the ip6-output arc (per
	// transmit interface).
	Features6       []graph.Feature
	OutputFeatures6 []graph.Feature
	// EtherTypes and LocalProtocols are registrations into
	// ethernet-input's EtherType table (after IPv4 and ARP, which the data
	// plane registers) and ip4-local's protocol table (after the host
	// stack's), made by services before workers are built.
	EtherTypes     []ethernet.EtherTypeNode
	LocalProtocols []ip4.ProtocolNode
	// Punt, if set, is the node that gets what ip4-local does not handle
	// (ip4.LocalConfig.PuntNode: linux-cp's punt to the kernel).
	Punt string
	// Stack, if set (NewStack), adds the host stack's nodes to every
	// worker's graph and registers its transports into ip4-local.
	Stack     *stack.Stack
	VLANs     map[uint16][]uint16
	ICMPError ip4.ICMPErrorConfig
	EchoReply ip4.RateLimit // echo replies per worker; default ip4.DefaultEchoLimit
	// Reassembly bounds each worker's reassembly of fragments for the host.
	Reassembly ip4.ReassemblyConfig
	Glean      neighbor.GleanConfig
	// Bridges, if set, adds the bridge nodes (l2-learn, l2-fwd, l2-flood)
	// and diverts what the domains' members receive to them. Set its
	// domains before graphs are built: each worker's MAC table is sized
	// then.
	Bridges *bridge.Table
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
	f, f6, ifs := fib.New(), fib.NewTable6(), iface.NewTable()
	return &Dataplane{Arena: a, Pool: pkt.NewPool(a), Ifaces: ifs, FIB: f, Neighbors: neighbor.NewTable(f),
		FIB6: f6, ND: neighbor.NewNDTable(f6, ifs)}, nil
}

// Close checks that every packet buffer came back (see pkt.Pool.Close) and
// releases the arena. Workers must have stopped and their caches flushed.
func (d *Dataplane) Close() error { return d.Pool.Close() }

// AddInterface registers an interface with its addresses (IPv4 and IPv6):
// the FIBs get their connected and local routes. An interface with an
// IPv6 address is IPv6-enabled: it also gets its EUI-64 link-local address
// (RFC 4291 2.5.1) unless NoLinkLocal is set. An IPv4-only interface sends
// no IPv6 at all. With DAD set IPv6 addresses stay tentative until
// duplicate address detection (run by the workers' ip6-glean) passes.
func (d *Dataplane) AddInterface(name string, mac [6]byte, mtu uint16, addrs ...netip.Prefix) (uint16, error) {
	idx, err := d.Ifaces.Add(name, mac, mtu)
	if err != nil {
		return 0, err
	}
	d.FIB.AddInterface(idx, mac, mtu)
	d.FIB6.AddInterface(idx, mac, mtu)
	for _, p := range addrs {
		if p.Addr().Is6() && !p.Addr().Is4In6() {
			if err := d.AddAddress6(idx, p); err != nil {
				return 0, fmt.Errorf("dataplane: %s: %w", name, err)
			}
			continue
		}
		if err := d.Ifaces.AddAddress(idx, p); err != nil {
			return 0, err
		}
		if err := d.FIB.AddConnected(idx, p); err != nil {
			return 0, fmt.Errorf("dataplane: %s: %w", name, err)
		}
	}
	return idx, nil
}

// AddSubInterface registers VLAN sub-interface name of s.Parent (see
// iface.Table.AddSub: mtu 0 is the parent's less the tag bytes) with its
// addresses: its rewrites push its tags, ethernet-input gives it the
// frames carrying them. Its frames leave by the parent's port: the port
// set of each worker must map the new index to that port
// (driver.PortSet.Attach without polling).
func (d *Dataplane) AddSubInterface(name string, s iface.Sub, mtu uint16, addrs ...netip.Prefix) (uint16, error) {
	idx, err := d.Ifaces.AddSub(name, s, mtu)
	if err != nil {
		return 0, err
	}
	x := d.Ifaces.Load().Get(idx)
	d.FIB.AddInterface(idx, x.MAC, x.MTU)
	d.FIB.SetTags(idx, x.Tags, x.TagsLen)
	d.FIB6.AddInterface(idx, x.MAC, x.MTU)
	d.FIB6.SetTags(idx, x.Tags, x.TagsLen)
	for _, p := range addrs {
		if p.Addr().Is6() && !p.Addr().Is4In6() {
			if err := d.AddAddress6(idx, p); err != nil {
				return 0, fmt.Errorf("dataplane: %s: %w", name, err)
			}
			continue
		}
		if err := d.Ifaces.AddAddress(idx, p); err != nil {
			return 0, err
		}
		if err := d.FIB.AddConnected(idx, p); err != nil {
			return 0, fmt.Errorf("dataplane: %s: %w", name, err)
		}
	}
	return idx, nil
}

// AddAddress6 gives interface idx the IPv6 address p: at once, or after
// duplicate address detection when DAD is set. The first IPv6 address of
// an interface brings its link-local address with it (unless NoLinkLocal).
func (d *Dataplane) AddAddress6(idx uint16, p netip.Prefix) error {
	x := d.Ifaces.Load().Get(idx)
	if x == nil {
		return fmt.Errorf("dataplane: no interface %d", idx)
	}
	if !d.NoLinkLocal && len(x.Addrs6) == 0 && len(x.Tentative6) == 0 && !p.Addr().IsLinkLocalUnicast() {
		if err := d.AddAddress6(idx, netip.PrefixFrom(LinkLocal(x.MAC), 64)); err != nil {
			return err
		}
	}
	if d.DAD {
		return d.ND.StartDAD(idx, p, 0)
	}
	if err := d.Ifaces.AddAddress(idx, p); err != nil {
		return err
	}
	return d.FIB6.AddConnected(idx, p)
}

// LinkLocal returns the EUI-64 link-local address of mac (RFC 4291
// appendix A): fe80::, then mac with the universal/local bit flipped and
// ff:fe in the middle.
func LinkLocal(mac [6]byte) netip.Addr {
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: mac[0] ^ 2, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5]})
}

// NewStack makes the host stack (package host: UDP, ICMP, and TCP with
// cfg.TCP) over the data plane's pool, FIB and
// interfaces (cfg.Source defaults to the route's interface address) and
// sets d.Stack, so graphs built afterwards include it. cfg.Workers must be
// the number of worker graphs that will be built.
func (d *Dataplane) NewStack(cfg stack.Config) *stack.Stack {
	if cfg.Source == nil {
		cfg.Source = stack.RouteSource(d.FIB, d.Ifaces)
	}
	if cfg.Source6 == nil {
		cfg.Source6 = stack.RouteSource6(d.FIB6, d.Ifaces)
	}
	d.Stack = host.New(d.Pool, cfg)
	return d.Stack
}

// Registrations returns every node of one worker's graph. inputs are the
// worker's input nodes (from driver.InputNode); ports is indexed by
// interface and holds this worker's queue of each interface.
func (d *Dataplane) Registrations(inputs []graph.Registration, ports []driver.Port) []graph.Registration {
	return d.registrations(inputs, driver.OutputNode(ports, d.Ifaces))
}

// registrations is Registrations with the output node given.
func (d *Dataplane) registrations(inputs []graph.Registration, output graph.Registration) []graph.Registration {
	ethCfg := &ethernet.Config{AllowVLAN: func(port, vid uint16) bool {
		for _, v := range d.VLANs[port] {
			if v == vid {
				return true
			}
		}
		return false
	}}
	ethCfg.RegisterEtherType(uint16(wire.EtherTypeIPv4), ip4.InputName)
	ethCfg.RegisterEtherType(uint16(wire.EtherTypeARP), neighbor.ARPInputName)
	ethCfg.RegisterEtherType(uint16(wire.EtherTypeIPv6), ip6.InputName)
	ethCfg.Types = append(ethCfg.Types, d.EtherTypes...)
	if d.Bridges != nil {
		ethCfg.Bridged, ethCfg.L2Node = d.Bridges.Bridged, bridge.LearnName
	}
	// With a punt node (linux-cp), link-local IPv4 multicast (OSPF, VRRP,
	// IGMP) goes to it, for the kernel's routing daemons.
	ethCfg.IPv4LinkLocalMulticast = d.Punt != ""
	local := ip4.LocalConfig{Echo: d.EchoReply, PuntNode: d.Punt}
	local6 := ip6.LocalConfig{Echo: d.EchoReply6}
	regs := append([]graph.Registration{}, inputs...)
	if d.Stack != nil {
		local.Protocols = append(local.Protocols, d.Stack.Protocols()...)
		local6.Protocols = append(local6.Protocols, d.Stack.Protocols6()...)
		regs = append(regs, d.Stack.Registrations()...)
	}
	local.Protocols = append(local.Protocols, d.LocalProtocols...)
	regs = append(regs,
		ethernet.Node(d.Ifaces, ethCfg),
		neighbor.ARPNode(d.Ifaces, d.Neighbors),
		ip4.InputNodeConfig(d.Ifaces, ip4.InputConfig{LinkLocalMulticast: d.Punt}),
		ip4.LookupNode(d.FIB, neighbor.GleanName),
		ip4.RewriteNode(d.FIB),
		ip4.FragNode(),
		neighbor.GleanNode(d.Ifaces, d.FIB, d.Neighbors, d.Glean),
		ip4.LocalNode(local),
		ip4.ReassemblyNode(d.Reassembly),
		ip4.ICMPErrorNode(d.Ifaces, d.ICMPError),
		ip6.InputNode(d.Ifaces),
		ip6.LookupNode(d.FIB6),
		ip6.RewriteNode(d.FIB6),
		ip6.LocalNode(local6),
		ip6.ICMPErrorNode(d.Ifaces, d.ICMP6Error),
		neighbor.NDInputNode(d.Ifaces, d.ND),
		neighbor.Glean6Node(d.Ifaces, d.FIB6, d.ND, d.Glean),
		output,
	)
	if d.Bridges != nil {
		regs = append(regs, bridge.Nodes(d.Bridges, bridge.Names{Output: output.Name, Ethernet: ethernet.NodeName})...)
	}
	return append(regs, d.Extra...)
}

// Arcs returns the feature arcs, with any service features added.
func (d *Dataplane) Arcs() []graph.Arc {
	return []graph.Arc{
		{Name: ip4.UnicastArc, Start: ip4.InputName, End: ip4.LookupName, Features: d.Features},
		{Name: ip4.OutputArc, Start: ip4.RewriteName, AlsoStart: []string{ip4.FragName}, End: driver.OutputNodeName,
			Features: d.OutputFeatures, ByTxPort: true},
		{Name: ip6.UnicastArc, Start: ip6.InputName, End: ip6.LookupName, Features: d.Features6},
		{Name: ip6.OutputArc, Start: ip6.RewriteName, End: driver.OutputNodeName, Features: d.OutputFeatures6, ByTxPort: true},
	}
}

// BuildGraph builds one worker's graph.
func (d *Dataplane) BuildGraph(c *pkt.Cache, inputs []graph.Registration, ports []driver.Port) (*graph.Graph, error) {
	return graph.Build(c, d.Registrations(inputs, ports), d.Arcs()...)
}

// BuildGraphSet builds one worker's graph whose interface-output sends on
// ps, a port set the control plane may change at run time (interfaces
// added and removed by a reload).
func (d *Dataplane) BuildGraphSet(c *pkt.Cache, inputs []graph.Registration, ps *driver.PortSet) (*graph.Graph, error) {
	return graph.Build(c, d.registrations(inputs, driver.OutputNodeSet(ps, d.Ifaces)), d.Arcs()...)
}
