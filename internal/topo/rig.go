package topo

import (
	"fmt"
	"strings"
)

// The router rig's addresses: host A on 10.77.1.0/24, host B on
// 10.77.2.0/24, the router at .1 on both. They exist only inside the rig's
// namespaces.
const (
	HostAAddr   = "10.77.1.2"
	HostBAddr   = "10.77.2.2"
	RouterAAddr = "10.77.1.1"
	RouterBAddr = "10.77.2.1"
	NetA        = "10.77.1.0/24"
	NetB        = "10.77.2.0/24"
	// RouterAMAC and RouterBMAC are the router's MACs, fixed so that a
	// generator can address frames to the router without ARP: vecnet's own
	// (DemoConfig gives them to its interfaces) or, under KernelForwarding,
	// the kernel's. The router's veth devices otherwise carry RouterADevMAC
	// and RouterBDevMAC, so that the kernel of the router namespace drops
	// frames meant for vecnet at once (PACKET_OTHERHOST) instead of running
	// them through its IP layer beside an AF_PACKET port.
	RouterAMAC    = "02:76:6e:00:01:01"
	RouterBMAC    = "02:76:6e:00:02:01"
	RouterADevMAC = "02:76:6e:00:01:11"
	RouterBDevMAC = "02:76:6e:00:02:11"
	HostAMAC      = "02:76:6e:00:01:02"
	HostBMAC      = "02:76:6e:00:02:02"
	// RouterA and RouterB are the router's device names inside its namespace;
	// HostDev is the device name in each host namespace.
	RouterA = "ra"
	RouterB = "rb"
	HostDev = "eth0"
)

// RigOptions shape a Rig.
type RigOptions struct {
	// Prefix starts the namespace names (default "vn").
	Prefix string
	// Queues is the number of queues of each veth pair (default 1).
	Queues int
	// MTUB, when set, is the MTU of the router–host B link (both ends), for
	// fragmentation-needed tests.
	MTUB int
	// OffloadsOff turns off the offloads (TX checksum, TSO, GSO, GRO) of
	// all four veth ends. By default the rig leaves them as the kernel
	// sets them, as every container runtime does: the hosts then hand
	// their veth TCP/UDP frames whose checksum is left for "the hardware"
	// (CHECKSUM_PARTIAL, completed by vecnet's ip4-input) and, unless an
	// XDP program in native mode sits on the peer, TCP in 64 KiB GSO
	// super-frames. Set it for the variant that tests the old
	// configuration and for benchmarks that must keep comparing like with
	// like.
	OffloadsOff bool
	// IPv6 keeps the kernel's default, IPv6 on in every namespace: the
	// hosts then send router solicitations, neighbour discovery and MLD
	// reports that vecnet, IPv4 only, counts and drops. Off by default, as
	// that traffic wakes an idle router and a benchmark's sink counts it.
	IPv6 bool
}

// Rig is host A ── router ── host B over two veth pairs, each in its own
// namespace. The hosts have their addresses and a default route through the
// router; the router's ends are up with no address, ready for vecnet to take
// them (or for KernelForwarding).
type Rig struct {
	*Topo
	A, R, B NS
}

// Link is one veth end of a rig: a device in a namespace.
type Link struct {
	NS  NS
	Dev string
}

// Links returns the rig's four veth ends, from host A to host B.
func (r *Rig) Links() []Link {
	return []Link{{r.A, HostDev}, {r.R, RouterA}, {r.R, RouterB}, {r.B, HostDev}}
}

