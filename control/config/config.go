// Package config reads vecnet's declarative YAML configuration: the workers,
// the CLI socket, the interfaces with their drivers and addresses, static
// routes and static neighbours.
//
// The file is parsed into a yaml.Node tree and walked by hand, so that every
// error names file:line:column and says what is wrong, and unknown keys are
// errors rather than silently ignored. After decoding, defaults are filled in
// (see Config and Interface) and cross references are checked: interface
// names are unique, routes and neighbours name existing interfaces,
// addresses are IPv4, and each driver gets only the options it understands.
//
// A Config is a plain value: the caller that obtained it owns it, and it is
// not safe to mutate while another goroutine reads it.
package config

import (
	"github.com/vecnet/vecnet/service/acl"
	"net/netip"
	"time"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Limits and defaults applied by Parse.
const (
	DefaultSocket   = "/run/vecnet/cli.sock" // Config.Socket when the file has none
	DefaultMTU      = 1500                   // Interface.MTU when the file has none
	DefaultRingSize = 16384                  // Interface.RingSize for afxdp/afpacket (see docs: 4096 dropped under VM stalls)
	MinMTU          = 68
	MaxWorkers      = 64
	MaxQueues       = 64
	MinRingSize     = 64
	MaxRingSize     = 65536
	maxSocketPath   = 107 // sun_path is 108 bytes including the NUL
	maxIfName       = 15  // IFNAMSIZ - 1
)

// MaxMTU is the largest IP MTU a packet buffer holds: a frame of MTU bytes
// plus an Ethernet header and a VLAN tag in pkt.DataCap.
const MaxMTU = pkt.DataCap - wire.EthernetLen - wire.VLANLen

// MaxBusyPollUsecs bounds Interface.BusyPollUsecs.
const MaxBusyPollUsecs = 10000

// MaxWorkerSpin bounds Config.WorkerSpin.
const MaxWorkerSpin = time.Second

// Drivers are the driver names an Interface may use.
var Drivers = []string{"mem", "pcap", "afxdp", "afpacket", "tap", "memif"}

// Config is a whole vecnet configuration, as returned by Parse or Load with
// defaults filled in.
type Config struct {
	// Workers is the number of worker goroutines (one per core), 1..64;
	// default 1. YAML key: workers.
	Workers int
	// WorkerSpin is how long a worker keeps polling after its last packet
	// before it sleeps (adaptive polling, worker.Worker.Spin): zero takes
	// the worker's default (worker.DefaultSpin, off), a negative value turns it off (the
	// worker then sleeps after a fixed number of empty passes). YAML key:
	// worker_spin, a duration up to MaxWorkerSpin, or "off" (or 0).
	WorkerSpin time.Duration
	// WorkerRTPriority, when > 0, runs every worker thread under
	// SCHED_FIFO at this priority, 1..99 (worker.Worker.RTPriority). YAML
	// key: worker_rt_priority.
	WorkerRTPriority int
	// WorkerShared runs the workers as ordinary goroutines that sleep in
	// Go's netpoller and yield to the goroutines they wake
	// (worker.Worker.Shared): for a process whose application (net/http on
	// package sock) shares the workers' CPUs. False, the default, gives
	// each worker a thread of its own, as a router wants. YAML key:
	// worker_thread, "dedicated" (default) or "shared".
	WorkerShared bool
	// Socket is the unix socket the CLI listens on; default DefaultSocket.
	// YAML key: socket.
	Socket string
	// Interfaces in file order; at least one. YAML key: interfaces.
	Interfaces []Interface
	// SubInterfaces are the VLAN sub-interfaces: the entries of
	// "interfaces" with a parent (in file order, after the hardware ones
	// in index order).
	SubInterfaces []SubInterface
	// Routes are static IPv4 routes. YAML key: routes.
	Routes []Route
	// Neighbors are static ARP entries. YAML key: neighbors.
	Neighbors []Neighbor
	// ARP bounds and ages learned neighbours and glean queues; zero
	// fields take the defaults. YAML key: arp (see ARP).
	ARP ARP
	// Limits bound CLI clients and host-stack applications (see Limits).
	// YAML key: limits.
	Limits Limits
	// Policers meter interfaces' received traffic (see Policer). YAML key:
	// policers.
	Policers []Policer
	// ACLs filter interfaces' received traffic (see ACL). YAML key: acls.
	ACLs []ACL
	// Sessions bounds and times the sessions permit+reflect rules open
	// (per worker); zero fields take the defaults. YAML key: sessions.
	Sessions acl.SessionConfig
	// NAT44 translates the inside interfaces' traffic to the outside
	// (see NAT44); nil: none. YAML key: nat44.
	NAT44 *NAT44
	// HTTP says where the HTTP API listens (see HTTP). YAML key: http.
	HTTP HTTP
	// LinuxCP pairs interfaces with TAPs in the host kernel (see LinuxCP).
	// YAML key: linux_cp.
	LinuxCP []LinuxCP
	// Bridges are learning bridge domains (see Bridge). YAML key: bridges.
	Bridges []Bridge
}

// Interface is one data-plane interface. Fields marked "kernel drivers"
// apply to afxdp, afpacket and tap; setting them on another driver is an
// error.
type Interface struct {
	Name   string // unique, 1..15 characters, no spaces or '/'. YAML: name
	Driver string // one of Drivers. YAML: driver
	// MAC is the interface's unicast MAC; zero means unset (the device's own
	// MAC, or a generated one). YAML: mac, "02:00:00:00:00:01".
	MAC MAC
	// MTU is the IP MTU, MinMTU..MaxMTU. Default: for kernel drivers 0,
	// meaning the device's own MTU, read when the daemon starts (a
	// configured MTU larger than the device's is an error there); for
	// the others DefaultMTU. YAML: mtu
	MTU int
	// Addresses are the interface's IPv4 addresses with their subnets, host
	// bits kept (10.0.1.1/24). YAML: addresses.
	Addresses []netip.Prefix
	// RA turns router advertisements on (see RA); nil: off. YAML: ra.
	RA *RA

	// PcapIn and PcapOut are the files the pcap driver reads received frames
	// from and writes transmitted frames to; at least one is required.
	// YAML: pcap_in, pcap_out.
	PcapIn, PcapOut string

	// Device is the kernel interface name (kernel drivers); default Name.
	// YAML: device.
	Device string
	// Netns is the network namespace the device lives in (kernel drivers):
	// a name under /run/netns or an absolute path; empty = ours. YAML: netns.
	Netns string
	// Queues is the number of device queues to open (afxdp, afpacket, tap),
	// 1..64; default Workers. YAML: queues.
	Queues int
	// XDPMode is how the XDP program attaches (afxdp): "native", "generic",
	// or "" to try native then generic. YAML: xdp_mode.
	XDPMode string
	// BindMode is how AF_XDP sockets bind (afxdp): "copy", "zerocopy", or ""
	// to try zero-copy then copy. For a memif client, "" or "zerocopy" make
	// its buffer region the packet arena (no copy; the peer maps every
	// packet buffer) and "copy" keeps a region of its own; a memif server
	// always copies. YAML: bind_mode.
	BindMode string
	// RxRing is the AF_PACKET receive ring (afpacket): "blocks" (TPACKET_V3,
	// the most packets per second; at low rates a frame waits up to the
	// 1 ms block-retire timer) or "frames" (TPACKET_V2: each frame handed
	// over at once, for latency); "" is blocks. YAML: rx_ring.
	RxRing string
	// RingSize is the size of each ring (afxdp, afpacket): a power of two,
	// 64..65536; default DefaultRingSize. YAML: ring_size.
	RingSize int
	// BusyPollUsecs, BusyPollBudget and PreferBusyPoll are the AF_XDP
	// sockets' busy-poll options (SO_BUSY_POLL in µs, 0..MaxBusyPollUsecs,
	// 0 off; SO_BUSY_POLL_BUDGET, 0 the kernel's default;
	// SO_PREFER_BUSY_POLL) (afxdp). YAML: busy_poll, busy_poll_budget,
	// prefer_busy_poll.
	BusyPollUsecs, BusyPollBudget int
	PreferBusyPoll                bool
	// Match says which received packets the XDP program redirects to vecnet
	// (afxdp); the rest go to the kernel. Default: all. YAML: match, see
	// ParseMatch for the syntax.
	Match Match

	// MemifSocket is the memif control socket (memif), required. YAML: socket.
	MemifSocket string
	// MemifRole is "server" (listens, default) or "client" (memif). YAML: role.
	MemifRole string
	// MemifID is the memif interface id both peers configure (memif),
	// default 0. YAML: id.
	MemifID uint32
	// MemifSecret is the optional shared secret (memif), up to 23 bytes.
	// YAML: secret.
	MemifSecret string
}

// DefaultMemifRingSize is Interface.RingSize for memif (VPP's and DPDK's
// default); MaxMemifRingSize bounds it.
const (
	DefaultMemifRingSize = 1024
	MaxMemifRingSize     = 16384
)

// Route is a static IPv4 route.
type Route struct {
	// Prefix is the destination, without host bits. YAML: prefix.
	Prefix netip.Prefix
	// Via are the next hops (ECMP when several); at least one. YAML: via,
	// a list or a single address.
	Via []netip.Addr
	// Interface pins the next hops to an interface; empty = resolve through
	// the connected subnets. YAML: interface.
	Interface string
}

// Neighbor is a static ARP entry.
type Neighbor struct {
	Interface string     // an existing interface. YAML: interface
	IP        netip.Addr // IPv4. YAML: ip
	MAC       MAC        // unicast, non-zero. YAML: mac
}

// MemifZeroCopy reports whether the interface is a memif client whose
// buffer region is the packet arena (BindMode "" or "zerocopy").
func (ic *Interface) MemifZeroCopy() bool {
	return ic.Driver == "memif" && (ic.MemifRole == "client" || ic.MemifRole == "slave") && ic.BindMode != "copy"
}

// IsKernel reports whether driver d opens a kernel interface (afxdp,
// afpacket, tap).
func IsKernel(d string) bool { return d == "afxdp" || d == "afpacket" || d == "tap" }
