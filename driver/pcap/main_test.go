package pcap

import (
	"path/filepath"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the leak gate: buffers of every test pool, goroutines and open
// files (the pcap files a port opened).
func TestMain(m *testing.M) { pkttest.Main(m) }

// newPool returns a pool of n buffers, audited when the test ends, so a leak
// names its test.
func newPool(t testing.TB, n int) *pkt.Pool { return pkttest.NewPool(t, n) }

// tempPath returns a path in a per-test directory.
func tempPath(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name)
}
