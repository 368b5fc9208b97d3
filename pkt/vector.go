package pkt

// Vector is a batch of up to VectorSize packet indices: the unit that graph
// nodes and drivers exchange. The zero value is empty and ready to use.
type Vector struct {
	Len    int  // number of valid entries in Idx
	Traced bool // reports whether any packet in the vector carries FlagTraced
	Idx    [VectorSize]Index
}

// Reset empties the vector.
func (v *Vector) Reset() { v.Len, v.Traced = 0, false }

// Append adds i. The caller must ensure v is not full.
func (v *Vector) Append(i Index) {
	v.Idx[v.Len] = i
	v.Len++
}

// Full reports whether v holds VectorSize packets.
func (v *Vector) Full() bool { return v.Len == VectorSize }

// Free reports how many more packets v can take.
func (v *Vector) Free() int { return VectorSize - v.Len }

// Slice returns the valid indices.
func (v *Vector) Slice() []Index { return v.Idx[:v.Len] }
