package graph

import "testing"

// TestAllEqual checks the four-at-a-time scan Enqueue uses against a plain
// loop, for every length up to 11 and a difference at every position.
func TestAllEqual(t *testing.T) {
	for n := 1; n <= 11; n++ {
		s := make([]uint16, n)
		for k := range s {
			s[k] = 7
		}
		if !allEqual(s) {
			t.Fatalf("len %d, all 7: got false", n)
		}
		for at := 1; at < n; at++ {
			s[at] = 3
			if allEqual(s) {
				t.Fatalf("len %d, differs at %d: got true", n, at)
			}
			s[at] = 7
		}
	}
}
