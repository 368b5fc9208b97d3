package tcp

// RACK (RFC 8985 section 6): time-based loss detection. A segment is lost
// when a segment sent after it was delivered and the reordering window
// has passed since it was sent: RACK.rtt (the RTT of the most recently
// sent segment delivered) plus reo_wnd (a quarter of the minimum RTT,
// grown on D-SACK rounds). What is in flight is a list of sent ranges
// kept in a fixed array in the connection (no allocation per segment):
// segments sent in one entry point (one vector, one tick) share a send
// time and coalesce into one range; ranges split where SACK blocks and
// retransmissions cut them, and when the array is full the two adjacent
// ranges sent closest in time merge (keeping the later time, so a merged
// range is never found lost early).

// maxSentRanges bounds the ranges a connection keeps.
const maxSentRanges = 64

// Flags of a sent range.
const (
	sentRetransmitted uint8 = 1 << iota // sent more than once (Karn: its ACK may be for an earlier copy)
	sentSACKed                          // delivered by a SACK block
	sentLost                            // found lost, not retransmitted since
)

// sentRange is the sequence numbers [start, end) last sent at time at.
type sentRange struct {
	start, end Seq
	at         int64
	flags      uint8
}

// rack is a connection's RACK state and its sent ranges above sndUna,
// sorted by sequence number and contiguous.
type rack struct {
	r [maxSentRanges]sentRange
	n int

	xmitAt     int64 // RACK.xmit_ts: send time of the most recently sent segment delivered
	endSeq     Seq   // RACK.end_seq: its end
	rtt        int64 // RACK.rtt: its round-trip time
	minRTT     int64 // RACK.min_RTT (0: no sample yet)
	fack       Seq   // RACK.fack: highest end of a delivered segment
	reordering bool  // RACK.reordering_seen
	reoMult    int   // RACK.reo_wnd_mult
	reoPersist int   // RACK.reo_wnd_persist: recoveries before reoMult goes back to 1
	dsackRound Seq   // RACK.dsack_round (when dsackOn)
	dsackOn    bool
}

func (k *rack) init(iss Seq) { *k = rack{fack: iss, reoMult: 1} }

// sentAfter is RACK_sent_after: whether (t1, s1) was sent after (t2, s2).
func sentAfter(t1 int64, s1 Seq, t2 int64, s2 Seq) bool {
	return t1 > t2 || t1 == t2 && s1.GT(s2)
}

// find returns the index of the first range that ends above s.
func (k *rack) find(s Seq) int {
	i := 0
	for i < k.n && k.r[i].end.LEQ(s) {
		i++
	}
	return i
}

// split makes s a range boundary, if there is room.
func (k *rack) split(s Seq) {
	i := k.find(s)
	if i == k.n || !k.r[i].start.LT(s) {
		return
	}
	if k.n == maxSentRanges {
		k.compact()
		if i = k.find(s); i == k.n || !k.r[i].start.LT(s) || k.n == maxSentRanges {
			return
		}
	}
	copy(k.r[i+1:k.n+1], k.r[i:k.n])
	k.n++
	k.r[i].end = s
	k.r[i+1].start = s
}

// compact merges the two adjacent ranges sent closest in time, those of
// the same flags first, to make room for one more range.
func (k *rack) compact() {
	best, cost := -1, int64(0)
	for i := 0; i+1 < k.n; i++ {
		a, b := &k.r[i], &k.r[i+1]
		d := a.at - b.at
		if d < 0 {
			d = -d
		}
		if a.flags != b.flags {
			d += 1 << 50
		}
		if best < 0 || d < cost {
			best, cost = i, d
		}
	}
	if best < 0 {
		return
	}
	a, b := k.r[best], k.r[best+1]
	m := sentRange{start: a.start, end: b.end, at: max(a.at, b.at),
		flags: (a.flags|b.flags)&^sentSACKed | a.flags&b.flags&sentSACKed}
	k.r[best] = m
	copy(k.r[best+1:], k.r[best+2:k.n])
	k.n--
}

// tidy merges neighbours sent at the same time with the same flags.
func (k *rack) tidy() {
	if k.n < 2 {
		return
	}
	w := 0
	for i := 1; i < k.n; i++ {
		p, s := &k.r[w], k.r[i]
		if p.end == s.start && p.at == s.at && p.flags == s.flags {
			p.end = s.end
			continue
		}
		w++
		k.r[w] = s
	}
	k.n = w + 1
}

