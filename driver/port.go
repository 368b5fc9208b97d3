// Package driver defines the batch port that every packet I/O backend
// implements (AF_XDP, AF_PACKET, TAP, pcap files, in-memory pairs) and the
// graph nodes that connect ports to the graph: an input node that polls a
// worker's ports and "interface-output", which hands each packet to the port
// of its Meta.TxPort.
//
// A Port is one queue of one interface, owned by one worker: the worker alone
// calls its methods, so a port needs no locks. Calls cross the port boundary
// once per vector, never per packet (DPDK's rx_burst/tx_burst, wireguard-go's
// batched conn.Bind).
package driver

import "github.com/vecnet/vecnet/pkt"

// Port is one receive/transmit queue pair of an interface.
type Port interface {
	// Recv appends up to v.Free() received packets to v, with Meta.Off and
	// Meta.Len set to the frame, and returns how many it appended. It
	// allocates buffers (for its own rings or for copies) from c.
	Recv(c *pkt.Cache, v *pkt.Vector) int
	// Send takes ownership of every packet in v and empties v. It returns
	// how many were queued for transmission; the rest were freed to c and
	// counted in Stats.TxDrops.
	Send(c *pkt.Cache, v *pkt.Vector) int
	// Stats returns the port's counters. Call it on the owning worker.
	Stats() Stats
	// Close releases the port; buffers it held return to c.
	Close(c *pkt.Cache) error
}

// Waiter is implemented by ports whose receive side can be waited on with
// poll(2): an idle worker sleeps on these descriptors instead of spinning.
type Waiter interface {
	// PollFD returns the descriptor that becomes readable when packets arrive.
	PollFD() int
	// PrepareWait is called right before the worker sleeps, for ports that
	// must ask the kernel for a wake-up (AF_XDP need_wakeup).
	PrepareWait()
}

// ChecksumsCompleter is implemented by ports whose received frames can
// never carry a TCP or UDP checksum left partial for offload
// (CHECKSUM_PARTIAL): a memif, whose descriptors have no offload metadata
// to say so. The daemon marks such a port's interface
// (iface.Interface.ChecksumsComplete) and ip4-input then skips its
// partial-checksum test, once per run of packets rather than per packet.
// Ports that can carry one (AF_XDP and AF_PACKET on a veth whose peer
// offloads, TAP) do not implement it.
type ChecksumsCompleter interface {
	// ChecksumsComplete reports that no received frame carries a partial
	// TCP or UDP checksum.
	ChecksumsComplete() bool
}

// ChecksumsComplete reports whether p, or the port it wraps (Underlying),
// is a ChecksumsCompleter that answers true.
func ChecksumsComplete(p Port) bool {
	c, ok := Underlying(p).(ChecksumsCompleter)
	return ok && c.ChecksumsComplete()
}

// Stats are a port's counters, written by the owning worker only.
type Stats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	RxDrops            uint64 // frames the port saw but could not deliver (no buffer, ring overflow)
	TxDrops            uint64 // packets handed to Send that were not transmitted
	RxErrors           uint64 // malformed frames the port rejected (too long, bad descriptor)

	// Kernel holds the kernel's own counters for ports that have them
	// (AF_XDP's XDP_STATISTICS), read when Stats is called, never per
	// packet; zero for other drivers.
	Kernel KernelStats
}

// KernelStats are the kernel's counters of an AF_XDP socket: frames it
// dropped before the port could see them, and descriptors it refused.
type KernelStats struct {
	RxDropped       uint64 // frames dropped without a buffer to receive into (fill ring empty, frame too long)
	RxInvalidDescs  uint64 // frames dropped on an invalid fill descriptor
	RxRingFull      uint64 // frames dropped because the RX ring was full
	FillRingEmpty   uint64 // times the kernel found the fill ring empty: the frames are in RxDropped
	TxInvalidDescs  uint64 // TX descriptors the kernel rejected
	TxRingEmptyDesc uint64 // times the kernel found the TX ring empty (not a drop)
}

// Drops is the sum of the counters that lost a frame or a descriptor
// (FillRingEmpty is a cause within RxDropped, not more frames).
func (k KernelStats) Drops() uint64 {
	return k.RxDropped + k.RxInvalidDescs + k.RxRingFull + k.TxInvalidDescs
}

// Add accumulates o into k.
func (k *KernelStats) Add(o KernelStats) {
	k.RxDropped += o.RxDropped
	k.RxInvalidDescs += o.RxInvalidDescs
	k.RxRingFull += o.RxRingFull
	k.FillRingEmpty += o.FillRingEmpty
	k.TxInvalidDescs += o.TxInvalidDescs
	k.TxRingEmptyDesc += o.TxRingEmptyDesc
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.RxPackets += o.RxPackets
	s.RxBytes += o.RxBytes
	s.TxPackets += o.TxPackets
	s.TxBytes += o.TxBytes
	s.RxDrops += o.RxDrops
	s.TxDrops += o.TxDrops
	s.RxErrors += o.RxErrors
	s.Kernel.Add(o.Kernel)
}
