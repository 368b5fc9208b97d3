package neighbor

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
)

// DAD defaults (RFC 4862 5.1: DupAddrDetectTransmits 1, RetransTimer 1 s).
const (
	DefaultDADTransmits = 1
	DefaultDADNs        = 1e9
)

// key6 names an IPv6 neighbour.
type key6 struct {
	port uint16
	ip   [16]byte
}

type rec6 struct {
	k       key6
	mac     [6]byte
	state   State
	probes  uint8
	due     int64
	updated time.Time
	live    bool
}

// dadJob is one address under duplicate address detection.
type dadJob struct {
	port      uint16
	prefix    netip.Prefix
	sent      int
	nextAt    int64
	confirmed bool // passed, assigned on the interface; waits for the FIB
}

// DADEvent is a finished duplicate address detection, for the log and
// "show interfaces".
type DADEvent struct {
	Port      uint16
	Addr      netip.Prefix
	Duplicate bool
	At        time.Time
}

// NDTable is the IPv6 neighbour table (RFC 4861), ND's side of the ARP
// Table: the same states, bounds and safe learning. A Neighbor
// Solicitation for one of our addresses creates (STALE) or updates its
// sender; an Advertisement creates an entry only when we solicited its
// target within SolicitNs, and otherwise only updates one. Entries age
// REACHABLE → STALE → PROBE (unicast solicitations) → deleted; learned
// entries are at most MaxEntries (a new one replaces a STALE or PROBE
// entry found within a bounded scan, or is refused and counted). Ageing
// visits at most sweepBudget entries per sweep, round robin. It also runs
// duplicate address detection (RFC 4862) for the addresses added with
// AddAddress: they stay tentative until DADTransmits solicitations went
// unanswered, and a duplicate is reported (DADEvents) and never used.
type NDTable struct {
	fib *fib.Table6
	ifs *iface.Table
	gen atomic.Uint64

	mu      sync.Mutex
	cfg     Config
	idx     map[key6]int32
	recs    []rec6
	free    []int32
	dynamic int
	cursor  int
	sol     [solSlots]solicit6
	dad     []dadJob
	events  []DADEvent
	lastRcl int64
	fibq    fibQueue[[16]byte] // FIB changes, queued while the FIB's writer is busy (fibsync.go)
	stats   Stats

	ra raSchedule // router advertisements (ra.go)
}

type solicit6 struct {
	k     key6
	until int64
}

// NewNDTable returns an empty table programming f and confirming DAD in ifs.
func NewNDTable(f *fib.Table6, ifs *iface.Table) *NDTable {
	t := &NDTable{fib: f, ifs: ifs, cfg: Config{}.WithDefaults(), idx: map[key6]int32{}}
	t.fibq = fibQueue[[16]byte]{fib: f, gen: &t.gen}
	return t
}

// SetConfig replaces the bounds and ageing times.
func (t *NDTable) SetConfig(c Config) {
	t.mu.Lock()
	t.cfg = c.WithDefaults()
	t.mu.Unlock()
}

// Gen is bumped when an entry is created or changes MAC.
func (t *NDTable) Gen() uint64 { return t.gen.Load() }

func solSlot6(k key6) int {
	h := uint32(k.port)*0x9e3779b1 ^ uint32(k.ip[12])<<24 ^ uint32(k.ip[13])<<16 ^ uint32(k.ip[14])<<8 ^ uint32(k.ip[15])
	h ^= uint32(k.ip[8])<<24 ^ uint32(k.ip[9])<<16 ^ uint32(k.ip[10])<<8 ^ uint32(k.ip[11])
	h ^= h >> 13
	h *= 0x85ebca6b
	return int(h>>16) & (solSlots - 1)
}

// Solicit records that we sent a solicitation for ip on port at now.
func (t *NDTable) Solicit(port uint16, ip [16]byte, now int64) {
	k := key6{port, ip}
	t.mu.Lock()
	t.sol[solSlot6(k)] = solicit6{k, now + t.cfg.SolicitNs}
	t.mu.Unlock()
}

