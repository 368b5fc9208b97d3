package driver

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
)

// Binding ties one port (queue) to the interface index it belongs to.
type Binding struct {
	If   uint16
	Port Port
}

// OutputNodeName is the node that sends packets to their Meta.TxPort.
const OutputNodeName = "interface-output"

// PortSet is one worker's ports: the bindings its input node polls and, by
// interface index, the port interface-output sends on. The nodes read it on
// every vector, so the control plane can attach and detach an interface at
// run time, on the worker's thread (worker.Do), without rebuilding the
// graph.
type PortSet struct {
	bindings []Binding
	byIface  []Port
	per      []pkt.Vector // interface-output's scratch, one vector per interface
}

// NewPortSet returns a port set polling bindings and sending on byIface.
func NewPortSet(bindings []Binding, byIface []Port) *PortSet {
	ps := &PortSet{bindings: append([]Binding(nil), bindings...)}
	for i, p := range byIface {
		ps.set(uint16(i), p)
	}
	return ps
}

// Attach makes p interface ifc's port: interface-output sends on it and,
// when poll is set, the input node polls it.
func (ps *PortSet) Attach(ifc uint16, p Port, poll bool) {
	ps.Detach(ifc)
	ps.set(ifc, p)
	if poll {
		ps.bindings = append(ps.bindings, Binding{If: ifc, Port: p})
	}
}

// Detach removes interface ifc's port from both nodes: packets routed to it
// are then dropped as no_port. It returns the port (nil if none).
func (ps *PortSet) Detach(ifc uint16) Port {
	var p Port
	if int(ifc) < len(ps.byIface) {
		p, ps.byIface[ifc] = ps.byIface[ifc], nil
	}
	kept := ps.bindings[:0:0]
	for _, b := range ps.bindings {
		if b.If != ifc {
			kept = append(kept, b)
		}
	}
	ps.bindings = kept
	return p
}

// Port returns interface ifc's port, or nil.
func (ps *PortSet) Port(ifc uint16) Port {
	if int(ifc) < len(ps.byIface) {
		return ps.byIface[ifc]
	}
	return nil
}

func (ps *PortSet) set(ifc uint16, p Port) {
	for int(ifc) >= len(ps.byIface) {
		ps.byIface = append(ps.byIface, nil)
		ps.per = append(ps.per, pkt.Vector{})
	}
	ps.byIface[ifc] = p
}

// PortInputName is the conventional name of a worker's InputNode (the
// daemon's): the node that polls the worker's port queues.
const PortInputName = "port-input"

// InputNode returns an input node named name that polls its bindings on
// every dispatch pass into one vector, stamps Meta.RxPort of each packet
// with its binding's interface, arms tracing and hands the vector whole to
// next. The binding polled first rotates from pass to pass, so a port that
// fills the vector by itself cannot starve the others.
func InputNode(name string, bindings []Binding, next string) graph.Registration {
	return InputNodeSet(name, NewPortSet(bindings, nil), next)
}

// InputNodeSet is InputNode over a port set that may change at run time
// (PortSet.Attach, PortSet.Detach on the worker).
func InputNodeSet(name string, ps *PortSet, next string) graph.Registration {
	first := 0
	return graph.Registration{
		Name: name,
		Kind: graph.Input,
		Next: []string{next},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			bindings := ps.bindings
			if len(bindings) == 0 {
				return 0
			}
			k := poll(n, v, bindings, first%len(bindings))
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
		if t := n.Graph().Tap(); t != nil {
			t.Record(a, v.Idx[:k], graph.TapRx, 0)
		}
		n.TraceStart(v)
		n.EnqueueAll(v, 1)
	}
	return k
}

const (
	outErrNoPort = iota
	outErrDown
)

// OutputNode returns "interface-output": it groups a vector by Meta.TxPort
// and makes one Send call per port per vector. ports is indexed by interface;
// a nil entry or an index past the end drops the packet as no_port. When ifs
// is not nil, packets for an interface set administratively down
// (iface.Interface.Down) are dropped as interface_down: ifs is loaded once
// per vector and checked once per port.
func OutputNode(ports []Port, ifs *iface.Table) graph.Registration {
	return OutputNodeSet(NewPortSet(nil, ports), ifs)
}

// OutputNodeSet is OutputNode over a port set that may change at run
// time (PortSet.Attach, PortSet.Detach on the worker).
func OutputNodeSet(ps *PortSet, ifs *iface.Table) graph.Registration {
	return graph.Registration{
		Name: OutputNodeName,
		Errors: []graph.Error{
			outErrNoPort: {Name: "no_port", Help: "transmit interface has no port on this worker"},
			outErrDown:   {Name: "interface_down", Help: "packet for an interface set administratively down", Severity: graph.SevWarn},
		},
		Init: func(n *graph.Node) error {
			n.State = &iface.CounterSet{}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			var set *iface.Set
			if ifs != nil {
				set = ifs.Load()
			}
			return output(n, v, ps.byIface, ps.per, set, n.State.(*iface.CounterSet))
		},
	}
}

// SubCounters returns the sent packets and bytes of each sub-interface (by
// interface index) that interface-output of graph g counted, or nil.
func SubCounters(g *graph.Graph) []iface.Counters {
	n := g.Node(OutputNodeName)
	if n == nil {
		return nil
	}
	return n.State.(*iface.CounterSet).Snapshot()
}

// countSub counts idx, sent on interface p, when p is a sub-interface:
// a check per port per vector, a sum over the packets only for a
// sub-interface.
func countSub(a *pkt.Arena, set *iface.Set, cs *iface.CounterSet, p uint16, idx []pkt.Index) {
	if set == nil {
		return
	}
	if x := set.Get(p); x == nil || x.Kind != iface.KindSub {
		return
	}
	var b uint64
	for _, i := range idx {
		b += uint64(a.Meta(i).Len)
	}
	c := cs.At(p)
	c.TxPackets += uint64(len(idx))
	c.TxBytes += b
}

// isDown reports whether interface i is administratively down in set (nil:
// none is): it, or for a sub-interface its parent.
func isDown(set *iface.Set, i uint16) bool {
	if set == nil {
		return false
	}
	x := set.Get(i)
	if x != nil && !x.Down && x.Kind == iface.KindSub {
		x = set.Get(x.Sub.Parent)
	}
	return x != nil && x.Down
}

// output is interface-output's node function (named, not a closure, so
// that its calls inline: the compiler does not inline inside a closure
// whose enclosing function was itself inlined, golang/go#81380).
func output(n *graph.Node, v *pkt.Vector, ports []Port, per []pkt.Vector, set *iface.Set, cs *iface.CounterSet) int {
	cnt := v.Len
	a := n.Arena()
	c := n.Cache()
	tap := n.Graph().Tap()
	first := a.Meta(v.Idx[0]).TxPort
	same := true
	for _, i := range v.Idx[1:cnt] {
		if a.Meta(i).TxPort != first {
			same = false
			break
		}
	}
	if same && int(first) < len(ports) && ports[first] != nil {
		if isDown(set, first) {
			n.Free(v, outErrDown)
			return cnt
		}
		traceSend(n, v)
		if tap != nil {
			tap.Record(a, v.Idx[:cnt], graph.TapTx, 0)
		}
		countSub(a, set, cs, first, v.Idx[:cnt])
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
			if isDown(set, uint16(p)) {
				n.Free(&per[p], outErrDown)
				continue
			}
			if tap != nil {
				tap.Record(a, per[p].Idx[:per[p].Len], graph.TapTx, 0)
			}
			countSub(a, set, cs, uint16(p), per[p].Idx[:per[p].Len])
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
