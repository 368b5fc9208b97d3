package tcp

import "github.com/vecnet/vecnet/wire"

// maxRanges bounds the out-of-order ranges a receiver tracks and the SACK
// blocks a sender remembers. A segment that would need more is dropped
// (receiver) or its block forgotten (sender): both are recoverable.
const maxRanges = 8

// seqRange is the sequence numbers [left, right).
type seqRange struct{ left, right Seq }

// oooList is the receiver's out-of-order data: ranges above rcvNxt held in
// the receive buffer, sorted and disjoint, most recently changed first in
// recent (for the SACK option's first block, RFC 2018).
type oooList struct {
	r      [maxRanges]seqRange
	n      int
	recent Seq // left edge of the range the last segment went into
}

// add records [left, right) (above rcvNxt). It reports false when the
// range does not fit in the list.
func (l *oooList) add(left, right Seq) bool {
	// Find the first range that ends at or after left.
	i := 0
	for i < l.n && l.r[i].right.LT(left) {
		i++
	}
	j := i
	for j < l.n && l.r[j].left.LEQ(right) {
		left = seqMin(left, l.r[j].left)
		right = seqMax(right, l.r[j].right)
		j++
	}
	// ranges i..j-1 merge into one
	if i == j {
		if l.n == maxRanges {
			return false
		}
		copy(l.r[i+1:l.n+1], l.r[i:l.n])
		l.n++
	} else if j-i > 1 {
		copy(l.r[i+1:], l.r[j:l.n])
		l.n -= j - i - 1
	}
	l.r[i] = seqRange{left, right}
	l.recent = left
	return true
}

// holds reports whether [left, right) is already held.
func (l *oooList) holds(left, right Seq) bool {
	for i := 0; i < l.n; i++ {
		if l.r[i].left.LEQ(left) && right.LEQ(l.r[i].right) {
			return true
		}
	}
	return false
}

// advance removes what rcvNxt passed and returns the end of a range that
// starts at or before rcvNxt (rcvNxt itself if none): the new rcvNxt.
func (l *oooList) advance(rcvNxt Seq) Seq {
	for l.n > 0 && l.r[0].left.LEQ(rcvNxt) {
		rcvNxt = seqMax(rcvNxt, l.r[0].right)
		copy(l.r[:], l.r[1:l.n])
		l.n--
	}
	return rcvNxt
}

// blocks writes SACK blocks for the option, the most recent range first,
// and returns how many.
func (l *oooList) blocks(b *[wire.TCPMaxSACKBlocks]wire.SACKBlock) int {
	n := 0
	for i := 0; i < l.n; i++ {
		if l.r[i].left.LEQ(l.recent) && l.recent.LT(l.r[i].right) {
			b[0] = wire.SACKBlock{Left: uint32(l.r[i].left), Right: uint32(l.r[i].right)}
			n = 1
			break
		}
	}
	first := n
	for i := 0; i < l.n && n < wire.TCPMaxSACKBlocks; i++ {
		if first == 1 && uint32(l.r[i].left) == b[0].Left {
			continue
		}
		b[n] = wire.SACKBlock{Left: uint32(l.r[i].left), Right: uint32(l.r[i].right)}
		n++
	}
	return n
}

// scoreboard is the sender's record of SACKed ranges above sndUna (RFC
// 6675), sorted and disjoint, and the highest retransmitted sequence
// number in the current recovery.
type scoreboard struct {
	r       [maxRanges]seqRange
	n       int
	highRxt Seq
}

// reset forgets all SACK information.
func (s *scoreboard) reset() { s.n = 0 }

// update adds the blocks of an ACK that are inside (una, sndMax] and drops
// what una passed. It reports whether a block added new information, and
// whether the first block is a D-SACK (RFC 2883 section 4: it reports
// data received twice, below the cumulative ACK or inside the second
// block).
func (s *scoreboard) update(o *wire.TCPOptions, una, sndMax Seq) (grew, dsack bool) {
	if o.NSACK > 0 {
		l, r := Seq(o.SACK[0].Left), Seq(o.SACK[0].Right)
		dsack = l.LT(r) && (r.LEQ(una) ||
			o.NSACK > 1 && Seq(o.SACK[1].Left).LEQ(l) && r.LEQ(Seq(o.SACK[1].Right)))
		// Only a block within what was sent and at most a window
		// below it: an old or forged one says nothing.
		dsack = dsack && r.LEQ(sndMax) && sndMax.Sub(l) <= 1<<30
	}
	for i := 0; i < o.NSACK; i++ {
		l, r := Seq(o.SACK[i].Left), Seq(o.SACK[i].Right)
		if !l.LT(r) || l.LT(una) || r.GT(sndMax) {
			continue // invalid, D-SACK or stale
		}
		if s.add(l, r) {
			grew = true
		}
	}
	s.trim(una)
	return grew, dsack
}

