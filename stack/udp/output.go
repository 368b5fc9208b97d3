package udp

import (
	"math/bits"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
)

const (
	outNextLookup = 1 + iota
	outNextLookup6
)

// outputState is one worker's udp4-socket-output state.
type outputState struct {
	ws *stack.Worker
}

func (u *UDP) outputNode() graph.Registration {
	return graph.Registration{
		Name: OutputName,
		Kind: graph.Input,
		Next: []string{u.cfg.LookupNode, u.cfg.LookupNode6},
		Init: func(n *graph.Node) error {
			w, err := u.s.WorkerOf(n.Graph())
			if err != nil {
				return err
			}
			n.State = &outputState{ws: u.s.Worker(w)}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			ws := n.State.(*outputState).ws
			ws.Awake()
			if ws.Summary.Load() == 0 {
				return 0
			}
			ws.Enter()
			any6 := u.drainTx(ws, v)
			ws.Leave()
			cnt := v.Len
			if !any6 {
				n.EnqueueAll(v, outNextLookup)
				return cnt
			}
			a := n.Arena()
			for k, i := range v.Idx[:cnt] {
				next := uint16(outNextLookup)
				if m := a.Meta(i); a.Data(i)[m.L3]>>4 == 6 {
					next = outNextLookup6
				}
				n.Nexts[k] = next
			}
			n.Enqueue(v, n.Nexts[:])
			return cnt
		},
	}
}

// drainTx moves packets from the transmit rings of the sockets whose
// pending bits are set into v, until v is full; bits of sockets it could
// not finish are set again. It reports whether a socket that may send IPv6
// gave packets (then each packet's family picks its lookup node).
func (u *UDP) drainTx(ws *stack.Worker, v *pkt.Vector) (any6 bool) {
	tab := u.ports.Load()
	sum := ws.Summary.Swap(0)
	for sum != 0 {
		wi := bits.TrailingZeros64(sum)
		sum &= sum - 1
		word := ws.Pending[wi].Swap(0)
		for word != 0 {
			if v.Full() {
				// Leave the rest for the next pass.
				ws.Pending[wi].Or(word)
				ws.Summary.Or(sum | 1<<wi)
				return any6
			}
			b := bits.TrailingZeros64(word)
			word &= word - 1
			ep := &tab.Eps[wi*64+b]
			if ep.kind != epSocket {
				continue // closed: Close drains its ring
			}
			r := ep.sock.tx
			any6 = any6 || ep.fam&fam6 != 0
			for !v.Full() {
				i, ok := r.Pop()
				if !ok {
					break
				}
				v.Append(i)
			}
			if v.Full() && !r.Empty() {
				word |= 1 << b
			}
		}
	}
	return any6
}
