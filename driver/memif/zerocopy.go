package memif

import "github.com/vecnet/vecnet/pkt"

// Zero-copy (client role with Config.Pool over a shared arena): the
// connection has two regions, region 0 holding the rings and region 1 being
// the whole packet arena (pkt.NewSharedArena). A descriptor points at an
// arena slot: offset = slot<<pkt.SlotShift + the packet's offset in it.
//
// Receive (m2s): like the AF_XDP fill ring, the client posts fresh slots at
// head (rxSlots records which slot each ring position holds); a frame the
// server filled is that slot, handed to the graph as it is, and the
// position gets a fresh slot at the next refill. Transmit (s2m): the
// packet's own slot goes on the ring (txSlots) and is freed when the server
// has moved tail past it. When the connection ends, every slot the rings
// hold goes back to the pool (session.close).
//
// The positions' slots are this side's own record: the descriptors in
// shared memory are only written, never trusted for where a buffer is, so
// a peer that scribbles on them can at worst fill vecnet's buffers with
// garbage — which it may anyway, as it maps them all.

// noSlot marks a ring position that holds no arena slot.
const noSlot = ^pkt.Index(0)

// zcRegion is the region index of the arena in a zero-copy connection.
const zcRegion = 1

// zcState is the zero-copy part of a client's qstate.
type zcState struct {
	pool    *pkt.Pool
	arena   *pkt.Arena
	rxSlots []pkt.Index // per rx ring position: the slot posted there, or noSlot
	txSlots []pkt.Index // per tx ring position: the slot queued there, or noSlot
	txDone  uint16      // oldest tx position whose slot is not yet reclaimed
	rxHeld  int         // rx positions holding a slot (posted, or kept after a bad frame)
	// scratch holds the fresh slots of one refill, or the reclaimed slots
	// of one reclaim: the cache is called once per vector, not per slot.
	scratch []pkt.Index
}

func newZCState(pool *pkt.Pool, size int) *zcState {
	z := &zcState{pool: pool, arena: pool.Arena(), rxSlots: make([]pkt.Index, size), txSlots: make([]pkt.Index, size),
		scratch: make([]pkt.Index, size)}
	for j := range z.rxSlots {
		z.rxSlots[j], z.txSlots[j] = noSlot, noSlot
	}
	return z
}

// stock posts slots from the pool at every position of the fresh receive
// ring (as many as the pool gives), so that the server can send at once.
func (z *zcState) stock(rx *ring) {
	n := z.pool.Acquire(z.rxSlots)
	for j := range n {
		rx.desc(uint16(j)).post(zcRegion, pkt.DataCap, uint32(z.rxSlots[j])<<pkt.SlotShift+pkt.Headroom)
	}
	for j := n; j < len(z.rxSlots); j++ {
		z.rxSlots[j] = noSlot
	}
	z.rxHeld = n
	rx.setHead(uint16(n))
}

// release returns every slot the rings hold to the pool. The queue's owner
// must be out of the data path (Queue.detach).
func (z *zcState) release() {
	var held []pkt.Index
	for _, slots := range [][]pkt.Index{z.rxSlots, z.txSlots} {
		for j, i := range slots {
			if i != noSlot {
				held = append(held, i)
				slots[j] = noSlot
			}
		}
	}
	if len(held) > 0 {
		z.pool.Release(held)
	}
}

// recvZC hands up to len(dst) received frames to dst as the arena slots
// they were written into, then refills the ring from c. A frame chained
// over several descriptors is gathered into its first slot (it must fit
// pkt.DataCap); the other slots stay on the ring.
func (q *Queue) recvZC(s *qstate, c *pkt.Cache, r *recycler, dst []pkt.Index) int {
	z := s.zc
	avail := q.rxPending(s)
	got := 0
	cur := s.rxPos
	end := cur + avail
	mask := s.rx.mask
	slots := z.rxSlots[:mask+1]
	a := z.arena
	var bytes uint64
	for cur != end && got < len(dst) {
		first := cur & mask
		d := s.rx.desc(cur)
		i := slots[first]
		cur++
		w := d.head() // flags, region and length in one load: the peer may rewrite them
		n := uint32(w >> 32)
		if uint16(w)&descFlagNext != 0 || i == noSlot || n > pkt.DataCap {
			var ok bool
			if cur, n, ok = q.gatherZC(s, i, cur, end, uint16(w), n); !ok {
				q.stats.RxErrors++ // the slots stay on the ring
				continue
			}
		}
		slots[first] = noSlot // the graph's now; chain tails stay on the ring
		z.rxHeld--
		*a.Meta(i) = pkt.Meta{Off: pkt.Headroom, Len: uint16(n)}
		dst[got] = i
		bytes += uint64(n)
		got++
	}
	q.stats.RxBytes += bytes
	q.stats.RxPackets += uint64(got)
	s.rxPos = cur
	q.refillZC(s, c, r)
	if got > 0 && s.intr {
		s.rx.setFlags(ringFlagMaskInt)
		s.intr = false
	}
	return got
}

