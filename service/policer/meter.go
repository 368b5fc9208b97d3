// Package policer meters traffic with the two colour-marking token buckets
// of RFC 2697 (single-rate three-colour marker, srTCM) and RFC 2698
// (two-rate three-colour marker, trTCM), and provides the graph node that
// applies a per-colour action (transmit, drop, or re-mark DSCP) to the
// packets of an interface.
//
// A Meter is shared by every worker that receives the interface's traffic,
// so a configured rate is the interface's rate, not a worker's. Workers do
// not touch it per packet: per vector they claim, with one atomic operation
// per bucket, the tokens the vector's packets need, colour the packets
// against the tokens they hold, and give back what was not used. So a meter
// costs a handful of atomic operations per vector and none per packet, and
// workers never wait for each other.
package policer

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Color is the colour a meter gives a packet.
type Color uint8

// The colours of RFC 2697 and RFC 2698.
const (
	Green  Color = iota // within the committed rate and burst
	Yellow              // beyond the committed burst, within the excess (srTCM) or peak (trTCM)
	Red                 // beyond both
)

// NumColors is the number of colours, for per-colour tables.
const NumColors = 3

func (c Color) String() string {
	switch c {
	case Green:
		return "green"
	case Yellow:
		return "yellow"
	default:
		return "red"
	}
}

// Mode selects the marker.
type Mode uint8

const (
	// SingleRate is RFC 2697's srTCM: CIR, CBS and EBS; tokens that
	// overflow the committed bucket fill the excess bucket.
	SingleRate Mode = iota
	// TwoRate is RFC 2698's trTCM: CIR and CBS, PIR and PBS, each bucket
	// filled at its own rate.
	TwoRate
)

// Config is a meter's parameters. Rates are in bytes per second and bursts
// in bytes (of IP packets: the meter counts what the node gives it).
type Config struct {
	Mode Mode
	CIR  uint64 // committed information rate
	CBS  uint64 // committed burst size
	EBS  uint64 // excess burst size (SingleRate)
	PIR  uint64 // peak information rate (TwoRate)
	PBS  uint64 // peak burst size (TwoRate)
}

// scale converts bytes to token units: tokens are counted in nanobytes so
// that a refill of dt nanoseconds at R bytes per second adds exactly dt*R
// units, with no rounding to lose at low rates.
const scale = 1_000_000_000

// MaxBurst is the largest burst a Config may give (a bucket of that many
// bytes still fits in an int64 of nanobytes).
const MaxBurst = 1 << 30

// MaxRate is the largest rate a Config may give: 1 Tbit/s.
const MaxRate = 125_000_000_000

