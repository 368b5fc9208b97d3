// Package ip6 provides the IPv6 forwarding nodes:
//
//	ip6-input    validate (version, payload length against the frame,
//	             source: multicast, loopback, our own; extension headers walked
//	             with a bound on their number and length, hop-by-hop only
//	             first, RH0 with segments left dropped per RFC 5095), cut
//	             Ethernet padding; link-scope multicast (all-nodes, our
//	             solicited-node groups) and our link-local addresses go to
//	             ip6-local, other multicast is dropped
//	ip6-lookup   longest-prefix match in fib.Table6 (one snapshot per
//	             vector), ECMP by a hash of the addresses and flow label
//	ip6-rewrite  hop limit - 1 (time exceeded at 1), MTU check (Packet Too
//	             Big with the egress MTU: routers never fragment IPv6),
//	             the neighbour's Ethernet header written in front
//	ip6-local    packets for the router itself: ICMPv6 echo answered in place
//	             (rate-limited), Neighbor Discovery to nd-input, UDP gets port
//	             unreachable, other next headers counted
//	icmp6-error  time exceeded, destination unreachable, Packet Too Big,
//	             parameter problem: built in place around the offending packet
//	             (at most 1280 bytes in all), rate-limited per class, routed
//	             back
//
// Every failure is a named error counter of the node that saw it. The nodes
// never allocate and read shared state (FIB, interfaces) once per vector.
package ip6

import (
	"github.com/vecnet/vecnet/l3/icmperr"
	"github.com/vecnet/vecnet/pkt"
)

// Node names.
const (
	InputName     = "ip6-input"
	LookupName    = "ip6-lookup"
	RewriteName   = "ip6-rewrite"
	LocalName     = "ip6-local"
	ICMPErrorName = "icmp6-error"
	GleanName     = "ip6-glean"
	NDInputName   = "nd-input"
	OutputName    = "interface-output"
	// UnicastArc is the feature arc between ip6-input's checks and
	// ip6-lookup, its features enabled per receive interface.
	UnicastArc = "ip6-unicast"
	// OutputArc is the feature arc between ip6-rewrite and
	// interface-output, its features enabled per transmit interface.
	OutputArc = "ip6-output"
)

// DefaultHopLimit is the hop limit of packets the router originates.
const DefaultHopLimit = 64

// Bounds of the extension header walk: RFC 8200 sets none, RFC 9098 and
// Linux's defaults (max_hbh_length, max_dst_opts_number 8) suggest these.
const (
	MaxExtHeaders  = 8
	MaxExtHeadsLen = 512
)

// SetICMPRequest tells icmp6-error what to send about the packet: type and
// code in Meta.ICMP, and a 16-bit parameter (the MTU of Packet Too Big, the
// pointer of a parameter problem) in Meta.MTU.
func SetICMPRequest(m *pkt.Meta, typ, code uint8, param uint16) {
	m.ICMP = pkt.ICMPRequest{Type: typ, Code: code}
	m.MTU = param
}

// RateLimit is a token bucket's shape: Rate tokens a second, at most Burst
// saved up. Zero fields take the default of whoever uses it.
type RateLimit = icmperr.RateLimit
