package neighbor

import "sync/atomic"

// The neighbour tables program the FIB (fib.Table's and fib.Table6's
// SetNeighbor and DelNeighbor), which takes the FIB's writer mutex. A batch
// of route changes holds that mutex for as long as it takes (100 000
// routes: 0.1-0.3 s), and a worker that waited for it — to learn a sender
// in arp-input or ndp-input, or to expire an entry in the ageing sweep —
// would forward nothing meanwhile while its receive ring overflowed. So a
// worker never waits: when a writer holds the FIB, the change is queued, in
// order, and made by the first later call that finds the FIB free (the next
// ARP or ND vector or ageing sweep, 10 ms apart). The control plane
// (AddStatic, Delete) waits: it makes the queued changes first, then its
// own. One queue serves both tables: A is the address, [4]byte or [16]byte.

// neighborFIB is the part of a FIB the queue programs: fib.Table for IPv4,
// fib.Table6 for IPv6. The Try methods do nothing and report false when a
// writer holds the FIB.
type neighborFIB[A any] interface {
	SetNeighbor(port uint16, ip A, mac [6]byte)
	TrySetNeighbor(port uint16, ip A, mac [6]byte) bool
	DelNeighbor(port uint16, ip A)
	TryDelNeighbor(port uint16, ip A) bool
}

// fibOp is one queued FIB change: ip on port now has mac, or (del) none.
type fibOp[A any] struct {
	port uint16
	ip   A
	mac  [6]byte
	del  bool
}

// maxPendingFIB bounds the queue; a worker that would pass it waits for
// the writer instead.
const maxPendingFIB = 4096

// fibQueue makes a neighbour table's FIB changes, in order, without ever
// making a worker wait for the FIB's writer (see above). Its owner calls it
// under the owner's mutex.
type fibQueue[A any] struct {
	fib     neighborFIB[A]
	gen     *atomic.Uint64 // the owner's Gen, bumped when queued changes land
	pending []fibOp[A]
}

// set makes op in the FIB, or queues it when wait is false and a writer
// holds the FIB or earlier changes still wait.
func (q *fibQueue[A]) set(op fibOp[A], wait bool) {
	if !wait && len(q.pending) < maxPendingFIB {
		if len(q.pending) == 0 && q.try(op) {
			return
		}
		q.pending = append(q.pending, op)
		return
	}
	q.flush(true)
	q.do(op)
}

// do makes op, waiting for the writer.
func (q *fibQueue[A]) do(op fibOp[A]) {
	if op.del {
		q.fib.DelNeighbor(op.port, op.ip)
	} else {
		q.fib.SetNeighbor(op.port, op.ip, op.mac)
	}
}

// try makes op unless a writer holds the FIB.
func (q *fibQueue[A]) try(op fibOp[A]) bool {
	if op.del {
		return q.fib.TryDelNeighbor(op.port, op.ip)
	}
	return q.fib.TrySetNeighbor(op.port, op.ip, op.mac)
}

// flush makes the queued changes in order, waiting for the writer when
// wait is set, else stopping at the first it refuses; when it made any, it
// bumps gen so that glean queues look again.
func (q *fibQueue[A]) flush(wait bool) {
	n := 0
	for n < len(q.pending) {
		if wait {
			q.do(q.pending[n])
		} else if !q.try(q.pending[n]) {
			break
		}
		n++
	}
	if n == 0 {
		return
	}
	q.pending = q.pending[:copy(q.pending, q.pending[n:])]
	q.gen.Add(1)
}

// PendingFIB returns the number of FIB changes waiting for the FIB's writer.
func (t *Table) PendingFIB() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.fibq.pending)
}

// SyncFIB makes the FIB changes still queued, waiting for the FIB's writer
// (for the control plane: after it, the FIB holds what the table holds).
func (t *Table) SyncFIB() {
	t.mu.Lock()
	t.fibq.flush(true)
	t.mu.Unlock()
}

// PendingFIB is Table.PendingFIB for IPv6.
func (t *NDTable) PendingFIB() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.fibq.pending)
}

// SyncFIB is Table.SyncFIB for IPv6.
func (t *NDTable) SyncFIB() {
	t.mu.Lock()
	t.fibq.flush(true)
	t.mu.Unlock()
}
