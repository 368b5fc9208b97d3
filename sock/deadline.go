package sock

import (
	"sync"
	"sync/atomic"
	"time"
)

// deadline is one direction's deadline: a channel that is closed when the
// deadline passes. Readers load the channel without a lock.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
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
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	// Always start a fresh channel: a stopped timer's function may still be
	// about to run, and it only closes the channel it was made for if that
	// is still current.
	ch := make(chan struct{})
	d.cur.Store(&ch)
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(ch)
		return
	}
	d.timer = time.AfterFunc(dur, func() {
		d.mu.Lock()
		if *d.cur.Load() == ch {
			close(ch)
		}
		d.mu.Unlock()
	})
}

// stop releases the timer.
func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
}
