// Package acl classifies IPv4 and IPv6 packets against ordered access-control
// rules — source and destination prefix, protocol, port ranges, TCP flags,
// ICMP type and code — and provides the graph nodes that permit or deny
// what an interface receives or sends, with a hit counter per rule (the
// IPv6 side: classifier6.go, node6.go).
//
// Rules are compiled into a tuple-space classifier (Srinivasan et al.,
// SIGCOMM 1999; the scheme of Open vSwitch's megaflow cache): rules with
// the same shape — source and destination prefix lengths merged into
// classes of 0, 8, 16 and 24 bits (TupleMerge), protocol given or not, one
// destination port or not — share one hash table keyed by the masked
// addresses, protocol and port, and a lookup probes the tables in order of
// their best rule, stopping once no table left can hold a better match
// than the one found. The per-packet cost grows with the number of shapes
// (at most 64), not with the number of rules.
package acl

import (
	"fmt"
	"net/netip"
	"strings"
)

// Action is what a matching rule does.
type Action uint8

const (
	// Deny drops the packet.
	Deny Action = iota
	// Permit passes it on.
	Permit
	// PermitReflect passes it on and, once the stateful firewall exists,
	// opens a session that admits the return traffic; today it is Permit.
	PermitReflect
)

func (a Action) String() string {
	switch a {
	case Permit:
		return "permit"
	case PermitReflect:
		return "permit+reflect"
	}
	return "deny"
}

// PortRange is an inclusive range of ports (or of ICMP types or codes).
// The zero value and {0, 65535} match any.
type PortRange struct{ Lo, Hi uint16 }

// Any reports whether r matches every value.
func (r PortRange) Any() bool { return r.Lo == 0 && (r.Hi == 0 || r.Hi == 0xffff) }

func (r PortRange) contains(v uint16) bool { return r.Any() || r.Lo <= v && v <= r.Hi }

// Rule is one access-control entry. A zero prefix (0.0.0.0/0 or the
// invalid zero netip.Prefix) matches any address; Proto 0 matches any
// protocol. For TCP and UDP, SrcPorts and DstPorts range over the ports;
// for ICMP they range over the type and the code (as VPP's ACL plugin does).
// TCPFlagsMask selects the TCP flag bits that must equal TCPFlags (for TCP
// rules only: {SYN|ACK, SYN} matches a connection's first segment).
type Rule struct {
	Src, Dst           netip.Prefix
	Proto              uint8
	SrcPorts, DstPorts PortRange
	TCPFlags           uint8
	TCPFlagsMask       uint8
	Action             Action
	// Police names a policer that meters the packets this rule permits
	// (a class policer, RFC 2697/2698, with its per-colour actions);
	// empty: none. ACL.SetPolicer binds the policer itself.
	Police string
}

// Protocol numbers a rule's ports apply to.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Family is the address family of r's prefixes: 4 or 6, or 0 when both are
// omitted (any), and then r applies to both IPv4 and IPv6. A rule of one
// family never matches a packet of the other. Rules that reflect or police
// apply to IPv4 only (sessions and class policers key on IPv4 addresses):
// Validate refuses them with IPv6 prefixes, and the IPv6 classifier leaves
// out those of family 0.
func (r Rule) Family() int {
	for _, p := range []netip.Prefix{r.Src, r.Dst} {
		if p.IsValid() {
			if p.Addr().Is4() {
				return 4
			}
			return 6
		}
	}
	return 0
}

