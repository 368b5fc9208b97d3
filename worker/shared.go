package worker

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// epollWait is a Shared worker's sleep: an epoll descriptor holding the
// wake-up eventfd and the waiters' descriptors, itself registered with
// Go's netpoller (an epoll descriptor is pollable), so the worker's
// goroutine parks like a socket read on the kernel's TCP and its thread
// runs other goroutines meanwhile.
type epollWait struct {
	fd     int
	file   *os.File
	rc     syscall.RawConn
	check  func(uintptr) bool // ready, made once (no allocation per sleep)
	events [16]unix.EpollEvent
	n      int // events the last check found
}

// newEpollWait makes the epoll descriptor holding fds and registers it
// with the netpoller.
func newEpollWait(fds []unix.PollFd) (*epollWait, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	e := &epollWait{fd: fd}
	for _, p := range fds {
		if err := e.ctl(unix.EPOLL_CTL_ADD, int(p.Fd)); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// os.NewFile registers a non-blocking descriptor with the netpoller;
	// only then does it take deadlines.
	e.file = os.NewFile(uintptr(fd), "vecnet-worker-epoll")
	if err := e.file.SetReadDeadline(time.Time{}); err != nil {
		e.file.Close()
		return nil, fmt.Errorf("netpoller refused the epoll descriptor: %w", err)
	}
	if e.rc, err = e.file.SyscallConn(); err != nil {
		e.file.Close()
		return nil, err
	}
	e.check = e.ready
	return e, nil
}

func (e *epollWait) ctl(op, fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	return unix.EpollCtl(e.fd, op, fd, &ev)
}

// add and remove change the descriptors slept on (a port attached or
// detached at run time); errors leave a port polled every MaxSleep.
func (e *epollWait) add(fd int)    { _ = e.ctl(unix.EPOLL_CTL_ADD, fd) }
func (e *epollWait) remove(fd int) { _ = e.ctl(unix.EPOLL_CTL_DEL, fd) }

// ready is the netpoller's readiness test: whether a descriptor in the
// set is ready now (the netpoller's edge may predate the last test).
func (e *epollWait) ready(uintptr) bool {
	for {
		n, err := unix.EpollWait(e.fd, e.events[:], 0)
		if err == unix.EINTR {
			continue
		}
		e.n = max(n, 0)
		return n != 0 || err != nil
	}
}

// wait parks the goroutine until a descriptor is ready or d passes; it
// returns how many are ready and whether wakeFD is one of them.
func (e *epollWait) wait(d time.Duration, wakeFD int) (int, bool) {
	e.n = 0
	_ = e.file.SetReadDeadline(time.Now().Add(d))
	_ = e.rc.Read(e.check) // os.ErrDeadlineExceeded after d: n stays 0
	for _, ev := range e.events[:e.n] {
		if int(ev.Fd) == wakeFD {
			return e.n, true
		}
	}
	return e.n, false
}

// close releases the epoll descriptor.
func (e *epollWait) close() { e.file.Close() }

// startShared makes a Shared worker's netpoller sleep. On failure the
// worker sleeps in poll(2) and the error is reported by SchedErr.
func (w *Worker) startShared() error {
	var err error
	if w.ep, err = newEpollWait(w.fds); err != nil {
		w.ep = nil
		return fmt.Errorf("worker: shared thread: %w; sleeping in poll(2)", err)
	}
	if w.RTPriority > 0 {
		return fmt.Errorf("worker: shared thread: RTPriority %d not applied (no thread of its own)", w.RTPriority)
	}
	return nil
}

// stopShared releases what startShared made.
func (w *Worker) stopShared() {
	if w.ep != nil {
		w.ep.close()
		w.ep = nil
	}
}
