package udp_test

import (
	"testing"

	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the buffer-leak gate: every pool made by the tests must have
// all its buffers back when they end.
func TestMain(m *testing.M) { pkttest.Main(m) }