// Validate reports what is wrong with r, or nil.
func (r Rule) Validate() error {
	if r.Src.IsValid() && r.Dst.IsValid() && r.Src.Addr().Is4() != r.Dst.Addr().Is4() {
		return fmt.Errorf("prefixes %v and %v are of different families", r.Src, r.Dst)
	}
	for _, p := range []netip.Prefix{r.Src, r.Dst} {
		if p.IsValid() && p.Addr().Is4In6() {
			return fmt.Errorf("prefix %v is an IPv4-mapped IPv6 prefix", p)
		}
	}
	if r.Family() == 6 && r.Action == PermitReflect {
		return fmt.Errorf("permit+reflect on an IPv6 rule (sessions are IPv4 only)")
	}
	if r.Family() == 6 && r.Police != "" {
		return fmt.Errorf("police on an IPv6 rule (class policers are IPv4 only)")
	}
	ported := r.Proto == ProtoTCP || r.Proto == ProtoUDP || r.Proto == ProtoICMP || r.Proto == ProtoICMPv6
	if !ported && (!r.SrcPorts.Any() || !r.DstPorts.Any()) {
		return fmt.Errorf("ports given for protocol %d (only tcp, udp and icmp have them)", r.Proto)
	}
	for _, pr := range []PortRange{r.SrcPorts, r.DstPorts} {
		if !pr.Any() && pr.Lo > pr.Hi {
			return fmt.Errorf("port range %d-%d is empty", pr.Lo, pr.Hi)
		}
	}
	if (r.Proto == ProtoICMP || r.Proto == ProtoICMPv6) && (r.SrcPorts.Hi > 255 || r.DstPorts.Hi > 255) && !(r.SrcPorts.Any() && r.DstPorts.Any()) {
		return fmt.Errorf("icmp type and code are 0..255")
	}
	if r.TCPFlagsMask != 0 && r.Proto != ProtoTCP {
		return fmt.Errorf("tcp flags on a rule for protocol %d", r.Proto)
	}
	if r.TCPFlags&^r.TCPFlagsMask != 0 {
		return fmt.Errorf("tcp flags %#x outside the mask %#x", r.TCPFlags, r.TCPFlagsMask)
	}
	if r.Action > PermitReflect {
		return fmt.Errorf("unknown action %d", r.Action)
	}
	if r.Police != "" && r.Action == Deny {
		return fmt.Errorf("police on a deny rule")
	}
	return nil
}

func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Action.String())
	pfx := func(p netip.Prefix) string {
		if !p.IsValid() || p.Bits() == 0 {
			return "any"
		}
		return p.Masked().String()
	}
	fmt.Fprintf(&b, " src %s dst %s", pfx(r.Src), pfx(r.Dst))
	if r.Proto != 0 {
		fmt.Fprintf(&b, " proto %d", r.Proto)
	}
	if !r.SrcPorts.Any() {
		fmt.Fprintf(&b, " sport %d-%d", r.SrcPorts.Lo, r.SrcPorts.Hi)
	}
	if !r.DstPorts.Any() {
		fmt.Fprintf(&b, " dport %d-%d", r.DstPorts.Lo, r.DstPorts.Hi)
	}
	if r.TCPFlagsMask != 0 {
		fmt.Fprintf(&b, " tcp-flags %#x/%#x", r.TCPFlags, r.TCPFlagsMask)
	}
	if r.Police != "" {
		fmt.Fprintf(&b, " police %s", r.Police)
	}
	return b.String()
}

// Key is what the classifier reads of a packet. For ICMP, SrcPort holds the
// type and DstPort the code. Fragment marks a non-first fragment, whose
// ports are unknown: only rules without port or flag conditions match it.
type Key struct {
	Src, Dst         uint32
	Proto            uint8
	TCPFlags         uint8
	Fragment         bool
	SrcPort, DstPort uint16
	ICMPID           uint16 // an ICMP echo's identifier (sessions key echoes by it)
}

// matches is the full test of r against k (the reference semantics).
func (r *Rule) matches(k *Key) bool {
	if r.Family() == 6 {
		return false
	}
	if !prefixMatch(r.Src, k.Src) || !prefixMatch(r.Dst, k.Dst) {
		return false
	}
	if r.Proto != 0 && r.Proto != k.Proto {
		return false
	}
	return r.matchesL4(k)
}

// matchesL4 tests what the classifier's hash does not: ports and flags.
func (r *Rule) matchesL4(k *Key) bool {
	return r.matchesPorts(k.Fragment, k.SrcPort, k.DstPort, k.TCPFlags)
}

func (r *Rule) matchesPorts(fragment bool, sport, dport uint16, flags uint8) bool {
	if r.SrcPorts.Any() && r.DstPorts.Any() && r.TCPFlagsMask == 0 {
		return true
	}
	if fragment {
		return false
	}
	return r.SrcPorts.contains(sport) && r.DstPorts.contains(dport) && flags&r.TCPFlagsMask == r.TCPFlags
}

func prefixMatch(p netip.Prefix, a uint32) bool {
	if !p.IsValid() || p.Bits() == 0 {
		return true
	}
	return a&mask(p.Bits()) == addrBits(p.Addr())
}

func mask(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

func addrBits(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func prefixLen(p netip.Prefix) int {
	if !p.IsValid() {
		return 0
	}
	return p.Bits()
}
