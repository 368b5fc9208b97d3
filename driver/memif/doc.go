// Package memif is vecnet's memif driver: shared-memory packet interfaces
// that speak the protocol of VPP's memif plugin, DPDK's net_memif and
// libmemif (memif 2.0), so that vecnet is a drop-in peer of VPP- and
// DPDK-based network functions, and of the applications of package
// memif/app.
//
// # Protocol
//
// A memif interface is a unix SOCK_SEQPACKET control socket and shared
// memory. The server (VPP's "master") listens; the client ("slave")
// connects and owns the memory. Every control message is a 128-byte
// datagram (ParseMsg, Msg.Encode):
//
//	server                               client
//	HELLO (name, versions, limits)  →
//	                                ←    INIT (version, id, mode, secret, name)
//	ACK                             →
//	                                ←    ADD_REGION (index, size) + memfd
//	ACK                             →
//	                                ←    ADD_RING (S2M/M2S, index, region, offset, log2 size) + eventfd
//	ACK                             →    … one per ring
//	                                ←    CONNECT (interface name)
//	CONNECTED (interface name)      →
//	DISCONNECT (code, reason)       ↔    either side, any time
//
// A ring is a 128-byte header (cookie, flags, head; tail on the next cache
// line) and 1<<log2 16-byte descriptors (flags, region, length, offset).
// Head and tail are free-running 16-bit counters. On the S2M ring (client
// → server) the client produces at head and the server consumes up to it
// and moves tail; on the M2S ring the client hands empty buffers to the
// server at head, and the server fills them and moves tail. The producer
// writes the ring's eventfd after producing unless the consumer set
// MASK_INT in the ring's flags (it polls).
//
// # This implementation
//
// An Endpoint is one interface: a control goroutine serves or dials the
// socket, runs the handshake (checking every field against the state and
// the shared memory: indices in order, regions that are memfds sealed
// against shrinking and as large as declared, rings inside their region
// with the memif cookie), publishes the connection's queues, and after a
// disconnect — a DISCONNECT, the peer dying, or a protocol error —
// withdraws them and listens or dials again. Refusals are answered with
// DISCONNECT and counted by name (CounterNames).
//
// In copy mode the data path (Queue, and Port for a vecnet worker) copies
// frames between the rings' buffers and the caller's: a vector at a time, with
// one atomic publication of head or tail per vector, no lock and no
// allocation. Each descriptor is read once and bounds-checked against the
// shared regions, so a peer that scribbles on the rings can lose its own
// frames but never make vecnet read or write outside them (counted in
// Stats.RxErrors). Frames larger than a buffer are chained. As the client,
// vecnet makes one memfd region (rings, then a buffer per descriptor).
//
// # Zero-copy
//
// As the client with Config.Pool over a shared arena (pkt.NewSharedArena;
// the daemon makes one when any interface is a memif client, unless its
// bind_mode is copy), vecnet owns the memory and makes its buffers the
// arena's slots: region 0 holds the rings, region 1 is the whole arena,
// and a descriptor's offset is slot<<pkt.SlotShift plus the packet's offset
// in its slot. The receive ring is stocked with slots at connect, each
// offered as pkt.DataCap bytes at pkt.Headroom, like AF_XDP's fill ring; a
// frame the server wrote is that slot, handed to the graph without a copy,
// and its ring position gets a fresh slot. Port.Send puts the packet's own
// slot on the ring and takes it back once the server has moved the ring's
// tail past it. Taken-back slots restock the receive rings of the same
// worker's zero-copy ports first (a recycler per cache), the worker's cache
// second. The slots the rings hold at a disconnect (stocked, or sent and
// not consumed) go back to the pool, and those a recycler holds when the
// last of its ports or their endpoints closes. See zerocopy.go and
// recycle.go.
//
// Trust: the server maps the whole arena, so it can read and write every
// packet buffer of the process — not only those on its rings — and can
// keep doing so after a disconnect. That is the trust AF_XDP's UMEM places
// in the kernel; give it only to a peer trusted that far, and use copy mode
// (no Config.Pool, bind_mode copy) for any other. The descriptors it writes
// are not trusted: vecnet reads only a descriptor's length and flags and
// keeps its own record of which slot each ring position holds. As the
// server vecnet always copies (the memory is the client's).
//
// The worker sleeps on Port.PollFD (an epoll set holding the receive
// ring's eventfd and a wake-up for connection changes): PrepareWait
// unmasks the interrupt; the first received vector masks it again, so a
// busy peer writes no eventfd.
package memif
