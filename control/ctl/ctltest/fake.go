// Package ctltest has a fake ctl.Backend with fixed rows, for the golden
// tests of the renderers, the CLI and the HTTP API.
package ctltest

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/vecnet/vecnet/control/ctl"
)

// Fake is a ctl.Backend over fixed rows: two interfaces (eth0 afxdp,
// mem0 memif), two workers, a few routes and neighbours. Its operations
// change its routes and neighbours and log what they did; interface names
// other than eth0 and mem0 are NotFound, AddressDel is Unsupported. It is
// safe for concurrent use.
type Fake struct {
	mu        sync.Mutex
	routes    []ctl.Route
	neighbors []ctl.Neighbor
	addrs     map[string][]netip.Prefix
	// Ops lists the operations applied, as "route add 10.9.0.0/16".
	Ops []string
	// Fail, when set, is returned by every show method (with its rows).
	Fail error
}

// New returns a Fake.
func New() *Fake {
	return &Fake{addrs: map[string][]netip.Prefix{
		"eth0": {netip.MustParsePrefix("10.0.1.1/24")},
		"mem0": {netip.MustParsePrefix("10.0.2.1/24")},
	}}
}

func age(s int64) *int64 { return &s }

// Runtime implements ctl.Backend.
func (f *Fake) Runtime() (ctl.RuntimeReport, error) {
	w0 := []ctl.RuntimeRow{
		{Name: "port-input", Calls: 100, Vectors: 2560, Clocks: 256000},
		{Name: "ip4-lookup", Calls: 100, Vectors: 2560, Clocks: 51200},
	}
	w1 := []ctl.RuntimeRow{{Name: "port-input", Calls: 50, Vectors: 50, Clocks: 10000}}
	r := ctl.RuntimeReport{TicksPerNs: 2, Workers: []ctl.WorkerRuntime{
		{ID: 0, Name: "vecnet_wk_0", CPU: 0, State: "running", Loops: 1000, Sleeps: 10, Packets: 2560, BusySeconds: 0.25, Nodes: ctl.SumNodes([][]ctl.RuntimeRow{w0}, 2)},
		{ID: 1, Name: "vecnet_wk_1", CPU: -1, State: "sleeping", Loops: 500, Sleeps: 400, Packets: 50, BusySeconds: 0.001, Nodes: ctl.SumNodes([][]ctl.RuntimeRow{w1}, 2)},
	}}
	r.Total = ctl.SumNodes([][]ctl.RuntimeRow{w0, w1}, 2)
	return r, f.fail()
}

func (f *Fake) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Fail
}

// Errors implements ctl.Backend.
func (f *Fake) Errors() ([]ctl.ErrorRow, error) {
	return []ctl.ErrorRow{
		{Count: 3, Node: "ip4-input", Reason: "bad-checksum", Help: "IPv4 header checksum wrong", Severity: "error"},
		{Count: 12, Node: "ip4-lookup", Reason: "no-route", Help: "no route to the destination", Severity: "error"},
	}, f.fail()
}

// Interfaces implements ctl.Backend.
func (f *Fake) Interfaces() ([]ctl.InterfaceRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	str := func(ps []netip.Prefix) []string {
		out := []string{}
		for _, p := range ps {
			out = append(out, p.String())
		}
		return out
	}
	return []ctl.InterfaceRow{
		{Name: "eth0", Index: 0, AdminState: "up", Driver: "afxdp", Info: "native zerocopy queues=2", MAC: "02:00:00:00:00:01", MTU: 1500, Kind: "hw",
			Addresses: str(f.addrs["eth0"]), RxPackets: 1000, RxBytes: 64000, TxPackets: 900, TxBytes: 57600, RxDrops: 2, TxDrops: 1, RxErrors: 0,
			Kernel: &ctl.KernelRow{RxDropped: 5, RxRingFull: 4, FillRingEmpty: 1, XDPProgram: "attached"}},
		{Name: "mem0", Index: 1, AdminState: "down", Driver: "memif", Info: "server copy socket=/run/vecnet/memif.sock id=0 queues=1 state=connected", MAC: "02:00:00:00:00:02", MTU: 9000, Kind: "hw",
			Addresses: str(f.addrs["mem0"]), RxPackets: 900, RxBytes: 57600, TxPackets: 1000, TxBytes: 64000,
			Memif: &ctl.MemifRow{Role: "server", State: "connected", Peer: "testpmd", PeerIface: "memif0"}},
		{Name: "eth0.200.300", Index: 2, AdminState: "up", Driver: "sub", Info: "eth0 dot1ad 200 dot1q 300", MAC: "02:00:00:00:00:01", MTU: 1492,
			Kind: "sub", Parent: "eth0", VLAN: 300, OuterVLAN: 200, OuterTPID: "0x88a8",
			Addresses: str(f.addrs["eth0.200.300"]), RxPackets: 10, RxBytes: 1280, TxPackets: 9, TxBytes: 1152},
	}, f.Fail
}

