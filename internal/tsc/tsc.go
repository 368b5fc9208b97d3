// Package tsc reads the CPU's time-stamp counter, for per-node clock counts
// (VPP's "Clocks" column). One read costs a few nanoseconds; callers read it
// once per node call, never per packet.
package tsc

import (
	"sync"
	"time"
)

var (
	once    sync.Once
	perNano float64
)

// TicksPerNanosecond reports the counter's rate, measured once over about
// 20 ms against the monotonic clock.
func TicksPerNanosecond() float64 {
	once.Do(func() {
		t0, c0 := time.Now(), Now()
		for time.Since(t0) < 20*time.Millisecond {
		}
		c1, el := Now(), time.Since(t0)
		perNano = float64(c1-c0) / float64(el.Nanoseconds())
		if perNano <= 0 {
			perNano = 1
		}
	})
	return perNano
}
