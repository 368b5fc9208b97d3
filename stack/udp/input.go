package udp

import (
	"net/netip"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/wire"
)

// udp4-input and udp6-input error codes.
const (
	InErrTooShort = iota
	InErrBadChecksum
	InErrNoListener
	InErrQueueFull
	InErrDelivered
	InErrReplied
	InErrHandlerDropped
	InErrUnanswered
	InErrReplyTooLong
	InErrHandlerPanic
	InErrSocketBudget
	InErrBadVersion
)

const (
	inNextLookup = 1 + iota
	inNextICMPError
)

// nextConsumed marks a packet that left the graph (pushed to a socket).
const nextConsumed = 0xffff

// portUnreachable is the request to icmp4-error for ICMP type 3 code 3.
var portUnreachable = pkt.ICMPRequest{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4PortUnreachable}

// inputState is one worker's udp4-input (or udp6-input) state.
type inputState struct {
	v6      bool
	w       int
	ws      *stack.Worker
	ip      wire.IPv4Emitter // handlers' replies
	gen     uint32
	mark    [stack.MaxEndpoints]uint32 // endpoint id -> gen of the last vector that used it
	active  []uint16                   // handler ids with datagrams in this vector
	touched []uint16                   // socket ids given datagrams in this vector
	queued  [stack.MaxEndpoints]uint16 // socket id -> datagrams this vector queued to it
	room    [stack.MaxEndpoints]int32  // socket id -> its queue's room when this vector first reached it
	batches [stack.MaxEndpoints]*Batch
}

// inputNode returns udp4-input, or udp6-input when v6: the same demux
// over the one endpoint table, the IP header read per family.
func (u *UDP) inputNode(v6 bool) graph.Registration {
	name, next := InputName, []string{u.cfg.LookupNode, u.cfg.ICMPErrorNode}
	if v6 {
		name, next = Input6Name, []string{u.cfg.LookupNode6, u.cfg.ICMPErrorNode6}
	}
	return graph.Registration{
		Name: name,
		Next: next,
		Errors: []graph.Error{
			InErrTooShort:       {Name: "too_short", Help: "UDP header truncated or length field out of range"},
			InErrBadChecksum:    {Name: "bad_checksum", Help: "UDP checksum is wrong"},
			InErrNoListener:     {Name: "no_listener", Help: "no socket or handler on the port (port unreachable sent)", Severity: graph.SevWarn},
			InErrQueueFull:      {Name: "socket_queue_full", Help: "socket receive queue full (Config.SocketQueue, or its ring)", Severity: graph.SevWarn},
			InErrSocketBudget:   {Name: "socket_budget", Help: "all sockets' receive queues together hold their budget of buffers (Config.SocketBudget)", Severity: graph.SevWarn},
			InErrDelivered:      {Name: "delivered", Help: "datagrams queued to sockets", Severity: graph.SevInfo},
			InErrReplied:        {Name: "replied", Help: "datagrams answered in place by a handler", Severity: graph.SevInfo},
			InErrHandlerDropped: {Name: "handler_dropped", Help: "datagrams a handler consumed without an answer", Severity: graph.SevInfo},
			InErrUnanswered:     {Name: "handler_unanswered", Help: "datagrams a handler neither answered nor dropped", Severity: graph.SevWarn},
			InErrReplyTooLong:   {Name: "reply_too_long", Help: "handler answer does not fit the buffer"},
			InErrBadVersion:     {Name: "bad_version", Help: "IP version is not the node's family (4 for udp4-input, 6 for udp6-input)"},
			InErrHandlerPanic:   {Name: "handler_panic", Help: "datagrams of a batch whose handler panicked (dropped; the router goes on)", Severity: graph.SevError},
		},
		Init: func(n *graph.Node) error {
			w, err := u.s.WorkerOf(n.Graph())
			if err != nil {
				return err
			}
			n.State = &inputState{v6: v6, w: w, ws: u.s.Worker(w), active: make([]uint16, 0, pkt.VectorSize), touched: make([]uint16, 0, pkt.VectorSize)}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			st := n.State.(*inputState)
			st.ws.Enter()
			cnt := u.input(n, st, v)
			st.ws.Leave()
			return cnt
		},
	}
}

