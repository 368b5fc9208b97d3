// Package ctl is vecnet's control layer: every show command returns typed
// rows (RuntimeReport, ErrorRow, InterfaceRow, FIBRow, NeighborReport,
// OffloadRow, TraceRow) and every change is a typed operation on a Backend.
// Renderers turn the rows into the CLI's tables (table.go) or JSON; the CLI
// commands (Commands) and the HTTP API (package control/api) are both built
// on the same Backend, which the daemon implements.
//
// The JSON field names are stable: snake_case, documented on each field,
// golden-tested (testdata/*.golden). Counters are unsigned integers, rates
// and averages floats, addresses and MACs strings in their usual notation.
package ctl

// RuntimeReport is "show runtime": each worker's state and node
// statistics, then the nodes summed over every worker.
type RuntimeReport struct {
	// TicksPerNs converts clocks to nanoseconds. JSON: ticks_per_ns.
	TicksPerNs float64 `json:"ticks_per_ns"`
	// Workers in worker order. JSON: workers.
	Workers []WorkerRuntime `json:"workers"`
	// Total is every node summed over the workers (Sum). JSON: total.
	Total []RuntimeRow `json:"total"`
}

// WorkerRuntime is one worker's state and node statistics.
type WorkerRuntime struct {
	ID          int     `json:"id"`           // worker number
	Name        string  `json:"name"`         // thread name, vecnet_wk_N
	CPU         int     `json:"cpu"`          // pinned CPU, -1 for any
	State       string  `json:"state"`        // running, sleeping, stopped...
	Loops       uint64  `json:"loops"`        // polling loops run
	Sleeps      uint64  `json:"sleeps"`       // times the worker slept
	Packets     uint64  `json:"packets"`      // packets received
	BusySeconds float64 `json:"busy_seconds"` // time spent on vectors
	// Nodes are the nodes that ran at least once, in graph order.
	// Missing (null) when the worker did not answer. JSON: nodes.
	Nodes []RuntimeRow `json:"nodes"`
}

// RuntimeRow is one node's statistics (summed over some workers).
type RuntimeRow struct {
	Name            string  `json:"name"`              // node name
	Calls           uint64  `json:"calls"`             // calls that processed at least one packet
	Vectors         uint64  `json:"vectors"`           // packets processed
	Clocks          uint64  `json:"clocks"`            // TSC ticks spent
	ClocksPerPacket float64 `json:"clocks_per_packet"` // clocks / vectors
	NsPerPacket     float64 `json:"ns_per_packet"`     // clocks_per_packet / ticks_per_ns
	VectorsPerCall  float64 `json:"vectors_per_call"`  // vectors / calls
}

// ErrorRow is one error counter, summed over the workers ("show errors").
type ErrorRow struct {
	Count    uint64 `json:"count"`    // packets counted
	Node     string `json:"node"`     // the node that counted them
	Reason   string `json:"reason"`   // the counter's name
	Help     string `json:"help"`     // what it means
	Severity string `json:"severity"` // info, warn or error
}

// InterfaceRow is one interface with its counters ("show interfaces").
type InterfaceRow struct {
	Name  string `json:"name"`  // configured name
	Index uint16 `json:"index"` // data-plane index
	// AdminState is "up" or "down" (interface up|down). JSON: admin_state.
	AdminState string   `json:"admin_state"`
	Driver     string   `json:"driver"`    // mem, afxdp, afpacket, tap, pcap, memif
	Info       string   `json:"info"`      // the driver's description (mode, queues, memif peer and state)
	MAC        string   `json:"mac"`       // aa:bb:cc:dd:ee:ff
	MTU        uint16   `json:"mtu"`       // IP MTU
	Addresses  []string `json:"addresses"` // IPv4 addresses with prefix length
	// Kind is "hw" (an interface with a port) or "sub" (a VLAN
	// sub-interface, whose Driver is "sub" and Info its parent and tags).
	Kind string `json:"kind"`
	// Parent, VLAN, OuterVLAN and OuterTPID are a sub-interface's parent
	// and tags (absent on others). JSON: parent, vlan, outer_vlan,
	// outer_tpid ("0x88a8" or "0x8100").
	Parent    string `json:"parent,omitempty"`
	VLAN      uint16 `json:"vlan,omitempty"`
	OuterVLAN uint16 `json:"outer_vlan,omitempty"`
	OuterTPID string `json:"outer_tpid,omitempty"`
	// Port counters summed over the interface's queues.
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxDrops   uint64 `json:"rx_drops"`  // frames seen but not delivered (no buffer, ring overflow)
	TxDrops   uint64 `json:"tx_drops"`  // packets handed to the port but not sent
	RxErrors  uint64 `json:"rx_errors"` // malformed frames the port rejected
	// Kernel holds the AF_XDP socket's kernel counters (afxdp only,
	// otherwise absent). JSON: kernel.
	Kernel *KernelRow `json:"kernel,omitempty"`
	// Memif is the memif endpoint's connection (memif only, otherwise
	// absent). JSON: memif.
	Memif *MemifRow `json:"memif,omitempty"`
}

