// Package ip4 provides the IPv4 forwarding nodes:
//
//	ip4-input    validate (version, IHL, lengths, header checksum, addresses,
//	             martian sources: 127/8, our own), cut Ethernet padding, enter
//	             the ip4-unicast feature arc
//	ip4-lookup   longest-prefix match to an adjacency (one FIB snapshot per
//	             vector); unicast IP from an L2 broadcast is not forwarded
//	ip4-rewrite  TTL-1 with an incremental checksum, MTU check, MAC rewrite,
//	             then the ip4-output feature arc (per egress interface) when
//	             the graph declares it
//	ip4-frag     packets over the egress MTU without DF cut into fragments
//	ip4-local    packets for the router itself: ICMP echo answered in place
//	             (rate-limited), fragments sent to ip4-reassembly
//	ip4-reassembly  fragments for the host made whole again (per worker,
//	             bounded, timed out), handed back to ip4-local
//	icmp4-error  time exceeded, unreachable, fragmentation needed: built in
//	             place around the offending packet, rate-limited per class
//	             of error, routed back
//
// Every failure is a named error counter of the node that saw it. The nodes
// never allocate and read shared state (FIB, interfaces) once per vector.
package ip4

// Node names (those this package owns; ip4-lookup's glean next is
// neighbor's, interface-output is driver's).
const (
	InputName     = "ip4-input"
	LookupName    = "ip4-lookup"
	RewriteName   = "ip4-rewrite"
	LocalName     = "ip4-local"
	ICMPErrorName = "icmp4-error"
	// UnicastArc is the feature arc between ip4-input and ip4-lookup.
	UnicastArc = "ip4-unicast"
	// OutputArc is the feature arc between ip4-rewrite and
	// interface-output, its features enabled per transmit interface.
	OutputArc = "ip4-output"
)
