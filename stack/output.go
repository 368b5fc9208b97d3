package stack

import (
	"math/bits"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

const outNextLookup = 1

// outputState is one worker's udp4-socket-output state.
type outputState struct {
	ws *workerShared
}

func (s *Stack) outputNode() graph.Registration {
	return graph.Registration{
		Name: SocketOutputName,
		Kind: graph.Input,
		Next: []string{s.cfg.LookupNode},
		Init: func(n *graph.Node) error {
			w, err := s.workerOf(n.Graph())
			if err != nil {
				return err
			}
			n.State = &outputState{ws: s.workers[w]}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			ws := n.State.(*outputState).ws
			if ws.sleepy.Load() {
				ws.sleepy.Store(false) // awake again
			}
			if ws.summary.Load() == 0 {
				return 0
			}
			ws.seq.n.Add(1)
			s.drainTx(ws, v)
			ws.seq.n.Add(1)
			cnt := v.Len
			n.EnqueueAll(v, outNextLookup)
			return cnt
		},
	}
}

// drainTx moves packets from the transmit rings of the sockets whose
// pending bits are set into v, until v is full; bits of sockets it could
// not finish are set again.
func (s *Stack) drainTx(ws *workerShared, v *pkt.Vector) {
	tab := s.tab.Load()
	sum := ws.summary.Swap(0)
	for sum != 0 {
		wi := bits.TrailingZeros64(sum)
		sum &= sum - 1
		word := ws.pending[wi].Swap(0)
		for word != 0 {
			if v.Full() {
				// Leave the rest for the next pass.
				ws.pending[wi].Or(word)
				ws.summary.Or(sum | 1<<wi)
				return
			}
			b := bits.TrailingZeros64(word)
			word &= word - 1
			ep := &tab.eps[wi*64+b]
			if ep.kind != epSocket {
				continue // closed: Close drains its ring
			}
			r := ep.sock.tx
			for !v.Full() {
				i, ok := r.pop()
				if !ok {
					break
				}
				v.Append(i)
			}
			if v.Full() && !r.empty() {
				word |= 1 << b
			}
		}
	}
}
