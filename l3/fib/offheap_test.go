package fib

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"unsafe"
)

// residentPages returns the 4 KiB pages of d's two mappings that hold
// memory of their own: present and exclusively mapped in
// /proc/self/pagemap (pages only read map the kernel's shared zero page,
// which is not exclusive, and cost nothing).
func residentPages(t testing.TB, d *dir24) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const present, exclusive = 1 << 63, 1 << 56
	n := 0
	buf := make([]byte, 8*4096)
	for _, m := range d.mem {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(m))) / 4096
		pages := uintptr(len(m)) / 4096
		for off := uintptr(0); off < pages; off += 4096 {
			k := min(4096, pages-off)
			if _, err := f.ReadAt(buf[:8*k], int64(8*(start+off))); err != nil {
				t.Fatal(err)
			}
			for i := range k {
				if e := binary.LittleEndian.Uint64(buf[8*i:]); e&present != 0 && e&exclusive != 0 {
					n++
				}
			}
		}
	}
	return n
}

// TestPagesGoBack writes routes across the first level and into groups,
// withdraws them, and checks that the pages they made resident go back to
// the kernel at Reclaim (and not before: a page is dropped only once it
// holds no entry), and that lookups keep answering throughout.
func TestPagesGoBack(t *testing.T) {
	d := newDir24()
	if n := residentPages(t, d); n != 0 {
		t.Fatalf("new table: %d resident pages", n)
	}
	ps := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),    // 64 pages
		netip.MustParsePrefix("20.1.0.0/16"),   // a quarter page
		netip.MustParsePrefix("30.1.2.128/25"), // a page and a group
		netip.MustParsePrefix("200.0.0.0/24"),  // one entry
	}
	for k, p := range ps {
		d.insert(p, uint32(k+1))
	}
	full := residentPages(t, d)
	if full < 64+3 || d.pages != 64+3 {
		t.Fatalf("after the inserts: %d resident pages, %d holding entries; want at least 67", full, d.pages)
	}
	for _, p := range ps[1:] {
		d.remove(p, 0, 0)
	}
	d.reclaim()
	if d.pages != 64 {
		t.Fatalf("after withdrawing all but the /8 and a reclaim: %d pages holding entries, want 64", d.pages)
	}
	if got := d.lookup(addr32(netip.MustParsePrefix("10.9.9.9/32"))); got != 1 {
		t.Fatalf("10.9.9.9 -> %d after the reclaim, want 1", got)
	}
	d.remove(ps[0], 0, 0)
	d.reclaim()
	d.reclaim()
	d.reclaim()
	if n := residentPages(t, d); n != 0 || d.pages != 0 || d.blocks != 0 {
		t.Fatalf("emptied and reclaimed: %d resident pages, %d holding entries, %d blocks", n, d.pages, d.blocks)
	}
	if got := d.lookup(addr32(netip.MustParsePrefix("10.9.9.9/32"))); got != 0 {
		t.Fatalf("10.9.9.9 -> %d in the empty table", got)
	}
}