// NewRig builds the rig. On error everything made so far is removed.
func NewRig(opt RigOptions) (rig *Rig, err error) {
	if opt.Prefix == "" {
		opt.Prefix = "vn"
	}
	t := New(opt.Prefix)
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	r := &Rig{Topo: t}
	if r.A, err = t.AddNS("host-a"); err != nil {
		return nil, err
	}
	if r.R, err = t.AddNS("router"); err != nil {
		return nil, err
	}
	if r.B, err = t.AddNS("host-b"); err != nil {
		return nil, err
	}
	// IPv4 only: IPv6 would have the hosts send router solicitations and
	// neighbour discovery, traffic that a benchmark's sink counts and that
	// wakes an idle router.
	for _, ns := range []NS{r.A, r.R, r.B} {
		if opt.IPv6 {
			break
		}
		if err = runAll(ns, [][]string{
			{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
			{"sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"},
		}); err != nil {
			return nil, err
		}
	}
	if err = t.Veth(r.A, HostDev, HostAMAC, r.R, RouterA, RouterADevMAC, opt.Queues); err != nil {
		return nil, err
	}
	if err = t.Veth(r.B, HostDev, HostBMAC, r.R, RouterB, RouterBDevMAC, opt.Queues); err != nil {
		return nil, err
	}
	if opt.OffloadsOff {
		if err = r.offloadsOff(); err != nil {
			return nil, err
		}
	}
	if opt.MTUB > 0 {
		mtu := fmt.Sprint(opt.MTUB)
		if err = runAll(r.B, [][]string{{"ip", "link", "set", HostDev, "mtu", mtu}}); err != nil {
			return nil, err
		}
		if err = runAll(r.R, [][]string{{"ip", "link", "set", RouterB, "mtu", mtu}}); err != nil {
			return nil, err
		}
	}
	if err = runAll(r.A, [][]string{
		{"ip", "addr", "add", HostAAddr + "/24", "dev", HostDev},
		{"ip", "route", "add", "default", "via", RouterAAddr},
	}); err != nil {
		return nil, err
	}
	if err = runAll(r.B, [][]string{
		{"ip", "addr", "add", HostBAddr + "/24", "dev", HostDev},
		{"ip", "route", "add", "default", "via", RouterBAddr},
	}); err != nil {
		return nil, err
	}
	// The router namespace must not answer for itself: vecnet does.
	if err = runAll(r.R, [][]string{{"sysctl", "-qw", "net.ipv4.ip_forward=0"}}); err != nil {
		return nil, err
	}
	return r, nil
}

// offloadsOff turns off the offloads of the rig's four veth ends: no
// TSO/GSO super-frames (which a router port, like a real NIC's receive
// ring, cannot take in one buffer) and no checksums left for "the
// hardware" to fill in (across a veth the skb carries that promise along,
// but a user-space router copies bytes only).
func (r *Rig) offloadsOff() error {
	for _, end := range r.Links() {
		if err := runAll(end.NS, [][]string{{"ethtool", "-K", end.Dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off"}}); err != nil {
			return err
		}
	}
	return nil
}

// Offloads describes the offloads of the rig's links for reports: "peer
// offloads off" or "peer offloads at defaults".
func (o RigOptions) Offloads() string {
	if o.OffloadsOff {
		return "peer offloads off"
	}
	return "peer offloads at defaults"
}

// KernelForwarding makes the kernel of the router namespace the router:
// addresses on both ends and ip_forward=1 (the baseline benchmarks compare
// against). Undo it with NoKernelForwarding before vecnet takes the ports.
func (r *Rig) KernelForwarding() error {
	return runAll(r.R, [][]string{
		{"ip", "link", "set", RouterA, "address", RouterAMAC},
		{"ip", "link", "set", RouterB, "address", RouterBMAC},
		{"ip", "addr", "add", RouterAAddr + "/24", "dev", RouterA},
		{"ip", "addr", "add", RouterBAddr + "/24", "dev", RouterB},
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
	})
}

// NoKernelForwarding removes what KernelForwarding added.
func (r *Rig) NoKernelForwarding() error {
	return runAll(r.R, [][]string{
		{"sysctl", "-qw", "net.ipv4.ip_forward=0"},
		{"ip", "addr", "flush", "dev", RouterA},
		{"ip", "addr", "flush", "dev", RouterB},
		{"ip", "link", "set", RouterA, "address", RouterADevMAC},
		{"ip", "link", "set", RouterB, "address", RouterBDevMAC},
	})
}

// StaticNeighbors gives each host a permanent ARP entry for the router, so
// that a traffic generator's first frames are not lost to resolution.
func (r *Rig) StaticNeighbors() error {
	if err := runAll(r.A, [][]string{{"ip", "neigh", "replace", RouterAAddr, "lladdr", RouterAMAC, "dev", HostDev, "nud", "permanent"}}); err != nil {
		return err
	}
	return runAll(r.B, [][]string{{"ip", "neigh", "replace", RouterBAddr, "lladdr", RouterBMAC, "dev", HostDev, "nud", "permanent"}})
}

func runAll(ns NS, cmds [][]string) error {
	for _, c := range cmds {
		if _, err := ns.Run(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// Names lists the rig's namespaces, for messages.
func (r *Rig) Names() string { return strings.Join([]string{r.A.Name, r.R.Name, r.B.Name}, " ") }
