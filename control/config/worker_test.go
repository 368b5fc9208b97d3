package config

import (
	"strings"
	"testing"
	"time"
)

// TestWorkerKnobs: worker_spin and worker_rt_priority parse, take their
// defaults when absent, reject out-of-range values and survive Marshal.
func TestWorkerKnobs(t *testing.T) {
	const ifs = "interfaces:\n  - {name: x, driver: afxdp}\n"
	for _, tc := range []struct {
		yaml string
		spin time.Duration
		rt   int
	}{
		{"", 0, 0},
		{"worker_spin: 50us\nworker_rt_priority: 10\n", 50 * time.Microsecond, 10},
		{"worker_spin: off\n", -1, 0},
		{"worker_spin: 0\n", -1, 0},
		{"worker_spin: 0s\n", -1, 0},
	} {
		c, err := Parse("w.yaml", []byte(tc.yaml+ifs))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if c.WorkerSpin != tc.spin || c.WorkerRTPriority != tc.rt {
			t.Errorf("%q: spin %v rt %d, want %v %d", tc.yaml, c.WorkerSpin, c.WorkerRTPriority, tc.spin, tc.rt)
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := Parse("w2.yaml", b)
		if err != nil {
			t.Fatalf("%q: reparse %v:\n%s", tc.yaml, err, b)
		}
		if c2.WorkerSpin != c.WorkerSpin || c2.WorkerRTPriority != c.WorkerRTPriority {
			t.Errorf("%q: round trip gave spin %v rt %d:\n%s", tc.yaml, c2.WorkerSpin, c2.WorkerRTPriority, b)
		}
		if tc.yaml == "" && strings.Contains(string(b), "worker_") {
			t.Errorf("defaults marshalled:\n%s", b)
		}
	}
	for _, bad := range []struct{ yaml, want string }{
		{"worker_spin: 2s\n", "out of range"},
		{"worker_spin: soon\n", "not a duration"},
		{"worker_rt_priority: 100\n", "out of range"},
		{"worker_rt_priority: -1\n", "out of range"},
	} {
		_, err := Parse("w.yaml", []byte(bad.yaml+ifs))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err %v, want %q", bad.yaml, err, bad.want)
		}
	}
}
