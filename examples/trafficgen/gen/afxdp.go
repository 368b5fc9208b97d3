package gen

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/xsk"
	"github.com/vecnet/vecnet/pkt"
)

// XDPSender sends over a TX-only AF_XDP socket in copy mode. Its frames are
// built once in the UMEM (one arena slot per TX descriptor); completions
// return slots to a free stack.
type XDPSender struct {
	arena *pkt.Arena
	sock  *xsk.Socket
	spec  FrameSpec
	flen  uint32
	free  []uint32 // slots not in the kernel's hands
}

// xdpSlots is the number of frames in flight at most (the TX ring size).
const xdpSlots = 4096

// NewXDPSender opens a TX-only AF_XDP socket on ifindex/queue (in the
// network namespace of the calling thread) and builds the frames. No XDP
// program is needed for sending.
func NewXDPSender(ifindex, queue int, spec FrameSpec) (*XDPSender, error) {
	if err := spec.normalize(); err != nil {
		return nil, err
	}
	a, err := pkt.NewArena(xdpSlots)
	if err != nil {
		return nil, err
	}
	s := &XDPSender{arena: a, spec: spec, flen: uint32(spec.FrameLen()), free: make([]uint32, 0, xdpSlots)}
	for i := 0; i < xdpSlots; i++ {
		if _, err := Build(a.Slot(pkt.Index(i))[pkt.Headroom:], &s.spec, i, 0); err != nil {
			a.Close()
			return nil, err
		}
		s.free = append(s.free, uint32(xdpSlots-1-i))
	}
	s.sock, err = xsk.Open(a.Memory(), xsk.Config{
		Ifindex: ifindex, Queue: queue, Copy: true,
		TXSize: xdpSlots, CompSize: xdpSlots, FillSize: 64, RXSize: 64,
	})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("gen: %w", err)
	}
	return s, nil
}

// Send implements Sender.
func (s *XDPSender) Send(cfg SendConfig) (SendResult, error) {
	var r SendResult
	if err := cfg.check(); err != nil {
		return r, err
	}
	defer runtime.UnlockOSThread()
	if err := pin(cfg.CPU); err != nil {
		return r, err
	}
	st0, _ := s.sock.Stats()
	start := time.Now()
	tb := bucket{rate: cfg.Rate, start: start}
	var submitted uint64
	seq := cfg.Seq
	var err error
	for {
		s.reclaim(&r)
		n := budget(&cfg, start, submitted)
		if n == 0 {
			break
		}
		n = min(n, len(s.free))
		if n == 0 {
			if err = s.sock.Wakeup(); err != nil {
				break
			}
			continue
		}
		tb.wait(submitted, n)
		seq = s.fill(n, seq, cfg.FixedSeq)
		submitted += uint64(n)
		if err = s.sock.Wakeup(); err != nil {
			break
		}
	}
	// Let the kernel finish what was submitted, briefly.
	deadline := time.Now().Add(time.Second)
	for r.Sent < submitted && time.Now().Before(deadline) {
		s.sock.Wakeup()
		s.reclaim(&r)
	}
	r.Elapsed = time.Since(start)
	r.NextSeq = seq
	if st1, e := s.sock.Stats(); e == nil {
		r.TxErrors = st1.TXInvalidDescs - st0.TXInvalidDescs
	}
	return r, err
}

// fill puts up to n frames on the TX ring and returns the next sequence
// number. It does not allocate.
func (s *XDPSender) fill(n int, seq uint64, fixed bool) uint64 {
	tx := s.sock.TX()
	first, got := tx.Reserve(uint32(n))
	for k := uint32(0); k < got; k++ {
		slot := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		if !fixed {
			SetSeq(s.arena.Slot(pkt.Index(slot))[pkt.Headroom:], seq)
		}
		seq++
		tx.Set(first+k, unix.XDPDesc{Addr: xsk.Addr(slot, pkt.Headroom), Len: s.flen})
	}
	tx.Submit(got)
	return seq
}

// reclaim returns completed slots to the free stack, counting them sent.
func (s *XDPSender) reclaim(r *SendResult) {
	comp := s.sock.Comp()
	first, n := comp.Peek(xdpSlots)
	for k := uint32(0); k < n; k++ {
		s.free = append(s.free, xsk.Slot(comp.Addr(first+k)))
	}
	comp.Release(n)
	r.Sent += uint64(n)
}

// Close implements Sender.
func (s *XDPSender) Close() error {
	err := s.sock.Close()
	if e := s.arena.Close(); err == nil {
		err = e
	}
	return err
}