// input demultiplexes v. It runs between the two seq increments.
func (u *UDP) input(n *graph.Node, st *inputState, v *pkt.Vector) int {
	tab := u.ports.Load()
	heldAll := u.s.HeldBuffers()
	queueCap, budget := int32(u.cfg.SocketQueue), u.cfg.SocketBudget
	a := n.Arena()
	cnt := v.Len
	st.gen++
	if st.gen == 0 { // wrapped: forget every stamp
		clear(st.mark[:])
		st.gen = 1
	}
	st.active = st.active[:0]
	st.touched = st.touched[:0]
	delivered := 0
	held := int(heldAll.Load()) // all sockets' buffers, read once per vector
	fam := fam4
	if st.v6 {
		fam = fam6
	}
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		d := a.Data(i)
		u, src, dst, e := parse(m, d, st.v6)
		if e != 0 {
			n.Drop(m, k, int(e-1))
			continue
		}
		dport := u.DstPort()
		id := tab.Ports[dport]
		ep := &tab.Eps[id]
		if ep.fam&fam == 0 || (ep.addr.IsValid() && ep.addr != dst) ||
			(ep.rport != 0 && (ep.rport != u.SrcPort() || ep.raddr != src)) {
			n.Count(InErrNoListener, 1)
			if st.v6 {
				ip6.SetICMPRequest(m, wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, 0)
			} else {
				m.ICMP = portUnreachable
			}
			n.Nexts[k] = inNextICMPError
			continue
		}
		if ep.kind == epSocket {
			so := ep.sock
			if st.mark[id] != st.gen {
				st.mark[id] = st.gen
				st.touched = append(st.touched, id)
				st.queued[id] = 0
				st.room[id] = queueCap - so.rxHeld.Load() // once per socket and vector
			}
			if int32(st.queued[id]) >= st.room[id] {
				n.Drop(m, k, InErrQueueFull)
				continue
			}
			if held+delivered >= budget {
				n.Drop(m, k, InErrSocketBudget)
				continue
			}
			if !so.rx[st.w].Push(i) {
				n.Drop(m, k, InErrQueueFull)
				continue
			}
			st.queued[id]++
			n.Nexts[k] = nextConsumed
			delivered++
			continue
		}
		b := st.batches[id]
		if b == nil {
			b = &Batch{a: a, ip: &st.ip}
			st.batches[id] = b
		}
		if st.mark[id] != st.gen {
			st.mark[id] = st.gen
			st.active = append(st.active, id)
			b.reset()
		}
		b.add(k, i, src, dst, u.SrcPort(), dport, int(u.Length())-wire.UDPLen)
		n.Nexts[k] = graph.NextDrop // decided after the handler ran
	}
	if delivered > 0 {
		n.Count(InErrDelivered, uint64(delivered))
		heldAll.Add(int64(delivered))
		for _, id := range st.touched {
			if q := st.queued[id]; q > 0 {
				so := tab.Eps[id].sock
				so.rxHeld.Add(int32(q))
				so.signal()
			}
		}
	}
	if len(st.active) > 0 {
		for k := 0; k < len(st.active); {
			k = runHandlers(tab, st, k)
		}
		for _, id := range st.active {
			settle(n, a, st.batches[id])
		}
	}
	// Take the consumed packets out of the vector before handing it on.
	j := 0
	for k := 0; k < cnt; k++ {
		if e := n.Nexts[k]; e != nextConsumed {
			v.Idx[j] = v.Idx[k]
			n.Nexts[j] = e
			j++
		}
	}
	v.Len = j
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// parse reads the IP (per family) and UDP headers of a packet for the host
// and verifies the checksum. It returns the UDP datagram (cut to the IP
// length), its addresses, and 0 or 1 + the error code to drop it with.
func parse(m *pkt.Meta, d []byte, v6 bool) (wire.UDP, netip.Addr, netip.Addr, uint16) {
	l3, l4 := int(m.L3), int(m.L4)
	var end int
	if l3 < len(d) && (d[l3]>>4 == 6) != v6 {
		return nil, netip.Addr{}, netip.Addr{}, 1 + InErrBadVersion
	}
	if v6 {
		if l3+wire.IPv6Len > len(d) || l4 < l3+wire.IPv6Len {
			return nil, netip.Addr{}, netip.Addr{}, 1 + InErrTooShort
		}
		end = min(l3+wire.IPv6Len+int(wire.IPv6(d[l3:]).PayloadLen()), len(d))
	} else {
		if l3+wire.IPv4MinLen > len(d) || l4 < l3+wire.IPv4MinLen {
			return nil, netip.Addr{}, netip.Addr{}, 1 + InErrTooShort
		}
		end = min(l3+int(wire.IPv4(d[l3:]).TotalLen()), len(d))
	}
	if l4 > end {
		return nil, netip.Addr{}, netip.Addr{}, 1 + InErrTooShort
	}
	u, ok := wire.ParseUDP(d[l4:end])
	if !ok {
		return nil, netip.Addr{}, netip.Addr{}, 1 + InErrTooShort
	}
	if v6 {
		ip := wire.IPv6(d[l3:])
		src, dst := ip.Src(), ip.Dst()
		if m.Flags&pkt.FlagL4ChecksumOK == 0 && !u.ChecksumValid6(src, dst) {
			return nil, netip.Addr{}, netip.Addr{}, 1 + InErrBadChecksum
		}
		return u, netip.AddrFrom16(src), netip.AddrFrom16(dst), 0
	}
	ip := wire.IPv4(d[l3:])
	src, dst := ip.Src(), ip.Dst()
	if m.Flags&pkt.FlagL4ChecksumOK == 0 && !u.ChecksumValid(src, dst) {
		return nil, netip.Addr{}, netip.Addr{}, 1 + InErrBadChecksum
	}
	return u, netip.AddrFrom4(src), netip.AddrFrom4(dst), 0
}