// sent records the transmission of [start, end) at now: new data extends
// the list, a retransmission (rxt) gives its ranges the new time and
// clears their lost mark.
func (k *rack) sent(start, end Seq, now int64, rxt bool) {
	if !start.LT(end) {
		return
	}
	if k.n > 0 && start.LT(k.r[k.n-1].end) {
		k.split(start)
		k.split(end)
		for i := k.find(start); i < k.n && k.r[i].start.LT(end); i++ {
			k.r[i].at = now
			k.r[i].flags = k.r[i].flags&sentSACKed | sentRetransmitted
		}
		last := k.r[k.n-1].end
		k.tidy()
		if end.LEQ(last) {
			return
		}
		start = last
	}
	f := uint8(0)
	if rxt {
		f = sentRetransmitted
	}
	if k.n > 0 {
		if p := &k.r[k.n-1]; p.end == start && p.at == now && p.flags == f {
			p.end = end
			return
		}
	}
	if k.n == maxSentRanges {
		k.compact()
	}
	k.r[k.n] = sentRange{start: start, end: end, at: now, flags: f}
	k.n++
}

// anyLost reports whether a range is marked lost.
func (k *rack) anyLost() bool {
	for i := 0; i < k.n; i++ {
		if k.r[i].flags&sentLost != 0 {
			return true
		}
	}
	return false
}

// firstLost returns the first range marked lost and not SACKed.
func (k *rack) firstLost() (Seq, Seq, bool) {
	for i := 0; i < k.n; i++ {
		if k.r[i].flags&(sentLost|sentSACKed) == sentLost {
			return k.r[i].start, k.r[i].end, true
		}
	}
	return 0, 0, false
}

// forgetSACKs clears the SACKed and lost marks (after a timeout, when the
// SACK information may be reneged and everything goes again).
func (k *rack) forgetSACKs() {
	for i := 0; i < k.n; i++ {
		k.r[i].flags &^= sentSACKed | sentLost
	}
	k.tidy()
}

// sampleMinRTT folds an RTT measured with a clock of ns (not the
// timestamps' ms) into RACK.min_RTT.
func (k *rack) sampleMinRTT(r int64) {
	if r > 0 && (k.minRTT == 0 || r < k.minRTT) {
		k.minRTT = r
	}
}

// reportDuplicate has the next segment carry a D-SACK block for [left,
// right), data received twice (RFC 2883): its sender learns that a
// retransmission was spurious and widens its reordering window.
func (c *Conn) reportDuplicate(left, right Seq) {
	if c.sackOK && !c.e.cfg.NoDSACK && left.LT(right) {
		c.dsack, c.dsackOn = seqRange{left, right}, true
		c.ackNow = true
	}
}

// rackOnACK runs RACK's steps on an ACK (RFC 8985 section 6.2, steps 1
// to 5) of cumulative acknowledgment ack, once the scoreboard holds its
// SACK blocks and the ACK was processed: the ranges newly delivered update RACK.xmit_ts, RACK.rtt,
// RACK.fack and the reordering flag, a D-SACK widens the reordering
// window, and segments sent before the delivered ones are marked lost
// once the window has passed (else the reordering timer is armed). It
// reports whether any range is marked lost.
func (c *Conn) rackOnACK(ack Seq, dsack bool) bool {
	k := &c.rack
	k.split(ack)
	for i := 0; i < c.sack.n; i++ {
		k.split(c.sack.r[i].left)
		k.split(c.sack.r[i].right)
	}
	w, j := 0, 0
	for i := 0; i < k.n; i++ {
		s := k.r[i]
		acked := s.end.LEQ(ack)
		if s.flags&sentSACKed == 0 {
			if acked {
				c.rackUpdate(&s)
			} else {
				for j < c.sack.n && c.sack.r[j].right.LEQ(s.start) {
					j++
				}
				if j < c.sack.n && c.sack.r[j].left.LEQ(s.start) && s.end.LEQ(c.sack.r[j].right) {
					s.flags = s.flags&^sentLost | sentSACKed
					c.rackUpdate(&s)
				}
			}
		}
		if !acked {
			k.r[w] = s
			w++
		}
	}
	k.n = w
	k.tidy()
	// Step 4: the reordering window's multiplier (RFC 8985 section 6.2).
	if k.dsackOn && ack.GEQ(k.dsackRound) {
		k.dsackOn = false
	}
	if dsack {
		c.e.count(StatDSACK)
		if !k.dsackOn {
			k.dsackOn, k.dsackRound = true, c.sndMax
			k.reoMult = min(k.reoMult+1, 64)
			k.reoPersist = 16
		}
	}
	return c.rackDetectLoss()
}

