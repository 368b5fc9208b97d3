package pkt

import (
	"os"
	"testing"
)

// TestMain is the package's leak gate: every pool the tests made must have
// all its buffers back at the end. (pkttest.Main does this for other
// packages; pkt cannot import pkttest.)
func TestMain(m *testing.M) {
	TrackLeaks()
	code := m.Run()
	if err := Leaks(); err != nil {
		os.Stderr.WriteString("FAIL: " + err.Error() + "\n")
		code = max(code, 1)
	}
	os.Exit(code)
}
