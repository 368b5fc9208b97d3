package driver

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/pkt"
)

// Sharing an interface's transmit queues among more workers.
//
// An interface with fewer queues than workers (a NIC with one queue, a
// veth, "queues: 1" in the config) leaves the extra workers without a port
// of their own on it, yet their routes may point there. VPP shares the
// queue under a lock; here a worker without a queue hands the packets to
// the queue's owner instead, through a single-producer single-consumer ring
// per (sender, owner): no lock, no per-packet atomic, one ring update per
// vector. The owner drains its rings into the real port each time it polls
// it, and sleeps on an eventfd that a sender writes only when the owner
// announced a sleep.

// handoffSize is the capacity of one handoff ring (a power of two): 16
// vectors, room for a burst while the owner finishes a dispatch pass.
const handoffSize = 16 * pkt.VectorSize

// handoffRing is a single-producer single-consumer ring of buffer indices.
type handoffRing struct {
	head  atomic.Uint32 // next slot to read; written by the consumer
	_     [60]byte      // head and tail on their own cache lines
	tail  atomic.Uint32 // next slot to write; written by the producer
	_     [60]byte
	slots [handoffSize]pkt.Index
}

// push appends as many of idx as fit and returns how many.
func (r *handoffRing) push(idx []pkt.Index) int {
	t := r.tail.Load()
	n := min(len(idx), handoffSize-int(t-r.head.Load()))
	for k, i := range idx[:n] {
		r.slots[(t+uint32(k))&(handoffSize-1)] = i
	}
	r.tail.Store(t + uint32(n))
	return n
}

// pop moves up to len(dst) indices into dst and returns how many.
func (r *handoffRing) pop(dst []pkt.Index) int {
	h := r.head.Load()
	n := min(len(dst), int(r.tail.Load()-h))
	for k := range dst[:n] {
		dst[k] = r.slots[(h+uint32(k))&(handoffSize-1)]
	}
	r.head.Store(h + uint32(n))
	return n
}

func (r *handoffRing) empty() bool { return r.head.Load() == r.tail.Load() }

// txShare is what an owner and its senders share.
type txShare struct {
	rings  []*handoffRing // one per sender
	efd    int            // the owner's wake-up
	sleepy atomic.Bool    // the owner announced a sleep
}

// wake ends the owner's sleep if it announced one.
func (s *txShare) wake() {
	if s.sleepy.Load() && s.sleepy.CompareAndSwap(true, false) {
		one := [8]byte{1}
		_, _ = unix.Write(s.efd, one[:])
	}
}

// ShareTX gives every one of workers a port on an interface that has only
// len(ports) queues (port q is worker q's): worker w ≥ len(ports) gets a
// TxHandoff that passes what it sends to worker w mod len(ports), whose
// port is wrapped in a TxOwner that sends it. waiters[w] is non-nil for an
// owner: the worker must sleep on it too (worker.AddWaiter) so that handed
// packets wake it. With as many queues as workers, ports come back as they
// are.
func ShareTX(ports []Port, workers int) (out []Port, waiters []Waiter, err error) {
	out = append([]Port(nil), ports...)
	waiters = make([]Waiter, max(workers, len(ports)))
	if len(ports) == 0 || workers <= len(ports) {
		return out, waiters, nil
	}
	owners := make([]*TxOwner, len(ports))
	for w := len(ports); w < workers; w++ {
		q := w % len(ports)
		o := owners[q]
		if o == nil {
			efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				for _, o := range owners {
					if o != nil {
						unix.Close(o.share.efd)
					}
				}
				return nil, nil, err
			}
			o = &TxOwner{inner: ports[q], share: &txShare{efd: efd}}
			if wt, ok := ports[q].(Waiter); ok {
				o.waiter = wt
			}
			owners[q] = o
			out[q] = o
			waiters[q] = txShareWaiter{o.share}
		}
		r := new(handoffRing)
		o.share.rings = append(o.share.rings, r)
		out = append(out, &TxHandoff{ring: r, share: o.share})
	}
	return out, waiters, nil
}

// TxOwner is the port of a queue that other workers transmit on through
// TxHandoffs: it sends what they handed over each time it is polled, then
// behaves as the port it wraps.
type TxOwner struct {
	inner   Port
	waiter  Waiter // inner as a Waiter, or nil
	share   *txShare
	scratch pkt.Vector
}

