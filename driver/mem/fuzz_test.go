package mem

import (
	"testing"
)

// FuzzFaults drives one link with arbitrary fault probabilities, seed and
// frame lengths. Invariants: frames received = sent - lost + duplicated;
// every received frame comes from a sent one, truncated to a prefix or with
// at most one byte changed; the buffers all return to the pool; a second run
// with the same inputs injects the same faults.
func FuzzFaults(f *testing.F) {
	f.Add(uint64(1), byte(25), byte(25), byte(25), byte(25), byte(25), []byte{60, 0, 200, 1})
	f.Add(uint64(7), byte(255), byte(0), byte(255), byte(0), byte(255), []byte{0, 1, 2})
	f.Add(uint64(0), byte(0), byte(255), byte(0), byte(255), byte(0), []byte{255})
	pool := newPool(f, 1024)
	f.Fuzz(func(t *testing.T, seed uint64, loss, dup, reorder, corrupt, trunc byte, lens []byte) {
		if len(lens) > 300 {
			lens = lens[:300]
		}
		c := pool.NewCache()
		defer c.Flush()
		cfg := Config{QueueLen: 2 * 300, Seed: seed, Loss: float64(loss) / 255, Duplicate: float64(dup) / 255,
			Reorder: float64(reorder) / 255, Corrupt: float64(corrupt) / 255, Truncate: float64(trunc) / 255}
		sent := make([][]byte, len(lens))
		for k, l := range lens {
			sent[k] = frame(uint32(k), 4+int(l))
		}
		var faults [2]FaultStats
		for run := range faults {
			a, b := NewPair(cfg, Config{})
			got := sendAll(t, c, a, b, sent)
			fs := a.Faults()
			faults[run] = fs
			if uint64(len(got)) != uint64(len(sent))-fs.Lost+fs.Duplicated {
				t.Fatalf("received %d of %d with %+v", len(got), len(sent), fs)
			}
			for _, g := range got {
				if !fromSent(g, sent) {
					t.Fatalf("received a frame of %d bytes that was never sent", len(g))
				}
			}
		}
		if faults[0] != faults[1] {
			t.Fatalf("same seed, different faults: %+v, %+v", faults[0], faults[1])
		}
	})
}

// fromSent reports whether g is a sent frame, possibly cut to a prefix,
// with at most one byte changed.
func fromSent(g []byte, sent [][]byte) bool {
	for _, s := range sent {
		if len(g) > len(s) {
			continue
		}
		diff := 0
		for k := range g {
			if g[k] != s[k] {
				diff++
			}
		}
		if diff <= 1 {
			return true
		}
	}
	return false
}