// gatherZC is recvZC's slow path, for a frame that is not one well-formed
// descriptor: it follows a chain from cur (the descriptor after the
// frame's first, of flags and length n, into slot i), copies the tails
// into slot i, and returns the position after the frame, its length and
// whether it is good.
func (q *Queue) gatherZC(s *qstate, i pkt.Index, cur, end uint16, flags uint16, n uint32) (uint16, uint32, bool) {
	z := s.zc
	a := z.arena
	bad := i == noSlot || n > pkt.DataCap
	for flags&descFlagNext != 0 {
		if cur == end { // a chain the peer did not finish
			return cur, 0, false
		}
		d := s.rx.desc(cur)
		k := z.rxSlots[cur&s.rx.mask]
		cur++
		w := d.head()
		flags = uint16(w)
		l := uint32(w >> 32)
		if bad || k == noSlot || uint64(n)+uint64(l) > pkt.DataCap {
			bad = true
			continue
		}
		copy(a.Slot(i)[pkt.Headroom+int(n):], a.Slot(k)[pkt.Headroom:pkt.Headroom+int(l)])
		n += l
	}
	return cur, n, !bad
}

// refillZC posts a slot at every ring position the server does not hold:
// the position's own slot if it kept one, else a fresh one, taken from r
// (slots transmitted and given back) and then from c, each in one call.
// It stops early when both run dry; the next call goes on.
func (q *Queue) refillZC(s *qstate, c *pkt.Cache, r *recycler) {
	z := s.zc
	head := s.rx.head()
	n := s.rx.size - (head - s.rxPos)
	if n == 0 || n > s.rx.size {
		return
	}
	mask := s.rx.mask
	slots := z.rxSlots[:mask+1]
	// The positions not posted, [head, rxPos+size), are n; those of them
	// that still hold a slot are the held ones minus the posted ones.
	missing := int(n) - (z.rxHeld - int(head-s.rxPos))
	if missing < 0 || missing > int(n) {
		missing = int(n) // cannot happen; a refill then frees the extra
	}
	got := r.take(z.scratch[:missing])
	if got < missing {
		got += c.AllocRaw(z.scratch[got:missing])
	}
	fresh := z.scratch[:got]
	used := 0
	start := head
	for ; n > 0; n-- {
		j := head & mask
		i := slots[j]
		if i == noSlot {
			if used == len(fresh) {
				break
			}
			i = fresh[used]
			used++
			slots[j] = i
			z.rxHeld++
		}
		s.rx.desc(head).post(zcRegion, pkt.DataCap, uint32(i)<<pkt.SlotShift+pkt.Headroom)
		head++
	}
	if used < len(fresh) {
		c.FreeN(fresh[used:])
	}
	if head != start {
		s.rx.setHead(head)
	}
}

// reclaimZC passes to r the slots of every transmitted frame the server
// has consumed (moved tail past), for a receive ring's next refill; what r
// has no room for is freed to c, in one call. A tail outside what was
// queued is ignored.
func (q *Queue) reclaimZC(s *qstate, c *pkt.Cache, r *recycler) {
	z := s.zc
	tail := s.tx.tail()
	if tail-z.txDone > s.txPos-z.txDone {
		return // the peer's counter is off
	}
	mask := s.tx.mask
	slots := z.txSlots[:mask+1]
	keep := r.slots
	room := cap(keep) - len(keep)
	done := z.scratch[:0]
	for ; z.txDone != tail; z.txDone++ {
		j := z.txDone & mask
		if i := slots[j]; i != noSlot {
			slots[j] = noSlot
			if room > 0 {
				keep = append(keep, i)
				room--
				continue
			}
			done = append(done, i)
		}
	}
	r.slots = keep
	if len(done) > 0 {
		c.FreeN(done)
	}
}

// sendZC queues the packets of idx on the transmit ring as their own slots
// and returns how many it queued; the rest found the ring full and are
// still the caller's.
func (q *Queue) sendZC(s *qstate, c *pkt.Cache, r *recycler, idx []pkt.Index) int {
	z := s.zc
	q.reclaimZC(s, c, r)
	a := z.arena
	slot := s.txPos
	mask := s.tx.mask
	slots := z.txSlots[:mask+1]
	free := int(s.tx.size - (slot - z.txDone))
	idx = idx[:min(len(idx), free)]
	var bytes uint64
	sent := 0
	for _, i := range idx {
		j := slot & mask
		if slots[j] != noSlot {
			break // cannot happen while txDone is right; never lose a slot
		}
		m := a.Meta(i)
		s.tx.desc(slot).post(zcRegion, uint32(m.Len), uint32(i)<<pkt.SlotShift+uint32(m.Off))
		slots[j] = i
		bytes += uint64(m.Len)
		slot++
		sent++
	}
	if sent == 0 {
		return 0
	}
	q.stats.TxBytes += bytes
	q.stats.TxPackets += uint64(sent)
	s.txPos = slot
	s.tx.setHead(slot)
	if s.tx.flags()&ringFlagMaskInt == 0 {
		q.signal(s.txFD)
	}
	return sent
}
