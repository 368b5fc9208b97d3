package tcpnode

import (
	"net/netip"
	"sync/atomic"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
)

// Handing segments to the worker that owns their connection.
//
// With several workers each engine sees a miss for a segment of another
// worker's connection. tcp4-input (tcp6-input) then asks the flow table
// (flows.go) and, when another worker owns the flow, pushes the buffer
// into that worker's ring for this worker (one single-producer
// single-consumer stack.Ring per pair: no lock, no allocation) and wakes
// it once per vector. The owner's tcp-handoff input node drains its rings
// into its tcp4-input and tcp6-input, where the segment meets its
// connection. A segment whose flow nobody owns goes on to the listeners
// and the RST as before. With one worker none of this runs.

// HandoffName is the input node that takes the segments other workers
// handed over and passes them to tcp4-input or tcp6-input.
const HandoffName = "tcp-handoff"

// HandoffRing is the capacity of one (sender, owner) hand-off ring in
// buffers: four vectors, room for a burst while the owner finishes a
// dispatch pass. A segment beyond it is dropped and counted as
// handoff_full (the peer retransmits it).
const HandoffRing = 4 * pkt.VectorSize

const (
	handoffNextTCP4 = 1 + iota
	handoffNextTCP6
)

// handoffState is what a worker's engine needs to hand segments over; it
// is nil with one worker.
type handoffState struct {
	t    *TCP
	id   int           // this worker
	in   []*stack.Ring // rings from each other worker (nil at id), drained by tcp-handoff
	next int           // ring tcp-handoff drains first (fairness)
	kick atomic.Bool   // a ring into this worker went non-empty

	// Under tcpWorker.mu, during one tcp4-input/tcp6-input call.
	vec    []pkt.Index                 // the input vector; Segment.Ref indexes it
	handed [pkt.VectorSize / 64]uint64 // positions in vec handed over
	count  int                         // how many
	wake   []bool                      // by worker: handed something, wake it
}

// track is every engine's Config.Track with several workers: the flow
// table follows the connections of this worker's engine. Caller holds
// tw.mu.
func (h *handoffState) track(local, remote netip.AddrPort, added bool) {
	k := flowKeyOf(local, remote)
	if added {
		h.t.flows.set(k, h.id)
		return
	}
	h.t.flows.remove(k, h.id)
}

// miss is every engine's Config.Miss with several workers: a segment of a
// connection another worker owns is handed to it. It runs inside
// tcp4-input/tcp6-input's Input call (tw.node set, h.vec the vector).
func (tw *tcpWorker) miss(s *tcp.Segment) bool {
	h := tw.handoff
	if h.vec == nil || s.Ref < 0 || s.Ref >= len(h.vec) {
		return false
	}
	owner := h.t.flows.lookup(flowKeyOf(s.Dst, s.Src))
	if owner < 0 || owner == h.id {
		return false
	}
	word, bit := s.Ref/64, uint64(1)<<(s.Ref%64)
	if h.handed[word]&bit != 0 { // a duplicate (fault injection) of a segment handed already
		return true
	}
	i := h.vec[s.Ref]
	m := tw.arena.Meta(i)
	m.Flags |= pkt.FlagL4ChecksumOK // verified here; the owner need not again
	if !h.t.workers[owner].handoff.in[h.id].Push(i) {
		tw.node.Count(ErrHandoffFull, 1)
		return true
	}
	h.handed[word] |= bit
	h.count++
	h.wake[owner] = true
	tw.node.Count(ErrHandedOff, 1)
	return true
}

// settle ends an input call that handed segments over: it frees the
// buffers of vec that were not handed, and wakes the owners.
func (h *handoffState) settle(c *pkt.Cache, vec []pkt.Index) {
	k := 0
	for j, i := range vec {
		if h.handed[j/64]&(1<<(j%64)) == 0 {
			vec[k] = i
			k++
		}
	}
	c.FreeN(vec[:k])
	clear(h.handed[:])
	h.count = 0
	for w, ok := range h.wake {
		if ok {
			h.wake[w] = false
			o := h.t.workers[w]
			o.ws.Signal(&o.handoff.kick)
		}
	}
}

// handoffNode is tcp-handoff: on each poll it drains the rings other
// workers filled for this one, a vector at most, into tcp4-input and
// tcp6-input.
func (t *TCP) handoffNode() graph.Registration {
	return graph.Registration{
		Name: HandoffName,
		Kind: graph.Input,
		Next: []string{InputName, Input6Name},
		Init: func(n *graph.Node) error {
			tw, err := t.workerOf(n)
			if err != nil {
				return err
			}
			n.State = tw
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			tw := n.State.(*tcpWorker)
			h := tw.handoff
			if h == nil || !h.kick.Load() {
				return 0
			}
			h.kick.Store(false)
			a := n.Arena()
			k := 0
			rings := len(h.in)
			for r := range rings {
				ring := h.in[(h.next+r)%rings]
				if ring == nil {
					continue
				}
				for k < pkt.VectorSize {
					i, ok := ring.Pop()
					if !ok {
						break
					}
					v.Idx[k] = i
					n.Nexts[k] = handoffNextTCP4
					if m := a.Meta(i); a.Data(i)[m.L3]>>4 == 6 {
						n.Nexts[k] = handoffNextTCP6
					}
					k++
				}
			}
			h.next = (h.next + 1) % rings
			if k == pkt.VectorSize { // there may be more
				h.kick.Store(true)
			}
			v.Len = k
			n.Enqueue(v, n.Nexts[:])
			return k
		},
		Close: func(n *graph.Node) {
			if h := n.State.(*tcpWorker).handoff; h != nil {
				h.drain(n.Cache())
			}
		},
	}
}

// drain frees what the rings into this worker hold (the workers stopped).
func (h *handoffState) drain(c *pkt.Cache) {
	for _, r := range h.in {
		if r == nil {
			continue
		}
		for {
			i, ok := r.Pop()
			if !ok {
				break
			}
			c.Free(i)
		}
	}
}
