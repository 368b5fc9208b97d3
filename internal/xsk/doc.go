// Package xsk implements AF_XDP sockets by hand over golang.org/x/sys/unix.
//
// An AF_XDP socket (XSK) moves frames between a network device queue and a
// region of user memory called the UMEM. The UMEM is registered once and is
// split into fixed chunks of [ChunkSize] bytes; the kernel and the process then
// exchange chunk addresses (byte offsets into the UMEM) through four
// single-producer/single-consumer rings that both sides map:
//
//	fill        user → kernel   empty chunks the kernel may receive into
//	rx          kernel → user   descriptors (addr, len) of received frames
//	tx          user → kernel   descriptors of frames to send
//	completion  kernel → user   addresses of chunks whose transmission is done
//
// Each ring is a power-of-two array of entries plus a producer and a consumer
// index (free-running uint32 counters) and a flags word, all in memory the
// kernel shares with us. The side that produces writes entries, then publishes
// them with a store-release of its index; the other side reads the index with a
// load-acquire before reading entries. The Go memory model gives sync/atomic
// operations these orderings, so the rings use atomic.LoadUint32 and
// atomic.StoreUint32 on the shared indices and plain accesses on the entries.
// Each ring also caches the other side's index, so a batch touches the shared
// cache lines once: Reserve/Submit on the producer rings and Peek/Release on the
// consumer rings.
//
// The UMEM is memory the caller owns (for vecnet, the packet arena): it must be
// page-aligned and a whole number of 4096-byte chunks, and it must stay mapped
// until every socket using it is closed. With chunk size 4096 and UMEM headroom
// 0, chunk i starts at byte i*4096, and the kernel writes a received frame at
// chunk base + XDP_PACKET_HEADROOM (256). A descriptor address therefore maps to
// a slot and an offset by arithmetic; see [Slot], [Offset] and [Addr].
//
// A second socket may share the UMEM of a first one ([OpenShared]), on another
// queue or another device, so that a forwarder can receive a frame on one
// interface and transmit the same chunk on another without a copy.
//
// Rings are not safe for concurrent use: each ring must be driven by one
// goroutine at a time (normally the worker that owns the queue). Ring
// operations do not allocate, make no system calls and take no locks.
package xsk
