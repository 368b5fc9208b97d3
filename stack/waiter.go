package stack

import (
	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
)

// txWaiter is the driver.Waiter of one worker's transmit wake-up: an
// eventfd that applications write only when the worker announced that it
// is about to sleep (a Dekker handshake on summary and sleepy), so sending
// costs no system call while the worker polls.
type txWaiter struct{ ws *Worker }

// TxWaiter returns the waiter to add to the worker that runs g
// ((*worker.Worker).AddWaiter) before it starts. With it, a sleeping worker
// is woken as soon as a socket queues packets for it, and a polling worker
// is never signalled. It replaces SetWaker for that worker.
func (s *Stack) TxWaiter(g *graph.Graph) (driver.Waiter, error) {
	w, err := s.WorkerOf(g)
	if err != nil {
		return nil, err
	}
	ws := s.workers[w]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ws.hasWaiter.Load() {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return nil, err
		}
		ws.efd = fd
		ws.hasWaiter.Store(true)
	}
	return txWaiter{ws}, nil
}

// PollFD implements driver.Waiter.
func (t txWaiter) PollFD() int { return t.ws.efd }

// PrepareWait implements driver.Waiter: it clears the eventfd, announces
// the sleep and, if packets were queued meanwhile, makes the sleep end at
// once.
func (t txWaiter) PrepareWait() {
	var b [8]byte
	_, _ = unix.Read(t.ws.efd, b[:])
	t.ws.sleepy.Store(true)
	if t.ws.queued() {
		t.ws.signalFD()
	}
}

// signalFD writes the worker's eventfd, unless Close already closed it: an
// application may still be sending while the stack shuts down, and a write
// to a closed descriptor could reach whatever file took its number.
func (ws *Worker) signalFD() {
	ws.efdMu.RLock()
	if !ws.efdClosed {
		one := [8]byte{1}
		_, _ = unix.Write(ws.efd, one[:])
	}
	ws.efdMu.RUnlock()
}

// Close releases the wake-up descriptors. Workers must have stopped.
func (s *Stack) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ws := range s.workers {
		if ws.hasWaiter.Swap(false) {
			ws.efdMu.Lock()
			unix.Close(ws.efd)
			ws.efdClosed = true
			ws.efdMu.Unlock()
		}
	}
}
