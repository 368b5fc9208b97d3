package mem

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"vecnet/pkt"
)

// pools made by newPool, checked for leaks after every test has run.
var (
	poolsMu sync.Mutex
	pools   []*pkt.Pool
)

// TestMain gates the package on leaks: every buffer of every test pool back
// in its pool, and no goroutine left behind.
func TestMain(m *testing.M) {
	g0 := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := leaks(g0); err != nil {
			fmt.Fprintln(os.Stderr, "leak gate:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func leaks(g0 int) error {
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

// newPool returns a pool of n buffers that the leak gate checks; the test
// also checks it at cleanup, so a leak names its test.
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
