package ip4

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip4-input error codes.
const (
	InErrTooShort = iota
	InErrBadVersion
	InErrBadIHL
	InErrBadLength
	InErrBadChecksum
	InErrBadSource
	InErrMulticast
	InErrBroadcast
	InErrLoopbackSource
	InErrOwnSource
	InEvL4ChecksumCompleted
	InEvMulticastPunted
)

var inputErrors = []graph.Error{
	InErrTooShort:    {Name: "too_short", Help: "ip4 length < 20 bytes"},
	InErrBadVersion:  {Name: "bad_version", Help: "ip4 version is not 4"},
	InErrBadIHL:      {Name: "bad_ihl", Help: "ip4 header length < 20 bytes"},
	InErrBadLength:   {Name: "bad_length", Help: "ip4 total length inconsistent with header or frame"},
	InErrBadChecksum: {Name: "bad_checksum", Help: "ip4 header checksum is wrong"},
	InErrBadSource:   {Name: "bad_source", Help: "source is multicast, broadcast or 0.0.0.0/8"},
	InErrMulticast:   {Name: "multicast", Help: "multicast destination (not supported)", Severity: graph.SevWarn},
	InErrBroadcast:   {Name: "broadcast", Help: "limited broadcast destination", Severity: graph.SevWarn},
	// Martian sources (RFC 1812 5.3.7), see martianSource.
	InErrLoopbackSource: {Name: "loopback_source", Help: "source in 127.0.0.0/8 on the wire (martian)", Severity: graph.SevWarn},
	InErrOwnSource:      {Name: "own_source", Help: "source is one of our own addresses (martian, spoofed or looped)", Severity: graph.SevWarn},
	InEvL4ChecksumCompleted: {Name: "l4_checksum_completed",
		Help: "TCP/UDP checksum left for offload (partial) completed in software", Severity: graph.SevInfo},
	InEvMulticastPunted: {Name: "multicast_punted",
		Help: "link-local multicast (224.0.0.0/24: OSPF, IGMP, VRRP...) handed to the punt node (linux-cp: the kernel)", Severity: graph.SevInfo},
}

// parseErrCode maps a wire.IPv4Error to an ip4-input error code.
var parseErrCode = [...]int{
	wire.IPv4TooShort:   InErrTooShort,
	wire.IPv4BadVersion: InErrBadVersion,
	wire.IPv4BadIHL:     InErrBadIHL,
	wire.IPv4BadLength:  InErrBadLength,
}

// inNextLookup is ip4-input's edge to ip4-lookup, the end of the
// ip4-unicast arc (feature edges come after it).
const inNextLookup = 1

// InputConfig is what ip4-input takes beyond the interfaces.
type InputConfig struct {
	// LinkLocalMulticast, if set, is the node that receives the packets to
	// link-local multicast groups (224.0.0.0/24: OSPF's 224.0.0.5 and .6,
	// IGMP, VRRP...), counted as multicast_punted: linux-cp's punt to the
	// kernel, where the routing daemons are. Unset, they are dropped as
	// multicast like every other group.
	LinkLocalMulticast string
}

// InputNode returns ip4-input. Valid packets enter the ip4-unicast arc,
// whose end is ip4-lookup. ifs gives the router's own addresses, which no
// packet from the wire may use as its source.
func InputNode(ifs *iface.Table) graph.Registration { return InputNodeConfig(ifs, InputConfig{}) }

// InputNodeConfig is InputNode with cfg.
func InputNodeConfig(ifs *iface.Table, cfg InputConfig) graph.Registration {
	var arc int
	next := []string{LookupName}
	mcast := uint16(graph.NextDrop)
	if cfg.LinkLocalMulticast != "" {
		next = append(next, cfg.LinkLocalMulticast)
		mcast = uint16(len(next)) // edges count from 1 (0 is drop)
	}
	return graph.Registration{
		Name:   InputName,
		Next:   next,
		Errors: inputErrors,
		Init: func(n *graph.Node) (err error) {
			arc, err = n.Graph().ArcID(UnicastArc)
			return err
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return input(n, v, arc, mcast, ifs.Load()) },
		Format: formatIP,
	}
}

// linkLocalGroups is 224.0.0.0/24 shifted right by 8.
const linkLocalGroups = 224 << 16

