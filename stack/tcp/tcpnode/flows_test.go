package tcpnode

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

func testFlowKey(k int) flowKey {
	return flowKeyOf(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1024+k%50000)),
		netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(k >> 16), byte(k >> 8)}), uint16(k)))
}

// TestFlowTable: set, claim, lookup and remove (only by the owner), with
// the shards growing and tombstones reused.
func TestFlowTable(t *testing.T) {
	ft := newFlowTable()
	const n = 5000
	for k := range n {
		ft.set(testFlowKey(k), k%3)
	}
	for k := range n {
		if got := ft.lookup(testFlowKey(k)); got != k%3 {
			t.Fatalf("key %d: owner %d, want %d", k, got, k%3)
		}
	}
	if got := ft.lookup(testFlowKey(n)); got != -1 {
		t.Fatalf("absent key: owner %d", got)
	}
	if owner, added := ft.claim(testFlowKey(1), 0); owner != 1 || added {
		t.Fatalf("claim of a taken key: %d %v", owner, added)
	}
	if owner, added := ft.claim(testFlowKey(n), 2); owner != 2 || !added {
		t.Fatalf("claim of a free key: %d %v", owner, added)
	}
	ft.remove(testFlowKey(1), 0) // not the owner: stays
	if got := ft.lookup(testFlowKey(1)); got != 1 {
		t.Fatalf("removed by another worker: owner %d", got)
	}
	for k := range n {
		ft.remove(testFlowKey(k), k%3)
	}
	for k := range n {
		if got := ft.lookup(testFlowKey(k)); got != -1 {
			t.Fatalf("key %d after remove: owner %d", k, got)
		}
	}
	if got := ft.len(); got != 1 {
		t.Fatalf("%d mappings left, want 1", got)
	}
	for round := range 20 { // churn through tombstones: no unbounded growth
		for k := range n {
			ft.set(testFlowKey(k), round%4)
		}
		for k := range n {
			ft.remove(testFlowKey(k), round%4)
		}
	}
	slots := 0
	for i := range ft.shards {
		slots += len(*ft.shards[i].slots.Load())
	}
	if slots > 4*n {
		t.Fatalf("%d slots for at most %d mappings", slots, n+1)
	}
}

// TestFlowTableConcurrent: a reader on another goroutine always finds the
// mappings that exist for the whole test while two writers add and remove
// others and grow the shards (run with -race).
func TestFlowTableConcurrent(t *testing.T) {
	ft := newFlowTable()
	const stable = 100
	for k := range stable {
		ft.set(testFlowKey(k), 1)
	}
	var writers, reader sync.WaitGroup
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for range 20 {
				for k := stable + w; k < 4000; k += 2 {
					ft.set(testFlowKey(k), w)
				}
				for k := stable + w; k < 4000; k += 2 {
					ft.remove(testFlowKey(k), w)
				}
			}
		}()
	}
	var stop atomic.Bool
	missed, lookups := -1, 0
	reader.Add(1)
	go func() {
		defer reader.Done()
		for !stop.Load() {
			for k := range stable {
				lookups++
				if ft.lookup(testFlowKey(k)) != 1 && missed < 0 {
					missed = k
				}
			}
		}
	}()
	writers.Wait()
	stop.Store(true)
	reader.Wait()
	if missed >= 0 {
		t.Fatalf("stable key %d not found during writes", missed)
	}
	if ft.len() != stable {
		t.Fatalf("%d mappings after the writers, want %d", ft.len(), stable)
	}
	t.Logf("%d lookups during the writes", lookups)
}