// Observe applies one ND sender or target at graph time now: how is
// RequestForUs (a solicitation for our address: creates STALE), ReplyForUs
// (a solicited advertisement: creates REACHABLE only if we asked), or
// Overheard (an unsolicited advertisement: updates only).
func (t *NDTable) Observe(port uint16, ip [16]byte, mac [6]byte, how How, now int64) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fibq.pending) > 0 {
		t.fibq.flush(false)
	}
	k := key6{port, ip}
	if i, ok := t.idx[k]; ok {
		r := &t.recs[i]
		if r.state == StateStatic {
			return Static
		}
		res := Confirmed
		if r.mac != mac {
			r.mac = mac
			t.program(r, false)
			t.stats.Changed++
			res = Changed
		}
		r.updated = time.Now()
		if how == ReplyForUs {
			r.state, r.probes, r.due = StateReachable, 0, now+t.cfg.ReachableNs
		} else if res == Changed {
			r.state, r.due = StateStale, now+t.cfg.StaleNs
		}
		return res
	}
	switch how {
	case Overheard:
		return Ignored
	case ReplyForUs:
		s := t.sol[solSlot6(k)]
		if s.k != k || now > s.until {
			return Ignored
		}
	}
	if t.dynamic >= t.cfg.MaxEntries && !t.evict() {
		t.stats.Refused++
		return Full
	}
	st, due := StateStale, now+t.cfg.StaleNs
	if how == ReplyForUs {
		st, due = StateReachable, now+t.cfg.ReachableNs
	}
	t.alloc(rec6{k: k, mac: mac, state: st, due: due, updated: time.Now(), live: true}, false)
	t.dynamic++
	t.stats.Created++
	return Created
}

// program sets r's MAC in the FIB (on a worker, wait false, without
// waiting for the FIB's writer: fibQueue).
func (t *NDTable) program(r *rec6, wait bool) {
	t.fibq.set(fibOp[[16]byte]{port: r.k.port, ip: r.k.ip, mac: r.mac}, wait)
	t.gen.Add(1)
}

// alloc adds r and programs it (wait: see program).
func (t *NDTable) alloc(r rec6, wait bool) {
	var i int32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
		t.recs[i] = r
	} else {
		i = int32(len(t.recs))
		t.recs = append(t.recs, r)
	}
	t.idx[r.k] = i
	t.program(&t.recs[i], wait)
}

// remove deletes entry i from the table and the FIB (wait: see program).
func (t *NDTable) remove(i int32, wait bool) {
	r := &t.recs[i]
	delete(t.idx, r.k)
	t.fibq.set(fibOp[[16]byte]{port: r.k.port, ip: r.k.ip, del: true}, wait)
	if r.state != StateStatic {
		t.dynamic--
	}
	*r = rec6{}
	t.free = append(t.free, i)
}

// evict frees one STALE or PROBE entry found within a bounded scan from the
// ageing cursor; it reports whether it found one.
func (t *NDTable) evict() bool {
	n := len(t.recs)
	for j := 0; j < sweepBudget && j < n; j++ {
		i := int32((t.cursor + j) % n)
		r := &t.recs[i]
		if r.live && (r.state == StateStale || r.state == StateProbe) {
			t.remove(i, false)
			t.stats.Evicted++
			return true
		}
	}
	return false
}

// Probe6 is an aged IPv6 neighbour to re-confirm with a unicast solicitation.
type Probe6 struct {
	Port uint16
	IP   [16]byte
	MAC  [6]byte
}

// Age visits at most sweepBudget entries round robin at graph time now,
// moving the due ones on (REACHABLE → STALE → PROBE → deleted), and
// appends the unicast probes to send.
func (t *NDTable) Age(now int64, probes []Probe6) []Probe6 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fibq.pending) > 0 {
		t.fibq.flush(false)
	}
	n := len(t.recs)
	for j := 0; j < sweepBudget && n > 0; j++ {
		t.cursor = (t.cursor + 1) % n
		i := int32(t.cursor)
		r := &t.recs[i]
		if !r.live || r.state == StateStatic || now < r.due {
			continue
		}
		switch r.state {
		case StateReachable:
			r.state, r.due = StateStale, now+t.cfg.StaleNs
		case StateStale:
			r.state, r.probes, r.due = StateProbe, 1, now+t.cfg.ProbeNs
			probes = append(probes, Probe6{r.k.port, r.k.ip, r.mac})
		case StateProbe:
			if int(r.probes) >= t.cfg.Probes {
				t.remove(i, false)
				t.stats.Expired++
				continue
			}
			r.probes++
			r.due = now + t.cfg.ProbeNs
			probes = append(probes, Probe6{r.k.port, r.k.ip, r.mac})
		}
	}
	if now-t.lastRcl >= reclaimEvery && t.fib.TryReclaim() { // never wait for a writer (Table.Age)
		t.lastRcl = now
	}
	return probes
}

// AddStatic installs a configured neighbour that never ages.
func (t *NDTable) AddStatic(port uint16, ip [16]byte, mac [6]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key6{port, ip}
	if i, ok := t.idx[k]; ok {
		t.remove(i, true)
	}
	t.alloc(rec6{k: k, mac: mac, state: StateStatic, updated: time.Now(), live: true}, true)
}

// Delete removes the entry of ip on port.
func (t *NDTable) Delete(port uint16, ip [16]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.idx[key6{port, ip}]; ok {
		t.remove(i, true)
	}
}