// Recv sends what the senders handed over, then receives from the port.
func (o *TxOwner) Recv(c *pkt.Cache, v *pkt.Vector) int {
	o.drain(c)
	return o.inner.Recv(c, v)
}

// drain sends every handed-over packet, a vector at a time.
func (o *TxOwner) drain(c *pkt.Cache) {
	for _, r := range o.share.rings {
		for !r.empty() {
			o.scratch.Len = r.pop(o.scratch.Idx[:])
			o.inner.Send(c, &o.scratch)
		}
	}
}

// Send sends the owner's own packets.
func (o *TxOwner) Send(c *pkt.Cache, v *pkt.Vector) int { return o.inner.Send(c, v) }

// Stats returns the wrapped port's counters.
func (o *TxOwner) Stats() Stats { return o.inner.Stats() }

// PollFD returns the wrapped port's descriptor, or -1 if it has none.
func (o *TxOwner) PollFD() int {
	if o.waiter == nil {
		return -1
	}
	return o.waiter.PollFD()
}

// PrepareWait prepares the wrapped port for a sleep.
func (o *TxOwner) PrepareWait() {
	if o.waiter != nil {
		o.waiter.PrepareWait()
	}
}

// Close frees to c what the senders handed over and nobody sent, then
// closes the wrapped port. The senders' workers must have stopped.
func (o *TxOwner) Close(c *pkt.Cache) error {
	for _, r := range o.share.rings {
		for !r.empty() {
			n := r.pop(o.scratch.Idx[:])
			if c != nil {
				c.FreeN(o.scratch.Idx[:n])
			}
		}
	}
	if o.share.efd >= 0 {
		unix.Close(o.share.efd)
		o.share.efd = -1
	}
	return o.inner.Close(c)
}

// Unwrap returns the wrapped port.
func (o *TxOwner) Unwrap() Port { return o.inner }

// txShareWaiter is the owner's wake-up for handed-over packets.
type txShareWaiter struct{ s *txShare }

// PollFD implements Waiter.
func (w txShareWaiter) PollFD() int { return w.s.efd }

// PrepareWait clears the eventfd, announces the sleep and, if packets
// were handed over meanwhile, makes the sleep end at once.
func (w txShareWaiter) PrepareWait() {
	var b [8]byte
	_, _ = unix.Read(w.s.efd, b[:])
	w.s.sleepy.Store(true)
	for _, r := range w.s.rings {
		if !r.empty() {
			w.s.wake()
			return
		}
	}
}

// TxHandoff is the port of a worker that has no queue on an interface: it
// receives nothing, and hands what it sends to the queue's owner (see
// ShareTX). Packets that do not fit the handoff ring are freed and counted
// in TxDrops.
type TxHandoff struct {
	ring  *handoffRing
	share *txShare
	stats Stats
}

// Recv receives nothing: the interface has no queue for this worker.
func (h *TxHandoff) Recv(*pkt.Cache, *pkt.Vector) int { return 0 }

// Send hands v to the owner and empties v.
func (h *TxHandoff) Send(c *pkt.Cache, v *pkt.Vector) int {
	n := h.ring.push(v.Idx[:v.Len])
	if n < v.Len {
		c.FreeN(v.Idx[n:v.Len])
		h.stats.TxDrops += uint64(v.Len - n)
	}
	v.Reset()
	if n > 0 {
		h.share.wake()
	}
	return n
}

// Stats returns the handoff's drops; what it handed over is counted by the
// owner's port when sent.
func (h *TxHandoff) Stats() Stats { return h.stats }

// Close does nothing: the owner frees what is left on the ring.
func (h *TxHandoff) Close(*pkt.Cache) error { return nil }

var (
	_ Port   = (*TxOwner)(nil)
	_ Waiter = (*TxOwner)(nil)
	_ Port   = (*TxHandoff)(nil)
)

// Underlying returns the port p wraps (a TxOwner's own port), or p itself:
// for the control plane's type assertions on a driver's own methods (a
// memif's Info, an offload.Reporter, a pcap port's Done).
func Underlying(p Port) Port {
	for {
		u, ok := p.(interface{ Unwrap() Port })
		if !ok {
			return p
		}
		p = u.Unwrap()
	}
}
