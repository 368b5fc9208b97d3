package pkt

import (
	"fmt"
	"sync"
)

// The leak registry lets a test binary prove, once all its tests ran, that
// every buffer of every pool came back (allocated == free + in flight, with
// nothing in flight). It is off unless TrackLeaks was called, so production
// pools cost nothing; pkttest.Main turns it on for a package's TestMain.
var leaks struct {
	mu      sync.Mutex
	on      bool
	live    map[*Pool]struct{} // pools made since TrackLeaks and not yet closed
	reports []string           // leaks found when pools closed
}

// TrackLeaks makes every pool created from now on register itself, so that
// Leaks can check it. Call it before the tests run (pkttest.Main does).
func TrackLeaks() {
	leaks.mu.Lock()
	leaks.on = true
	if leaks.live == nil {
		leaks.live = map[*Pool]struct{}{}
	}
	leaks.mu.Unlock()
}

func trackPool(p *Pool) {
	leaks.mu.Lock()
	if leaks.on {
		leaks.live[p] = struct{}{}
	}
	leaks.mu.Unlock()
}

// Close checks the pool's accounting — no buffer in flight, every free slot
// on exactly one free list — then unmaps its arena. A leak is returned and,
// when TrackLeaks is on, also remembered for Leaks, so a test that ignores
// the error still fails its package's leak gate. Caches must be idle.
func (p *Pool) Close() error {
	err := p.audit()
	leaks.mu.Lock()
	if leaks.on {
		delete(leaks.live, p)
		if err != nil {
			leaks.reports = append(leaks.reports, err.Error())
		}
	}
	leaks.mu.Unlock()
	if cerr := p.arena.Close(); err == nil {
		err = cerr
	}
	return err
}

func (p *Pool) audit() error {
	if n := p.InUse(); n != 0 {
		return fmt.Errorf("pkt: %d buffers still in flight", n)
	}
	return p.Check()
}

// Leaks reports every leak found by Pool.Close since TrackLeaks, and audits
// the pools still open. It returns nil when every buffer came back.
func Leaks() error {
	leaks.mu.Lock()
	reports := append([]string(nil), leaks.reports...)
	var open []*Pool
	for p := range leaks.live {
		open = append(open, p)
	}
	leaks.mu.Unlock()
	for _, p := range open {
		if err := p.audit(); err != nil {
			reports = append(reports, "open pool: "+err.Error())
		}
	}
	if len(reports) == 0 {
		return nil
	}
	return fmt.Errorf("buffer leak gate: %d pools leaked: %v", len(reports), reports)
}
