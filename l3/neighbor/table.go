// Package neighbor resolves IPv4 next hops to MAC addresses with ARP
// (RFC 826): arp-input answers requests for the router's addresses and
// learns senders; ip4-glean holds packets whose next hop is unresolved in a
// bounded per-worker queue, asks with an ARP request, and releases them to
// ip4-lookup when the answer arrives (on any worker). Learned entries go
// into a bounded, aged Table (for "show neighbors") and into the FIB, which
// turns incomplete adjacencies into complete rewrites.
//
// # Learning (RFC 826, as Linux and VPP narrow it)
//
// An ARP packet whose sender lies on the receiving interface's subnet
// updates the sender's entry if there is one (the "merge" step). It creates
// one only when it is a request for one of our addresses, or a reply to us
// that we solicited (ip4-glean or a probe sent a request for that address
// within Config.SolicitNs). Requests and replies for us confirm the entry.
//
// # Ageing (Linux NUD states, VPP's ip-neighbor age)
//
// A confirmed entry is REACHABLE for ReachableNs, then STALE (still used
// for forwarding) for StaleNs, then PROBE: up to Probes unicast requests,
// ProbeNs apart; any confirmation makes it REACHABLE again, no answer
// deletes it (its FIB /32 and adjacency go). Learned entries are at most
// MaxEntries; a new one evicts the oldest STALE (then PROBE) entry, and is
// refused (counted) when every entry is REACHABLE. Static entries never
// age and do not count against the limit.
//
// # Cost
//
// Every state keeps its entries in a list ordered by deadline, so ageing
// touches only the entries that are due (at most sweepBudget per sweep);
// learning is a map lookup and, for a MAC change, one FIB adjacency store
// (fib.Table.SetNeighbor). Nothing is O(N) on a worker, and a worker never
// waits for the FIB's writer: a change it cannot make at once is queued
// (fibsync.go).
package neighbor

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/l3/fib"
)

// Defaults of Config.
const (
	DefaultMaxEntries  = 16384
	DefaultReachableNs = 30e9
	DefaultStaleNs     = 60e9
	DefaultProbeNs     = 1e9
	DefaultProbes      = 3
	DefaultSolicitNs   = 3e9
)

const (
	sweepBudget   = 64      // entries one sweep may change
	sweepInterval = 10e6    // ns between sweeps (a worker tick)
	reclaimEvery  = 1e9     // ns between fib.Table.Reclaim calls
	solSlots      = 1 << 12 // solicitation records (hashed, lossy)
	noEntry       = int32(-1)
)

// Config bounds and ages the table. Zero fields take the defaults.
type Config struct {
	// MaxEntries bounds learned entries (static ones are not counted);
	// default 16384 (Linux's gc_thresh3 is 1024, VPP's limit 50000).
	MaxEntries int
	// ReachableNs: how long a confirmed entry is REACHABLE; default 30 s
	// (Linux's base_reachable_time).
	ReachableNs int64
	// StaleNs: how long a STALE entry is kept before it is probed;
	// default 60 s (Linux's gc_stale_time).
	StaleNs int64
	// ProbeNs: the gap between unicast probes; default 1 s
	// (retrans_time).
	ProbeNs int64
	// Probes: unanswered probes before the entry is deleted; default 3
	// (ucast_solicit).
	Probes int
	// SolicitNs: how long after we sent a request a reply from that
	// address may create an entry; default 3 s.
	SolicitNs int64
}

// WithDefaults returns c with zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	orDefault(&c.MaxEntries, DefaultMaxEntries)
	orDefault(&c.ReachableNs, DefaultReachableNs)
	orDefault(&c.StaleNs, DefaultStaleNs)
	orDefault(&c.ProbeNs, DefaultProbeNs)
	orDefault(&c.Probes, DefaultProbes)
	orDefault(&c.SolicitNs, DefaultSolicitNs)
	return c
}

// orDefault sets a configuration field left zero (or negative) to def.
func orDefault[T int | int64](field *T, def T) {
	if *field <= 0 {
		*field = def
	}
}

// State is an entry's neighbour state.
type State uint8

// Entry states.
const (
	// StateReachable: confirmed within ReachableNs.
	StateReachable State = iota
	// StateStale: not confirmed lately; still forwarded to.
	StateStale
	// StateProbe: unicast requests are out; deleted if none is answered.
	StateProbe
	// StateStatic: configured; never aged.
	StateStatic
	numLists = StateStatic // states with an ageing list
)

var stateNames = [...]string{"reachable", "stale", "probe", "static"}

// String returns the state's lower-case name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state?"
}

// Entry is one neighbour, as List returns it.
type Entry struct {
	Port   uint16
	IP     netip.Addr
	MAC    [6]byte
	State  State
	Static bool
	// Updated is the wall-clock time of the last confirmation or change.
	Updated time.Time
}

