package pkt

import "testing"

// TestReserveCacheLeavesTheReserve: an application-side cache stops taking
// buffers once the shared pool is down to its reserve; a worker's cache
// still gets those; buffers freed through either come back.
func TestReserveCacheLeavesTheReserve(t *testing.T) {
	p := newPool(t, 1024)
	app, wk := p.NewReserveCache(300), p.NewCache()
	var got []Index
	for {
		i, ok := app.Alloc()
		if !ok {
			break
		}
		got = append(got, i)
	}
	if len(got) != 1024-300 {
		t.Fatalf("the reserve cache got %d buffers, want %d (all but the reserve)", len(got), 1024-300)
	}
	var raw [64]Index
	if n := app.AllocRaw(raw[:]); n != 0 {
		t.Fatalf("AllocRaw on an exhausted reserve cache got %d", n)
	}
	for range 300 {
		i, ok := wk.Alloc()
		if !ok {
			t.Fatal("a worker's cache finds no buffer while the reserve should hold some")
		}
		got = append(got, i)
	}
	if _, ok := wk.Alloc(); ok {
		t.Fatal("more buffers than the arena holds")
	}
	app.FreeN(got[:500])
	wk.FreeN(got[500:])
	app.Flush()
	wk.Flush()
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if n := p.InUse(); n != 0 {
		t.Fatalf("%d buffers in use", n)
	}
}
