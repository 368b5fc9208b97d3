package main

import (
	"testing"

	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the leak gate: every pool the tests made (the vecnet modes run a
// daemon) must have all its buffers back, and no goroutine or file may be
// left behind.
func TestMain(m *testing.M) { pkttest.Main(m) }
