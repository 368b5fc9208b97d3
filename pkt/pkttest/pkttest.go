// Package pkttest is the leak gate for tests: a package that touches packet
// buffers calls Main from its TestMain, and the test binary fails if, once
// its tests ran, any pool made during them still has buffers in flight (or
// had when it was closed), more goroutines run than at the start, or more
// files are open — whatever the tests themselves checked.
package pkttest

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/pkt"
)

// Main runs the tests with pool tracking on, then the leak gate.
//
//	func TestMain(m *testing.M) { pkttest.Main(m) }
func Main(m *testing.M) {
	pkt.TrackLeaks()
	g0, fd0 := runtime.NumGoroutine(), openFiles()
	code := m.Run()
	if err := pkt.Leaks(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		code = max(code, 1)
	}
	if code == 0 {
		if err := leakedGoroutines(g0); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: leak gate:", err)
			code = 1
		}
		if fd := openFiles(); fd > fd0 {
			fmt.Fprintf(os.Stderr, "FAIL: leak gate: %d files open at start, %d at end\n", fd0, fd)
			code = 1
		}
	}
	os.Exit(code)
}

// openFiles counts descriptors open on files, leaving out those the runtime
// opens lazily (the netpoller's epoll and eventfd, pipes, sockets).
func openFiles() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		if dst, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(dst, "/") {
			n++
		}
	}
	return n
}

// leakedGoroutines waits up to two seconds for goroutines started by the
// tests to end.
func leakedGoroutines(g0 int) error {
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return nil // the fuzzing engine keeps goroutines of its own
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > g0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			return fmt.Errorf("%d goroutines at start, %d at end:\n%s", g0, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// NewPool returns a pool of n slots that is closed, and audited, when tb
// ends: a buffer still in flight then fails tb.
func NewPool(tb testing.TB, n int) *pkt.Pool {
	tb.Helper()
	return newPool(tb, n, pkt.NewArena)
}

// NewSharedPool is NewPool over a shared (memfd) arena, pkt.NewSharedArena.
func NewSharedPool(tb testing.TB, n int) *pkt.Pool {
	tb.Helper()
	return newPool(tb, n, pkt.NewSharedArena)
}

func newPool(tb testing.TB, n int, arena func(int) (*pkt.Arena, error)) *pkt.Pool {
	tb.Helper()
	a, err := arena(n)
	if err != nil {
		tb.Fatal(err)
	}
	p := pkt.NewPool(a)
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Error(err)
		}
	})
	return p
}
