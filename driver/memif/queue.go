package memif

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
)

// qstate is one queue pair of one connection: the ring this side receives
// on, the ring it transmits on, their eventfds and the consumer and
// producer positions. It lives from CONNECTED to the disconnect; the
// owning worker alone touches the positions.
type qstate struct {
	client  bool
	regions []region // the connection's regions, for checking descriptors
	rx, tx  ring
	rxFD    int // eventfd the peer signals after producing on rx
	txFD    int // eventfd this side signals after producing on tx

	rxPos uint16 // client: last tail consumed (m2s); server: last head consumed (s2m)
	txPos uint16 // client: head (s2m); server: tail (m2s)
	intr  bool   // the rx ring's interrupt is unmasked (the worker sleeps)

	// Client only: slot j of a ring owns the buffer at bufOff(ring)+j*bufSize
	// in region 0; descriptors are rewritten from this on every use, so a
	// peer that scribbles on them cannot point this side elsewhere.
	rxBufs, txBufs uint32
	bufSize        uint32

	// zc is set on a zero-copy client's queues (see zerocopy.go): the
	// rings hold arena slots and only Port moves frames.
	zc *zcState
}

// Queue is one queue pair of an Endpoint, for the goroutine that owns it (a
// worker, or an application's sending loop): Recv and Send copy frames
// between the caller's buffers and the peer's rings. While disconnected,
// or when the endpoint is zero-copy (frames move only through Port), they
// move nothing. It takes no locks and does not allocate.
type Queue struct {
	state atomic.Pointer[qstate]
	busy  atomic.Uint32 // the owner is inside a call that uses state
	epfd  int           // readable when the rx eventfd or kick is
	kick  int           // eventfd the control side writes on (dis)connect
	stats driver.Stats
	word  [8]byte // eventfd read/write scratch (no allocation per call)
}

func newQueue() (*Queue, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	kick, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, err
	}
	q := &Queue{epfd: ep, kick: kick}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, kick, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(kick)}); err != nil {
		q.close()
		return nil, err
	}
	return q, nil
}

func (q *Queue) close() {
	unix.Close(q.kick)
	unix.Close(q.epfd)
}

// attach publishes a connection's queue state to the owner and wakes it.
func (q *Queue) attach(s *qstate) {
	_ = unix.EpollCtl(q.epfd, unix.EPOLL_CTL_ADD, s.rxFD, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(s.rxFD)})
	q.state.Store(s)
	q.signal(q.kick)
}

// detach withdraws the state and waits until the owner is out of any call
// that may still use it; then the caller may unmap its regions.
func (q *Queue) detach() {
	s := q.state.Swap(nil)
	if s == nil {
		return
	}
	for q.busy.Load() != 0 {
		time.Sleep(50 * time.Microsecond)
	}
	_ = unix.EpollCtl(q.epfd, unix.EPOLL_CTL_DEL, s.rxFD, nil)
	q.signal(q.kick)
}

func (q *Queue) enter() *qstate {
	q.busy.Store(1)
	s := q.state.Load()
	if s == nil {
		q.busy.Store(0)
	}
	return s
}

func (q *Queue) leave() { q.busy.Store(0) }

// Connected reports whether the queue has a peer now.
func (q *Queue) Connected() bool { return q.state.Load() != nil }

// Stats returns the queue's counters; call it on the owning goroutine.
func (q *Queue) Stats() driver.Stats { return q.stats }

// PollFD returns a descriptor that becomes readable when the peer signals
// new frames (once PrepareWait unmasked the interrupt) or the connection
// comes or goes.
func (q *Queue) PollFD() int { return q.epfd }

// PrepareWait unmasks the receive ring's interrupt before the owner sleeps
// on PollFD, drains the eventfds, and kicks PollFD itself if frames arrived
// meanwhile (so that none waits for the next one).
func (q *Queue) PrepareWait() {
	_, _ = unix.Read(q.kick, q.word[:])
	s := q.enter()
	if s == nil {
		return
	}
	_, _ = unix.Read(s.rxFD, q.word[:])
	if !s.intr {
		s.rx.setFlags(0)
		s.intr = true
	}
	if q.rxPending(s) != 0 {
		q.signal(q.kick)
	}
	q.leave()
}

func (q *Queue) signal(fd int) {
	q.word = [8]byte{1}
	_, _ = unix.Write(fd, q.word[:])
}

// rxPending returns how many descriptors the peer has produced on rx, or 0
// if its counter is off by more than the ring (a broken peer).
func (q *Queue) rxPending(s *qstate) uint16 {
	var end uint16
	if s.client {
		end = s.rx.tail()
	} else {
		end = s.rx.head()
	}
	n := end - s.rxPos
	if n > s.rx.size {
		return 0
	}
	return n
}

