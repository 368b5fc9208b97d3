package gen

import "math/bits"

// seqWindow is the span of sequence numbers the tracker holds at once, in
// 64-bit words; frames older than that count as late.
const seqWindow = 1024 // words: 65536 sequence numbers

// SeqTracker counts lost, reordered and duplicated sequence numbers with a
// sliding bitmap over [base, base+64*seqWindow). A number that arrives
// below the current maximum is a reorder; one already seen is a duplicate;
// when the window slides, the numbers it leaves unseen are lost, and each
// maximal run of them is one gap. Finish accounts for the rest. Not safe
// for concurrent use; Add does not allocate.
type SeqTracker struct {
	words    [seqWindow]uint64
	base     uint64 // first number of words[0]; a multiple of 64
	started  bool
	max      uint64
	prevLost bool // the last number accounted (below base) was lost

	Received   uint64 // numbers seen, duplicates excluded
	Lost       uint64 // numbers never seen below the highest seen
	Gaps       uint64 // runs of lost numbers
	Reordered  uint64 // numbers that arrived after a higher one
	Duplicates uint64 // numbers seen more than once
	Late       uint64 // numbers below the window (too old to classify)
}

// NewSeqTracker returns a tracker that expects first as the first number.
func NewSeqTracker(first uint64) *SeqTracker {
	t := &SeqTracker{}
	t.Reset(first)
	return t
}

// Reset clears the tracker to expect first next.
func (t *SeqTracker) Reset(first uint64) {
	*t = SeqTracker{base: first &^ 63, max: first, started: false}
	// Numbers below first in the first word are marked seen.
	t.words[0] = 1<<(first&63) - 1
}

// Add records one arrival.
func (t *SeqTracker) Add(seq uint64) {
	if seq < t.base {
		t.Late++
		return
	}
	for seq >= t.base+64*seqWindow {
		t.slide()
	}
	off := seq - t.base
	w, bit := off>>6, uint64(1)<<(off&63)
	if t.words[w]&bit != 0 {
		t.Duplicates++
		return
	}
	t.words[w] |= bit
	t.Received++
	if !t.started || seq > t.max {
		t.started = true
		t.max = seq
		return
	}
	if seq < t.max {
		t.Reordered++
	}
}

// slide accounts for words[0] and moves the window by 64 numbers.
func (t *SeqTracker) slide() {
	t.account(t.words[0], 64)
	copy(t.words[:], t.words[1:])
	t.words[seqWindow-1] = 0
	t.base += 64
}

// account counts the unseen numbers among the low n bits of w (n ≤ 64) as
// lost, and the runs they form as gaps.
func (t *SeqTracker) account(w uint64, n uint) {
	mask := ^uint64(0)
	if n < 64 {
		mask = 1<<n - 1
	}
	miss := ^w & mask
	t.Lost += uint64(bits.OnesCount64(miss))
	// A run starts where a missing bit follows a seen one (or a seen
	// number before this word).
	prev := miss<<1 | b2u(t.prevLost)
	t.Gaps += uint64(bits.OnesCount64(miss &^ prev))
	if n > 0 {
		t.prevLost = miss>>(n-1)&1 != 0
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Finish accounts for every number up to the highest seen; call it once
// after the last Add. Numbers after the highest seen are not counted lost
// (the tracker cannot know they were sent).
func (t *SeqTracker) Finish() {
	if !t.started {
		return
	}
	for t.max >= t.base+64 {
		t.slide()
	}
	t.account(t.words[0], uint(t.max-t.base+1))
	t.words[0] = 0
	t.base = t.max + 1 // nothing more is classified
}
