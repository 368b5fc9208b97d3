package mem

// The test side of a NewPort port. These methods allocate and lock; they are
// test plumbing, off the data path, and safe to call from any goroutine.

// Inject queues copies of frames for Recv and returns how many it queued. It
// stops at the first frame longer than pkt.DataCap or when the link is full.
// It panics on a port made by NewPair, whose receive link belongs to the
// peer.
func (p *Port) Inject(frames ...[]byte) int {
	if !p.test {
		panic("mem: Inject on a paired port " + p.name)
	}
	p.mu.Lock()
	pr := produce(p.rx)
	n := 0
	for _, f := range frames {
		if len(f) > slotSize || !pr.put(f) {
			break
		}
		n++
	}
	pr.commit()
	p.mu.Unlock()
	return n
}

// Sent returns copies of every frame Send transmitted since the last
// TakeSent, oldest first, leaving them recorded.
func (p *Port) Sent() [][]byte {
	p.mu.Lock()
	p.drainLocked()
	out := make([][]byte, len(p.sent))
	for k, f := range p.sent {
		out[k] = append([]byte(nil), f...)
	}
	p.mu.Unlock()
	return out
}

// TakeSent returns every frame Send transmitted since the last TakeSent,
// oldest first, and forgets them. The slices are the caller's.
func (p *Port) TakeSent() [][]byte {
	p.mu.Lock()
	p.drainLocked()
	out := p.sent
	p.sent = nil
	p.mu.Unlock()
	return out
}

// drainLocked moves every frame waiting on the transmit link into p.sent.
func (p *Port) drainLocked() {
	if !p.test {
		panic("mem: Sent on a paired port " + p.name)
	}
	head, n := p.tx.pending()
	for k := range n {
		p.sent = append(p.sent, append([]byte(nil), p.tx.frame(head+k)...))
	}
	p.tx.release(head + n)
}