// Validate reports what is wrong with c, or nil.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, v, max uint64) {
		if v > max {
			errs = append(errs, fmt.Errorf("%s %d above %d", name, v, max))
		}
	}
	check("cir", c.CIR, MaxRate)
	check("cbs", c.CBS, MaxBurst)
	switch c.Mode {
	case SingleRate:
		check("ebs", c.EBS, MaxBurst)
		if c.CBS == 0 && c.EBS == 0 {
			errs = append(errs, errors.New("srTCM: cbs and ebs are both 0 (RFC 2697 asks for at least one above 0)"))
		}
		if c.PIR != 0 || c.PBS != 0 {
			errs = append(errs, errors.New("srTCM takes no pir/pbs"))
		}
	case TwoRate:
		check("pir", c.PIR, MaxRate)
		check("pbs", c.PBS, MaxBurst)
		if c.PIR < c.CIR {
			errs = append(errs, fmt.Errorf("trTCM: pir %d below cir %d (RFC 2698: PIR >= CIR)", c.PIR, c.CIR))
		}
		if c.CBS == 0 || c.PBS == 0 {
			errs = append(errs, errors.New("trTCM: cbs and pbs must be above 0"))
		}
		if c.EBS != 0 {
			errs = append(errs, errors.New("trTCM takes no ebs"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown mode %d", c.Mode))
	}
	return errors.Join(errs...)
}

// bucket is one token bucket, shared by workers.
type bucket struct {
	tokens atomic.Int64 // nanobytes, 0..max
	max    int64        // nanobytes
	rate   int64        // bytes per second = nanobytes per nanosecond
	_      [40]byte     // keep the two buckets on separate cache lines
}

// add puts n nanobytes into b, up to its size, and returns what did not fit.
func (b *bucket) add(n int64) (overflow int64) {
	for {
		old := b.tokens.Load()
		v := old + n
		over := int64(0)
		if v > b.max {
			over, v = v-b.max, b.max
		}
		if b.tokens.CompareAndSwap(old, v) {
			return over
		}
	}
}

// take removes up to want nanobytes from b and returns how many it got.
func (b *bucket) take(want int64) int64 {
	if want <= 0 {
		return 0
	}
	for {
		old := b.tokens.Load()
		if old <= 0 {
			return 0
		}
		got := min(old, want)
		if b.tokens.CompareAndSwap(old, old-got) {
			return got
		}
	}
}

// Meter is a configured srTCM or trTCM: its two buckets and the time they
// were last filled. Both buckets start full, as both RFCs ask. It is safe
// for concurrent use by several workers.
type Meter struct {
	cfg  Config
	c    bucket // committed
	x    bucket // excess (srTCM) or peak (trTCM)
	last atomic.Int64
}

// NewMeter returns a meter for cfg, its buckets full as of time now (ns).
func NewMeter(cfg Config, now int64) (*Meter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("policer: %w", err)
	}
	m := &Meter{cfg: cfg}
	m.c.max, m.c.rate = int64(cfg.CBS)*scale, int64(cfg.CIR)
	if cfg.Mode == SingleRate {
		// The excess bucket fills only from the committed one's overflow.
		m.x.max, m.x.rate = int64(cfg.EBS)*scale, 0
	} else {
		m.x.max, m.x.rate = int64(cfg.PBS)*scale, int64(cfg.PIR)
	}
	for _, b := range []*bucket{&m.c, &m.x} {
		b.tokens.Store(b.max)
	}
	m.last.Store(now)
	return m, nil
}

// Config returns the meter's parameters.
func (m *Meter) Config() Config { return m.cfg }

// refill adds the tokens earned since the last refill. One worker wins the
// time interval (a CAS on last); the others see a zero interval.
func (m *Meter) refill(now int64) {
	last := m.last.Load()
	if now <= last || !m.last.CompareAndSwap(last, now) {
		return
	}
	dt := now - last
	if m.cfg.Mode == SingleRate {
		// What overflows the committed bucket fills the excess one: the
		// interval counts up to the time that fills both from empty.
		if over := m.c.add(earned(dt, m.c.rate, m.c.max+m.x.max)); over > 0 {
			m.x.add(over)
		}
		return
	}
	m.c.add(earned(dt, m.c.rate, m.c.max))
	m.x.add(earned(dt, m.x.rate, m.x.max))
}

// earned is the tokens dt nanoseconds earn at rate, bounded by what fills
// a bucket of size room from empty (so that dt*rate cannot overflow).
func earned(dt, rate, room int64) int64 {
	if rate == 0 {
		return 0
	}
	return min(dt, room/rate+1) * rate
}

// giveBack returns unused tokens. For srTCM what no longer fits the
// committed bucket spills into the excess one, as a refill would have.
func (m *Meter) giveBack(c, x int64) {
	if c > 0 {
		if over := m.c.add(c); over > 0 && m.cfg.Mode == SingleRate {
			x += over
		}
	}
	if x > 0 {
		m.x.add(x)
	}
}

// Color colours packets of the given sizes (bytes), in order, as of time
// now (ns), writing one colour per size into colors (len(colors) >=
// len(sizes)). It is the per-vector entry: a few atomic operations for the
// whole batch. Packets are coloured in order against the tokens the batch
// claimed, as RFC 2697 and RFC 2698 colour a sequence (colour-blind mode).
func (m *Meter) Color(now int64, sizes []uint32, colors []Color) {
	colors = colors[:len(sizes)]
	m.refill(now)
	var want int64
	for _, s := range sizes {
		want += int64(s) * scale
	}
	if m.cfg.Mode == SingleRate {
		m.colorSingle(want, sizes, colors)
	} else {
		m.colorTwo(want, sizes, colors)
	}
}

// colorSingle is RFC 2697 section 4, colour-blind: green if the committed
// bucket holds the packet, else yellow if the excess one does, else red.
func (m *Meter) colorSingle(want int64, sizes []uint32, colors []Color) {
	c := m.c.take(want)
	var rest int64
	for i, s := range sizes {
		b := int64(s) * scale
		if c >= b {
			c -= b
			colors[i] = Green
		} else {
			colors[i] = Red
			rest += b
		}
	}
	if rest == 0 {
		m.giveBack(c, 0)
		return
	}
	x := m.x.take(rest)
	for i, s := range sizes {
		b := int64(s) * scale
		if colors[i] == Red && x >= b {
			x -= b
			colors[i] = Yellow
		}
	}
	m.giveBack(c, x)
}

// colorTwo is RFC 2698 section 3, colour-blind: red if the peak bucket
// cannot hold the packet, else yellow if the committed one cannot (taking
// from the peak), else green (taking from both).
func (m *Meter) colorTwo(want int64, sizes []uint32, colors []Color) {
	p := m.x.take(want)
	c := m.c.take(want)
	for i, s := range sizes {
		b := int64(s) * scale
		switch {
		case p < b:
			colors[i] = Red
		case c < b:
			p -= b
			colors[i] = Yellow
		default:
			p -= b
			c -= b
			colors[i] = Green
		}
	}
	m.giveBack(c, p)
}
