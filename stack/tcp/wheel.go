package tcp

// The timer wheel: each connection's earliest deadline (nextDeadline) is
// an entry in one of wheelSlots slots of wheelTick each, so that Tick
// touches only the slots that passed and the connections in them, not
// every connection. Entries are hints: a connection whose deadline moved
// later keeps its entry and is put back when the entry comes up; one
// whose deadline moved earlier gets a new entry and the old one goes
// stale (its time no longer matches the connection's wheelAt) and is
// dropped when met. Slots keep their capacity, so scheduling does not
// allocate in steady state.

const (
	wheelSlots = 1024
	wheelTick  = int64(1e6) // 1 ms: a rotation is about a second
)

type wheelEntry struct {
	c  *Conn
	at int64
}

type timerWheel struct {
	slots  [wheelSlots][]wheelEntry
	cursor int64 // next tick (time / wheelTick) to process
	n      int   // entries, live or stale
	spare  []wheelEntry
}

// schedule registers c's earliest deadline, if it is earlier than the one
// registered.
func (e *Engine) schedule(c *Conn) {
	d := c.nextDeadline()
	if d == never || c.state == StateClosed || c.wheelAt <= d {
		return
	}
	c.wheelAt = d
	w := &e.wheel
	// The slot of the tick at or after d: when it is processed, d passed.
	tick := max((d+wheelTick-1)/wheelTick, w.cursor)
	w.slots[tick%wheelSlots] = append(w.slots[tick%wheelSlots], wheelEntry{c, d})
	w.n++
}

// runWheel runs the timers of the connections whose entries are due.
func (e *Engine) runWheel() {
	w := &e.wheel
	now := e.now
	last := now / wheelTick
	first := w.cursor
	if last < first {
		return
	}
	if w.n == 0 {
		w.cursor = last + 1
		return
	}
	if last-first >= wheelSlots {
		first = last - wheelSlots + 1 // a long gap: every slot once
	}
	w.cursor = last + 1 // what is scheduled while we run goes to the next tick or later
	for t := first; t <= last; t++ {
		i := t % wheelSlots
		todo := w.slots[i]
		w.slots[i] = w.spare[:0]
		w.n -= len(todo)
		for j, en := range todo {
			todo[j] = wheelEntry{}
			c := en.c
			switch {
			case c.wheelAt != en.at:
				// stale
			case en.at > now:
				w.slots[i] = append(w.slots[i], en) // a later rotation
				w.n++
			default:
				c.wheelAt = never
				if c.nextDeadline() <= now {
					c.runTimers()
				}
				e.schedule(c)
			}
		}
		w.spare = todo[:0]
	}
}

// nextWheelDeadline returns when Tick will next have a timer to run (the
// earliest live deadline rounded up to its tick), or -1.
func (e *Engine) nextWheelDeadline() int64 {
	w := &e.wheel
	best := int64(-1)
	if w.n == 0 {
		return -1
	}
	for k := int64(0); k < wheelSlots; k++ {
		tick := w.cursor + k
		for _, en := range w.slots[tick%wheelSlots] {
			if en.c.wheelAt == en.at && (best < 0 || en.at < best) {
				best = en.at
			}
		}
		if best >= 0 && best <= tick*wheelTick {
			break // an entry of this rotation: nothing later can be earlier
		}
	}
	if best < 0 {
		return -1
	}
	return max((best+wheelTick-1)/wheelTick, w.cursor) * wheelTick
}