// KernelRow is an AF_XDP interface's XDP_STATISTICS, summed over its
// queues, and its XDP program's attachment.
type KernelRow struct {
	RxDropped      uint64 `json:"rx_dropped"`
	RxInvalidDescs uint64 `json:"rx_invalid_descs"`
	RxRingFull     uint64 `json:"rx_ring_full"`
	FillRingEmpty  uint64 `json:"fill_ring_empty"`
	TxInvalidDescs uint64 `json:"tx_invalid_descs"`
	TxRingEmpty    uint64 `json:"tx_ring_empty"`
	// XDPProgram is "attached", "re-attached(N)" or "detached".
	XDPProgram string `json:"xdp_program"`
}

// MemifRow is a memif interface's connection state and peer.
type MemifRow struct {
	Role      string `json:"role"`       // server or client
	State     string `json:"state"`      // the endpoint's state (connected ...)
	Peer      string `json:"peer"`       // the peer application's name, "" before it connected
	PeerIface string `json:"peer_iface"` // the peer's interface name
	LastError string `json:"last_error"` // the last connection error, "" when none
}

// FIBRow is one installed route ("show fib").
type FIBRow struct {
	Prefix string    `json:"prefix"` // destination, 10.0.0.0/8
	Kind   string    `json:"kind"`   // static, local, connected or neighbor
	Paths  []FIBPath `json:"paths"`  // one per ECMP member
}

// FIBPath is one way out of a route.
type FIBPath struct {
	// NextHop is the next hop's address; "" for a connected (glean) or drop
	// path. For a local path it is the interface address (not printed in
	// the table).
	NextHop   string `json:"next_hop"`
	Interface string `json:"interface"` // outgoing interface name
	Adjacency uint32 `json:"adjacency"` // adjacency index
	AdjKind   string `json:"adj_kind"`  // rewrite, glean, arp, local, drop
	// MAC is the rewrite's destination MAC (adj_kind rewrite only).
	MAC string `json:"mac,omitempty"`
}

// NeighborReport is "show neighbors": the ARP entries, then the counts.
type NeighborReport struct {
	Entries []NeighborRow `json:"entries"`
	Stats   NeighborStats `json:"stats"`
}

// NeighborRow is one ARP entry.
type NeighborRow struct {
	Interface string `json:"interface"`
	IP        string `json:"ip"`
	MAC       string `json:"mac"`
	Type      string `json:"type"`  // static or dynamic
	State     string `json:"state"` // static, reachable, stale, probe ...
	// AgeSeconds is the time since the last confirmation or change,
	// rounded to a second; null when never. JSON: age_seconds.
	AgeSeconds *int64 `json:"age_seconds"`
}

// NeighborStats are the neighbour table's and the FIB's adjacency counts
// ("show neighbors stats").
type NeighborStats struct {
	Entries                int    `json:"entries"`
	Static                 int    `json:"static"`
	Reachable              int    `json:"reachable"`
	Stale                  int    `json:"stale"`
	Probe                  int    `json:"probe"`
	Limit                  int    `json:"limit"`
	Created                uint64 `json:"created"`
	Changed                uint64 `json:"changed"`
	Evicted                uint64 `json:"evicted"`
	Expired                uint64 `json:"expired"`
	Refused                uint64 `json:"refused"`
	AdjacenciesLive        int    `json:"adjacencies_live"`
	AdjacenciesFree        int    `json:"adjacencies_free"`
	AdjacenciesQuarantined int    `json:"adjacencies_quarantined"`
	AdjacencySlots         int    `json:"adjacency_slots"`
}

// OffloadRow is one interface's software-offload counters ("show
// offload"), summed over its ports.
type OffloadRow struct {
	Name      string `json:"name"`      // interface
	Segmented uint64 `json:"segmented"` // GSO super-frames cut into segments
	Segments  uint64 `json:"segments"`  // segments those made
	Completed uint64 `json:"completed"` // partial checksums completed
	// NotHandled counts the frames that could not be handled, by offload
	// error name, in the driver's order. JSON: not_handled.
	NotHandled []NamedCount `json:"not_handled"`
}

// NamedCount is a counter with its name.
type NamedCount struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// TraceRow is what one node did to one traced packet ("show trace").
type TraceRow struct {
	Worker int    `json:"worker"` // the worker that traced it
	Packet uint64 `json:"packet"` // trace number of the packet on that worker (1, 2 ...)
	Node   string `json:"node"`   // the node that enqueued, dropped or freed it
	Next   string `json:"next"`   // the next node; "" when dropped or freed
	Error  string `json:"error"`  // "node: error" for a drop or a free
	Detail string `json:"detail"` // the node's decode of the packet
}
