package driver

import (
	"vecnet/graph"
	"vecnet/pkt"
)

// Binding ties one port (queue) to the interface index it belongs to.
type Binding struct {
	If   uint16
	Port Port
}

// OutputNodeName is the node that sends packets to their Meta.TxPort.
const OutputNodeName = "interface-output"

// InputNode returns an input node named name that polls every binding once
// per dispatch pass, stamps Meta.RxPort with the binding's interface, arms
// tracing and hands each vector whole to next.
func InputNode(name string, bindings []Binding, next string) graph.Registration {
	return graph.Registration{
		Name: name,
		Kind: graph.Input,
		Next: []string{next},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			total := 0
			a := n.Arena()
			c := n.Cache()
			for _, b := range bindings {
				k := b.Port.Recv(c, v)
				if k == 0 {
					continue
				}
				for _, i := range v.Idx[:v.Len] {
					a.Meta(i).RxPort = b.If
				}
				n.TraceStart(v)
				n.EnqueueAll(v, 1)
				total += k
			}
			return total
		},
	}
}

const (
	outErrNoPort = iota
)

// OutputNode returns "interface-output": it groups a vector by Meta.TxPort
// and makes one Send call per port per vector. ports is indexed by interface;
// a nil entry or an index past the end drops the packet as no_port.
func OutputNode(ports []Port) graph.Registration {
	type state struct{ per []pkt.Vector }
	return graph.Registration{
		Name:   OutputNodeName,
		Errors: []graph.Error{{Name: "no_port", Help: "transmit interface has no port on this worker"}},
		Init: func(n *graph.Node) error {
			n.State = &state{per: make([]pkt.Vector, len(ports))}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
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
			st := n.State.(*state)
			var drop pkt.Vector
			for _, i := range v.Idx[:cnt] {
				m := a.Meta(i)
				if int(m.TxPort) >= len(ports) || ports[m.TxPort] == nil {
					m.Error = n.Err(outErrNoPort)
					drop.Append(i)
					continue
				}
				st.per[m.TxPort].Append(i)
			}
			v.Reset()
			for p := range st.per {
				if st.per[p].Len > 0 {
					ports[p].Send(c, &st.per[p])
				}
			}
			if drop.Len > 0 {
				n.Free(&drop, outErrNoPort)
			}
			return cnt
		},
	}
}

// traceSend leaves no record: the last record of a traced packet is the
// enqueue into interface-output, which shows the final bytes.
func traceSend(*graph.Node, *pkt.Vector) {}