// rackUpdate is RACK_update and RACK_detect_reordering for a range newly
// delivered. A retransmitted range delivered sooner than the minimum RTT
// after the retransmission was delivered by an earlier copy: it gives
// no sample. (RFC 8985's second test, a timestamp echo older than the
// retransmission, is not made: a receiver echoes the TS.Recent of
// in-order data (RFC 7323 section 4.3), so the SACK of a retransmission
// above a hole echoes an older value and the test would reject it.)
func (c *Conn) rackUpdate(s *sentRange) {
	k := &c.rack
	rtt := c.e.now - s.at
	if s.flags&sentRetransmitted != 0 {
		if rtt < k.minRTT {
			return
		}
	} else {
		k.sampleMinRTT(max(rtt, 1))
	}
	if s.end.GT(k.fack) {
		k.fack = s.end
	} else if s.flags&sentRetransmitted == 0 {
		k.reordering = true
	}
	if sentAfter(s.at, s.end, k.xmitAt, k.endSeq) {
		k.rtt, k.xmitAt, k.endSeq = rtt, s.at, s.end
	}
}

// rackReoWnd is RACK_update_reo_wnd's window: none in a recovery or with
// DupThresh segments SACKed until reordering was seen, else a quarter of
// the minimum RTT times the D-SACK multiplier, at most SRTT.
func (c *Conn) rackReoWnd() int64 {
	k := &c.rack
	if !k.reordering && (c.inRecovery || c.backoff > 0 || c.sack.sackedAbove(c.sndUna) >= 3*c.smss()) {
		return 0
	}
	return min(int64(k.reoMult)*k.minRTT/4, c.srtt)
}

// rackDetectLoss is RACK_detect_loss_and_arm_timer: it marks lost the
// ranges sent before RACK.xmit_ts whose window has passed and arms the
// reordering timer for the earliest of the others. It reports whether
// any range is marked lost.
func (c *Conn) rackDetectLoss() bool {
	k := &c.rack
	now := c.e.now
	reo := c.rackReoWnd()
	next, lost := never, false
	for i := 0; i < k.n; i++ {
		s := &k.r[i]
		if s.flags&sentSACKed != 0 {
			continue
		}
		if s.flags&sentLost != 0 {
			lost = true
			continue
		}
		if !sentAfter(k.xmitAt, k.endSeq, s.at, s.end) {
			continue
		}
		if rem := s.at + k.rtt + reo - now; rem <= 0 {
			s.flags |= sentLost
			lost = true
			c.e.count(StatRACKLost)
			if s.flags&sentRetransmitted != 0 {
				c.e.count(StatLostRetransmit)
			}
		} else {
			next = min(next, now+rem)
		}
	}
	c.rackAt = next
	return lost
}

// rackTimeout is the reordering timer's expiry (RFC 8985 section 6.3):
// the suspects whose window has now passed are lost, and recovery
// retransmits them without waiting for another ACK or the RTO.
func (c *Conn) rackTimeout() {
	if !c.sackOK || c.sndUna == c.sndMax {
		return
	}
	c.e.count(StatReorderTimeout)
	if c.rackDetectLoss() {
		c.rackRecover()
	}
	c.e.markDirty(c) // output re-arms the tail loss probe if nothing was lost
}

// rackRecover starts a recovery for ranges RACK found lost (unless one is
// under way, or the sender is going back to sndUna after a timeout) and
// lets output send them.
func (c *Conn) rackRecover() {
	if !c.inRecovery && c.sndNxt == c.sndMax {
		c.enterRecovery()
	}
	c.e.markDirty(c)
}

// rackRecoveryEnded counts a finished recovery toward resetting the
// reordering window's multiplier (RACK.reo_wnd_persist).
func (c *Conn) rackRecoveryEnded() {
	k := &c.rack
	if k.reoPersist > 0 {
		if k.reoPersist--; k.reoPersist == 0 {
			k.reoMult = 1
		}
	}
}
