package tcp

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// connKey is a connection's 4-tuple as seen from this host, its addresses
// in 16 bytes (IPv4 as IPv4-mapped IPv6), so one table serves both
// families.
type connKey struct {
	local, remote [16]byte
	lport, rport  uint16
}

func keyOf(local, remote netip.AddrPort) connKey {
	return connKey{local: local.Addr().As16(), remote: remote.Addr().As16(), lport: local.Port(), rport: remote.Port()}
}

// connTable is an open-addressed hash table (linear probing, tombstones)
// from 4-tuple to connection, keyed with a per-engine seed so that peers
// cannot choose colliding tuples. Lookups do not allocate; inserts allocate
// only when the table grows.
type connTable struct {
	slots []tableSlot
	used  int // live entries
	tombs int // deleted slots
	seed  uint64
}

type tableSlot struct {
	key  connKey
	conn *Conn // nil: empty (tomb false) or deleted (tomb true)
	tomb bool
}

func newConnTable(seed uint64) connTable {
	return connTable{slots: make([]tableSlot, 64), seed: seed}
}

func (t *connTable) hash(k *connKey) uint64 {
	l0, l1 := binary.BigEndian.Uint64(k.local[:8]), binary.BigEndian.Uint64(k.local[8:])
	r0, r1 := binary.BigEndian.Uint64(k.remote[:8]), binary.BigEndian.Uint64(k.remote[8:])
	x := (l1<<32 | r1&0xffffffff) ^ t.seed ^ bits.RotateLeft64(l0^l1>>32, 17) ^ bits.RotateLeft64(r0^r1>>32, 41)
	y := (uint64(k.lport)<<16 | uint64(k.rport)) ^ bits.RotateLeft64(t.seed, 29)
	hi, lo := bits.Mul64(x^0x9e3779b97f4a7c15, y^0xbf58476d1ce4e5b9)
	return hi ^ lo
}

// lookup returns the connection for k, or nil.
func (t *connTable) lookup(k connKey) *Conn {
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(&k) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.conn == nil && !s.tomb {
			return nil
		}
		if s.conn != nil && s.key == k {
			return s.conn
		}
	}
}

// insert adds c under k, which must not be present.
func (t *connTable) insert(k connKey, c *Conn) {
	if (t.used+t.tombs+1)*4 > len(t.slots)*3 {
		t.rehash()
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(&k) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.conn == nil {
			if s.tomb {
				t.tombs--
			}
			*s = tableSlot{key: k, conn: c}
			t.used++
			return
		}
	}
}

// remove deletes k's entry if it maps to c.
func (t *connTable) remove(k connKey, c *Conn) {
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(&k) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.conn == nil && !s.tomb {
			return
		}
		if s.conn == c && s.key == k {
			*s = tableSlot{tomb: true}
			t.used--
			t.tombs++
			return
		}
	}
}

// rehash rebuilds the table without tombstones, doubling it when more
// than half full.
func (t *connTable) rehash() {
	old := t.slots
	n := len(old)
	if t.used*2 >= n {
		n *= 2
	}
	t.slots = make([]tableSlot, n)
	t.used, t.tombs = 0, 0
	for i := range old {
		if old[i].conn != nil {
			t.insert(old[i].key, old[i].conn)
		}
	}
}
