package pkt

import (
	"bytes"
	"testing"
)

// TestPacketAndL3 checks that Packet and L3 agree with Meta, Data and
// Data[L3:], after Push and Pull moved the data, and that L3 past the data
// panics as the slice expression does.
func TestPacketAndL3(t *testing.T) {
	p := newPool(t, 8)
	c := p.NewCache()
	defer c.Flush()
	a := p.Arena()
	i, _ := c.Alloc()
	defer c.Free(i)
	d, _ := a.SetData(i, Headroom, 60)
	for k := range d {
		d[k] = byte(k)
	}
	a.Push(i, 4)
	a.Pull(i, 6)
	a.Meta(i).L3 = 14
	m, got := a.Packet(i)
	if m != a.Meta(i) || !bytes.Equal(got, a.Data(i)) || &got[0] != &a.Data(i)[0] {
		t.Fatalf("Packet = %p %v, want %p %v", m, got, a.Meta(i), a.Data(i))
	}
	m, l3 := a.L3(i)
	if m != a.Meta(i) || len(l3) != 58-14 || &l3[0] != &a.Data(i)[14] {
		t.Fatalf("L3 = %p len %d, want %p len %d", m, len(l3), a.Meta(i), 58-14)
	}
	a.Meta(i).L3 = 58
	if _, l3 := a.L3(i); len(l3) != 0 {
		t.Fatalf("L3 at the end: len %d, want 0", len(l3))
	}
	a.Meta(i).L3 = 59
	defer func() {
		if recover() == nil {
			t.Fatal("L3 past the data did not panic")
		}
	}()
	a.L3(i)
}
