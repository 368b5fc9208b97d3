package afxdp

import "testing"

// TestFillLevel checks the fill target: it starts at fillMin, doubles on
// every look that sees new starvation up to the ring size, and halves back
// toward fillMin only after quietLooks looks without any.
func TestFillLevel(t *testing.T) {
	tests := []struct {
		name  string
		size  uint32
		steps []uint64 // cumulative fill-empty counts, one per look
		quiet int      // then this many looks without change
		want  uint32
	}{
		{"starts low", 16384, nil, 0, fillMin},
		{"small ring caps the start", 512, nil, 0, 512},
		{"one starvation doubles", 16384, []uint64{5}, 0, 2 * fillMin},
		{"repeated starvation reaches the ring size", 16384, []uint64{1, 2, 3, 4, 5, 6, 7}, 0, 16384},
		{"no change is not starvation", 16384, []uint64{3, 3}, 0, 2 * fillMin},
		{"quiet spell halves", 16384, []uint64{1, 2}, quietLooks, 2 * fillMin},
		{"short quiet keeps", 16384, []uint64{1, 2}, quietLooks - 1, 4 * fillMin},
		{"never below the start", 16384, nil, 5 * quietLooks, fillMin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFillLevel(tt.size)
			var last uint64
			for _, e := range tt.steps {
				l.observe(e)
				last = e
			}
			for range tt.quiet {
				l.observe(last)
			}
			if l.target != tt.want {
				t.Fatalf("target = %d, want %d", l.target, tt.want)
			}
		})
	}
}

// TestFillLevelTick checks that adapt is due once every adaptEvery calls.
func TestFillLevelTick(t *testing.T) {
	l := newFillLevel(16384)
	due := 0
	for range 3 * adaptEvery {
		if l.tick() {
			due++
		}
	}
	if due != 3 {
		t.Fatalf("due %d times in %d calls, want 3", due, 3*adaptEvery)
	}
}
