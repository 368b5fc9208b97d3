// Package icmperr holds what icmp4-error and icmp6-error share: token
// bucket rate limits on the graph clock (also the echo responders'), one
// budget per class of error, their counters, and turning the offending
// packet into the error in place. The family headers (and which packets
// may not be answered) stay in l3/ip4 and l3/ip6.
package icmperr

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// RateLimit is a token bucket's shape: Rate tokens a second, at most Burst
// saved up. Zero fields take the default of whoever uses it.
type RateLimit struct {
	Rate  int // tokens per second
	Burst int // bucket depth
}

// DefaultLimit is the ICMP errors' budget per class and the echo
// responders' default: 1000 a second, 100 at once.
var DefaultLimit = RateLimit{Rate: 1000, Burst: 100}

// OrDefault fills zero (or negative) fields from def.
func (r RateLimit) OrDefault(def RateLimit) RateLimit {
	if r.Rate <= 0 {
		r.Rate = def.Rate
	}
	if r.Burst <= 0 {
		r.Burst = def.Burst
	}
	return r
}

// Bucket is one worker's rate limiter, on the graph clock (ns). It is
// refilled once per vector and taken from once per packet.
type Bucket struct {
	tokens float64
	perNs  float64
	burst  float64
	last   int64
}

// NewBucket returns a full bucket shaped by r at time now.
func NewBucket(r RateLimit, now int64) Bucket {
	return Bucket{tokens: float64(r.Burst), perNs: float64(r.Rate) / 1e9, burst: float64(r.Burst), last: now}
}

// Refill adds the tokens earned since the last refill.
func (b *Bucket) Refill(now int64) {
	if now > b.last {
		b.tokens = min(b.burst, b.tokens+float64(now-b.last)*b.perNs)
	}
	b.last = now
}

// Take spends a token, reporting false when there is none.
func (b *Bucket) Take() bool {
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Class is an ICMP error's rate-limit budget: each class has its own token
// bucket, so that a flood provoking one kind of error (hop limit 1) does
// not starve another (fragmentation needed or Packet Too Big, which path
// MTU discovery needs), as Linux's per-type icmp_ratemask.
type Class uint8

// The classes, in the order of their counters (RateLimitErrors).
const (
	TimeExceeded Class = iota
	TooBig             // IPv4 fragmentation needed, IPv6 Packet Too Big
	Unreachable        // every other destination unreachable
	Other
	NumClasses
)

// Budget is one token bucket per Class.
type Budget [NumClasses]Bucket

// NewBudget returns full buckets shaped by r at time now.
func NewBudget(r RateLimit, now int64) Budget {
	var b Budget
	for c := range b {
		b[c] = NewBucket(r, now)
	}
	return b
}

// Refill refills every class (once per vector).
func (b *Budget) Refill(now int64) {
	for c := range b {
		b[c].Refill(now)
	}
}

// Take spends a token of class c, reporting false when there is none.
func (b *Budget) Take(c Class) bool { return b[c].Take() }

// Admit is the last check on a packet about to become an error, the same
// in both families: room in front of it for hdr bytes of error headers
// (else it is dropped under noHeadroom) and a token of class c (else it is
// dropped under rateLimited+c, the first of RateLimitErrors' counters).
func (b *Budget) Admit(n *graph.Node, m *pkt.Meta, k, hdr int, c Class, noHeadroom, rateLimited int) bool {
	if !HasRoom(m, hdr) {
		n.Drop(m, k, noHeadroom)
		return false
	}
	if !b.Take(c) {
		n.Drop(m, k, rateLimited+int(c))
		return false
	}
	return true
}

// RateLimitErrors returns the counters of the per-class budgets, in Class
// order, for a node to list after its other errors: tooBig and
// tooBigHelp name the TooBig class's counter, icmp the protocol in the
// help texts.
func RateLimitErrors(tooBig, tooBigHelp, icmp string) []graph.Error {
	return []graph.Error{
		TimeExceeded: {Name: "rate_limited_time_exceeded", Help: "time exceeded suppressed by its rate limit", Severity: graph.SevWarn},
		TooBig:       {Name: "rate_limited_" + tooBig, Help: tooBigHelp + " suppressed by its rate limit", Severity: graph.SevWarn},
		Unreachable:  {Name: "rate_limited_unreachable", Help: "destination unreachable suppressed by its rate limit", Severity: graph.SevWarn},
		Other:        {Name: "rate_limited_other", Help: "other " + icmp + " error suppressed by its rate limit", Severity: graph.SevWarn},
	}
}

// HasRoom reports whether packet m has room in front of its network header
// for an Ethernet header and hdr bytes of error headers.
func HasRoom(m *pkt.Meta, hdr int) bool { return int(m.Off)+int(m.L3) >= hdr+wire.EthernetLen }

// Reshape turns packet i, whose offending IP packet of origLen bytes
// starts at m.L3, into the error's frame: [Ethernet][IP header of ipLen
// bytes][ICMP header of icmpLen bytes][the original, cut so that the IP
// packet is at most maxLen bytes], pushed in front of the original
// (HasRoom must hold). It sets m.L3 and m.L4 and returns the frame and how
// many bytes of the original it quotes; the caller writes the headers.
func Reshape(a *pkt.Arena, i pkt.Index, m *pkt.Meta, origLen, ipLen, icmpLen, maxLen int) (frame []byte, quote int) {
	hdr := ipLen + icmpLen
	quote = min(origLen, maxLen-hdr)
	start := int(m.Off) + int(m.L3) - hdr - wire.EthernetLen
	frame, _ = a.SetData(i, start, wire.EthernetLen+hdr+quote)
	m.L3 = wire.EthernetLen
	m.L4 = uint16(wire.EthernetLen + ipLen)
	return frame, quote
}
