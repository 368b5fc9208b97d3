package sock

import (
	"testing"
	"time"
)

// TestDeadlineReuse: a deadline set and cleared again and again (as
// net/http does around every request) allocates nothing once its timer
// exists; a passed deadline closes the channel, a new one opens a new
// channel, and a deadline moved later is not fired by the earlier one's
// timer.
func TestDeadlineReuse(t *testing.T) {
	d := newDeadline()
	defer d.stop()
	d.set(time.Now().Add(time.Hour))
	allocs := testing.AllocsPerRun(100, func() {
		d.set(time.Now().Add(time.Hour))
		d.set(time.Time{})
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per set and clear", allocs)
	}
	d.set(time.Now().Add(20 * time.Millisecond))
	select {
	case <-d.channel():
	case <-time.After(5 * time.Second):
		t.Fatal("deadline did not pass")
	}
	if !d.expired() {
		t.Fatal("not expired after the deadline")
	}
	// Moved later before it passes: the channel must stay open until then.
	d.set(time.Now().Add(10 * time.Millisecond))
	later := time.Now().Add(300 * time.Millisecond)
	d.set(later)
	select {
	case <-d.channel():
		if time.Now().Before(later) {
			t.Fatal("the earlier deadline's timer closed the channel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("later deadline did not pass")
	}
	d.set(time.Time{})
	if d.expired() {
		t.Fatal("expired with no deadline")
	}
}
