package gen

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// SinkResult is what a PacketSink counted.
type SinkResult struct {
	Frames  uint64 // generator frames (carrying Magic)
	Bytes   uint64 // their bytes
	Other   uint64 // frames without the magic
	Invalid uint64 // generator frames whose checksums do not verify
	Seq     SeqTracker
	Elapsed time.Duration
}

// PPS returns the rate of generator frames.
func (r *SinkResult) PPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Frames) / r.Elapsed.Seconds()
}

// String formats the result for a log line.
func (r *SinkResult) String() string {
	return fmt.Sprintf("received %d (%d bytes, %.3f Mpps), other %d, invalid %d, lost %d in %d gaps, reordered %d, duplicates %d",
		r.Frames, r.Bytes, r.PPS()/1e6, r.Other, r.Invalid, r.Seq.Lost, r.Seq.Gaps, r.Seq.Reordered, r.Seq.Duplicates)
}

// PacketSink receives on one device with an AF_PACKET socket and checks
// every generator frame (checksums, sequence). It is simple rather than
// fast: use it in tests, and XDPCounter for rates. One goroutine uses it.
type PacketSink struct {
	fd  int
	buf []byte
}

// htons converts a 16-bit protocol number to network byte order.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// NewPacketSink opens the socket on device ifindex (in the network
// namespace of the calling thread), seeing inbound frames only.
func NewPacketSink(ifindex int) (*PacketSink, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("gen: AF_PACKET socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("gen: bind AF_PACKET to ifindex %d: %w", ifindex, err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20)
	return &PacketSink{fd: fd, buf: make([]byte, 65536)}, nil
}

// Run counts frames until idle passes with nothing received after the
// first generator frame, or until total passes (whichever is first; total
// 0 means no overall limit). The first sequence number expected is first.
func (s *PacketSink) Run(first uint64, idle, total time.Duration) (*SinkResult, error) {
	r := &SinkResult{}
	r.Seq.Reset(first)
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	start := time.Now()
	var firstAt, lastAt time.Time
	for {
		now := time.Now()
		if total > 0 && now.Sub(start) >= total {
			break
		}
		if !lastAt.IsZero() && now.Sub(lastAt) >= idle {
			break
		}
		n, err := unix.Poll(pfd, 10)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("gen: poll: %w", err)
		}
		for {
			m, from, err := unix.Recvfrom(s.fd, s.buf, unix.MSG_DONTWAIT)
			if err == unix.EAGAIN || err == unix.EINTR {
				break
			}
			if err != nil {
				return r, fmt.Errorf("gen: recvfrom: %w", err)
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			b := s.buf[:m]
			seq, ok := Parse(b)
			if !ok {
				r.Other++
				continue
			}
			if !Valid(b) {
				r.Invalid++
			}
			lastAt = time.Now()
			if firstAt.IsZero() {
				firstAt = lastAt
			}
			r.Frames++
			r.Bytes += uint64(m)
			r.Seq.Add(seq)
		}
	}
	r.Seq.Finish()
	if !firstAt.IsZero() {
		r.Elapsed = lastAt.Sub(firstAt)
	}
	return r, nil
}

// Close closes the socket.
func (s *PacketSink) Close() error { return unix.Close(s.fd) }