// trim drops what una passed.
func (s *scoreboard) trim(una Seq) {
	for s.n > 0 && s.r[0].right.LEQ(una) {
		copy(s.r[:], s.r[1:s.n])
		s.n--
	}
	if s.n > 0 && s.r[0].left.LT(una) {
		s.r[0].left = una
	}
}

func (s *scoreboard) add(left, right Seq) bool {
	i := 0
	for i < s.n && s.r[i].right.LT(left) {
		i++
	}
	if i < s.n && s.r[i].left.LEQ(left) && right.LEQ(s.r[i].right) {
		return false // already known
	}
	j := i
	for j < s.n && s.r[j].left.LEQ(right) {
		left = seqMin(left, s.r[j].left)
		right = seqMax(right, s.r[j].right)
		j++
	}
	if i == j {
		if s.n == maxRanges {
			return false
		}
		copy(s.r[i+1:s.n+1], s.r[i:s.n])
		s.n++
	} else if j-i > 1 {
		copy(s.r[i+1:], s.r[j:s.n])
		s.n -= j - i - 1
	}
	s.r[i] = seqRange{left, right}
	return true
}

// sackedAbove returns the SACKed bytes above seq.
func (s *scoreboard) sackedAbove(seq Seq) int {
	n := 0
	for i := s.n - 1; i >= 0 && s.r[i].right.GT(seq); i-- {
		n += s.r[i].right.Sub(seqMax(s.r[i].left, seq))
	}
	return n
}

// lost reports whether seq counts as lost by RFC 6675 IsLost: more than
// (DupThresh-1)*SMSS bytes above it are SACKed.
func (s *scoreboard) lost(c *Conn, seq Seq) bool {
	return s.sackedAbove(seq) > 2*c.smss()
}

// pipe estimates the bytes in flight (RFC 6675 SetPipe, with RACK's
// marks, as Linux counts in_flight): per sent range not SACKed, nothing
// if it is lost and not retransmitted since (found by RACK, or by IsLost
// before its first retransmission), else its length once.
func (s *scoreboard) pipe(c *Conn) int {
	k := &c.rack
	p := 0
	end := c.sndUna
	for i := 0; i < k.n; i++ {
		r := &k.r[i]
		end = r.end
		switch {
		case r.flags&(sentSACKed|sentLost) != 0:
		case r.flags&sentRetransmitted == 0 && s.lost(c, r.start):
		default:
			p += r.end.Sub(seqMax(r.start, c.sndUna))
		}
	}
	if end.LT(c.sndMax) {
		p += c.sndMax.Sub(seqMax(end, c.sndUna)) // not recorded: in flight
	}
	return p
}

// nextSeg returns what to send next in recovery (RFC 6675 NextSeg, rules
// 1 and 2, with RACK): the first byte of a range RACK marked lost, or the
// first lost (IsLost), not yet retransmitted byte of a hole, whichever
// comes first, and the length up to the end of that range or hole; or
// sndNxt and 0 for new data.
func (s *scoreboard) nextSeg(c *Conn) (Seq, int) {
	seq, end := c.sndNxt, c.sndNxt
	from := c.sndUna
	for i := 0; i < s.n; i++ {
		to := s.r[i].left
		start := seqMax(from, s.highRxt)
		if start.LT(to) && s.lost(c, start) {
			seq, end = start, to
			break
		}
		from = s.r[i].right
	}
	if l, e, ok := c.rack.firstLost(); ok && l.LT(seq) {
		l = seqMax(l, c.sndUna)
		for i := 0; i < s.n; i++ {
			if s.r[i].right.GT(l) {
				e = seqMin(e, s.r[i].left)
				break
			}
		}
		if l.LT(e) {
			seq, end = l, e
		}
	}
	return seq, end.Sub(seq)
}
