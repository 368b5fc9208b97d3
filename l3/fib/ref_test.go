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
	bits := rng.IntN(33)
	if bits < 8 && rng.IntN(4) != 0 {
		// Fewer of the shortest: each writes 2^(24-bits) first-level
		// entries (an atomic store each), as in rte_fib.
		bits += 8 + rng.IntN(17)
	}
	return netip.PrefixFrom(netip.AddrFrom4(u32ip(a)), bits).Masked()
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

// checkDir24 verifies the writer's bookkeeping against the entries: the
// per-page counts of non-zero entries, the per-group counts, and the page
// and group totals.
func checkDir24(t *testing.T, d *dir24) {
	t.Helper()
	groups, pages := 0, 0
	resident := make([]byte, l1Pages)
	if !mincore(d.mem[0], resident) {
		t.Fatal("mincore failed")
	}
	for pg := range l1Pages {
		if resident[pg]&1 == 0 { // never written since dropped: zero (reading it would allocate it)
			if d.pageLive[pg] != 0 {
				t.Fatalf("page %d is not resident but counts %d entries", pg, d.pageLive[pg])
			}
			continue
		}
		n := 0
		for _, e := range d.tbl[pg*pageEntries : (pg+1)*pageEntries] {
			if e == 0 {
				continue
			}
			n++
			if e&entExt == 0 {
				continue
			}
			groups++
			g := e >> entShift
			grp := d.groupAt(g)
			long := 0
			for _, ge := range grp {
				if ge&entPlen > 24 {
					long++
				}
			}
			if long == 0 || long != int(d.gn[g]) {
				t.Fatalf("group %d: %d entries longer than /24, count %d", g, long, d.gn[g])
			}
		}
		if n != int(d.pageLive[pg]) {
			t.Fatalf("page %d: %d non-zero entries, count %d", pg, n, d.pageLive[pg])
		}
		if n > 0 {
			pages++
		}
	}
	if groups != d.groupsUsed || pages != d.pages {
		t.Fatalf("%d groups and %d pages holding entries, counted %d and %d", groups, pages, d.groupsUsed, d.pages)
	}
}

// TestDir24AgreesWithReference applies random inserts and deletes and checks
// every probe against the linear scan, and the structure's bookkeeping;
// deleting everything leaves no chunk and no group.
func TestDir24AgreesWithReference(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 99))
		d := newDir24()
		ref := refTable{}
		for op := range 300 {
			p := randPrefix(rng)
			if _, ok := ref[p]; ok && rng.IntN(3) == 0 {
				delete(ref, p)
				v, bits := ref.cover(p)
				d.remove(p, v, bits)
			} else {
				v := uint32(op + 1)
				ref[p] = v
				d.insert(p, v)
			}
			if rng.IntN(50) == 0 {
				d.reclaim()
			}
		}
		for _, x := range probes(rng, ref) {
			if got, want := d.lookup(addr32(netip.PrefixFrom(netip.AddrFrom4(x), 32))), ref.lookup(x); got != want {
				t.Fatalf("seed %d: lookup(%v) = %d, want %d", seed, netip.AddrFrom4(x), got, want)
			}
		}
		checkDir24(t, d)
		for p := range ref {
			delete(ref, p)
			v, bits := ref.cover(p)
			d.remove(p, v, bits)
		}
		checkDir24(t, d)
		d.reclaim()
		d.reclaim()
		if d.pages != 0 || d.groupsUsed != 0 || d.blocks != 0 || d.def.Load() != 0 || len(d.gFree) != 0 {
			t.Fatalf("seed %d: emptied table keeps %d pages, %d groups, %d blocks, %d free groups", seed, d.pages, d.groupsUsed, d.blocks, len(d.gFree))
		}
		if n := residentPages(t, d); n != 0 {
			t.Fatalf("seed %d: emptied table keeps %d resident pages", seed, n)
		}
	}
}

// FuzzLookup decodes the input as a sequence of 6-byte operations (4 bytes
// address, length byte, op byte: odd = delete, bit 1 = reclaim) and
// compares every lookup with the linear-scan reference.
func FuzzLookup(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 8, 0, 10, 1, 0, 0, 16, 0, 10, 1, 2, 0, 24, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 32, 0, 10, 0, 0, 1, 32, 1})
	f.Add([]byte{192, 168, 0, 0, 16, 0, 192, 168, 128, 0, 17, 0, 192, 168, 0, 0, 16, 1, 192, 168, 0, 0, 12, 0})
	f.Add([]byte{255, 255, 255, 255, 31, 0, 0, 0, 0, 0, 1, 0, 128, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1})
	f.Add([]byte{10, 1, 2, 128, 25, 0, 10, 0, 0, 0, 8, 0, 10, 1, 2, 128, 25, 3, 10, 1, 2, 0, 26, 2, 10, 0, 0, 0, 4, 0, 10, 0, 0, 0, 8, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDir24()
		ref := refTable{}
		for n := 0; len(data) >= 6; n++ {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte(data[:4])), int(data[4]%33)).Masked()
			if data[5]&1 == 1 {
				if _, ok := ref[p]; ok {
					delete(ref, p)
					v, bits := ref.cover(p)
					d.remove(p, v, bits)
				}
			} else {
				ref[p] = uint32(n + 1)
				d.insert(p, uint32(n+1))
			}
			if data[5]&2 != 0 {
				d.reclaim()
			}
			data = data[6:]
		}
		rng := rand.New(rand.NewPCG(1, 1))
		xs := probes(rng, ref)
		dst := make([]uint32, len(xs))
		for k, x := range xs {
			dst[k] = addr32(netip.PrefixFrom(netip.AddrFrom4(x), 32))
			if got, want := d.lookup(dst[k]), ref.lookup(x); got != want {
				t.Fatalf("lookup(%v) = %d, want %d; table %v", netip.AddrFrom4(x), got, want, ref)
			}
		}
		out := make([]AdjIndex, 256)
		for lo := 0; lo < len(dst); lo += 256 { // the vector lookup agrees
			vec := dst[lo:min(lo+256, len(dst))]
			d.lookupBatch(vec, out)
			for k, a := range vec {
				if want := d.lookup(a); uint32(out[k]) != want {
					t.Fatalf("lookupBatch: %v gives %d, lookup %d; table %v", netip.AddrFrom4(u32ip(a)), out[k], want, ref)
				}
			}
		}
		checkDir24(t, d)
	})
}
