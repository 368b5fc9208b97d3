package driver

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

// Binding ties one port (queue) to the interface index it belongs to.
type Binding struct {
	If   uint16
	Port Port
}

// OutputNodeName is the node that sends packets to their Meta.TxPort.
const OutputNodeName = "interface-output"

// PortInputName is the conventional name of a worker's InputNode (the
// daemon's): the node that polls the worker's port queues.
const PortInputName = "port-input"

// InputNode returns an input node named name that polls its bindings on
// every dispatch pass into one vector, stamps Meta.RxPort of each packet
// with its binding's interface, arms tracing and hands the vector whole to
// next. The binding polled first rotates from pass to pass, so a port that
// fills the vector by itself cannot starve the others.
func InputNode(name string, bindings []Binding, next string) graph.Registration {
	first := 0
	return graph.Registration{
		Name: name,
		Kind: graph.Input,
		Next: []string{next},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			k := poll(n, v, bindings, first)
			if first++; first >= len(bindings) {
				first = 0
			}
			return k
		},
	}
}

// poll fills v from bindings, starting at first; see InputNode.
func poll(n *graph.Node, v *pkt.Vector, bindings []Binding, first int) int {
	a := n.Arena()
	c := n.Cache()
	for j := range bindings {
		if v.Full() {
			break
		}
		b := bindings[(first+j)%len(bindings)]
		start := v.Len
		if b.Port.Recv(c, v) == 0 {
			continue
		}
		for _, i := range v.Idx[start:v.Len] {
			a.Meta(i).RxPort = b.If
		}
	}
	k := v.Len
	if k > 0 {
		n.TraceStart(v)
		n.EnqueueAll(v, 1)
	}
	return k
}

const (
	outErrNoPort = iota
)

// OutputNode returns "interface-output": it groups a vector by Meta.TxPort
// and makes one Send call per port per vector. ports is indexed by interface;
// a nil entry or an index past the end drops the packet as no_port.
func OutputNode(ports []Port) graph.Registration {
	return graph.Registration{
		Name:   OutputNodeName,
		Errors: []graph.Error{{Name: "no_port", Help: "transmit interface has no port on this worker"}},
		Init: func(n *graph.Node) error {
			n.State = &outputState{per: make([]pkt.Vector, len(ports))}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return output(n, v, ports, n.State.(*outputState).per) },
	}
}

// outputState is interface-output's per-worker state: one vector per port.
type outputState struct{ per []pkt.Vector }

// output is interface-output's node function (named, not a closure, so
// that its calls inline: the compiler does not inline inside a closure
// whose enclosing function was itself inlined, golang/go#81380).
func output(n *graph.Node, v *pkt.Vector, ports []Port, per []pkt.Vector) int {
	cnt := v.Len
	a := n.Arena()
	c := n.Cache()
	first := a.Meta(v.Idx[0]).TxPort
	same := true
	for _, i := range v.Idx[1:cnt] {
		if a.Meta(i).TxPort != first {
			same = false
			break
		}
	}
	if same && int(first) < len(ports) && ports[first] != nil {
		traceSend(n, v)
		ports[first].Send(c, v)
		return cnt
	}
	var drop pkt.Vector
	for _, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		if int(m.TxPort) >= len(ports) || ports[m.TxPort] == nil {
			m.Error = n.Err(outErrNoPort)
			drop.Append(i)
			continue
		}
		per[m.TxPort].Append(i)
	}
	v.Reset()
	for p := range per {
		if per[p].Len > 0 {
			ports[p].Send(c, &per[p])
		}
	}
	if drop.Len > 0 {
		n.Free(&drop, outErrNoPort)
	}
	return cnt
}

// traceSend leaves no record: the last record of a traced packet is the
// enqueue into interface-output, which shows the final bytes.
func traceSend(*graph.Node, *pkt.Vector) {}
