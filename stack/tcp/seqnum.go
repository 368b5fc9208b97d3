package tcp

// Seq is a TCP sequence number; comparisons are modulo 2^32 (RFC 9293
// section 3.4), valid while the two numbers are less than 2^31 apart.
type Seq uint32

// LT reports whether s comes before t.
func (s Seq) LT(t Seq) bool { return int32(s-t) < 0 }

// LEQ reports whether s comes before t or equals it.
func (s Seq) LEQ(t Seq) bool { return int32(s-t) <= 0 }

// GT reports whether s comes after t.
func (s Seq) GT(t Seq) bool { return int32(s-t) > 0 }

// GEQ reports whether s comes after t or equals it.
func (s Seq) GEQ(t Seq) bool { return int32(s-t) >= 0 }

// Add returns s advanced by n bytes.
func (s Seq) Add(n int) Seq { return s + Seq(uint32(n)) }

// Sub returns the signed distance s - t in bytes.
func (s Seq) Sub(t Seq) int { return int(int32(s - t)) }

// InRange reports whether s lies in [start, end).
func (s Seq) InRange(start, end Seq) bool { return s.GEQ(start) && s.LT(end) }

// seqMax returns the later of s and t.
func seqMax(s, t Seq) Seq {
	if s.GT(t) {
		return s
	}
	return t
}

// seqMin returns the earlier of s and t.
func seqMin(s, t Seq) Seq {
	if s.LT(t) {
		return s
	}
	return t
}
