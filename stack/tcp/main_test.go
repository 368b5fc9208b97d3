package tcp

import (
	"testing"

	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the leak gate: no goroutine or file left behind by the tests
// (the engine holds no packet buffers of its own).
func TestMain(m *testing.M) { pkttest.Main(m) }
