package gen

import (
	"fmt"
	"runtime"
	"time"

	"github.com/vecnet/vecnet/driver/memif/app"
)

// MemifSender sends generator frames over a memif (package
// driver/memif/app): frames are built once, their sequence numbers
// rewritten per batch, and copied onto the ring. A full ring is back
// pressure, not loss: the sender retries the frames that did not fit.
type MemifSender struct {
	c      *app.Conn
	spec   FrameSpec
	frames [][]byte // one prebuilt frame per flow slot, Batch of them
}

// NewMemifSender attaches to the memif described by cfg (waiting up to
// timeout for the peer) and builds the frames.
func NewMemifSender(cfg app.Config, timeout time.Duration, spec FrameSpec) (*MemifSender, error) {
	if err := spec.normalize(); err != nil {
		return nil, err
	}
	s := &MemifSender{spec: spec}
	for k := range Batch {
		b := make([]byte, spec.FrameLen())
		if _, err := Build(b, &s.spec, k, 0); err != nil {
			return nil, err
		}
		s.frames = append(s.frames, b)
	}
	c, err := app.Attach(cfg, timeout)
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	s.c = c
	return s, nil
}

// Send implements Sender.
func (s *MemifSender) Send(cfg SendConfig) (SendResult, error) {
	var r SendResult
	if err := cfg.check(); err != nil {
		return r, err
	}
	defer runtime.UnlockOSThread()
	if err := pin(cfg.CPU); err != nil {
		return r, err
	}
	start := time.Now()
	tb := bucket{rate: cfg.Rate, start: start}
	seq := cfg.Seq
	for {
		n := budget(&cfg, start, r.Sent)
		if n == 0 {
			break
		}
		tb.wait(r.Sent, n)
		if !cfg.FixedSeq {
			for k := range n {
				SetSeq(s.frames[k], seq+uint64(k))
			}
		}
		// Frames that do not fit are stamped again, from seq, next round.
		sent := s.c.Send(s.frames[:n])
		r.Sent += uint64(sent)
		seq += uint64(sent)
	}
	r.Elapsed = time.Since(start)
	r.NextSeq = seq
	return r, nil
}

// Close detaches.
func (s *MemifSender) Close() error { return s.c.Close() }

// MemifSink counts generator frames received over a memif, checking
// checksums and sequence like PacketSink, polling the ring (or sleeping on
// its interrupt when idle).
type MemifSink struct {
	c    *app.Conn
	bufs [][]byte
	lens []int
}

// NewMemifSink attaches to the memif described by cfg, waiting up to
// timeout for the peer.
func NewMemifSink(cfg app.Config, timeout time.Duration) (*MemifSink, error) {
	c, err := app.Attach(cfg, timeout)
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	s := &MemifSink{c: c, lens: make([]int, 256)}
	for range 256 {
		s.bufs = append(s.bufs, make([]byte, 2048))
	}
	return s, nil
}

// Run counts frames until idle passes with nothing received after the
// first generator frame, or total passes (0: no overall limit). The first
// sequence number expected is first.
func (s *MemifSink) Run(first uint64, idle, total time.Duration) (*SinkResult, error) {
	r := &SinkResult{}
	r.Seq.Reset(first)
	start := time.Now()
	var firstAt, lastAt time.Time
	empty := 0
	for {
		n := s.c.Recv(s.bufs, s.lens)
		if n == 0 {
			empty++
			if empty&1023 != 0 {
				continue
			}
			now := time.Now()
			if total > 0 && now.Sub(start) >= total || !lastAt.IsZero() && now.Sub(lastAt) >= idle {
				break
			}
			if empty >= 1<<16 {
				s.c.Wait(time.Millisecond)
			}
			continue
		}
		empty = 0
		lastAt = time.Now()
		if firstAt.IsZero() {
			firstAt = lastAt
		}
		for k := range n {
			b := s.bufs[k][:s.lens[k]]
			seq, ok := Parse(b)
			if !ok {
				r.Other++
				continue
			}
			if !Valid(b) {
				r.Invalid++
			}
			r.Frames++
			r.Bytes += uint64(len(b))
			r.Seq.Add(seq)
		}
	}
	r.Seq.Finish()
	if !firstAt.IsZero() {
		r.Elapsed = lastAt.Sub(firstAt)
	}
	return r, nil
}

// Close detaches.
func (s *MemifSink) Close() error { return s.c.Close() }