// Stats are the table's counts, for "show neighbors" and the soak's
// growth checks.
type Stats struct {
	Entries                 int // all entries, static included
	Static                  int
	Reachable, Stale, Probe int
	Limit                   int // Config.MaxEntries
	// Totals since start.
	Created, Changed, Evicted, Expired, Refused uint64
	// Adj are the FIB's adjacency counts.
	Adj fib.AdjStats
}

type key struct {
	port uint16
	ip   [4]byte
}

type rec struct {
	k          key
	mac        [6]byte
	state      State
	probes     uint8
	due        int64 // when the entry's list next needs it
	updated    time.Time
	prev, next int32
}

type list struct{ head, tail int32 }

type solicit struct {
	k     key
	until int64
}

// Table is the neighbour table. It is safe for concurrent use: arp-input
// (once per vector), ip4-glean's requests and timer, and the control plane
// take its mutex; the forwarding path never does (it reads the FIB). The
// FIB is programmed under the same mutex, so two workers learning one
// address with different MACs leave the FIB on the MAC the table holds.
type Table struct {
	fib *fib.Table
	gen atomic.Uint64 // bumped when an entry is created or changes MAC
	// nextSweep is read without the mutex so that idle ticks cost no lock.
	nextSweep atomic.Int64

	mu          sync.Mutex
	cfg         Config
	idx         map[key]int32
	recs        []rec
	free        []int32
	lists       [numLists]list
	counts      [numLists]int
	dynamic     int
	static      int
	nextReclaim int64
	fibq        fibQueue[[4]byte] // FIB changes, queued while the FIB's writer is busy (fibsync.go)
	sol         [solSlots]solicit
	st          Stats
}

// NewTable returns a table with the default Config that also programs f.
func NewTable(f *fib.Table) *Table {
	t := &Table{fib: f, idx: map[key]int32{}, cfg: Config{}.WithDefaults()}
	t.fibq = fibQueue[[4]byte]{fib: f, gen: &t.gen}
	for i := range t.lists {
		t.lists[i] = list{noEntry, noEntry}
	}
	return t
}

// SetConfig replaces the limits and ageing times (zero fields: defaults).
// Entries over a lowered limit go as they age; call it before traffic.
func (t *Table) SetConfig(c Config) {
	t.mu.Lock()
	t.cfg = c.WithDefaults()
	t.mu.Unlock()
}

// Config returns the table's configuration.
func (t *Table) Config() Config {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg
}

// Gen returns a number that changes whenever an entry is created or
// changes MAC: glean queues on other workers compare it on their timer to
// release packets resolved elsewhere.
func (t *Table) Gen() uint64 { return t.gen.Load() }

// How tells Observe what kind of ARP packet the sender sent.
type How uint8

// How values.
const (
	// RequestForUs: a request whose target is our address; creates and
	// confirms.
	RequestForUs How = iota
	// ReplyForUs: a reply to our address; confirms, creates only if we
	// solicited it.
	ReplyForUs
	// Overheard: any other ARP (gratuitous, for another host); only
	// updates an existing entry (RFC 826 merge), without confirming it.
	Overheard
)

// Result is what Observe did.
type Result uint8

// Results.
const (
	// Ignored: no entry and not allowed to create one (unsolicited reply,
	// overheard), or nothing changed on an overheard sender.
	Ignored Result = iota
	// Created a new entry.
	Created
	// Changed the MAC of an existing entry.
	Changed
	// Confirmed an existing entry (same MAC).
	Confirmed
	// Full: the table holds MaxEntries reachable entries; nothing created.
	Full
	// Static: a static entry was left as configured.
	Static
)

// Observation is one ARP sender for ObserveBatch; Result is filled in.
type Observation struct {
	Port   uint16
	IP     [4]byte
	MAC    [6]byte
	How    How
	Result Result
}

// Learn records ip -> mac on port as if a request for our address came
// from it, at graph time now.
func (t *Table) Learn(port uint16, ip [4]byte, mac [6]byte, now int64) Result {
	o := [1]Observation{{Port: port, IP: ip, MAC: mac, How: RequestForUs}}
	t.ObserveBatch(o[:], now)
	return o[0].Result
}

// ObserveBatch applies the senders of one vector of ARP packets under one
// lock, at graph time now, and sets each Result.
func (t *Table) ObserveBatch(obs []Observation, now int64) {
	t.mu.Lock()
	if len(t.fibq.pending) > 0 {
		t.fibq.flush(false)
	}
	for k := range obs {
		o := &obs[k]
		o.Result = t.observe(key{o.Port, o.IP}, o.MAC, o.How, now)
	}
	t.mu.Unlock()
}

