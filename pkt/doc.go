// Package pkt owns packet memory: one arena of fixed-size slots, named by a
// uint32 Index, each with a typed 64-byte Meta kept beside the arena.
//
// The arena is a single anonymous mmap of N slots of SlotSize bytes. A slot
// holds Headroom bytes of room for prepending headers followed by the packet
// data. The same memory is what AF_XDP registers as its UMEM (chunk size
// SlotSize, UMEM headroom 0, the kernel writing at XDP_PACKET_HEADROOM = 256 =
// Headroom), so a ring descriptor address and an Index convert by shifting:
//
//	addr = uint64(i)<<SlotShift + uint64(meta.Off)
//	i    = Index(addr >> SlotShift), off = addr & (SlotSize-1)
//
// The arena holds no Go pointers and is not Go heap, so the garbage collector
// never scans it. Meta lives in a plain []Meta (no pointers either).
//
// Buffers are handed out by a Pool. The Pool keeps a locked shared free list;
// each worker takes a Cache in front of it, which allocates and frees without
// locks and refills or spills in batches of CacheBatch. Every slot carries an
// ownership state, so a double free panics at once and leak accounting is exact:
// once caches are flushed, Pool.InUse reports the buffers still in flight, and
// tests gate on it being zero.
package pkt
