package ip4

import (
	"vecnet/graph"
	"vecnet/pkt"
	"vecnet/wire"
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
}

// parseErrCode maps a wire.IPv4Error to an ip4-input error code.
var parseErrCode = [...]int{
	wire.IPv4TooShort:   InErrTooShort,
	wire.IPv4BadVersion: InErrBadVersion,
	wire.IPv4BadIHL:     InErrBadIHL,
	wire.IPv4BadLength:  InErrBadLength,
}

// InputNode returns ip4-input. Valid packets enter the ip4-unicast arc,
// whose end is ip4-lookup.
func InputNode() graph.Registration {
	var arc int
	return graph.Registration{
		Name:   InputName,
		Next:   []string{LookupName},
		Errors: inputErrors,
		Init: func(n *graph.Node) (err error) {
			arc, err = n.Graph().ArcID(UnicastArc)
			return err
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			a := n.Arena()
			cnt := v.Len
			for k, i := range v.Idx[:cnt] {
				m := a.Meta(i)
				d := a.Data(i)
				ip, e := wire.ParseIPv4(d[m.L3:])
				if e != wire.IPv4OK {
					n.Drop(m, k, parseErrCode[e])
					continue
				}
				if !ip.ChecksumValid() {
					n.Drop(m, k, InErrBadChecksum)
					continue
				}
				src, dst := ip.Src(), ip.Dst()
				if src[0] >= 224 || src[0] == 0 {
					n.Drop(m, k, InErrBadSource)
					continue
				}
				if dst[0] >= 224 {
					if dst == [4]byte{255, 255, 255, 255} {
						n.Drop(m, k, InErrBroadcast)
					} else {
						n.Drop(m, k, InErrMulticast)
					}
					continue
				}
				m.Len = m.L3 + uint16(len(ip)) // cut Ethernet padding
				m.L4 = m.L3 + uint16(ip.HeaderLen())
				n.Nexts[k] = n.ArcStart(arc, m)
			}
			n.Enqueue(v, n.Nexts[:])
			return cnt
		},
		Format: formatIP,
	}
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
