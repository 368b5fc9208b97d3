package mem

import (
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the leak gate: buffers of every test pool, goroutines, files.
func TestMain(m *testing.M) { pkttest.Main(m) }

// newPool returns a pool of n buffers, audited when the test ends, so a leak
// names its test.
func newPool(t testing.TB, n int) *pkt.Pool { return pkttest.NewPool(t, n) }