func (t *Table) observe(k key, mac [6]byte, how How, now int64) Result {
	if i, ok := t.idx[k]; ok {
		r := &t.recs[i]
		if r.state == StateStatic {
			return Static
		}
		changed := r.mac != mac
		if changed {
			r.mac = mac
			r.updated = time.Now()
			t.st.Changed++
			t.fibq.set(fibOp[[4]byte]{port: k.port, ip: k.ip, mac: mac}, false)
			t.gen.Add(1)
		}
		switch {
		case how != Overheard:
			t.confirm(i, now)
		case changed && r.state == StateReachable:
			// An unconfirmed change: keep using it, but check it soon.
			t.move(i, StateStale, now+t.cfg.StaleNs)
		}
		switch {
		case changed:
			return Changed
		case how != Overheard:
			return Confirmed
		}
		return Ignored
	}
	if how == Overheard || how == ReplyForUs && !t.solicited(k, now) {
		return Ignored
	}
	if t.dynamic >= t.cfg.MaxEntries && !t.evict() {
		t.st.Refused++
		return Full
	}
	i := t.alloc(k, mac)
	t.recs[i].state = StateReachable
	t.push(i, StateReachable, now+t.cfg.ReachableNs)
	t.dynamic++
	t.st.Created++
	t.fibq.set(fibOp[[4]byte]{port: k.port, ip: k.ip, mac: mac}, false)
	t.gen.Add(1)
	return Created
}

// confirm makes entry i REACHABLE from now.
func (t *Table) confirm(i int32, now int64) {
	t.recs[i].probes = 0
	t.recs[i].updated = time.Now()
	t.move(i, StateReachable, now+t.cfg.ReachableNs)
}

// evict deletes the oldest STALE, else the oldest PROBE entry.
func (t *Table) evict() bool {
	for _, s := range [...]State{StateStale, StateProbe} {
		if i := t.lists[s].head; i != noEntry {
			t.st.Evicted++
			t.remove(i, false)
			return true
		}
	}
	return false
}

func (t *Table) alloc(k key, mac [6]byte) int32 {
	var i int32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		t.recs = append(t.recs, rec{})
		i = int32(len(t.recs) - 1)
	}
	t.recs[i] = rec{k: k, mac: mac, updated: time.Now(), prev: noEntry, next: noEntry}
	t.idx[k] = i
	return i
}

// remove deletes entry i from the table and the FIB (on a worker, wait
// false, without waiting for the FIB's writer: fibQueue).
func (t *Table) remove(i int32, wait bool) {
	r := &t.recs[i]
	if r.state == StateStatic {
		t.static--
	} else {
		t.unlink(i)
		t.dynamic--
	}
	delete(t.idx, r.k)
	t.fibq.set(fibOp[[4]byte]{port: r.k.port, ip: r.k.ip, del: true}, wait)
	t.free = append(t.free, i)
}

// push appends i to state s's list with deadline due (lists stay ordered:
// every caller's due is at least that of the list's tail).
func (t *Table) push(i int32, s State, due int64) {
	r := &t.recs[i]
	r.state, r.due, r.next = s, due, noEntry
	l := &t.lists[s]
	t.counts[s]++
	r.prev = l.tail
	if l.tail != noEntry {
		t.recs[l.tail].next = i
	} else {
		l.head = i
	}
	l.tail = i
}

func (t *Table) unlink(i int32) {
	r := &t.recs[i]
	l := &t.lists[r.state]
	t.counts[r.state]--
	if r.prev != noEntry {
		t.recs[r.prev].next = r.next
	} else {
		l.head = r.next
	}
	if r.next != noEntry {
		t.recs[r.next].prev = r.prev
	} else {
		l.tail = r.prev
	}
	r.prev, r.next = noEntry, noEntry
}

func (t *Table) move(i int32, s State, due int64) {
	t.unlink(i)
	t.push(i, s, due)
}

func solSlot(k key) int {
	h := uint32(k.ip[0])<<24 | uint32(k.ip[1])<<16 | uint32(k.ip[2])<<8 | uint32(k.ip[3])
	h ^= uint32(k.port) * 0x9e3779b9
	h *= 0x85ebca6b
	return int(h >> (32 - 12))
}

// Solicit records that a request for ip went out of port at graph time
// now: a reply within SolicitNs may create the entry. The record is
// hashed into a fixed array (a flood of requests overwrites older records;
// their targets' next request records them again).
func (t *Table) Solicit(port uint16, ip [4]byte, now int64) {
	t.mu.Lock()
	t.solicit(key{port, ip}, now)
	t.mu.Unlock()
}

func (t *Table) solicit(k key, now int64) {
	t.sol[solSlot(k)] = solicit{k, now + t.cfg.SolicitNs}
}