// FIB implements ctl.Backend: the connected and local routes, then the
// static ones added.
func (f *Fake) FIB() ([]ctl.FIBRow, error) {
	rows := []ctl.FIBRow{
		{Prefix: "10.0.1.0/24", Kind: "connected", Paths: []ctl.FIBPath{{Interface: "eth0", Adjacency: 2, AdjKind: "glean"}}},
		{Prefix: "10.0.1.1/32", Kind: "local", Paths: []ctl.FIBPath{{NextHop: "10.0.1.1", Interface: "eth0", Adjacency: 3, AdjKind: "local"}}},
		{Prefix: "10.0.2.0/24", Kind: "connected", Paths: []ctl.FIBPath{{Interface: "mem0", Adjacency: 4, AdjKind: "glean"}}},
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, r := range f.routes {
		row := ctl.FIBRow{Prefix: r.Prefix.String(), Kind: "static"}
		for _, v := range r.Via {
			row.Paths = append(row.Paths, ctl.FIBPath{NextHop: v.String(), Interface: "eth0", Adjacency: uint32(10 + k), AdjKind: "rewrite", MAC: "02:00:00:00:01:02"})
		}
		rows = append(rows, row)
	}
	return rows, f.Fail
}

// Neighbors implements ctl.Backend.
func (f *Fake) Neighbors() (ctl.NeighborReport, error) {
	r := ctl.NeighborReport{Entries: []ctl.NeighborRow{
		{Interface: "eth0", IP: "10.0.1.2", MAC: "02:00:00:00:01:02", Type: "dynamic", State: "reachable", AgeSeconds: age(42)},
	}}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.neighbors {
		r.Entries = append(r.Entries, ctl.NeighborRow{Interface: n.Interface, IP: n.IP.String(), MAC: n.MAC, Type: "static", State: "static"})
	}
	r.Stats = ctl.NeighborStats{Entries: len(r.Entries), Static: len(f.neighbors), Reachable: 1, Limit: 1024, Created: 1,
		AdjacenciesLive: 5, AdjacencySlots: 64}
	return r, f.Fail
}

// Offload implements ctl.Backend.
func (f *Fake) Offload() ([]ctl.OffloadRow, error) {
	return []ctl.OffloadRow{
		{Name: "eth0", Segmented: 3, Segments: 40, Completed: 7, NotHandled: []ctl.NamedCount{{Name: "offload-unsupported", Count: 2}, {Name: "offload-no-buffer", Count: 1}}},
		{Name: "mem0", NotHandled: []ctl.NamedCount{}},
	}, f.fail()
}

// Trace implements ctl.Backend.
func (f *Fake) Trace() ([]ctl.TraceRow, error) {
	return []ctl.TraceRow{
		{Worker: 0, Packet: 1, Node: "port-input", Next: "ethernet-input", Detail: "eth0 len 98"},
		{Worker: 0, Packet: 1, Node: "ip4-lookup", Error: "ip4-lookup: no-route", Detail: "10.0.1.2 -> 192.0.2.1"},
		{Worker: 1, Packet: 1, Node: "port-input", Next: "ethernet-input", Detail: "mem0 len 60"},
	}, f.fail()
}

func (f *Fake) log(format string, args ...any) {
	f.Ops = append(f.Ops, fmt.Sprintf(format, args...))
}

func (f *Fake) known(name string) error {
	if name != "eth0" && name != "mem0" {
		return ctl.Errorf(ctl.NotFound, "no interface %q", name)
	}
	return nil
}

// RouteAdd implements ctl.Backend.
func (f *Fake) RouteAdd(r ctl.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Interface != "" {
		if err := f.known(r.Interface); err != nil {
			return err
		}
	}
	if len(r.Via) == 0 {
		return ctl.Errorf(ctl.BadInput, "a route needs at least one next hop")
	}
	f.routes = slices.DeleteFunc(f.routes, func(x ctl.Route) bool { return x.Prefix == r.Prefix })
	f.routes = append(f.routes, r)
	f.log("route add %v via %v", r.Prefix, r.Via)
	return nil
}

// RouteDel implements ctl.Backend.
func (f *Fake) RouteDel(p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.routes)
	f.routes = slices.DeleteFunc(f.routes, func(x ctl.Route) bool { return x.Prefix == p })
	if len(f.routes) == n {
		return ctl.Errorf(ctl.NotFound, "route %v: no such route", p)
	}
	f.log("route del %v", p)
	return nil
}

