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
	// rxtMark is sndMax when the last retransmission went out and rxtAt
	// when: data above rxtMark was sent after every retransmission so far
	// (retransLost).
	rxtMark Seq
	rxtAt   int64
}

// retransmitted records a retransmission sent at now, with sndMax the
// highest sequence number sent so far.
func (s *scoreboard) retransmitted(sndMax Seq, now int64) { s.rxtMark, s.rxtAt = sndMax, now }

// retransLost applies RACK's rule (RFC 8985 section 6.2) to the
// retransmissions of the current recovery, whose send times are all
// before rxtAt: once data sent after them (above rxtMark) is SACKed and a
// reordering window of a quarter RTT more has passed, the retransmitted
// bytes not yet SACKed or acknowledged are lost. It reports whether
// there are any (then NextSeg may send them again: highRxt goes back to
// una) instead of waiting for the retransmission timeout, the only way
// RFC 6675 alone finds a lost retransmission.
func (s *scoreboard) retransLost(una Seq, now, srtt int64) bool {
	if s.n == 0 || !una.LT(s.highRxt) || !s.r[s.n-1].right.GT(s.rxtMark) || now-s.rxtAt < srtt+srtt/4 {
		return false
	}
	// Bytes below highRxt not covered by SACK blocks?
	from := una
	for i := 0; i < s.n && s.r[i].left.LT(s.highRxt); i++ {
		if from.LT(s.r[i].left) {
			return true
		}
		from = seqMax(from, s.r[i].right)
	}
	return from.LT(s.highRxt)
}

// reset forgets all SACK information.
func (s *scoreboard) reset() { s.n = 0 }

// update adds the blocks of an ACK that are inside (una, sndMax] and drops
// what una passed. It reports whether a block added new information.
func (s *scoreboard) update(o *wire.TCPOptions, una, sndMax Seq) bool {
	grew := false
	for i := 0; i < o.NSACK; i++ {
		l, r := Seq(o.SACK[i].Left), Seq(o.SACK[i].Right)
		if !l.LT(r) || l.LT(una) || r.GT(sndMax) {
			continue // invalid, D-SACK or stale
		}
		if s.add(l, r) {
			grew = true
		}
	}
	for s.n > 0 && s.r[0].right.LEQ(una) {
		copy(s.r[:], s.r[1:s.n])
		s.n--
	}
	if s.n > 0 && s.r[0].left.LT(una) {
		s.r[0].left = una
	}
	return grew
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

// pipe estimates the bytes in flight (RFC 6675 SetPipe): every byte not
// SACKed counts once unless it is lost, and once more if retransmitted.
func (s *scoreboard) pipe(c *Conn) int {
	p := 0
	from := c.sndUna
	for i := 0; i <= s.n; i++ {
		to := c.sndMax
		if i < s.n {
			to = s.r[i].left
		}
		if from.LT(to) {
			if !s.lost(c, from) {
				p += to.Sub(from)
			}
			if rx := seqMin(to, s.highRxt); from.LT(rx) {
				p += rx.Sub(from)
			}
		}
		if i < s.n {
			from = s.r[i].right
		}
	}
	return p
}

// nextSeg returns what to send next in recovery (RFC 6675 NextSeg, rules
// 1 and 2): the first lost, not yet retransmitted byte of a hole and the
// hole's remaining length, or sndNxt and 0 for new data.
func (s *scoreboard) nextSeg(c *Conn) (Seq, int) {
	from := c.sndUna
	for i := 0; i < s.n; i++ {
		to := s.r[i].left
		start := seqMax(from, s.highRxt)
		if start.LT(to) && s.lost(c, start) {
			return start, to.Sub(start)
		}
		from = s.r[i].right
	}
	return c.sndNxt, 0
}
