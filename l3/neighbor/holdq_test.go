package neighbor

import "testing"

// TestHoldQueueVerdicts walks holdQueue.hold and unheldRoom through the
// GleanConfig policy for both address families: a target's first packet
// asks, the next ones within RetryNs do not, PerTarget caps a target,
// MaxTargets caps the targets, and requests for targets not held get
// MaxTargets per RetryNs window.
func TestHoldQueueVerdicts(t *testing.T) {
	t.Run("ipv4", func(t *testing.T) { testHoldQueue(t, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, [4]byte{10, 0, 0, 3}) })
	t.Run("ipv6", func(t *testing.T) {
		testHoldQueue(t, [16]byte{0x20, 1, 15: 1}, [16]byte{0x20, 1, 15: 2}, [16]byte{0x20, 1, 15: 3})
	})
}

func testHoldQueue[A addrBytes](t *testing.T, a, b, c A) {
	q := holdQueue[A]{cfg: GleanConfig{MaxTargets: 2, PerTarget: 3, RetryNs: 100, TimeoutNs: 1000}}
	for k, s := range []struct {
		port   uint16
		target A
		now    int64
		want   holdVerdict
	}{
		{0, a, 0, heldAsk},      // first packet for a: ask
		{0, a, 10, heldQuiet},   // within RetryNs
		{1, a, 10, heldAsk},     // same address on another port: another target
		{0, b, 20, dropTargets}, // two targets held already
		{0, a, 100, heldAsk},    // RetryNs after the last request: ask again
		{0, a, 150, dropFull},   // three held for (0, a)
	} {
		if got := q.hold(s.port, s.target, 0, s.now); got != s.want {
			t.Fatalf("step %d: hold(%d, %v) = %d, want %d", k, s.port, s.target, got, s.want)
		}
	}
	if p := q.find(0, a); p == nil || len(p.pkts) != 3 || p.lastReq != 100 {
		t.Fatalf("target (0, a) holds %+v", p)
	}
	// Requests for targets not held: MaxTargets (2) per RetryNs window.
	for k, want := range []bool{true, true, false} {
		if got := q.unheldRoom(200); got != want {
			t.Fatalf("unheld request %d: room %v, want %v", k, got, want)
		}
		if want {
			q.unheldSent++
		}
	}
	if !q.unheldRoom(300) {
		t.Fatal("no room in a new window")
	}
	q.remove(0)
	if q.hold(0, c, 0, 400) != heldAsk || len(q.targets) != 2 || len(q.spare) != 0 {
		t.Fatalf("a removed target's record was not reused: %d targets, %d spare", len(q.targets), len(q.spare))
	}
}