// runHandlers runs the handlers of st.active from position from on, and
// returns len(st.active), or the position after a handler that panicked:
// its batch is then marked as such (every datagram of it is dropped by
// settle, whatever the handler did to it before panicking), and the caller
// goes on with the next handler. The recover is once per call, so once per
// vector with handlers, not per packet.
func runHandlers(tab *stack.PortTable[endpoint], st *inputState, from int) (next int) {
	next = from
	defer func() {
		if recover() != nil {
			st.batches[st.active[next]].panicked()
			next++
		}
	}()
	for ; next < len(st.active); next++ {
		id := st.active[next]
		tab.Eps[id].handler(st.batches[id])
	}
	return next
}

// settle turns a handler's verdicts into nexts and counters.
func settle(n *graph.Node, a *pkt.Arena, b *Batch) {
	replied := 0
	for k := 0; k < b.n; k++ {
		pos := int(b.pos[k])
		m := a.Meta(b.idx[k])
		switch b.verdict[k] {
		case verdictReply:
			n.Nexts[pos] = inNextLookup
			replied++
		case verdictDrop:
			n.Drop(m, pos, InErrHandlerDropped)
		case verdictTooLong:
			n.Drop(m, pos, InErrReplyTooLong)
		case verdictPanic:
			n.Drop(m, pos, InErrHandlerPanic)
		default:
			n.Drop(m, pos, InErrUnanswered)
		}
	}
	if replied > 0 {
		n.Count(InErrReplied, uint64(replied))
	}
}