// RouteBatch implements ctl.Backend: every change or none (a delete of a
// route that is not there fails the batch).
func (f *Fake) RouteBatch(changes []ctl.RouteChange) (ctl.RouteBatchResult, error) {
	if err := ctl.CheckRouteBatch(changes); err != nil {
		return ctl.RouteBatchResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	routes := slices.Clone(f.routes)
	var res ctl.RouteBatchResult
	for _, c := range changes {
		p := c.Prefix.Masked()
		n := len(routes)
		routes = slices.DeleteFunc(routes, func(x ctl.Route) bool { return x.Prefix == p })
		if c.Delete {
			if len(routes) == n {
				return ctl.RouteBatchResult{}, ctl.Errorf(ctl.NotFound, "route %v: no such route", p)
			}
			res.Deleted++
			continue
		}
		if c.Interface != "" {
			if err := f.known(c.Interface); err != nil {
				return ctl.RouteBatchResult{}, err
			}
		}
		routes = append(routes, ctl.Route{Prefix: p, Via: c.Via, Interface: c.Interface})
		res.Added++
	}
	f.routes = routes
	f.log("route batch +%d -%d", res.Added, res.Deleted)
	return res, nil
}

// NeighborAdd implements ctl.Backend.
func (f *Fake) NeighborAdd(n ctl.Neighbor) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(n.Interface); err != nil {
		return err
	}
	if _, err := ctl.ParseMAC(n.MAC); err != nil {
		return err
	}
	f.neighbors = append(f.neighbors, n)
	f.log("neighbor add %s %v %s", n.Interface, n.IP, n.MAC)
	return nil
}

// NeighborDel implements ctl.Backend.
func (f *Fake) NeighborDel(name string, ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(name); err != nil {
		return err
	}
	n := len(f.neighbors)
	f.neighbors = slices.DeleteFunc(f.neighbors, func(x ctl.Neighbor) bool { return x.Interface == name && x.IP == ip })
	if len(f.neighbors) == n {
		return ctl.Errorf(ctl.NotFound, "no neighbor %v on %s", ip, name)
	}
	f.log("neighbor del %s %v", name, ip)
	return nil
}

// AddressAdd implements ctl.Backend.
func (f *Fake) AddressAdd(name string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(name); err != nil {
		return err
	}
	for _, ps := range f.addrs {
		for _, q := range ps {
			if q.Addr() == p.Addr() {
				return ctl.Errorf(ctl.Conflict, "address %v is already on an interface", p)
			}
		}
	}
	f.addrs[name] = append(f.addrs[name], p)
	f.log("address add %s %v", name, p)
	return nil
}

// AddressDel implements ctl.Backend.
func (f *Fake) AddressDel(name string, p netip.Prefix) error {
	if err := f.known(name); err != nil {
		return err
	}
	return ctl.Errorf(ctl.Unsupported, "removing an address is not supported")
}

// LinkSet implements ctl.Backend (the shown state does not change).
func (f *Fake) LinkSet(name string, up bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(name); err != nil {
		return err
	}
	f.log("link %s up=%v", name, up)
	return nil
}

// TraceAdd implements ctl.Backend.
func (f *Fake) TraceAdd(n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("trace add %d", n)
	return nil
}

// TraceClear implements ctl.Backend.
func (f *Fake) TraceClear() error { f.mu.Lock(); defer f.mu.Unlock(); f.log("trace clear"); return nil }

// RuntimeClear implements ctl.Backend.
func (f *Fake) RuntimeClear() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("runtime clear")
	return nil
}

// ErrorsClear implements ctl.Backend.
func (f *Fake) ErrorsClear() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("errors clear")
	return nil
}

var _ ctl.Backend = (*Fake)(nil)

// CaptureStart records the capture.
func (f *Fake) CaptureStart(c ctl.Capture) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.File == "" {
		return ctl.Errorf(ctl.BadInput, "pcap trace: a file is needed")
	}
	f.log("capture %v", c.Words())
	return nil
}

