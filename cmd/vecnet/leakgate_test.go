package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestMain is the buffer-leak gate: every pool made by the tests must have
// all its buffers back when they end. Run as "bench memif -ends …" (the
// memif benchmark re-executes its own binary for the generator and sink),
// it is that child instead.
func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == "bench" && os.Args[2] == "memif" && os.Args[3] == "-ends" {
		if err := runMemifEnds(os.Args[4:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pkttest.Main(m)
}
