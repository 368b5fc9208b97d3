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
// The data path (Queue, and Port for a vecnet worker) copies frames
// between the rings' buffers and the caller's: a vector at a time, with
// one atomic publication of head or tail per vector, no lock and no
// allocation. Each descriptor is read once and bounds-checked against the
// shared regions, so a peer that scribbles on the rings can lose its own
// frames but never make vecnet read or write outside them (counted in
// Stats.RxErrors). Frames larger than a buffer are chained. As the client,
// vecnet makes one memfd region (rings, then a buffer per descriptor).
//
// The worker sleeps on Port.PollFD (an epoll set holding the receive
// ring's eventfd and a wake-up for connection changes): PrepareWait
// unmasks the interrupt; the first received vector masks it again, so a
// busy peer writes no eventfd.
package memif
