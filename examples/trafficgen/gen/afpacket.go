package gen

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/pkt"
)

// PacketSender sends with sendmmsg on an AF_PACKET socket bound to one
// device, with PACKET_QDISC_BYPASS (frames go straight to the driver). Its
// frames are built once in an arena; each batch rewrites the sequence
// numbers of Batch of them and hands them over in one call.
type PacketSender struct {
	fd    int
	arena *pkt.Arena
	spec  FrameSpec
	msgs  [Batch]unix.Mmsghdr
	iovs  [Batch]unix.Iovec
	slots int
}

// packetSlots is the number of distinct prebuilt frames (flows rotate over
// them).
const packetSlots = 1024

// NewPacketSender opens the socket on device ifindex (in the network
// namespace of the calling thread) and builds the frames.
func NewPacketSender(ifindex int, spec FrameSpec) (*PacketSender, error) {
	if err := spec.normalize(); err != nil {
		return nil, err
	}
	a, err := pkt.NewArena(packetSlots)
	if err != nil {
		return nil, err
	}
	s := &PacketSender{fd: -1, arena: a, spec: spec, slots: packetSlots}
	for i := 0; i < packetSlots; i++ {
		if _, err := Build(a.Slot(pkt.Index(i))[pkt.Headroom:], &s.spec, i, 0); err != nil {
			a.Close()
			return nil, err
		}
	}
	// Protocol 0: the socket sends but receives nothing.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("gen: AF_PACKET socket: %w", err)
	}
	s.fd = fd
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		s.Close()
		return nil, fmt.Errorf("gen: bind AF_PACKET to ifindex %d: %w", ifindex, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		s.Close()
		return nil, fmt.Errorf("gen: PACKET_QDISC_BYPASS: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
	for k := range s.msgs {
		s.msgs[k].Hdr.Iov = &s.iovs[k]
		s.msgs[k].Hdr.Iovlen = 1
		s.iovs[k].SetLen(spec.FrameLen())
	}
	return s, nil
}

// Send implements Sender.
func (s *PacketSender) Send(cfg SendConfig) (SendResult, error) {
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
	next := 0 // next slot
	var tried uint64
	var err error
	for {
		n := budget(&cfg, start, tried)
		if n == 0 {
			break
		}
		tb.wait(tried, n)
		for k := 0; k < n; k++ {
			b := s.arena.Slot(pkt.Index(next))[pkt.Headroom:]
			if !cfg.FixedSeq {
				SetSeq(b, seq+uint64(k))
			}
			s.iovs[k].Base = &b[0]
			next++
			if next == s.slots {
				next = 0
			}
		}
		sent, e := s.sendmmsg(n)
		switch e {
		case 0:
		case unix.EAGAIN, unix.ENOBUFS, unix.EINTR:
			sent = 0
		default:
			err = fmt.Errorf("gen: sendmmsg: %w", e)
		}
		if err != nil {
			break
		}
		// Frames the kernel did not take count as errors; their sequence
		// numbers are not reused, so the sink sees them as a gap.
		r.Sent += uint64(sent)
		r.TxErrors += uint64(n - sent)
		tried += uint64(n)
		seq += uint64(n)
	}
	r.Elapsed = time.Since(start)
	r.NextSeq = seq
	return r, err
}

// sendmmsg sends the first n prepared messages; it does not allocate.
func (s *PacketSender) sendmmsg(n int) (int, unix.Errno) {
	got, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(n), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(got), 0
}

// Close implements Sender.
func (s *PacketSender) Close() error {
	var err error
	if s.fd >= 0 {
		err = unix.Close(s.fd)
		s.fd = -1
	}
	if e := s.arena.Close(); err == nil {
		err = e
	}
	return err
}
