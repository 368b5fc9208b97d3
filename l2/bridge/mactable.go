package bridge

import "math/bits"

// macEntry is one learnt MAC. key is (domain index + 1) << 48 | MAC, so
// that 0 marks a free slot.
type macEntry struct {
	key  uint64
	seen int64 // graph time it was last seen
	If   uint16
}

// macTable is one worker's MAC table for every domain: open addressing
// with linear probing and backward-shift deletion, allocated once. It is
// not safe for concurrent use: only its worker touches it.
type macTable struct {
	slots []macEntry
	mask  uint64
	count []int // learnt MACs per domain index
	clear uint64
	// nextAge is when the timer scans for expired entries next.
	nextAge int64
}

// newMACTable sizes a table for max MACs (at least 2x max slots, a power
// of two, so probes stay short when every domain is full).
func newMACTable(max int) *macTable {
	n := uint64(16)
	if max > 8 {
		n = 1 << bits.Len64(uint64(2*max-1))
	}
	return &macTable{slots: make([]macEntry, n), mask: n - 1}
}

func macKey(dom int32, mac []byte) uint64 {
	_ = mac[5]
	return uint64(dom+1)<<48 | uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 |
		uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
}

func (t *macTable) home(key uint64) uint64 {
	h := key * 0x9e3779b97f4a7c15
	return (h >> 32) & t.mask
}

// find returns the slot holding key, or -1.
func (t *macTable) find(key uint64) int {
	for i := t.home(key); ; i = (i + 1) & t.mask {
		k := t.slots[i].key
		if k == key {
			return int(i)
		}
		if k == 0 {
			return -1
		}
	}
}

// learnResult says what learn did.
type learnResult uint8

const (
	learnRefreshed learnResult = iota
	learnNew
	learnMoved
	learnFull
)

// learn records key as seen on interface ifc at now. A domain with max
// entries already learns nothing new (learnFull).
func (t *macTable) learn(key uint64, dom int32, ifc uint16, now int64, max int) learnResult {
	i := t.home(key)
	for ; ; i = (i + 1) & t.mask {
		e := &t.slots[i]
		if e.key == key {
			e.seen = now
			if e.If != ifc {
				e.If = ifc
				return learnMoved
			}
			return learnRefreshed
		}
		if e.key == 0 {
			break
		}
	}
	if t.domCount(dom) >= max || t.total() >= len(t.slots)/2 {
		return learnFull
	}
	t.slots[i] = macEntry{key: key, seen: now, If: ifc}
	t.count[dom]++
	return learnNew
}

func (t *macTable) domCount(dom int32) int {
	for int(dom) >= len(t.count) {
		t.count = append(t.count, 0) // grows once per domain, at start-up
	}
	return t.count[dom]
}

func (t *macTable) total() int {
	n := 0
	for _, c := range t.count {
		n += c
	}
	return n
}

// remove deletes slot i, shifting back the entries of its probe run.
func (t *macTable) remove(i uint64) {
	dom := int32(t.slots[i].key>>48) - 1
	if int(dom) < len(t.count) {
		t.count[dom]--
	}
	for {
		t.slots[i] = macEntry{}
		j := i
		for {
			j = (j + 1) & t.mask
			k := t.slots[j].key
			if k == 0 {
				return
			}
			h := t.home(k)
			// The entry at j may move to i when its home is not in (i, j].
			if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
				t.slots[i] = t.slots[j]
				i = j
				break
			}
		}
	}
}

// expire removes the entries of domains whose age has passed since they
// were last seen; ages are by domain index.
func (t *macTable) expire(now int64, ages func(dom int32) int64) int {
	n := 0
	for i := uint64(0); i <= t.mask; {
		e := &t.slots[i]
		if e.key != 0 && now-e.seen >= ages(int32(e.key>>48)-1) {
			t.remove(i)
			n++
			continue // another entry may have shifted into i
		}
		i++
	}
	return n
}

// reset forgets every entry.
func (t *macTable) reset() {
	clear(t.slots)
	clear(t.count)
}
