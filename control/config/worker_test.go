package config

import (
	"strings"
	"testing"
	"time"
)

// TestWorkerKnobs: worker_spin, worker_rt_priority and worker_thread parse, take their
// defaults when absent, reject out-of-range values and survive Marshal.
func TestWorkerKnobs(t *testing.T) {
	const ifs = "interfaces:\n  - {name: x, driver: afxdp}\n"
	for _, tc := range []struct {
		yaml   string
		spin   time.Duration
		rt     int
		shared bool
	}{
		{"", 0, 0, false},
		{"worker_spin: 50us\nworker_rt_priority: 10\n", 50 * time.Microsecond, 10, false},
		{"worker_spin: off\n", -1, 0, false},
		{"worker_spin: 0\n", -1, 0, false},
		{"worker_spin: 0s\n", -1, 0, false},
		{"worker_thread: dedicated\n", 0, 0, false},
		{"worker_thread: shared\n", 0, 0, true},
	} {
		c, err := Parse("w.yaml", []byte(tc.yaml+ifs))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if c.WorkerSpin != tc.spin || c.WorkerRTPriority != tc.rt || c.WorkerShared != tc.shared {
			t.Errorf("%q: spin %v rt %d shared %v, want %v %d %v", tc.yaml, c.WorkerSpin, c.WorkerRTPriority, c.WorkerShared, tc.spin, tc.rt, tc.shared)
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := Parse("w2.yaml", b)
		if err != nil {
			t.Fatalf("%q: reparse %v:\n%s", tc.yaml, err, b)
		}
		if c2.WorkerSpin != c.WorkerSpin || c2.WorkerRTPriority != c.WorkerRTPriority || c2.WorkerShared != c.WorkerShared {
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
		{"worker_thread: spare\n", "want dedicated or shared"},
	} {
		_, err := Parse("w.yaml", []byte(bad.yaml+ifs))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

// TestBusyPollKeys: an afxdp interface's busy-poll keys parse and survive
// Marshal; other drivers reject them.
func TestBusyPollKeys(t *testing.T) {
	c, err := Parse("b.yaml", []byte("interfaces:\n  - {name: x, driver: afxdp, busy_poll: 20, busy_poll_budget: 64, prefer_busy_poll: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ic := c.Interfaces[0]
	if ic.BusyPollUsecs != 20 || ic.BusyPollBudget != 64 || !ic.PreferBusyPoll {
		t.Fatalf("parsed %+v", ic)
	}
	b, _ := Marshal(c)
	c2, err := Parse("b2.yaml", b)
	if err != nil || c2.Interfaces[0].BusyPollUsecs != 20 || c2.Interfaces[0].BusyPollBudget != 64 || !c2.Interfaces[0].PreferBusyPoll {
		t.Fatalf("round trip %v:\n%s", err, b)
	}
	for _, bad := range []string{
		"interfaces:\n  - {name: x, driver: afxdp, busy_poll: 20000}\n",
		"interfaces:\n  - {name: x, driver: afxdp, prefer_busy_poll: maybe}\n",
		"interfaces:\n  - {name: x, driver: afpacket, busy_poll: 20}\n",
	} {
		if _, err := Parse("b.yaml", []byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