func (t *Table) solicited(k key, now int64) bool {
	s := &t.sol[solSlot(k)]
	return s.k == k && now < s.until
}

// Probe is a unicast request the ageing sweep wants sent.
type Probe struct {
	Port uint16
	IP   [4]byte
	MAC  [6]byte
}

// Age runs the ageing sweep if one is due at graph time now (every 10 ms;
// any worker's timer may call it, only one sweeps). It moves at most
// sweepBudget due entries on (REACHABLE to STALE, STALE to PROBE, PROBE to
// another probe or deletion), appends the probes to send to probes and
// returns it; every second it lets the FIB reuse freed adjacencies
// (fib.Table.TryReclaim: not while a writer holds the FIB, the sweep after
// that does).
func (t *Table) Age(now int64, probes []Probe) []Probe {
	if now < t.nextSweep.Load() {
		return probes
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if now < t.nextSweep.Load() {
		return probes
	}
	t.nextSweep.Store(now + sweepInterval)
	if len(t.fibq.pending) > 0 {
		t.fibq.flush(false)
	}
	budget := sweepBudget
	for l := &t.lists[StateReachable]; budget > 0 && l.head != noEntry && t.recs[l.head].due <= now; budget-- {
		t.move(l.head, StateStale, now+t.cfg.StaleNs)
	}
	for l := &t.lists[StateStale]; budget > 0 && l.head != noEntry && t.recs[l.head].due <= now; budget-- {
		probes = t.probe(l.head, now, probes)
	}
	for l := &t.lists[StateProbe]; budget > 0 && l.head != noEntry && t.recs[l.head].due <= now; budget-- {
		i := l.head
		if int(t.recs[i].probes) >= t.cfg.Probes {
			t.st.Expired++
			t.remove(i, false)
			continue
		}
		probes = t.probe(i, now, probes)
	}
	// A worker never waits for the FIB's writer (a batch of route changes
	// may hold it for a large fraction of a second): when it is busy, the
	// next sweep tries again.
	if now >= t.nextReclaim && t.fib.TryReclaim() {
		t.nextReclaim = now + reclaimEvery
	}
	return probes
}

// probe sends (by returning it) one more unicast request for entry i.
func (t *Table) probe(i int32, now int64, probes []Probe) []Probe {
	r := &t.recs[i]
	r.probes++
	t.move(i, StateProbe, now+t.cfg.ProbeNs)
	t.solicit(r.k, now)
	return append(probes, Probe{Port: r.k.port, IP: r.k.ip, MAC: r.mac})
}

// AddStatic installs a static entry (it replaces a learned one).
func (t *Table) AddStatic(port uint16, ip [4]byte, mac [6]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key{port, ip}
	i, ok := t.idx[k]
	if ok && t.recs[i].state != StateStatic {
		t.unlink(i)
		t.dynamic--
		t.static++
	} else if !ok {
		i = t.alloc(k, mac)
		t.static++
	}
	r := &t.recs[i]
	r.state, r.mac, r.updated = StateStatic, mac, time.Now()
	t.fibq.set(fibOp[[4]byte]{port: port, ip: ip, mac: mac}, true)
	t.gen.Add(1)
}

// Delete removes an entry.
func (t *Table) Delete(port uint16, ip [4]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.idx[key{port, ip}]; ok {
		t.remove(i, true)
	}
}

// Lookup returns the MAC of ip on port.
func (t *Table) Lookup(port uint16, ip [4]byte) ([6]byte, bool) {
	e, ok := t.Get(port, ip)
	return e.MAC, ok
}

// Get returns the entry of ip on port.
func (t *Table) Get(port uint16, ip [4]byte) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.idx[key{port, ip}]; ok {
		return t.entry(i), true
	}
	return Entry{}, false
}

func (t *Table) entry(i int32) Entry {
	r := &t.recs[i]
	return Entry{Port: r.k.port, IP: netip.AddrFrom4(r.k.ip), MAC: r.mac, State: r.state, Static: r.state == StateStatic, Updated: r.updated}
}

// List returns every entry sorted by port and address.
func (t *Table) List() []Entry {
	t.mu.Lock()
	out := make([]Entry, 0, len(t.idx))
	for _, i := range t.idx {
		out = append(out, t.entry(i))
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int {
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return a.IP.Compare(b.IP)
	})
	return out
}

// Stats returns the counts.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	s := t.st
	s.Entries, s.Static, s.Limit = len(t.idx), t.static, t.cfg.MaxEntries
	s.Reachable, s.Stale, s.Probe = t.counts[StateReachable], t.counts[StateStale], t.counts[StateProbe]
	t.mu.Unlock()
	s.Adj = t.fib.AdjStats()
	return s
}
