package tsc

import "testing"

func TestMonotonicAndCalibrated(t *testing.T) {
	a := Now()
	b := Now()
	if b < a {
		t.Fatalf("counter went back: %d then %d", a, b)
	}
	if r := TicksPerNanosecond(); r < 0.1 || r > 10 {
		t.Fatalf("ticks/ns = %v, implausible", r)
	}
}
