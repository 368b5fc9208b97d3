package neighbor

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

// addrBytes is an IPv4 or an IPv6 address.
type addrBytes interface{ [4]byte | [16]byte }

// held is the packets one worker holds for one unresolved target.
type held[A addrBytes] struct {
	port      uint16
	ip        A
	since     int64
	lastReq   int64 // when the last request went out; valid if requested
	requested bool
	pkts      []pkt.Index
}

// holdQueue is what ip4-glean and ip6-glean share: one worker's packets
// waiting for their next hop to resolve, at most MaxTargets targets of
// PerTarget packets each (GleanConfig), when a target's request is due, the
// budget of requests for targets that could not be held, expiry and
// release. Sending the request (ARP or Neighbor Solicitation) is the
// family's: hold tells it when.
type holdQueue[A addrBytes] struct {
	cfg     GleanConfig
	codes   holdCodes
	gen     uint64 // the neighbour table's generation when last checked against the FIB
	targets []*held[A]
	spare   []*held[A]
	// Requests for targets not held: at most MaxTargets per RetryNs
	// window, so a scan cannot turn every packet into a broadcast.
	unheldSince int64
	unheldSent  int
}

// holdCodes are the family's error codes and edge that holdQueue counts
// under and sends to.
type holdCodes struct {
	timeout  int    // packets dropped after TimeoutNs
	released int    // packets released because the FIB resolves their target
	lookup   uint16 // the node's edge to the family's lookup
}

// holdVerdict is what holdQueue.hold did with a packet.
type holdVerdict uint8

const (
	heldQuiet   holdVerdict = iota // held; the target's last request is recent
	heldAsk                        // held; a request for the target is due now
	dropFull                       // not held: the target holds PerTarget packets
	dropTargets                    // not held: MaxTargets other targets are held
)

// hold queues packet i for (port, target) and says whether it was held
// and whether a request for target is due (its first, or RetryNs after the
// last one, which it then records as sent).
func (q *holdQueue[A]) hold(port uint16, target A, i pkt.Index, now int64) holdVerdict {
	p := q.find(port, target)
	if p == nil {
		if len(q.targets) >= q.cfg.MaxTargets {
			return dropTargets
		}
		p = q.add(port, target, now)
	}
	if len(p.pkts) >= q.cfg.PerTarget {
		return dropFull
	}
	p.pkts = append(p.pkts, i)
	if !p.requested || now-p.lastReq >= q.cfg.RetryNs {
		p.lastReq, p.requested = now, true
		return heldAsk
	}
	return heldQuiet
}

// unheldRoom starts a new RetryNs window when the last one is over and
// reports whether it still has room for a request for a target not held;
// the caller that sends one spends it with q.unheldSent++.
func (q *holdQueue[A]) unheldRoom(now int64) bool {
	if now-q.unheldSince >= q.cfg.RetryNs {
		q.unheldSince, q.unheldSent = now, 0
	}
	return q.unheldSent < q.cfg.MaxTargets
}

func (q *holdQueue[A]) find(port uint16, ip A) *held[A] {
	for _, p := range q.targets {
		if p.port == port && p.ip == ip {
			return p
		}
	}
	return nil
}

func (q *holdQueue[A]) add(port uint16, ip A, now int64) *held[A] {
	var p *held[A]
	if k := len(q.spare); k > 0 {
		p, q.spare = q.spare[k-1], q.spare[:k-1]
	} else {
		p = &held[A]{pkts: make([]pkt.Index, 0, q.cfg.PerTarget)}
	}
	p.port, p.ip, p.since, p.lastReq, p.requested = port, ip, now, 0, false
	q.targets = append(q.targets, p)
	return p
}

func (q *holdQueue[A]) remove(k int) {
	p := q.targets[k]
	p.pkts = p.pkts[:0]
	q.spare = append(q.spare, p)
	q.targets[k] = q.targets[len(q.targets)-1]
	q.targets = q.targets[:len(q.targets)-1]
}

// refresh starts every glean vector and timer tick: it drops what waited
// longer than TimeoutNs and, when the neighbour table's generation gen
// moved since the last call, sends to the family's lookup the packets held
// for each target the FIB now resolves (its reply was learned on another
// worker), as resolves (called per held target, not per packet) says.
func (q *holdQueue[A]) refresh(n *graph.Node, now int64, gen uint64, resolves func(port uint16, ip A) bool) {
	q.expire(n, now)
	if gen == q.gen {
		return
	}
	q.gen = gen
	for k := len(q.targets) - 1; k >= 0; k-- {
		if p := q.targets[k]; resolves(p.port, p.ip) {
			n.Count(q.codes.released, uint64(q.flush(n, k, q.codes.lookup)))
		}
	}
}

// expire drops held packets older than TimeoutNs, counting them under
// the timeout code.
func (q *holdQueue[A]) expire(n *graph.Node, now int64) {
	for k := len(q.targets) - 1; k >= 0; k-- {
		p := q.targets[k]
		if now-p.since < q.cfg.TimeoutNs {
			continue
		}
		for _, i := range p.pkts {
			n.Arena().Meta(i).Error = 0
		}
		n.Count(q.codes.timeout, uint64(len(p.pkts)))
		n.Cache().FreeN(p.pkts)
		q.remove(k)
	}
}

// flush hands the packets held for q.targets[k] to edge e of node from,
// forgets the target and returns how many packets went.
func (q *holdQueue[A]) flush(from *graph.Node, k int, e uint16) int {
	p := q.targets[k]
	cnt := len(p.pkts)
	for _, i := range p.pkts {
		from.EnqueueOne(i, e)
	}
	q.remove(k)
	return cnt
}

// release hands every packet held for (port, ip) to edge e of node from
// (arp-input's or nd-input's edge to the family's lookup).
func (q *holdQueue[A]) release(from *graph.Node, port uint16, ip A, e uint16) {
	for k, p := range q.targets {
		if p.port == port && p.ip == ip {
			q.flush(from, k, e)
			return
		}
	}
}

// freeAll frees every held packet (the node's Close).
func (q *holdQueue[A]) freeAll(n *graph.Node) {
	for _, p := range q.targets {
		n.Cache().FreeN(p.pkts)
		p.pkts = p.pkts[:0]
	}
	q.targets = q.targets[:0]
}
