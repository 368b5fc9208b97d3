package tcpnode

import (
	"math/rand/v2"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
)

// FaultStats counts the faults injected, per direction.
type FaultStats struct {
	RxLost, RxDuplicated, RxReordered uint64
	TxLost, TxDuplicated, TxReordered uint64
}

// tcpFaulter is one worker's fault injector; it is used under the
// worker's tcpWorker.mu.
type tcpFaulter struct {
	cfg    stack.TCPFault
	rx, tx *rand.PCG
	stats  FaultStats
	held   pkt.Index // a transmitted segment held back to follow the next
	heldOK bool
}

func newTCPFaulter(cfg stack.TCPFault, worker int) *tcpFaulter {
	s := cfg.Seed + uint64(worker)*0x9e3779b97f4a7c15
	return &tcpFaulter{cfg: cfg, rx: rand.NewPCG(s, 1), tx: rand.NewPCG(s, 2)}
}

// chance reports true with probability p, drawing from r.
func chance(r *rand.PCG, p float64) bool {
	return p > 0 && float64(r.Uint64()>>11)*0x1p-53 < p
}

// receive applies the receive faults to seg, about to be appended to segs,
// and returns segs with seg appended zero, one or two times, or swapped
// with the segment before it.
func (f *tcpFaulter) receive(segs []tcp.Segment, seg tcp.Segment) []tcp.Segment {
	if chance(f.rx, f.cfg.Loss) {
		f.stats.RxLost++
		return segs
	}
	segs = append(segs, seg)
	if chance(f.rx, f.cfg.Duplicate) {
		f.stats.RxDuplicated++
		segs = append(segs, seg)
	}
	if k := len(segs) - 1; k > 0 && chance(f.rx, f.cfg.Reorder) {
		segs[k-1], segs[k] = segs[k], segs[k-1]
		f.stats.RxReordered++
	}
	return segs
}

// send transmits the finished segment in buffer i through the fault
// model: dropped, sent once or twice, or held back until the next one.
func (tw *tcpWorker) send(i pkt.Index) {
	f := tw.fault
	if chance(f.tx, f.cfg.Loss) {
		f.stats.TxLost++
		tw.free(i)
		return
	}
	if chance(f.tx, f.cfg.Duplicate) {
		if j, ok := tw.alloc(); ok {
			a := tw.arena
			d := a.Data(i)
			d2, _ := a.SetData(j, int(a.Meta(i).Off), len(d))
			copy(d2, d)
			*a.Meta(j) = *a.Meta(i)
			tw.enqueue(j)
			f.stats.TxDuplicated++
		}
	}
	if f.heldOK {
		tw.enqueue(i)
		tw.enqueue(f.held)
		f.heldOK = false
		f.stats.TxReordered++
		return
	}
	if chance(f.tx, f.cfg.Reorder) {
		f.held, f.heldOK = i, true
		return
	}
	tw.enqueue(i)
}

// releaseHeld sends the segment held back for reordering, if any: the
// engine call that produced it ended without another.
func (tw *tcpWorker) releaseHeld() {
	if f := tw.fault; f != nil && f.heldOK {
		f.heldOK = false
		tw.enqueue(f.held)
	}
}

// FaultStats returns the faults injected so far, summed over the
// workers (zero when Config.TCPFault is nil). It locks each engine in turn.
func (t *TCP) FaultStats() FaultStats {
	var sum FaultStats
	for _, tw := range t.workers {
		tw.mu.Lock()
		if f := tw.fault; f != nil {
			sum.RxLost += f.stats.RxLost
			sum.RxDuplicated += f.stats.RxDuplicated
			sum.RxReordered += f.stats.RxReordered
			sum.TxLost += f.stats.TxLost
			sum.TxDuplicated += f.stats.TxDuplicated
			sum.TxReordered += f.stats.TxReordered
		}
		tw.mu.Unlock()
	}
	return sum
}
