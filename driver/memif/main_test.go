package memif

import (
	"testing"

	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the leak gate: buffers of every test pool, goroutines, files
// (the regions' memfds among them).
func TestMain(m *testing.M) { pkttest.Main(m) }
