package neighbor

// The neighbour table programs the FIB (fib.Table.SetNeighbor and
// DelNeighbor), which takes the FIB's writer mutex. A batch of route changes
// holds that mutex for as long as it takes (100 000 routes: 0.1-0.3 s), and
// a worker that waited for it — to learn a sender in arp-input, or to expire
// an entry in the ageing sweep — would forward nothing meanwhile while its
// receive ring overflowed. So a worker never waits: when a writer holds the
// FIB, the change is queued, in order, and made by the first later call
// that finds the FIB free (the next ARP vector or ageing sweep, 10 ms
// apart). The control plane (AddStatic, Delete) waits: it makes the queued
// changes first, then its own.

// fibOp is one queued FIB change: ip on port now has mac, or (del) none.
type fibOp struct {
	port uint16
	ip   [4]byte
	mac  [6]byte
	del  bool
}

// maxPendingFIB bounds the queue; a worker that would pass it waits for
// the writer instead.
const maxPendingFIB = 4096

// setFIB makes op in the FIB, or queues it (see above) when wait is false
// and a writer holds the FIB or earlier changes still wait. Under t.mu.
func (t *Table) setFIB(op fibOp, wait bool) {
	if !wait && len(t.pending) < maxPendingFIB {
		if len(t.pending) == 0 && t.tryFIB(op) {
			return
		}
		t.pending = append(t.pending, op)
		return
	}
	t.flushFIB(true)
	t.doFIB(op)
}

// doFIB makes op, waiting for the writer.
func (t *Table) doFIB(op fibOp) {
	if op.del {
		t.fib.DelNeighbor(op.port, op.ip)
	} else {
		t.fib.SetNeighbor(op.port, op.ip, op.mac)
	}
}

// tryFIB makes op unless a writer holds the FIB.
func (t *Table) tryFIB(op fibOp) bool {
	if op.del {
		return t.fib.TryDelNeighbor(op.port, op.ip)
	}
	return t.fib.TrySetNeighbor(op.port, op.ip, op.mac)
}

// flushFIB makes the queued changes in order, waiting for the writer when
// wait is set, else stopping at the first it refuses; when it made any, it
// bumps Gen so that glean queues look again. Under t.mu.
func (t *Table) flushFIB(wait bool) {
	n := 0
	for n < len(t.pending) {
		if wait {
			t.doFIB(t.pending[n])
		} else if !t.tryFIB(t.pending[n]) {
			break
		}
		n++
	}
	if n == 0 {
		return
	}
	t.pending = t.pending[:copy(t.pending, t.pending[n:])]
	t.gen.Add(1)
}

// PendingFIB returns the number of FIB changes waiting for the FIB's writer.
func (t *Table) PendingFIB() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// SyncFIB makes the FIB changes still queued, waiting for the FIB's writer
// (for the control plane: after it, the FIB holds what the table holds).
func (t *Table) SyncFIB() {
	t.mu.Lock()
	t.flushFIB(true)
	t.mu.Unlock()
}
