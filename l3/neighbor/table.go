// Package neighbor resolves IPv4 next hops to MAC addresses with ARP
// (RFC 826): arp-input answers requests for the router's addresses and
// learns senders; ip4-glean holds packets whose next hop is unresolved in a
// bounded per-worker queue, asks with an ARP request, and releases them to
// ip4-lookup when the answer arrives. Learned entries go into a Table (for
// "show neighbors") and into the FIB, which turns incomplete adjacencies
// into complete rewrites.
package neighbor

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"vecnet/l3/fib"
)

// Entry is one resolved neighbour.
type Entry struct {
	Port    uint16
	IP      netip.Addr
	MAC     [6]byte
	Static  bool
	Updated time.Time
}

type key struct {
	port uint16
	ip   [4]byte
}

// Table is the neighbour table. It is safe for concurrent use: ARP learning
// on workers and reads by the control plane take its mutex, which is off the
// forwarding path (only ARP packets reach it).
type Table struct {
	fib *fib.Table
	mu  sync.Mutex
	m   map[key]*Entry
}

// NewTable returns a table that also programs f.
func NewTable(f *fib.Table) *Table { return &Table{fib: f, m: map[key]*Entry{}} }

// Learn records ip -> mac on port and reports whether it is new or changed.
// A static entry is never overwritten by learning.
func (t *Table) Learn(port uint16, ip [4]byte, mac [6]byte) bool {
	return t.set(port, ip, mac, false)
}

// AddStatic installs a static entry.
func (t *Table) AddStatic(port uint16, ip [4]byte, mac [6]byte) {
	t.set(port, ip, mac, true)
}

func (t *Table) set(port uint16, ip [4]byte, mac [6]byte, static bool) bool {
	t.mu.Lock()
	k := key{port, ip}
	e := t.m[k]
	changed := e == nil || e.MAC != mac
	if e != nil && e.Static && !static {
		t.mu.Unlock()
		return false
	}
	if e == nil {
		e = &Entry{Port: port, IP: netip.AddrFrom4(ip)}
		t.m[k] = e
	}
	e.MAC, e.Updated = mac, time.Now()
	e.Static = e.Static || static
	t.mu.Unlock()
	if changed {
		t.fib.SetNeighbor(port, ip, mac)
	}
	return changed
}

// Delete removes an entry.
func (t *Table) Delete(port uint16, ip [4]byte) {
	t.mu.Lock()
	delete(t.m, key{port, ip})
	t.mu.Unlock()
	t.fib.DelNeighbor(port, ip)
}

// Lookup returns the MAC of ip on port.
func (t *Table) Lookup(port uint16, ip [4]byte) ([6]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.m[key{port, ip}]; e != nil {
		return e.MAC, true
	}
	return [6]byte{}, false
}

// List returns every entry sorted by port and address.
func (t *Table) List() []Entry {
	t.mu.Lock()
	out := make([]Entry, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, *e)
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
