package fib

// AdjIndex names an adjacency in a [View]. Index 0 is the permanent drop
// adjacency (no route).
type AdjIndex uint32

// AdjDropIndex is the drop ("no route") adjacency every view holds at index 0.
const AdjDropIndex AdjIndex = 0

// AdjKind says what forwarding does with a packet that resolves to an
// adjacency.
type AdjKind uint8

// Adjacency kinds.
const (
	// AdjDrop: no route; the packet is dropped (ip4-lookup sends net
	// unreachable). It is the zero value.
	AdjDrop AdjKind = iota
	// AdjRewrite: the next hop is resolved; write Rewrite and send on Port.
	AdjRewrite
	// AdjLocal: the destination is one of our addresses.
	AdjLocal
	// AdjGlean: the destination is on a connected subnet of Port and has no
	// host route yet: ARP for the destination itself.
	AdjGlean
	// AdjIncomplete: the next hop NextHop on Port is not resolved yet: ARP
	// for NextHop.
	AdjIncomplete
)

var adjKindNames = [...]string{AdjDrop: "drop", AdjRewrite: "rewrite", AdjLocal: "local", AdjGlean: "glean", AdjIncomplete: "incomplete"}

// String returns the kind's lower-case name.
func (k AdjKind) String() string {
	if int(k) < len(adjKindNames) {
		return adjKindNames[k]
	}
	return "adj?"
}

// Adjacency is the result of a lookup. Views hold them by value; the
// pointer [View.Adj] returns is read-only (other workers read the same
// adjacency at the same time; a change stores a new one).
type Adjacency struct {
	Kind AdjKind
	// Port is the egress (or, for AdjLocal, the owning) interface.
	Port uint16
	// MTU is the egress interface's IP MTU.
	MTU uint16
	// NextHop is the next hop's address (AdjRewrite, AdjIncomplete) or the
	// interface address (AdjLocal).
	NextHop [4]byte
	// Rewrite is the link header to write in front of the IP header:
	// destination MAC, the interface's MAC, a sub-interface's VLAN tags,
	// type 0x0800: its first RewriteLen bytes (14, 18 or 22). Valid for
	// AdjRewrite only.
	Rewrite    [MaxRewrite]byte
	RewriteLen uint8
}

// MAC returns the destination MAC of a rewrite adjacency.
func (a *Adjacency) MAC() [6]byte { return [6]byte(a.Rewrite[:6]) }
