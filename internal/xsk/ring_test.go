package xsk

import (
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fakeMem lays out a ring in Go memory the way the kernel does: producer,
// consumer and flags on their own cache lines, then the entries. prod and
// cons are the initial index values.
func fakeMem(size uint32, entry uintptr, prod, cons uint32) ([]byte, unix.XDPRingOffset) {
	off := unix.XDPRingOffset{Producer: 0, Consumer: 64, Flags: 128, Desc: 192}
	words := make([]uint64, (192+uintptr(size)*entry)/8+1)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	*(*uint32)(unsafe.Pointer(&mem[off.Producer])) = prod
	*(*uint32)(unsafe.Pointer(&mem[off.Consumer])) = cons
	return mem, off
}

// kernel-side helpers: what the kernel does to a ring.

func kernelConsume(r *ring, n uint32) { atomic.AddUint32(r.consumer, n) }

func kernelProduceAddrs(r *ring, addrs []uint64, vals ...uint64) {
	p := atomic.LoadUint32(r.producer)
	for i, v := range vals {
		addrs[(p+uint32(i))&r.mask] = v
	}
	atomic.StoreUint32(r.producer, p+uint32(len(vals)))
}

func TestAddrConversion(t *testing.T) {
	tests := []struct {
		name         string
		addr         uint64
		slot, offset uint32
	}{
		{"zero", 0, 0, 0},
		{"rx headroom slot 0", RXHeadroom, 0, RXHeadroom},
		{"slot 1 base", ChunkSize, 1, 0},
		{"slot 5 rx data", 5*ChunkSize + RXHeadroom, 5, RXHeadroom},
		{"last byte of slot 7", 8*ChunkSize - 1, 7, ChunkSize - 1},
		{"large slot", 1<<20*ChunkSize + 42, 1 << 20, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Slot(tt.addr); got != tt.slot {
				t.Errorf("Slot(%#x) = %d, want %d", tt.addr, got, tt.slot)
			}
			if got := Offset(tt.addr); got != tt.offset {
				t.Errorf("Offset(%#x) = %d, want %d", tt.addr, got, tt.offset)
			}
			if got := Addr(tt.slot, tt.offset); got != tt.addr {
				t.Errorf("Addr(%d, %d) = %#x, want %#x", tt.slot, tt.offset, got, tt.addr)
			}
			if got, want := ChunkBase(tt.addr), uint64(tt.slot)*ChunkSize; got != want {
				t.Errorf("ChunkBase(%#x) = %#x, want %#x", tt.addr, got, want)
			}
		})
	}
}

func TestFillRing(t *testing.T) {
	tests := []struct {
		name  string
		start uint32 // initial producer == consumer, to exercise wrap-around
	}{
		{"from zero", 0},
		{"wrapping uint32", ^uint32(0) - 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem, off := fakeMem(8, 8, tt.start, tt.start)
			r := newFillRing(mem, off, 8)

			start, got := r.Reserve(5)
			if start != tt.start || got != 5 {
				t.Fatalf("Reserve(5) = (%d, %d), want (%d, 5)", start, got, tt.start)
			}
			for i := range got {
				r.Set(start+i, uint64(i)*ChunkSize)
			}
			r.Submit(got)
			if p := atomic.LoadUint32(r.producer); p != tt.start+5 {
				t.Fatalf("producer = %d after Submit(5), want %d", p, tt.start+5)
			}
			// Only 3 free: the kernel has consumed nothing.
			if _, got := r.Reserve(5); got != 3 {
				t.Fatalf("Reserve(5) on 3 free got %d", got)
			}
			r.Cancel(3)
			if _, got := r.Reserve(4); got != 3 {
				t.Fatalf("Reserve(4) after Cancel(3) got %d, want 3", got)
			}
			r.Cancel(3)
			// The kernel consumes 4: Reserve must reload the consumer index.
			kernelConsume(&r.ring, 4)
			start, got = r.Reserve(7)
			if got != 7 || start != tt.start+5 {
				t.Fatalf("Reserve(7) after kernel consumed 4 = (%d, %d), want (%d, 7)", start, got, tt.start+5)
			}
			for i := range got {
				r.Set(start+i, uint64(100+i))
			}
			r.Submit(got)
			// Entries wrapped around the 8-entry array in order.
			for i := uint32(0); i < 7; i++ {
				if a := r.addrs[(tt.start+5+i)&7]; a != uint64(100+i) {
					t.Errorf("entry %d = %d, want %d", i, a, 100+i)
				}
			}
			if _, got := r.Reserve(1); got != 0 {
				t.Errorf("Reserve(1) on a full ring got %d", got)
			}
		})
	}
}

