package pkt

import (
	"testing"

	"golang.org/x/sys/unix"
)

func newPool(t testing.TB, n int) *Pool {
	t.Helper()
	a, err := NewArena(n)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(a)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func TestArenaRejectsBadSizes(t *testing.T) {
	for _, n := range []int{0, -1, 1<<20 + 1} {
		if _, err := NewArena(n); err == nil {
			t.Errorf("NewArena(%d) succeeded", n)
		}
	}
}

func TestAllocFreeAccounting(t *testing.T) {
	p := newPool(t, 4*CacheBatch)
	c1, c2 := p.NewCache(), p.NewCache()
	var got []Index
	for range 3 * CacheBatch {
		i, ok := c1.Alloc()
		if !ok {
			t.Fatal("pool ran dry early")
		}
		got = append(got, i)
	}
	if n := p.InUse(); n != 3*CacheBatch {
		t.Fatalf("InUse = %d, want %d", n, 3*CacheBatch)
	}
	// Free on another cache: buffers may migrate between workers.
	c2.FreeN(got)
	if n := p.InUse(); n != 0 {
		t.Fatalf("InUse after free = %d, want 0", n)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	c1.Flush()
	c2.Flush()
	if p.Free() != 4*CacheBatch {
		t.Fatalf("Free = %d after flush, want %d", p.Free(), 4*CacheBatch)
	}
}

func TestExhaustion(t *testing.T) {
	p := newPool(t, 10)
	c := p.NewCache()
	dst := make([]Index, 16)
	if n := c.AllocN(dst); n != 10 {
		t.Fatalf("AllocN got %d of 10", n)
	}
	if _, ok := c.Alloc(); ok {
		t.Fatal("Alloc succeeded on an empty pool")
	}
	seen := map[Index]bool{}
	for _, i := range dst[:10] {
		if seen[i] {
			t.Fatalf("index %d handed out twice", i)
		}
		seen[i] = true
	}
	c.FreeN(dst[:10])
	if p.InUse() != 0 {
		t.Fatal("leak")
	}
}

func TestAllocRaw(t *testing.T) {
	p := newPool(t, 3*CacheBatch)
	c := p.NewCache()
	dst := make([]Index, 2*CacheBatch+7)
	if n := c.AllocRaw(dst); n != len(dst) {
		t.Fatalf("AllocRaw got %d", n)
	}
	c.FreeN(dst)
	if err := p.Check(); err != nil || p.InUse() != 0 {
		t.Fatalf("check=%v inuse=%d", err, p.InUse())
	}
}

func TestDoubleFreePanics(t *testing.T) {
	p := newPool(t, 4)
	c := p.NewCache()
	i, _ := c.Alloc()
	c.Free(i)
	defer func() {
		if recover() == nil {
			t.Fatal("double free did not panic")
		}
	}()
	c.Free(i)
}

func TestPushPullTrim(t *testing.T) {
	p := newPool(t, 4)
	c := p.NewCache()
	a := p.Arena()
	i, _ := c.Alloc()
	d, ok := a.SetData(i, Headroom, 100)
	if !ok || len(d) != 100 {
		t.Fatal("SetData")
	}
	d[0] = 0xaa
	h, ok := a.Push(i, 14)
	if !ok || len(h) != 14 {
		t.Fatal("Push")
	}
	if m := a.Meta(i); m.Off != Headroom-14 || m.Len != 114 {
		t.Fatalf("after push: %+v", *m)
	}
	if a.Data(i)[14] != 0xaa {
		t.Fatal("data moved")
	}
	if _, ok := a.Push(i, Headroom); ok {
		t.Fatal("push past the slot start succeeded")
	}
	if !a.Pull(i, 14) || a.Data(i)[0] != 0xaa {
		t.Fatal("Pull")
	}
	if a.Pull(i, 101) {
		t.Fatal("pull past the end succeeded")
	}
	if !a.Trim(i, 60) || len(a.Data(i)) != 60 || a.Trim(i, 61) {
		t.Fatal("Trim")
	}
	if _, ok := a.SetData(i, SlotSize-10, 11); ok {
		t.Fatal("SetData past slot end succeeded")
	}
	c.Free(i)
}

func TestAddrRoundTrip(t *testing.T) {
	p := newPool(t, 8)
	c := p.NewCache()
	first, _ := c.Alloc()
	i, _ := c.Alloc()
	defer c.FreeN([]Index{first, i})
	a := p.Arena()
	a.SetData(i, 300, 64)
	j, off := IndexOf(a.Addr(i))
	if j != i || off != 300 {
		t.Fatalf("IndexOf(Addr(%d)) = %d,%d", i, j, off)
	}
	if len(a.Memory()) != 8*SlotSize || len(a.Slot(i)) != SlotSize {
		t.Fatal("sizes")
	}
}

func TestLeakGateCatchesLeak(t *testing.T) {
	a, err := NewArena(4)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(a)
	c := p.NewCache()
	i, _ := c.Alloc()
	leaks.mu.Lock()
	_, tracked := leaks.live[p]
	leaks.mu.Unlock()
	if !tracked {
		t.Fatal("pool not tracked by the leak registry")
	}
	// Return the buffer but keep the pool open: Leaks must audit it and pass.
	c.Free(i)
	if err := Leaks(); err != nil {
		t.Fatal(err)
	}
	// A buffer in flight at Close is reported by Close and remembered.
	i, _ = c.Alloc()
	if err := p.Close(); err == nil {
		t.Fatal("Close of a pool with a buffer in flight reported nothing")
	}
	leaks.mu.Lock()
	n := len(leaks.reports)
	leaks.reports = leaks.reports[:n-1] // this leak was on purpose
	leaks.mu.Unlock()
	if n == 0 {
		t.Fatal("leak not remembered for the gate")
	}
}

func TestMetaIsOneCacheLine(t *testing.T) {
	if s := sizeofMeta(); s != 64 {
		t.Fatalf("sizeof(Meta) = %d, want 64", s)
	}
}

func TestNoAllocs(t *testing.T) {
	p := newPool(t, 2*CacheBatch)
	c := p.NewCache()
	a := p.Arena()
	var buf [64]Index
	n := testing.AllocsPerRun(1000, func() {
		k := c.AllocN(buf[:])
		for _, i := range buf[:k] {
			a.SetData(i, Headroom, 60)
			_ = a.Data(i)
			a.Push(i, 4)
			a.Pull(i, 4)
		}
		c.FreeN(buf[:k])
	})
	if n != 0 {
		t.Fatalf("%v allocs per vector, want 0", n)
	}
}

func BenchmarkAllocFree(b *testing.B) {
	p := newPool(b, 4*CacheBatch)
	c := p.NewCache()
	var buf [VectorSize]Index
	b.ReportAllocs()
	for b.Loop() {
		k := c.AllocN(buf[:])
		c.FreeN(buf[:k])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*VectorSize), "ns/pkt")
}

// TestSharedArena: a shared arena is a memfd sealed against shrinking,
// whose other mappings see the slots' bytes; a private arena has no file.
func TestSharedArena(t *testing.T) {
	if a, _ := NewArena(1); a.FD() != -1 {
		t.Errorf("private arena FD %d, want -1", a.FD())
	} else {
		a.Close()
	}
	a, err := NewSharedArena(4)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	seals, err := unix.FcntlInt(uintptr(a.FD()), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		t.Fatalf("seals %#x, %v: want F_SEAL_SHRINK", seals, err)
	}
	other, err := unix.Mmap(a.FD(), 0, 4*SlotSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(other)
	a.Slot(3)[Headroom] = 0x5a
	if other[3*SlotSize+Headroom] != 0x5a {
		t.Error("a second mapping of the arena's file does not see its bytes")
	}
}

// TestAcquireRelease: buffers taken and returned without a cache are
// accounted like a cache's, and releasing one twice panics.
func TestAcquireRelease(t *testing.T) {
	a, err := NewArena(8)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(a)
	defer p.Close()
	dst := make([]Index, 10)
	if n := p.Acquire(dst); n != 8 {
		t.Fatalf("acquired %d of 8", n)
	}
	if p.InUse() != 8 {
		t.Fatalf("in use %d, want 8", p.InUse())
	}
	p.Release(dst[:8])
	if p.InUse() != 0 || p.Check() != nil {
		t.Fatalf("after release: in use %d, check %v", p.InUse(), p.Check())
	}
	defer func() {
		if recover() == nil {
			t.Error("releasing a free buffer did not panic")
		}
	}()
	p.Release(dst[:1])
}