// buffer returns the n bytes at d's region and offset, or false if they are
// outside the region.
// The descriptor is read once: the peer may rewrite it meanwhile.
func (s *qstate) buffer(d *desc, n uint32) ([]byte, bool) {
	reg, off := d.Region, d.Offset
	if int(reg) >= len(s.regions) {
		return nil, false
	}
	mem := s.regions[reg].mem
	end := uint64(off) + uint64(n)
	if end > uint64(len(mem)) {
		return nil, false
	}
	return mem[off:end:end], true
}

// Recv copies up to len(bufs) received frames into bufs, frame k into
// bufs[k] with its length in lens[k], and returns how many. A frame larger
// than its buffer, or whose descriptors point outside the shared regions,
// is dropped and counted in Stats.RxErrors.
func (q *Queue) Recv(bufs [][]byte, lens []int) int {
	s := q.enter()
	if s == nil {
		return 0
	}
	if s.zc != nil { // zero-copy: frames are arena slots, for Port.Recv
		q.leave()
		return 0
	}
	n := q.recv(s, bufs, lens)
	q.leave()
	return n
}

func (q *Queue) recv(s *qstate, bufs [][]byte, lens []int) int {
	avail := q.rxPending(s)
	got := 0
	cur := s.rxPos
	end := cur + avail
	for cur != end && got < len(bufs) && got < len(lens) {
		dst := bufs[got]
		n, bad := 0, false
		for {
			d := s.rx.desc(cur)
			cur++
			flags, length := d.Flags, d.Length
			src, ok := s.buffer(d, length)
			if !ok || n+len(src) > len(dst) {
				bad = true
			} else {
				n += copy(dst[n:], src)
			}
			if flags&descFlagNext == 0 {
				break
			}
			if cur == end { // a chain the peer did not finish
				bad = true
				break
			}
		}
		if bad {
			q.stats.RxErrors++
			continue
		}
		lens[got] = n
		q.stats.RxBytes += uint64(n)
		got++
	}
	q.stats.RxPackets += uint64(got)
	s.rxPos = cur
	if s.client {
		q.refill(s)
	} else if avail != 0 {
		s.rx.setTail(cur)
	}
	if got > 0 && s.intr {
		s.rx.setFlags(ringFlagMaskInt)
		s.intr = false
	}
	return got
}

// refill hands the client's consumed m2s slots back to the server, each with
// its own buffer and full length.
func (q *Queue) refill(s *qstate) {
	head := s.rx.head()
	n := s.rx.size - (head - s.rxPos)
	if n == 0 || n > s.rx.size {
		return
	}
	for ; n > 0; n-- {
		d := s.rx.desc(head)
		d.Flags, d.Region, d.Length = 0, 0, s.bufSize
		d.Offset = s.rxBufs + uint32(head&s.rx.mask)*s.bufSize
		head++
	}
	s.rx.setHead(head)
}

// Send copies frames onto the transmit ring, chaining descriptors for a
// frame larger than one buffer, and returns how many it queued: the rest
// found the ring full (or no peer) and are the caller's to drop.
func (q *Queue) Send(frames [][]byte) int {
	s := q.enter()
	if s == nil {
		return 0
	}
	if s.zc != nil { // zero-copy: Port.Send queues arena slots
		q.leave()
		return 0
	}
	n := q.send(s, frames)
	q.leave()
	return n
}

func (q *Queue) send(s *qstate, frames [][]byte) int {
	var free uint16
	if s.client {
		free = s.tx.size - (s.txPos - s.tx.tail())
	} else {
		free = s.tx.head() - s.txPos
	}
	if free > s.tx.size {
		free = 0 // the peer's counter is off: treat the ring as full
	}
	slot := s.txPos
	sent := 0
	for _, f := range frames {
		start, left, off := slot, free, 0
		ok := true
		for {
			if left == 0 {
				ok = false
				break
			}
			d := s.tx.desc(slot)
			var capacity uint32
			if s.client {
				d.Region, d.Offset = 0, s.txBufs+uint32(slot&s.tx.mask)*s.bufSize
				capacity = s.bufSize
			} else {
				capacity = d.Length
			}
			dst, valid := s.buffer(d, capacity)
			if !valid || capacity == 0 {
				ok = false
				break
			}
			c := copy(dst, f[off:])
			off += c
			d.Length = uint32(c)
			slot++
			left--
			if off == len(f) {
				d.Flags = 0
				break
			}
			d.Flags = descFlagNext
		}
		if !ok {
			slot = start
			break
		}
		free = left
		q.stats.TxBytes += uint64(len(f))
		sent++
	}
	if sent == 0 {
		return 0
	}
	q.stats.TxPackets += uint64(sent)
	s.txPos = slot
	if s.client {
		s.tx.setHead(slot)
	} else {
		s.tx.setTail(slot)
	}
	if s.tx.flags()&ringFlagMaskInt == 0 {
		q.signal(s.txFD)
	}
	return sent
}
