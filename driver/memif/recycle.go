package memif

import (
	"sync"

	"github.com/vecnet/vecnet/pkt"
)

// Recycling (zero-copy only): the slots a transmit ring gives back, once
// the peer has consumed them, are the next slots a receive ring needs. On
// one worker every zero-copy port is called with the worker's cache, so
// the ports of that cache share a recycler: reclaimZC puts the transmitted
// slots there instead of freeing them to the cache, and refillZC posts
// them on a receive ring before it allocates from the cache. The slots stay
// in use all along (the cache's double-free check and its free list are
// skipped both ways: about 40 instructions a packet, BENCHMARKS.md 5d).
// A recycler holds at most recycleCap slots (the rest go to the cache);
// when the last port that uses it closes (Port.Close, or its endpoint's
// Close), what it holds goes back to the pool.

// recycleCap bounds a recycler: four vectors, more than one pass moves.
const recycleCap = 4 * pkt.VectorSize

// recycler is the slots one cache's zero-copy ports pass from transmit
// rings to receive rings. Its slots belong to the cache's worker, like the
// cache; users, the ports that hold it, is guarded by recyclers' mutex.
type recycler struct {
	slots []pkt.Index // len: held; cap: recycleCap, allocated once
	pool  *pkt.Pool
	users int
}

// recyclers maps a cache to its recycler. It is read when a port first
// meets a cache (Port.recycler), never per vector.
var recyclers struct {
	sync.Mutex
	m map[*pkt.Cache]*recycler
}

// useRecycler returns c's recycler (pool is c's pool), making it on first
// use, and counts the caller as one of its users.
func useRecycler(c *pkt.Cache, pool *pkt.Pool) *recycler {
	recyclers.Lock()
	defer recyclers.Unlock()
	if recyclers.m == nil {
		recyclers.m = make(map[*pkt.Cache]*recycler)
	}
	r := recyclers.m[c]
	if r == nil {
		r = &recycler{slots: make([]pkt.Index, 0, recycleCap), pool: pool}
		recyclers.m[c] = r
	}
	r.users++
	return r
}

// dropRecycler ends p's use of its recycler. The last user returns what
// the recycler holds straight to the pool (Pool.Release): no port calls it
// any more, so this is safe on any goroutine once p is out of the data
// path (a reload closes ports off their worker; Endpoint.Close drops its
// ports' after detaching the queues).
func (p *Port) dropRecycler() {
	recyclers.Lock()
	r, c := p.rec, p.rc
	p.rc, p.rec = nil, nil
	var held []pkt.Index
	if r != nil {
		if r.users--; r.users == 0 {
			if recyclers.m[c] == r {
				delete(recyclers.m, c)
			}
			held = r.slots
			r.slots = r.slots[:0]
		}
	}
	recyclers.Unlock()
	if len(held) > 0 {
		r.pool.Release(held)
	}
}

// take moves up to len(dst) slots from r into dst and returns how many.
func (r *recycler) take(dst []pkt.Index) int {
	n := min(len(dst), len(r.slots))
	k := len(r.slots) - n
	copy(dst, r.slots[k:])
	r.slots = r.slots[:k]
	return n
}
