package gen

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Batch is how many frames a sender hands the kernel per call.
const Batch = 64

// SendConfig says how much to send and how fast.
type SendConfig struct {
	// Rate is the target in packets per second; 0 sends as fast as possible.
	// The token bucket is checked once per batch, not per packet.
	Rate float64
	// Duration bounds the run; 0 means no time limit (Count must be set).
	Duration time.Duration
	// Count bounds the number of frames; 0 means no limit (Duration must be set).
	Count uint64
	// Seq is the first sequence number.
	Seq uint64
	// CPU pins the sending thread when >= 0 (set it to -1 for no pinning;
	// the zero value pins to CPU 0).
	CPU int
	// FixedSeq sends the prebuilt frames without rewriting their sequence
	// numbers (slightly faster; the sink then sees duplicates, not gaps).
	FixedSeq bool
	// Stop, when not nil, ends the run early once it is closed.
	Stop <-chan struct{}
}

func (c *SendConfig) check() error {
	if c.Duration <= 0 && c.Count == 0 {
		return errors.New("gen: a send needs a duration or a count")
	}
	if c.Rate < 0 {
		return fmt.Errorf("gen: negative rate %v", c.Rate)
	}
	return nil
}

// SendResult is what one Send reports.
type SendResult struct {
	Sent     uint64        // frames the kernel accepted (AF_XDP: completed)
	TxErrors uint64        // frames refused (AF_PACKET send errors, AF_XDP invalid descriptors)
	Elapsed  time.Duration // from the first batch to the last completion
	NextSeq  uint64        // the sequence number the next frame would carry
}

// PPS returns the achieved rate.
func (r SendResult) PPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// String formats the result for a log line.
func (r SendResult) String() string {
	return fmt.Sprintf("sent %d, tx errors %d, %.3f Mpps over %v", r.Sent, r.TxErrors, r.PPS()/1e6, r.Elapsed.Round(time.Millisecond))
}

// Sender sends prebuilt frames on one device queue. One goroutine uses it
// at a time; Close releases its socket and buffers.
type Sender interface {
	// Send runs one burst as cfg says, on the calling goroutine, which it
	// locks to its OS thread (and pins when cfg.CPU >= 0) for the duration.
	Send(cfg SendConfig) (SendResult, error)
	// Close releases the socket and the frame memory.
	Close() error
}

// pin locks the goroutine to its thread and pins the thread to cpu
// (when >= 0). The caller unlocks the thread.
func pin(cpu int) error {
	runtime.LockOSThread()
	if cpu < 0 {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("gen: pin to CPU %d: %w", cpu, err)
	}
	return nil
}

// bucket is the token bucket a sender checks once per batch.
type bucket struct {
	rate  float64 // packets per second; 0 = unlimited
	start time.Time
}

// wait blocks until sending n more frames after sent keeps within the
// rate. It spins for short waits and sleeps for long ones.
func (b *bucket) wait(sent uint64, n int) {
	if b.rate == 0 {
		return
	}
	due := b.start.Add(time.Duration(float64(sent+uint64(n)) / b.rate * 1e9))
	for {
		d := time.Until(due)
		if d <= 0 {
			return
		}
		if d > 200*time.Microsecond {
			time.Sleep(d - 100*time.Microsecond)
		}
	}
}

// budget returns how many frames the next batch may carry (at most Batch),
// 0 once the count is reached or the duration or stop has passed.
func budget(cfg *SendConfig, start time.Time, sent uint64) int {
	n := Batch
	if cfg.Count > 0 {
		if sent >= cfg.Count {
			return 0
		}
		n = int(min(uint64(n), cfg.Count-sent))
	}
	if cfg.Duration > 0 && time.Since(start) >= cfg.Duration {
		return 0
	}
	if cfg.Stop != nil {
		select {
		case <-cfg.Stop:
			return 0
		default:
		}
	}
	return n
}
