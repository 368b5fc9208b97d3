package sock

import (
	"sync"
	"sync/atomic"
	"time"
)

// deadline is one direction's deadline: a channel that is closed when the
// deadline passes. Readers load the channel without a lock. net/http sets
// and clears deadlines for every request, so setting one allocates
// nothing in the common case: the timer is made once and reset, and the
// channel is replaced only after it was closed (the deadline passed).
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer // made by the first deadline, reset after
	when  time.Time   // the deadline (zero: none), under mu
	cur   atomic.Pointer[chan struct{}]
}

func newDeadline() *deadline {
	d := new(deadline)
	ch := make(chan struct{})
	d.cur.Store(&ch)
	return d
}

// channel returns the channel that is closed when the current deadline passes.
func (d *deadline) channel() chan struct{} { return *d.cur.Load() }

// expired reports whether the current deadline has passed.
func (d *deadline) expired() bool {
	select {
	case <-d.channel():
		return true
	default:
		return false
	}
}

// set replaces the deadline; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.when = t
	if d.expired() { // a passed deadline's channel is closed for good
		ch := make(chan struct{})
		d.cur.Store(&ch)
	}
	if t.IsZero() {
		d.mu.Unlock()
		return
	}
	dur := time.Until(t)
	switch {
	case dur <= 0:
		close(*d.cur.Load())
	case d.timer == nil:
		d.timer = time.AfterFunc(dur, d.fire)
	default:
		d.timer.Reset(dur)
	}
	d.mu.Unlock()
}

// fire is the timer's function: it closes the channel if the current
// deadline has passed (a timer stopped too late for an earlier deadline
// may still run: it finds a later one, which it waits for, or none).
func (d *deadline) fire() {
	d.mu.Lock()
	if !d.when.IsZero() && !d.expired() {
		if left := time.Until(d.when); left > 0 {
			if d.timer != nil {
				d.timer.Reset(left) // woken early (the wall clock stepped back)
			}
		} else {
			close(*d.cur.Load())
		}
	}
	d.mu.Unlock()
}

// stop releases the timer.
func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.when = time.Time{}
	d.mu.Unlock()
}