// Get returns the entry of ip on port.
func (t *NDTable) Get(port uint16, ip [16]byte) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.idx[key6{port, ip}]
	if !ok {
		return Entry{}, false
	}
	return t.entry(i), true
}

func (t *NDTable) entry(i int32) Entry {
	r := &t.recs[i]
	return Entry{Port: r.k.port, IP: netip.AddrFrom16(r.k.ip), MAC: r.mac, State: r.state, Static: r.state == StateStatic, Updated: r.updated}
}

// List returns every entry.
func (t *NDTable) List() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Entry, 0, len(t.idx))
	for _, i := range t.idx {
		out = append(out, t.entry(i))
	}
	return out
}

// Stats returns the table's counts.
func (t *NDTable) Stats() Stats {
	t.mu.Lock()
	s := t.stats
	s.Entries, s.Limit = len(t.idx), t.cfg.MaxEntries
	for _, i := range t.idx {
		switch t.recs[i].state {
		case StateStatic:
			s.Static++
		case StateReachable:
			s.Reachable++
		case StateStale:
			s.Stale++
		case StateProbe:
			s.Probe++
		}
	}
	t.mu.Unlock()
	s.Adj = t.fib.AdjStats()
	return s
}

// StartDAD adds p to port as a tentative address and schedules duplicate
// address detection for it from graph time now; the address is assigned
// (interface and FIB) when it passes.
func (t *NDTable) StartDAD(port uint16, p netip.Prefix, now int64) error {
	if err := t.ifs.AddTentative6(port, p); err != nil {
		return err
	}
	t.mu.Lock()
	t.dad = append(t.dad, dadJob{port: port, prefix: p, nextAt: now})
	t.mu.Unlock()
	return nil
}

// DADSend is a solicitation (or, when Done, the unsolicited advertisement
// of a confirmed address) that a worker must send.
type DADSend struct {
	Port uint16
	Addr [16]byte
	Done bool
}

// DADDue returns, at graph time now, what is due: solicitations for
// tentative addresses (each claimed by one caller) and the addresses that
// passed (assigned before returning, for the caller to announce).
func (t *NDTable) DADDue(now int64, out []DADSend) []DADSend {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := 0; k < len(t.dad); k++ {
		j := &t.dad[k]
		if now < j.nextAt {
			continue
		}
		a := j.prefix.Addr()
		if j.sent >= DefaultDADTransmits {
			if !j.confirmed && !t.ifs.Confirm6(j.port, a, j.prefix.Bits()) {
				t.dad = append(t.dad[:k], t.dad[k+1:]...) // no longer tentative
				k--
				continue
			}
			j.confirmed = true
			// A worker never waits for the FIB's writer (fibsync.go):
			// while a batch holds the FIB, the next tick tries again.
			if done, _ := t.fib.TryAddConnected(j.port, j.prefix); !done {
				continue
			}
			job := *j // j points into t.dad, which the removal shifts
			j = &job
			t.dad = append(t.dad[:k], t.dad[k+1:]...)
			k--
			// Entries made before the prefix was on link (static ones
			// from the config) could not be programmed then.
			for i := range t.recs {
				if r := &t.recs[i]; r.live && r.k.port == j.port && j.prefix.Contains(netip.AddrFrom16(r.k.ip)) {
					t.program(r, false)
				}
			}
			t.events = append(t.events, DADEvent{Port: j.port, Addr: j.prefix, At: time.Now()})
			out = append(out, DADSend{Port: j.port, Addr: a.As16(), Done: true})
			continue
		}
		j.sent++
		j.nextAt = now + DefaultDADNs
		out = append(out, DADSend{Port: j.port, Addr: a.As16()})
	}
	return out
}

// Duplicate reports that another node claims tentative address a on port
// (it answered or solicited it): the address is dropped and the event
// recorded. It reports whether a was tentative there.
func (t *NDTable) Duplicate(port uint16, a [16]byte) bool {
	addr := netip.AddrFrom16(a)
	if !t.ifs.Abandon6(port, addr) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, j := range t.dad {
		if j.port == port && j.prefix.Addr() == addr {
			t.events = append(t.events, DADEvent{Port: port, Addr: j.prefix, Duplicate: true, At: time.Now()})
			t.dad = append(t.dad[:k], t.dad[k+1:]...)
			break
		}
	}
	return true
}

// DADEvents returns the finished detections, oldest first.
func (t *NDTable) DADEvents() []DADEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]DADEvent(nil), t.events...)
}

// DADPending reports how many addresses are still tentative, or passed
// and wait for the FIB.
func (t *NDTable) DADPending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.dad)
}
