package mem

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/pkt"
)

// sendAll sends frames through tx in full vectors and returns what rx got.
func sendAll(t *testing.T, c *pkt.Cache, tx, rx *Port, frames [][]byte) [][]byte {
	t.Helper()
	var got [][]byte
	for len(frames) > 0 {
		n := min(len(frames), pkt.VectorSize)
		var v pkt.Vector
		load(t, c, &v, frames[:n])
		tx.Send(c, &v)
		frames = frames[n:]
		got = append(got, drain(rx, c)...)
	}
	return got
}

func TestFaults(t *testing.T) {
	const n, p = 20000, 0.1
	seq := func(f []byte) uint32 { return binary.BigEndian.Uint32(f) }
	tests := []struct {
		name  string
		cfg   Config
		count func(FaultStats) uint64
		rate  float64 // expected events per frame
		// check verifies what arrived against what was sent and the count.
		check func(t *testing.T, sent, got [][]byte, count uint64)
	}{
		{"loss", Config{Loss: p}, func(f FaultStats) uint64 { return f.Lost }, p,
			func(t *testing.T, sent, got [][]byte, count uint64) {
				if uint64(len(got)) != n-count {
					t.Errorf("received %d, want %d - %d lost", len(got), n, count)
				}
				k := 0 // what arrived is a subsequence, intact
				for _, f := range got {
					for k < len(sent) && seq(sent[k]) != seq(f) {
						k++
					}
					if k == len(sent) || !bytes.Equal(sent[k], f) {
						t.Fatalf("frame seq %d out of order or damaged", seq(f))
					}
				}
			}},
		{"duplicate", Config{Duplicate: p}, func(f FaultStats) uint64 { return f.Duplicated }, p,
			func(t *testing.T, sent, got [][]byte, count uint64) {
				dups := uint64(0)
				for k := 1; k < len(got); k++ {
					if bytes.Equal(got[k], got[k-1]) {
						dups++
					}
				}
				if uint64(len(got)) != n+count || dups != count {
					t.Errorf("received %d with %d repeats, want %d and %d", len(got), dups, n+count, count)
				}
			}},
		{"reorder", Config{Reorder: p}, func(f FaultStats) uint64 { return f.Reordered }, p / (1 + p),
			func(t *testing.T, sent, got [][]byte, count uint64) {
				inv := uint64(0)
				for k := 1; k < len(got); k++ {
					if seq(got[k]) < seq(got[k-1]) {
						inv++
						if seq(got[k])+1 != seq(got[k-1]) {
							t.Fatalf("frame %d moved further than one place", seq(got[k]))
						}
					}
				}
				if len(got) != n || inv != count {
					t.Errorf("received %d with %d inversions, want %d and %d", len(got), inv, n, count)
				}
			}},
		{"corrupt", Config{Corrupt: p}, func(f FaultStats) uint64 { return f.Corrupted }, p,
			func(t *testing.T, sent, got [][]byte, count uint64) {
				bad := uint64(0)
				for k := range got {
					diff := 0
					for j := range got[k] {
						if got[k][j] != sent[k][j] {
							diff++
						}
					}
					if diff > 1 {
						t.Fatalf("frame %d has %d bytes changed, want at most 1", k, diff)
					}
					bad += uint64(diff)
				}
				if len(got) != n || bad != count {
					t.Errorf("received %d with %d corrupted, want %d and %d", len(got), bad, n, count)
				}
			}},
		{"truncate", Config{Truncate: p}, func(f FaultStats) uint64 { return f.Truncated }, p,
			func(t *testing.T, sent, got [][]byte, count uint64) {
				short := uint64(0)
				for k := range got {
					if !bytes.HasPrefix(sent[k], got[k]) {
						t.Fatalf("frame %d is not a prefix of what was sent", k)
					}
					if len(got[k]) < len(sent[k]) {
						short++
					}
				}
				if len(got) != n || short != count {
					t.Errorf("received %d with %d truncated, want %d and %d", len(got), short, n, count)
				}
			}},
	}
	pool := newPool(t, 2048)
	c := pool.NewCache()
	sent := make([][]byte, n)
	for k := range sent {
		sent[k] = frame(uint32(k), 64+k%200)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var faults [2]FaultStats
			for run := range faults {
				cfg := tc.cfg
				cfg.Seed = 42
				a, b := NewPair(cfg, Config{})
				got := sendAll(t, c, a, b, sent)
				faults[run] = a.Faults()
				count := tc.count(faults[run])
				if lo, hi := 0.8*tc.rate*n, 1.2*tc.rate*n; float64(count) < lo || float64(count) > hi {
					t.Errorf("%d events in %d frames, want %.0f..%.0f", count, n, lo, hi)
				}
				if other := faults[run].Lost + faults[run].Duplicated + faults[run].Reordered +
					faults[run].Corrupted + faults[run].Truncated - count; other != 0 {
					t.Errorf("%d events of other kinds: %+v", other, faults[run])
				}
				tc.check(t, sent, got, count)
				if st := a.Stats(); st.TxPackets != n || st.TxDrops != 0 {
					t.Errorf("sender stats %+v, want %d sent and no drops", st, n)
				}
			}
			if faults[0] != faults[1] {
				t.Errorf("same seed, different faults: %+v then %+v", faults[0], faults[1])
			}
		})
	}
}

func TestFaultConfigRejected(t *testing.T) {
	for _, cfg := range []Config{{Loss: -0.1}, {Corrupt: 1.5}, {Reorder: 2}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPort(%+v) did not panic", cfg)
				}
			}()
			NewPort(cfg)
		}()
	}
}