// CaptureStop records the stop.
func (f *Fake) CaptureStop() (ctl.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("capture off")
	return ctl.Status{Status: "wrote 0 packets"}, nil
}

// CaptureStatus says no capture runs.
func (f *Fake) CaptureStatus() (ctl.Status, error) { return ctl.Status{Status: "no capture"}, nil }

// Reload records the reload.
func (f *Fake) Reload() (ctl.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("reload")
	return ctl.Status{Status: "reload: nothing to change"}, nil
}

// ACLs returns one ACL of two rules.
func (f *Fake) ACLs() ([]ctl.ACLRow, error) {
	return []ctl.ACLRow{{Name: "web-in", Interface: "eth0", Direction: "in", Default: "deny", NoMatch: 7,
		Rules: []ctl.ACLRuleRow{{Rule: "permit src any dst 10.0.2.0/24 proto 6 dport 80-443", Hits: 1200}, {Rule: "deny src 10.0.1.66/32 dst any", Hits: 3}}}}, nil
}

// Sessions returns one TCP session.
func (f *Fake) Sessions() ([]ctl.SessionRow, error) {
	return []ctl.SessionRow{{Worker: 0, Protocol: 6, Initiator: "10.0.1.2:40000", Responder: "10.0.2.2:80", State: "tcp-established", Packets: 12, ExpiresInSeconds: 7440}}, nil
}

// NATSessions returns a dynamic and a static mapping.
func (f *Fake) NATSessions() ([]ctl.NATSessionRow, error) {
	exp := int64(300)
	return []ctl.NATSessionRow{
		{Worker: 0, Protocol: "udp", Inside: "10.0.1.2:5353", Outside: "203.0.113.1:1024", State: "udp", Packets: 2, ExpiresInSeconds: &exp},
		{Worker: 0, Protocol: "tcp", Inside: "10.0.1.5:80", Outside: "203.0.113.1:8080", State: "static", Packets: 40},
	}, nil
}

// Policers returns one two-rate policer.
func (f *Fake) Policers() ([]ctl.PolicerRow, error) {
	return []ctl.PolicerRow{{Name: "cust-a", Interface: "eth0", Mode: "trTCM", CIRBits: 100000000, PIRBits: 200000000,
		Green: ctl.ColorCounter{Packets: 1000, Bytes: 1500000}, Yellow: ctl.ColorCounter{Packets: 10, Bytes: 15000}, Red: ctl.ColorCounter{Packets: 1, Bytes: 1500}}}, nil
}

// Bridges returns one domain of three members (two in a split-horizon
// group) with a BVI.
func (f *Fake) Bridges() ([]ctl.BridgeRow, error) {
	return []ctl.BridgeRow{{ID: 1, BVI: "bvi1", AgeSeconds: 300, MaxMACs: 4096, MACs: 3,
		Members: []ctl.BridgeMemberRow{{Interface: "eth1"}, {Interface: "eth2", SplitHorizon: 1}, {Interface: "eth3", SplitHorizon: 1}}}}, nil
}

// BridgeMACs returns three learnt MACs of worker 0.
func (f *Fake) BridgeMACs() ([]ctl.BridgeMACRow, error) {
	return []ctl.BridgeMACRow{
		{Worker: 0, Bridge: 1, MAC: "02:00:00:00:00:0a", Interface: "eth1", IdleSeconds: 2},
		{Worker: 0, Bridge: 1, MAC: "02:00:00:00:00:0b", Interface: "eth2", IdleSeconds: 0},
		{Worker: 0, Bridge: 1, MAC: "02:00:00:00:00:0c", Interface: "eth3", IdleSeconds: 41},
	}, nil
}

// BridgeMACsClear records the clear.
func (f *Fake) BridgeMACsClear() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("bridge macs clear")
	return nil
}

// LinuxCP returns one pair and the mirror's counters.
func (f *Fake) LinuxCP() (ctl.LinuxCPReport, error) {
	return ctl.LinuxCPReport{
		Pairs: []ctl.LinuxCPPair{{Interface: "eth0", HostIf: "lcp-eth0", Netns: "router", HostIfIndex: 7, PuntRateBits: 20000000,
			PuntBurst: 131072, Punted: 42, PuntedBytes: 4200, Injected: 40, InjectedBytes: 3900}},
		Mirror: ctl.LinuxCPMirror{RoutesInstalled: 10000, RoutesAdded: 10000, Batches: 12, Neighbors: 1},
	}, nil
}
