package pkt

import (
	"fmt"
	"sync"
)

// CacheBatch is how many buffers a Cache moves to or from the shared pool at a time.
const CacheBatch = 256

// Slot ownership states, kept per slot for leak accounting and double-free detection.
const (
	stateFree  uint8 = iota // in the shared pool or a cache
	stateInUse              // owned by a node, a driver ring or the kernel
)

// Pool hands out the slots of one Arena. The shared free list is locked; the
// per-worker Cache in front of it is not. Pool methods are safe for
// concurrent use; a Cache belongs to one goroutine.
type Pool struct {
	arena *Arena

	mu     sync.Mutex
	free   []Index  // shared free list
	caches []*Cache // every cache ever made, for Flush and accounting
	state  []uint8  // per slot: stateFree or stateInUse; written by the slot's owner only
}

// NewPool makes a pool over every slot of a.
func NewPool(a *Arena) *Pool {
	p := &Pool{arena: a, free: make([]Index, a.n), state: make([]uint8, a.n)}
	for i := range p.free {
		p.free[i] = Index(a.n - 1 - i) // low indices first out
	}
	trackPool(p)
	return p
}

// Arena returns the arena the pool manages.
func (p *Pool) Arena() *Arena { return p.arena }

// NewCache returns a lock-free cache for one goroutine (one worker).
func (p *Pool) NewCache() *Cache { return p.NewReserveCache(0) }

// NewReserveCache returns a cache that takes buffers from the shared pool
// only while more than reserve stay there: the last reserve buffers are
// kept for the caches of plain NewCache (the drivers' receive refills, ARP,
// the workers). It is for allocations on behalf of applications, which must
// never starve the data plane. Freeing through it is unrestricted.
func (p *Pool) NewReserveCache(reserve int) *Cache {
	c := &Cache{pool: p, arena: p.arena, state: p.state, buf: make([]Index, 0, 2*CacheBatch), reserve: max(reserve, 0)}
	p.mu.Lock()
	p.caches = append(p.caches, c)
	p.mu.Unlock()
	return c
}

// InUse reports how many buffers are neither in the shared pool nor in a
// cache: allocated = free + in flight, so this is the in-flight count. Call it
// only while no cache is in use (for example after workers stopped).
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.arena.n - len(p.free)
	for _, c := range p.caches {
		n -= len(c.buf)
	}
	return n
}

// Free reports the number of buffers in the shared pool (caches excluded).
func (p *Pool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// Check verifies the accounting: every slot marked free is in exactly one free
// list and every other is in use. Call it only while no cache is in use.
func (p *Pool) Check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make([]bool, p.arena.n)
	mark := func(i Index, where string) error {
		if seen[i] {
			return fmt.Errorf("pkt: buffer %d is free twice (%s)", i, where)
		}
		seen[i] = true
		if p.state[i] != stateFree {
			return fmt.Errorf("pkt: buffer %d is on a free list (%s) but marked in use", i, where)
		}
		return nil
	}
	for _, i := range p.free {
		if err := mark(i, "pool"); err != nil {
			return err
		}
	}
	for _, c := range p.caches {
		for _, i := range c.buf {
			if err := mark(i, "cache"); err != nil {
				return err
			}
		}
	}
	return nil
}

// take moves up to n buffers from the shared list into dst, leaving at
// least reserve there.
func (p *Pool) take(dst []Index, n, reserve int) []Index {
	p.mu.Lock()
	if n > len(p.free)-reserve {
		n = max(len(p.free)-reserve, 0)
	}
	k := len(p.free) - n
	dst = append(dst, p.free[k:]...)
	p.free = p.free[:k]
	p.mu.Unlock()
	return dst
}

// give returns buffers to the shared list.
func (p *Pool) give(src []Index) {
	p.mu.Lock()
	p.free = append(p.free, src...)
	p.mu.Unlock()
}

// Acquire fills dst with buffers straight from the shared pool, for an
// owner that has no Cache (a driver's control goroutine stocking a ring
// before its worker runs), and returns how many it got. Meta is not reset.
func (p *Pool) Acquire(dst []Index) int {
	got := p.take(dst[:0], len(dst), 0)
	for _, i := range got {
		p.state[i] = stateInUse
	}
	return len(got)
}

// Release returns buffers straight to the shared pool, for an owner that
// has no Cache: a driver's control goroutine taking back the buffers a
// ring held when its connection ended. Releasing a free buffer panics, as
// Cache.Free does.
func (p *Pool) Release(idx []Index) {
	for _, i := range idx {
		if p.state[i] != stateInUse {
			panic("pkt: double free of a buffer")
		}
		p.state[i] = stateFree
	}
	p.give(idx)
}

// Cache is a per-worker front to a Pool. It is not safe for concurrent use.
type Cache struct {
	pool  *Pool
	arena *Arena
	state []uint8
	buf   []Index
	// reserve is how many buffers this cache leaves in the shared pool
	// (NewReserveCache); 0 for a worker's cache.
	reserve int
}

// Arena returns the arena the cache's buffers live in.
func (c *Cache) Arena() *Arena { return c.arena }

// Alloc returns a buffer with its Meta reset to {Off: Headroom}, or false
// when the pool is exhausted.
func (c *Cache) Alloc() (Index, bool) {
	if len(c.buf) == 0 {
		c.buf = c.pool.take(c.buf, CacheBatch, c.reserve)
		if len(c.buf) == 0 {
			return 0, false
		}
	}
	i := c.buf[len(c.buf)-1]
	c.buf = c.buf[:len(c.buf)-1]
	c.state[i] = stateInUse
	c.arena.meta[i] = Meta{Off: Headroom}
	return i, true
}

// AllocN fills dst with fresh buffers and returns how many it got (fewer than
// len(dst) only when the pool runs dry).
func (c *Cache) AllocN(dst []Index) int {
	for k := range dst {
		i, ok := c.Alloc()
		if !ok {
			return k
		}
		dst[k] = i
	}
	return len(dst)
}

// AllocRaw is AllocN without resetting Meta, for drivers that hand buffers to
// a ring and set Meta when the buffer comes back.
func (c *Cache) AllocRaw(dst []Index) int {
	n := 0
	for n < len(dst) {
		if len(c.buf) == 0 {
			c.buf = c.pool.take(c.buf, CacheBatch, c.reserve)
			if len(c.buf) == 0 {
				break
			}
		}
		k := min(len(dst)-n, len(c.buf))
		src := c.buf[len(c.buf)-k:]
		for j, i := range src {
			c.state[i] = stateInUse
			dst[n+j] = i
		}
		c.buf = c.buf[:len(c.buf)-k]
		n += k
	}
	return n
}

// Free returns buffer i. Freeing a buffer that is already free panics: it is
// a bug in the caller that would otherwise corrupt two packets later.
func (c *Cache) Free(i Index) {
	if c.state[i] != stateInUse {
		panic("pkt: double free of a buffer")
	}
	c.state[i] = stateFree
	c.buf = append(c.buf, i)
	if len(c.buf) >= 2*CacheBatch {
		k := len(c.buf) - CacheBatch
		c.pool.give(c.buf[k:])
		c.buf = c.buf[:k]
	}
}

// FreeN returns every buffer in idx.
func (c *Cache) FreeN(idx []Index) {
	for _, i := range idx {
		c.Free(i)
	}
}

// Flush returns every cached buffer to the shared pool.
func (c *Cache) Flush() {
	c.pool.give(c.buf)
	c.buf = c.buf[:0]
}

// Len reports how many buffers the cache holds.
func (c *Cache) Len() int { return len(c.buf) }
