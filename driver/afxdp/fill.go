package afxdp

import "github.com/vecnet/vecnet/internal/xsk"

// Fill-ring level control.
//
// Every buffer on the fill ring waits behind all the others (the ring is a
// FIFO), so the number of buffers a port keeps there is the UMEM working set
// the kernel copies frames into and the worker then reads: with 4 KiB slots,
// a full 16384-entry ring cycles 64 MiB, far beyond the caches and the TLB,
// and both the kernel's copy (on the sender's CPU for veth) and the worker's
// first touch of every frame miss. A shallow fill ring keeps the buffers hot
// (measured on the veth rig: 1.30 → 1.5–1.6 Mpps forwarded), but it is
// emptied by a worker stall shorter than a deep one. So the port keeps a
// target level that starts small, doubles whenever the kernel reports that
// it found the fill ring empty, and halves again after a long quiet spell.
const (
	// fillMin is the smallest fill target: at 1 Mpps it covers a 1 ms stall.
	fillMin = 1024
	// adaptEvery is how many Recv calls pass between two looks at the
	// kernel's counters (one getsockopt).
	adaptEvery = 4096
	// quietLooks is how many looks without fill-ring starvation halve the
	// target (about 4 M Recv calls: seconds under load).
	quietLooks = 1024
)

// fillLevel is a port's fill-ring target. Owned by the port's worker.
type fillLevel struct {
	target, min, max uint32
	calls            uint32
	quiet            uint32
	empty            uint64 // the kernel's fill-ring-empty count at the last look
}

func newFillLevel(size uint32) fillLevel {
	lo := min(uint32(fillMin), size)
	return fillLevel{target: lo, min: lo, max: size}
}

// tick counts a Recv call and reports whether it is time to adapt.
func (l *fillLevel) tick() bool {
	l.calls++
	return l.calls%adaptEvery == 0
}

// adapt reads the socket's counters and moves the target: up at once on
// starvation, down slowly after quiet. A failed read changes nothing.
func (l *fillLevel) adapt(s *xsk.Socket) {
	st, err := s.Stats()
	if err != nil {
		return
	}
	l.observe(st.RXFillRingEmptyDescs)
}

// observe moves the target given the kernel's cumulative fill-ring-empty
// count.
func (l *fillLevel) observe(empty uint64) {
	if empty != l.empty {
		l.empty = empty
		l.quiet = 0
		l.target = min(2*l.target, l.max)
		return
	}
	if l.quiet++; l.quiet >= quietLooks && l.target > l.min {
		l.quiet = 0
		l.target /= 2
	}
}
