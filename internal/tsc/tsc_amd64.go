package tsc

// Now returns the time-stamp counter (RDTSC).
//
//go:noescape
func Now() uint64
