package pcap

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"vecnet/pkt"
)

var (
	poolsMu sync.Mutex
	pools   []*pkt.Pool
)

// TestMain gates the package on leaks: buffers of every test pool, open
// descriptors and goroutines.
func TestMain(m *testing.M) {
	g0, fd0 := runtime.NumGoroutine(), openFDs()
	code := m.Run()
	if code == 0 {
		if err := leaks(g0, fd0); err != nil {
			fmt.Fprintln(os.Stderr, "leak gate:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// openFDs counts descriptors open on files, leaving out those the runtime
// opens lazily (the netpoller's epoll and eventfd, pipes).
func openFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		if dst, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(dst, "/") {
			n++
		}
	}
	return n
}

func leaks(g0, fd0 int) error {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	for k, p := range pools {
		if n := p.InUse(); n != 0 {
			return fmt.Errorf("pool %d: %d buffers still in use", k, n)
		}
		if err := p.Check(); err != nil {
			return fmt.Errorf("pool %d: %v", k, err)
		}
	}
	if fd := openFDs(); fd > fd0 {
		return fmt.Errorf("%d descriptors open at start, %d at end", fd0, fd)
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return nil // the fuzzing engine keeps goroutines of its own
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > g0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines at start, %d at end", g0, runtime.NumGoroutine())
		}
		runtime.Gosched()
	}
	return nil
}

// newPool returns a pool of n buffers, checked at cleanup and by TestMain.
func newPool(t testing.TB, n int) *pkt.Pool {
	t.Helper()
	a, err := pkt.NewArena(n)
	if err != nil {
		t.Fatal(err)
	}
	p := pkt.NewPool(a)
	poolsMu.Lock()
	pools = append(pools, p)
	poolsMu.Unlock()
	t.Cleanup(func() {
		if n := p.InUse(); n != 0 {
			t.Errorf("%d buffers leaked", n)
		}
	})
	return p
}

// tempPath returns a path in a per-test directory.
func tempPath(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name)
}