func TestCompRing(t *testing.T) {
	mem, off := fakeMem(4, 8, 10, 10)
	r := newCompRing(mem, off, 4)
	if _, n := r.Peek(4); n != 0 {
		t.Fatalf("Peek on empty ring got %d", n)
	}
	kernelProduceAddrs(&r.ring, r.addrs, 1, 2, 3)
	start, n := r.Peek(2)
	if start != 10 || n != 2 {
		t.Fatalf("Peek(2) = (%d, %d), want (10, 2)", start, n)
	}
	if r.Addr(start) != 1 || r.Addr(start+1) != 2 {
		t.Errorf("entries = %d %d, want 1 2", r.Addr(start), r.Addr(start+1))
	}
	r.Release(n)
	if c := atomic.LoadUint32(r.consumer); c != 12 {
		t.Errorf("consumer = %d after Release(2), want 12", c)
	}
	start, n = r.Peek(8)
	if start != 12 || n != 1 || r.Addr(start) != 3 {
		t.Fatalf("Peek(8) = (%d, %d) addr %d, want (12, 1) addr 3", start, n, r.Addr(start))
	}
	r.Release(n)
}

func TestRXRing(t *testing.T) {
	const size = 4
	mem, off := fakeMem(size, unsafe.Sizeof(unix.XDPDesc{}), ^uint32(0)-1, ^uint32(0)-1)
	r := newRXRing(mem, off, size)
	produce := func(ds ...unix.XDPDesc) {
		p := atomic.LoadUint32(r.producer)
		for i, d := range ds {
			r.descs[(p+uint32(i))&r.mask] = d
		}
		atomic.StoreUint32(r.producer, p+uint32(len(ds)))
	}
	produce(unix.XDPDesc{Addr: Addr(1, RXHeadroom), Len: 60}, unix.XDPDesc{Addr: Addr(2, RXHeadroom), Len: 1500}, unix.XDPDesc{Addr: Addr(3, RXHeadroom), Len: 64})
	var got []unix.XDPDesc
	for len(got) < 3 {
		start, n := r.Peek(2)
		if n == 0 {
			t.Fatal("Peek returned 0 with entries pending")
		}
		for i := range n {
			got = append(got, r.Desc(start+i))
		}
		r.Release(n)
	}
	want := []uint32{1, 2, 3}
	for i, d := range got {
		if Slot(d.Addr) != want[i] || Offset(d.Addr) != RXHeadroom {
			t.Errorf("desc %d addr = slot %d offset %d, want slot %d offset %d", i, Slot(d.Addr), Offset(d.Addr), want[i], RXHeadroom)
		}
	}
	// The kernel may fill the whole ring again after the wrap.
	produce(make([]unix.XDPDesc, size)...)
	if _, n := r.Peek(size); n != size {
		t.Errorf("Peek(%d) on a full ring got %d", size, n)
	}
}

func TestTXRingNeedsWakeup(t *testing.T) {
	mem, off := fakeMem(4, unsafe.Sizeof(unix.XDPDesc{}), 0, 0)
	r := newTXRing(mem, off, 4)
	if r.NeedsWakeup() {
		t.Fatal("NeedsWakeup with flags 0")
	}
	atomic.StoreUint32(r.flags, unix.XDP_RING_NEED_WAKEUP)
	if !r.NeedsWakeup() {
		t.Fatal("NeedsWakeup false with XDP_RING_NEED_WAKEUP set")
	}
	start, got := r.Reserve(2)
	r.Set(start, unix.XDPDesc{Addr: Addr(9, 0), Len: 42})
	r.Set(start+1, unix.XDPDesc{Addr: Addr(10, 0), Len: 43})
	r.Submit(got)
	if d := r.descs[1]; d.Addr != Addr(10, 0) || d.Len != 43 {
		t.Errorf("entry 1 = %+v", d)
	}
}

