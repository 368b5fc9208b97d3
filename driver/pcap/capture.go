package pcap

import (
	"time"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

// Capture returns a port that behaves as inner and records into rx every
// packet inner receives and into tx every packet handed to Send (before
// inner transmits it), either writer may be nil. The result implements
// driver.Waiter exactly when inner does. Write errors stick in the Writer
// (see Writer.Err) and never disturb traffic. The caller owns the writers:
// Close closes inner only, and the caller flushes the writers' files. All
// methods run on the worker that owns inner.
func Capture(inner driver.Port, rx, tx *Writer) driver.Port {
	c := &capture{inner: inner, rx: rx, tx: tx}
	if w, ok := inner.(driver.Waiter); ok {
		return &waitingCapture{capture: c, w: w}
	}
	return c
}

// capture is the wrapper for ports that are not Waiters.
type capture struct {
	inner  driver.Port
	rx, tx *Writer
}

// Recv receives from inner and records the packets it appended.
func (p *capture) Recv(c *pkt.Cache, v *pkt.Vector) int {
	n := p.inner.Recv(c, v)
	if n > 0 && p.rx != nil {
		record(p.rx, c.Arena(), v.Idx[v.Len-n:v.Len])
	}
	return n
}

// Send records v and hands it to inner.
func (p *capture) Send(c *pkt.Cache, v *pkt.Vector) int {
	if v.Len > 0 && p.tx != nil {
		record(p.tx, c.Arena(), v.Idx[:v.Len])
	}
	return p.inner.Send(c, v)
}

// Stats returns inner's counters.
func (p *capture) Stats() driver.Stats { return p.inner.Stats() }

// Close closes inner; the writers stay open.
func (p *capture) Close(c *pkt.Cache) error { return p.inner.Close(c) }

// record writes every packet of idx, stamped with one clock reading.
func record(w *Writer, a *pkt.Arena, idx []pkt.Index) {
	now := time.Now()
	for _, i := range idx {
		if w.WritePacket(now, a.Data(i)) != nil {
			return
		}
	}
}

// waitingCapture is the wrapper for ports that are Waiters.
type waitingCapture struct {
	*capture
	w driver.Waiter
}

// PollFD returns inner's descriptor.
func (p *waitingCapture) PollFD() int { return p.w.PollFD() }

// PrepareWait forwards to inner.
func (p *waitingCapture) PrepareWait() { p.w.PrepareWait() }
