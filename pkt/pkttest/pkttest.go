// Package pkttest is the buffer-leak gate for tests: a package that touches
// packet buffers calls Main from its TestMain, and the test binary fails if
// any pool made during its tests still has buffers in flight at the end
// (or had when it was closed), whatever the tests themselves checked.
package pkttest

import (
	"fmt"
	"os"
	"testing"

	"vecnet/pkt"
)

// Main runs the tests with pool tracking on, then the leak gate.
//
//	func TestMain(m *testing.M) { pkttest.Main(m) }
func Main(m *testing.M) {
	pkt.TrackLeaks()
	code := m.Run()
	if err := pkt.Leaks(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// NewPool returns a pool of n slots that is closed, and audited, when tb
// ends: a buffer still in flight then fails tb.
func NewPool(tb testing.TB, n int) *pkt.Pool {
	tb.Helper()
	a, err := pkt.NewArena(n)
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