// input is ip4-input's node function; arc is the ip4-unicast arc id and
// mcast the edge for link-local multicast (graph.NextDrop: none). It is
// a named function rather than the registration's closure because the
// compiler does not inline calls inside a closure whose enclosing function
// was itself inlined, as the registration constructors are (golang/go#81380):
// in a closure, every Arena and wire accessor would stay a call.
func input(n *graph.Node, v *pkt.Vector, arc int, mcast uint16, set *iface.Set) int {
	a := n.Arena()
	cnt := v.Len
	port, next := -1, uint16(0)             // the last ArcStart answer and its port
	mayPartial := false                     // port's frames may carry partial checksums
	var partial [pkt.VectorSize / 64]uint64 // candidates for completeL4Checksums
	for k, i := range v.Idx[:cnt] {
		m, l3 := a.L3(i)
		ip, e := wire.ParseIPv4(l3)
		if e != wire.IPv4OK {
			n.Drop(m, k, parseErrCode[e])
			continue
		}
		if !ip.ChecksumValid() {
			n.Drop(m, k, InErrBadChecksum)
			continue
		}
		// Addresses as numbers: the compiler keeps them in registers.
		if src := ip.SrcBits(); src >= 224<<24 || src < 1<<24 {
			n.Drop(m, k, InErrBadSource)
			continue
		}
		if e := martianSource(ip.SrcBits(), set); e >= 0 {
			n.Drop(m, k, e)
			continue
		}
		if dst := ip.DstBits(); dst >= 224<<24 {
			switch {
			case dst == 0xffffffff:
				n.Drop(m, k, InErrBroadcast)
			case dst>>8 == linkLocalGroups && mcast != graph.NextDrop:
				m.Len = m.L3 + uint16(len(ip))
				m.L4 = m.L3 + uint16(ip.HeaderLen())
				n.Nexts[k] = mcast
				n.Count(InEvMulticastPunted, 1)
			default:
				n.Drop(m, k, InErrMulticast)
			}
			continue
		}
		m.Len = m.L3 + uint16(len(ip)) // cut Ethernet padding
		m.L4 = m.L3 + uint16(ip.HeaderLen())
		// What depends only on the receive port is asked once per run of
		// packets from one port: whether its driver can deliver a partial
		// checksum at all (iface.Interface.ChecksumsComplete: memif
		// cannot), and ArcStart (next = 0 makes the test below ask it).
		if int(m.RxPort) != port {
			port, next = int(m.RxPort), 0
			mayPartial = !set.ChecksumsComplete(m.RxPort)
		}
		// A TCP or UDP checksum left for offload is marked here, while the
		// header is in cache, and completed after the loop.
		if mayPartial && m.Flags&pkt.FlagL4ChecksumOK == 0 && ip.MaybePartialL4Checksum() {
			partial[k>>6] |= 1 << (k & 63)
		}
		// While ArcStart leads straight to the arc's end (no feature
		// enabled, so it does not touch Meta), its answer holds for the
		// rest of the port's run.
		if next != inNextLookup {
			next = n.ArcStart(arc, m)
		}
		n.Nexts[k] = next
	}
	if partial != [len(partial)]uint64{} {
		if c := completeL4Checksums(a, v.Idx[:cnt], &partial); c != 0 {
			n.Count(InEvL4ChecksumCompleted, c)
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// formatIP renders the IPv4 header of a traced packet.
func formatIP(r *graph.TraceRecord) string {
	l3 := int(r.Meta.L3)
	if l3 > r.Len {
		return "no ip4 header in trace"
	}
	ip := wire.IPv4(r.Data[l3:r.Len])
	if len(ip) < wire.IPv4MinLen {
		return "short ip4 header"
	}
	return "ip4 " + addrString(ip.Src()) + " -> " + addrString(ip.Dst()) + " proto " + itoa(int(ip.Protocol())) +
		" ttl " + itoa(int(ip.TTL())) + " len " + itoa(int(ip.TotalLen()))
}

func addrString(a [4]byte) string {
	return itoa(int(a[0])) + "." + itoa(int(a[1])) + "." + itoa(int(a[2])) + "." + itoa(int(a[3]))
}

func itoa(x int) string {
	if x == 0 {
		return "0"
	}
	var b [20]byte
	k := len(b)
	neg := x < 0
	if neg {
		x = -x
	}
	for x > 0 {
		k--
		b[k] = byte('0' + x%10)
		x /= 10
	}
	if neg {
		k--
		b[k] = '-'
	}
	return string(b[k:])
}
