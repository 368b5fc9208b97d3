package nat44

import "math/bits"

// index maps a 64-bit key to a mapping's position: open addressing with
// linear probing and backward-shift deletion, allocated once.
type index struct {
	slots []islot
	shift uint8
}

type islot struct {
	key  uint64
	pos  int32
	used bool
}

func newIndex(capacity int) index {
	size := 1 << bits.Len(uint(capacity+capacity/2)) // at most 2/3 full
	return index{slots: make([]islot, size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
}

func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	return k
}

func (x *index) home(k uint64) int { return int(mix(k) >> x.shift) }

// get returns the position stored for k, or -1.
func (x *index) get(k uint64) int32 {
	m := len(x.slots) - 1
	for i := x.home(k); ; i = (i + 1) & m {
		s := &x.slots[i]
		if !s.used {
			return -1
		}
		if s.key == k {
			return s.pos
		}
	}
}

// put stores k → pos; k must not be present.
func (x *index) put(k uint64, pos int32) {
	m := len(x.slots) - 1
	i := x.home(k)
	for x.slots[i].used {
		i = (i + 1) & m
	}
	x.slots[i] = islot{key: k, pos: pos, used: true}
}

// del removes k, shifting later members of its probe chain back.
func (x *index) del(k uint64) {
	m := len(x.slots) - 1
	i := x.home(k)
	for {
		if !x.slots[i].used {
			return
		}
		if x.slots[i].key == k {
			break
		}
		i = (i + 1) & m
	}
	x.slots[i] = islot{}
	for j := (i + 1) & m; x.slots[j].used; j = (j + 1) & m {
		h := x.home(x.slots[j].key)
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			x.slots[i] = x.slots[j]
			x.slots[j] = islot{}
			i = j
		}
	}
}

// in2outKey is an inside endpoint: address, port (or ICMP identifier),
// protocol slot.
func in2outKey(addr uint32, port uint16, proto int) uint64 {
	return uint64(addr)<<24 | uint64(port)<<8 | uint64(proto)
}

// out2inKey is an external address (its pool position), port and
// protocol slot.
func out2inKey(addr, port uint16, proto int) uint64 {
	return uint64(addr)<<24 | uint64(port)<<8 | uint64(proto)
}