// TestNoAllocs proves the ring operations allocate nothing.
func TestNoAllocs(t *testing.T) {
	const size = 64
	fm, fo := fakeMem(size, 8, 0, 0)
	cm, co := fakeMem(size, 8, 0, 0)
	rm, ro := fakeMem(size, 16, 0, 0)
	tm, to := fakeMem(size, 16, 0, 0)
	fill, comp := newFillRing(fm, fo, size), newCompRing(cm, co, size)
	rx, tx := newRXRing(rm, ro, size), newTXRing(tm, to, size)
	var sink uint64
	allocs := testing.AllocsPerRun(1000, func() {
		start, got := fill.Reserve(32)
		for i := range got {
			fill.Set(start+i, uint64(i)<<ChunkShift)
		}
		fill.Submit(got)
		kernelConsume(&fill.ring, got)
		_ = fill.NeedsWakeup()

		atomic.AddUint32(rx.producer, 16) // kernel "receives" 16
		start, n := rx.Peek(32)
		for i := range n {
			sink += rx.Desc(start + i).Addr
		}
		rx.Release(n)

		start, got = tx.Reserve(16)
		for i := range got {
			tx.Set(start+i, unix.XDPDesc{Addr: uint64(i), Len: 60})
		}
		tx.Submit(got)
		kernelConsume(&tx.ring, got)
		_ = tx.NeedsWakeup()

		atomic.AddUint32(comp.producer, 16)
		start, n = comp.Peek(32)
		for i := range n {
			sink += comp.Addr(start + i)
		}
		comp.Release(n)
	})
	if allocs != 0 {
		t.Errorf("ring ops allocate %.1f times per run, want 0", allocs)
	}
	_ = sink
}

// FuzzProducerRing drives a fill ring and a simulated kernel consumer with a
// sequence of operations and checks it against a FIFO model: no more than
// size entries in flight, Reserve never hands out an occupied entry, and the
// consumer sees exactly what was submitted, in order.
func FuzzProducerRing(f *testing.F) {
	f.Add(uint32(0), []byte{0x05, 0x10, 0x23, 0x42})                      // reserve 5, submit, consume 2
	f.Add(^uint32(0)-3, []byte{0x08, 0x10, 0x28, 0x03, 0x33, 0x11, 0x2f}) // wraps the counters
	f.Add(uint32(7), []byte{0x0f, 0x3f, 0x10, 0x2f, 0x0f, 0x10})          // over-reserve, cancel
	f.Fuzz(func(t *testing.T, initial uint32, ops []byte) {
		const size = 8
		mem, off := fakeMem(size, 8, initial, initial)
		r := newFillRing(mem, off, size)
		var reserved []uint32 // indices reserved, not yet submitted
		var model []uint64    // submitted, not yet consumed
		next := uint64(1)
		for _, op := range ops {
			k := uint32(op&0x0f) % (size + 4)
			switch op >> 4 & 3 {
			case 0: // reserve k
				start, got := r.Reserve(k)
				if got > k || uint32(len(model)+len(reserved))+got > size {
					t.Fatalf("Reserve(%d) got %d with %d submitted %d reserved", k, got, len(model), len(reserved))
				}
				for i := range got {
					r.Set(start+i, next)
					reserved = append(reserved, start+i)
					next++
				}
			case 1: // submit all reserved
				for _, idx := range reserved {
					model = append(model, r.addrs[idx&r.mask])
				}
				r.Submit(uint32(len(reserved)))
				reserved = reserved[:0]
			case 2: // kernel consumes up to k submitted entries
				c := atomic.LoadUint32(r.consumer)
				p := atomic.LoadUint32(r.producer)
				if int(p-c) != len(model) {
					t.Fatalf("shared ring holds %d entries, model %d", p-c, len(model))
				}
				n := min(k, p-c)
				for i := range n {
					if got := r.addrs[(c+i)&r.mask]; got != model[i] {
						t.Fatalf("kernel read %d, want %d", got, model[i])
					}
				}
				model = model[n:]
				atomic.StoreUint32(r.consumer, c+n)
			case 3: // cancel up to k reserved
				n := min(k, uint32(len(reserved)))
				r.Cancel(n)
				reserved = reserved[:uint32(len(reserved))-n]
				next -= uint64(n)
			}
		}
	})
}

func TestTXRingPending(t *testing.T) {
	const size = 8
	mem, off := fakeMem(size, unsafe.Sizeof(unix.XDPDesc{}), 3, 3)
	r := newTXRing(mem, off, size)
	if p := r.Pending(); p != 0 {
		t.Fatalf("Pending on a fresh ring = %d", p)
	}
	start, got := r.Reserve(5)
	for i := range got {
		r.Set(start+i, unix.XDPDesc{Addr: uint64(i) * ChunkSize, Len: 60})
	}
	if p := r.Pending(); p != 0 {
		t.Errorf("Pending before Submit = %d, want 0", p)
	}
	r.Submit(got)
	if p := r.Pending(); p != 5 {
		t.Errorf("Pending after Submit(5) = %d, want 5", p)
	}
	kernelConsume(&r.ring, 3)
	if p := r.Pending(); p != 2 {
		t.Errorf("Pending after kernel consumed 3 = %d, want 2", p)
	}
}
