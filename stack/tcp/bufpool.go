package tcp

// Ring buffers of closed connections are kept for the next ones: a server
// taking a new connection per request would otherwise allocate and zero
// its send and receive buffers (hundreds of KiB) for each, and the garbage
// collector would run for them. A buffer goes back when no read can reach
// it any more: the send buffer when the connection leaves the engine or
// enters TIME-WAIT, the receive buffer when it is also empty.

// maxPooledBufs bounds the buffers an engine keeps idle per direction.
const maxPooledBufs = 32

// bufPool is an engine's idle ring buffers, by size.
type bufPool struct {
	free [][]byte
}

// ring returns a ring of size bytes, from the pool when one fits. Its
// bytes are not cleared: a ring never shows bytes it was not given.
func (p *bufPool) ring(size int) byteRing {
	if n := len(p.free); n > 0 && len(p.free[n-1]) == size {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return byteRing{buf: b}
	}
	return newByteRing(size)
}

// put keeps r's buffer (if the pool has room) and empties r.
func (p *bufPool) put(r *byteRing) {
	if r.buf != nil && len(p.free) < maxPooledBufs {
		p.free = append(p.free, r.buf)
	}
	*r = byteRing{}
}

// releaseBuffers returns c's buffers to the budget and, where nothing can
// read them any more, to the pool: the send buffer always (the connection
// sends nothing after this), the receive buffer when empty (else the
// application may still read it).
func (c *Conn) releaseBuffers(snd, rcv bool) {
	e := c.e
	if snd && c.snd.buf != nil {
		e.budget.release(len(c.snd.buf))
		c.reserved -= len(c.snd.buf)
		e.sndPool.put(&c.snd)
	}
	if rcv && c.rcv.buf != nil && c.rcv.len == 0 && c.ooo.n == 0 {
		e.budget.release(len(c.rcv.buf))
		c.reserved -= len(c.rcv.buf)
		e.rcvPool.put(&c.rcv)
	}
}
