package tcp

// Zero-copy receive for run-to-completion applications (package stack's
// in-graph TCP API): the application looks at the received bytes in place
// (ReceiveView) and then says how many it used (Consume), where Read would
// copy them out.

// ReceiveView returns the received in-order bytes not yet consumed, as one
// slice into the receive buffer. When they wrap around the end of the
// buffer, the buffer is first rotated so they start at its beginning
// (bytes held out of order keep their offsets), which costs one pass over
// the buffer; Consume avoids most rotations by rewinding an emptied
// buffer. The slice is valid until the next call into the engine; an
// application keeps nothing of it. It is empty after Close.
func (c *Conn) ReceiveView() []byte {
	r := &c.rcv
	if c.readClosed || r.len == 0 {
		return nil
	}
	if r.head+r.len > len(r.buf) {
		r.rotate()
	}
	return r.buf[r.head : r.head+r.len]
}

// Consume discards the first n bytes of the received data (n is clamped to
// what is there), as a Read of n bytes would, and announces the opened
// window when Read would.
func (c *Conn) Consume(n int) {
	if c.readClosed || n <= 0 || c.rcv.len == 0 {
		return
	}
	e := c.e
	e.enter()
	c.rcv.discard(n)
	if c.rcv.len == 0 && c.ooo.n == 0 {
		c.rcv.head = 0 // nothing stored: the next data starts at the beginning, unwrapped
	}
	cur, nw := c.rcvAdv.Sub(c.rcvNxt), c.rcvWindow()
	if c.state != StateClosed && nw-cur >= min(c.e.mssFor(c.v6), len(c.rcv.buf)/2) && cur < nw/2 {
		c.ackNow = true
		e.markDirty(c)
		e.leave()
	}
}

// ReceiveClosed reports whether the peer ended its stream (its FIN
// arrived in order): no bytes follow those ReceiveView shows.
func (c *Conn) ReceiveClosed() bool { return c.rcvFin }

// rotate moves the buffer's contents so that head is at index 0, keeping
// every byte at the same offset from head.
func (r *byteRing) rotate() {
	reverse(r.buf[:r.head])
	reverse(r.buf[r.head:])
	reverse(r.buf)
	r.head = 0
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// SetHoldACKs makes the connection hold back the pure ACKs it owes at the
// end of an entry point until Engine.FlushACKs, so that an application
// answering on the worker right after Input (package stack's in-graph
// handlers) sends its reply with the ACK in it instead of after one.
// Delayed ACKs and ACKs carried by data are unchanged.
func (c *Conn) SetHoldACKs(on bool) { c.holdACKs = on }

// holdACK reports whether output must hold back the pure ACK c owes, and
// enters c in the engine's held list.
func (c *Conn) holdACK() bool {
	if !c.holdACKs || c.e.flushing {
		return false
	}
	if !c.ackHeld {
		c.ackHeld = true
		c.e.held = append(c.e.held, c)
	}
	return true
}

// DeferCalls makes the Conn calls that follow (Write, Consume, Read,
// Close ...), until FlushACKs, take the time of the entry point that just
// ended and leave their sending to FlushACKs: an application answering on
// the worker right after Input (package stack's in-graph handlers) costs
// one clock read and one output batch per vector, not one per call.
func (e *Engine) DeferCalls() { e.deferring = true }

// FlushACKs sends the ACKs held back (SetHoldACKs) that no reply carried,
// and ends DeferCalls, sending what the deferred calls queued.
func (e *Engine) FlushACKs() {
	deferred := e.deferring
	e.deferring = false
	if len(e.held) == 0 && len(e.dirty) == 0 {
		return
	}
	if !deferred {
		e.now = e.clock.Now()
	}
	e.flushing = true
	for i, c := range e.held {
		e.held[i] = nil
		c.ackHeld = false
		if c.state != StateClosed && (c.ackNow || c.unackedSegs >= 2) {
			e.markDirty(c)
		}
	}
	e.held = e.held[:0]
	e.finish()
	e.flushing = false
}
