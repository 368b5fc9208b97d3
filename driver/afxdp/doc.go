// Package afxdp is the AF_XDP driver: one AF_XDP socket per device queue,
// with the packet arena registered as the UMEM, and the XDP program of
// internal/xdpprog steering the data plane's traffic into the sockets while
// the rest goes on to the kernel.
//
// Buffers never get copied between the driver and the graph: a receive
// descriptor's address is arena slot<<12 + offset, so it becomes a pkt.Index
// and a Meta.Off by arithmetic, and a transmit descriptor is made the same
// way back. The fill ring is topped up with buffers from the worker's
// pkt.Cache; the completion ring returns sent buffers to it.
//
// Several Interfaces can share one UMEM (Config.Shared): the kernel lets a
// UMEM be registered once, so the first socket opened over an arena owns the
// registration and every other socket, of this device or another, shares it.
// A forwarder then receives a frame on one device and sends the same slot
// out of the other.
//
// Offloads: a peer at its default offloads (TSO/GSO on) hands a veth GSO
// super-frames. Native XDP on a veth makes the kernel turn the peer's TSO
// off, so only frames of MTU size arrive; generic XDP takes the skb before
// any segmentation, and AF_XDP carries no segment size. The sockets are
// bound with XDP_USE_SG, so a frame larger than a slot arrives as a chain
// of descriptors (XDP_PKT_CONTD) instead of being dropped by the kernel
// (xsk_generic_rcv's ENOSPC, seen only in XDP_STATISTICS rx_dropped);
// Recv gathers a chain into a per-port buffer and segments any frame longer
// than the device MTU at that MTU (package offload), into fresh slots. The
// partial checksums of other frames stay as they are (no metadata says
// which are partial): ip4-input completes them.
//
// Ownership: each Port keeps a bitset of the slots the kernel holds (given to
// the fill or TX ring, not yet back through RX or completion). Close frees
// those, so leak accounting (pkt.Pool.InUse) balances even though the kernel
// never hands its rings back.
package afxdp
