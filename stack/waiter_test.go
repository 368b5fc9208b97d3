package stack_test

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
)

func readable(t *testing.T, fd int) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestTxWaiter checks the transmit wake-up handshake: a send signals the
// eventfd only when the worker announced a sleep, and an announcement made
// while packets are pending ends the sleep at once.
func TestTxWaiter(t *testing.T) {
	r := stacktest.New(t, 256, stack.Config{})
	defer r.Close()
	defer r.Stack.Close()
	wt, err := r.Stack.TxWaiter(r.Graphs[0])
	if err != nil {
		t.Fatal(err)
	}
	fd := wt.PollFD()
	so, err := r.UDP.Open(netip.MustParseAddrPort("10.0.1.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	to := netip.MustParseAddrPort("10.0.1.2:9")

	// Polling worker: no signal.
	r.Poll(0)
	if err := so.Send([]byte("a"), to); err != nil {
		t.Fatal(err)
	}
	if readable(t, fd) {
		t.Fatal("signalled a polling worker")
	}
	// Packets pending when the worker prepares to sleep: the sleep ends at once.
	wt.PrepareWait()
	if !readable(t, fd) {
		t.Fatal("PrepareWait with pending packets did not make the fd readable")
	}
	r.Poll(0)
	// Sleeping worker: the next send signals, once.
	wt.PrepareWait()
	if readable(t, fd) {
		t.Fatal("fd readable after PrepareWait with nothing pending")
	}
	if err := so.Send([]byte("b"), to); err != nil {
		t.Fatal(err)
	}
	if !readable(t, fd) {
		t.Fatal("send did not wake a sleeping worker")
	}
	r.Poll(0)
	if got := len(r.TakeLookup()); got != 2 {
		t.Fatalf("%d packets sent, want 2", got)
	}
}
