package fib

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refTable is the slow reference: a linear scan over every prefix.
type refTable map[netip.Prefix]uint32

func (r refTable) lookup(dst [4]byte) uint32 {
	a := netip.AddrFrom4(dst)
	best, v := -1, uint32(0)
	for p, x := range r {
		if p.Bits() > best && p.Contains(a) {
			best, v = p.Bits(), x
		}
	}
	return v
}

// cover returns the longest prefix of r strictly shorter than p holding p.
func (r refTable) cover(p netip.Prefix) (uint32, int) {
	best, v := 0, uint32(0)
	for q, x := range r {
		if q.Bits() < p.Bits() && q.Bits() >= best && q.Contains(p.Addr()) {
			best, v = q.Bits(), x
		}
	}
	return v, best
}

func randPrefix(rng *rand.Rand) netip.Prefix {
	a := rng.Uint32()
	if rng.IntN(2) == 0 {
		a &= 0x0a0f0000 | 0xffff // cluster so prefixes nest
		a |= 0x0a000000
	}
	return netip.PrefixFrom(netip.AddrFrom4(u32ip(a)), rng.IntN(33)).Masked()
}

func u32ip(a uint32) [4]byte { return [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)} }

// probe returns addresses worth checking: inside, at the edges of and just
// outside every prefix, plus random ones.
func probes(rng *rand.Rand, r refTable) [][4]byte {
	var out [][4]byte
	for p := range r {
		lo := addr32(p)
		hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
		out = append(out, u32ip(lo), u32ip(hi), u32ip(lo-1), u32ip(hi+1), u32ip(lo+uint32(uint64(rng.Uint32())%(uint64(hi-lo)+1))))
	}
	for range 64 {
		out = append(out, u32ip(rng.Uint32()))
	}
	return out
}

// TestTrieAgreesWithReference applies random inserts and deletes and checks
// every probe against the linear scan, and that earlier snapshots never
// change (persistence).
func TestTrieAgreesWithReference(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		tr := newTrie()
		ref := refTable{}
		type snap struct {
			root *node
			def  uint32
			ref  refTable
		}
		var snaps []snap
		for op := range 300 {
			p := randPrefix(rng)
			if _, ok := ref[p]; ok && rng.IntN(3) == 0 {
				delete(ref, p)
				v, bits := ref.cover(p)
				tr.remove(p, v, bits)
			} else {
				v := uint32(op + 1)
				ref[p] = v
				tr.insert(p, v)
			}
			if rng.IntN(4) == 0 {
				tr.seal()
				c := refTable{}
				for k, v := range ref {
					c[k] = v
				}
				snaps = append(snaps, snap{tr.root, tr.def, c})
			}
		}
		for _, d := range probes(rng, ref) {
			if got, want := lookup(tr.root, tr.def, d), ref.lookup(d); got != want {
				t.Fatalf("seed %d: lookup(%v) = %d, want %d", seed, netip.AddrFrom4(d), got, want)
			}
		}
		for k, s := range snaps {
			for _, d := range probes(rng, s.ref)[:50] {
				if got, want := lookup(s.root, s.def, d), s.ref.lookup(d); got != want {
					t.Fatalf("seed %d snapshot %d changed: lookup(%v) = %d, want %d", seed, k, netip.AddrFrom4(d), got, want)
				}
			}
		}
	}
}

// FuzzLookup decodes the input as a sequence of 6-byte operations (4 bytes
// address, length byte, op byte: odd = delete) and compares every lookup
// with the linear-scan reference.
func FuzzLookup(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 8, 0, 10, 1, 0, 0, 16, 0, 10, 1, 2, 0, 24, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 32, 0, 10, 0, 0, 1, 32, 1})
	f.Add([]byte{192, 168, 0, 0, 16, 0, 192, 168, 128, 0, 17, 0, 192, 168, 0, 0, 16, 1, 192, 168, 0, 0, 12, 0})
	f.Add([]byte{255, 255, 255, 255, 31, 0, 0, 0, 0, 0, 1, 0, 128, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := newTrie()
		ref := refTable{}
		for n := 0; len(data) >= 6; n++ {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte(data[:4])), int(data[4]%33)).Masked()
			if data[5]&1 == 1 {
				if _, ok := ref[p]; ok {
					delete(ref, p)
					v, bits := ref.cover(p)
					tr.remove(p, v, bits)
				}
			} else {
				ref[p] = uint32(n + 1)
				tr.insert(p, uint32(n+1))
			}
			if data[5]&2 != 0 {
				tr.seal()
			}
			data = data[6:]
		}
		rng := rand.New(rand.NewPCG(1, 1))
		for _, d := range probes(rng, ref) {
			if got, want := lookup(tr.root, tr.def, d), ref.lookup(d); got != want {
				t.Fatalf("lookup(%v) = %d, want %d; table %v", netip.AddrFrom4(d), got, want, ref)
			}
		}
	})
}
