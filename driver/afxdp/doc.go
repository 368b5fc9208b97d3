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
// Ownership: each Port keeps a bitset of the slots the kernel holds (given to
// the fill or TX ring, not yet back through RX or completion). Close frees
// those, so leak accounting (pkt.Pool.InUse) balances even though the kernel
// never hands its rings back.
package afxdp
