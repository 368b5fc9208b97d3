package tcpnode

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Which worker owns a connection.
//
// A connection lives on the worker whose engine created it: the one that
// got its SYN, or the one Dial chose. Its later segments may reach another
// worker (the peer's queue choice changes: Linux re-hashes a socket's
// txhash after a retransmission timeout, and the answer to a dialled SYN
// comes back on whatever queue the peer's hash picks). That worker's
// engine misses, asks the flow table who owns the 4-tuple, and hands the
// segment over (handoff.go) instead of answering RST.
//
// The table is written when a connection enters or leaves an engine (under
// a shard's lock: creations on different workers rarely share a shard) and
// read on an engine miss without a lock: each slot is an atomic pointer to
// an immutable entry, and a shard publishes a new slot array when it
// grows. A hit in an engine's own table never reaches it.

// flowShards is the number of shards (a power of two).
const flowShards = 16

// flowKey is a 4-tuple as seen from this host, addresses in 16 bytes
// (IPv4 as IPv4-mapped IPv6).
type flowKey struct {
	local, remote [16]byte
	lport, rport  uint16
}

func flowKeyOf(local, remote netip.AddrPort) flowKey {
	return flowKey{local: local.Addr().As16(), remote: remote.Addr().As16(), lport: local.Port(), rport: remote.Port()}
}

// flowEntry is one immutable mapping; tombstone marks a deleted slot.
type flowEntry struct {
	key   flowKey
	owner int
}

var tombstone = &flowEntry{owner: -1}

// flowShard is one shard: an open-addressed table (linear probing) of
// atomic pointers, replaced whole when it grows.
type flowShard struct {
	slots atomic.Pointer[[]atomic.Pointer[flowEntry]]
	mu    sync.Mutex // writers
	used  int        // live entries, under mu
	tombs int        // tombstones, under mu
	_     [64]byte
}

// flowTable maps a 4-tuple to the worker whose engine holds it.
type flowTable struct {
	seed   uint64
	shards [flowShards]flowShard
}

func newFlowTable() *flowTable {
	var b [8]byte
	_, _ = rand.Read(b[:])
	t := &flowTable{seed: binary.LittleEndian.Uint64(b[:])}
	for i := range t.shards {
		s := make([]atomic.Pointer[flowEntry], 16)
		t.shards[i].slots.Store(&s)
	}
	return t
}

// hash mixes k with the table's random seed, so that peers cannot choose
// tuples that collide.
func (t *flowTable) hash(k *flowKey) uint64 {
	l0, l1 := binary.BigEndian.Uint64(k.local[:8]), binary.BigEndian.Uint64(k.local[8:])
	r0, r1 := binary.BigEndian.Uint64(k.remote[:8]), binary.BigEndian.Uint64(k.remote[8:])
	x := l1 ^ bits.RotateLeft64(r1, 32) ^ bits.RotateLeft64(l0^r0, 17) ^ t.seed
	y := (uint64(k.lport)<<16 | uint64(k.rport)) ^ bits.RotateLeft64(t.seed, 29)
	hi, lo := bits.Mul64(x^0x9e3779b97f4a7c15, y^0xbf58476d1ce4e5b9)
	return hi ^ lo
}

// lookup returns the owner of k, or -1. It takes no lock and does not
// allocate.
func (t *flowTable) lookup(k flowKey) int {
	h := t.hash(&k)
	slots := *t.shards[h&(flowShards-1)].slots.Load()
	mask := uint64(len(slots) - 1)
	for i := (h / flowShards) & mask; ; i = (i + 1) & mask {
		e := slots[i].Load()
		if e == nil {
			return -1
		}
		if e != tombstone && e.key == k {
			return e.owner
		}
	}
}

// claim maps k to owner unless k is mapped already. It returns the owner
// k has afterwards and whether this call added it.
func (t *flowTable) claim(k flowKey, owner int) (int, bool) {
	return t.put(k, owner, false)
}

// set maps k to owner, replacing any mapping.
func (t *flowTable) set(k flowKey, owner int) { t.put(k, owner, true) }

func (t *flowTable) put(k flowKey, owner int, replace bool) (int, bool) {
	h := t.hash(&k)
	sh := &t.shards[h&(flowShards-1)]
	sh.mu.Lock()
	slots := *sh.slots.Load()
	if (sh.used+sh.tombs+1)*4 > len(slots)*3 {
		slots = sh.grow(t)
	}
	mask := uint64(len(slots) - 1)
	free := -1
	for i := (h / flowShards) & mask; ; i = (i + 1) & mask {
		e := slots[i].Load()
		if e == nil {
			if free < 0 {
				free = int(i)
			}
			break
		}
		if e == tombstone {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if e.key == k {
			if replace && e.owner != owner {
				slots[i].Store(&flowEntry{key: k, owner: owner})
				sh.mu.Unlock()
				return owner, true
			}
			sh.mu.Unlock()
			return e.owner, false
		}
	}
	if slots[free].Load() == tombstone {
		sh.tombs--
	}
	slots[free].Store(&flowEntry{key: k, owner: owner})
	sh.used++
	sh.mu.Unlock()
	return owner, true
}

// remove drops k's mapping if it names owner (a newer mapping by another
// worker stays).
func (t *flowTable) remove(k flowKey, owner int) {
	h := t.hash(&k)
	sh := &t.shards[h&(flowShards-1)]
	sh.mu.Lock()
	slots := *sh.slots.Load()
	mask := uint64(len(slots) - 1)
	for i := (h / flowShards) & mask; ; i = (i + 1) & mask {
		e := slots[i].Load()
		if e == nil {
			break
		}
		if e != tombstone && e.key == k {
			if e.owner == owner {
				slots[i].Store(tombstone)
				sh.used--
				sh.tombs++
			}
			break
		}
	}
	sh.mu.Unlock()
}

// grow publishes a new slot array without tombstones, twice as large when
// more than half full, and returns it. Caller holds sh.mu. Readers still
// probing the old array see the mappings as they were.
func (sh *flowShard) grow(t *flowTable) []atomic.Pointer[flowEntry] {
	old := *sh.slots.Load()
	n := len(old)
	if sh.used*2 >= n {
		n *= 2
	}
	slots := make([]atomic.Pointer[flowEntry], n)
	mask := uint64(n - 1)
	for j := range old {
		e := old[j].Load()
		if e == nil || e == tombstone {
			continue
		}
		i := (t.hash(&e.key) / flowShards) & mask
		for slots[i].Load() != nil {
			i = (i + 1) & mask
		}
		slots[i].Store(e)
	}
	sh.tombs = 0
	sh.slots.Store(&slots)
	return slots
}

// len returns the number of mappings.
func (t *flowTable) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.used
		sh.mu.Unlock()
	}
	return n
}
