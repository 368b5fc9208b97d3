package nat44

import "net/netip"

// pool is the external addresses as numbers. A mapping's extAddr indexes
// addrs; index finds a packet's destination among them in one comparison
// when the pool is one ascending range (the usual configuration), by a
// scan otherwise.
type pool struct {
	addrs      []uint32
	lo         uint32
	contiguous bool // addrs[i] == lo+i
}

func newPool(as []netip.Addr) pool {
	p := pool{contiguous: true}
	for i, a := range as {
		p.addrs = append(p.addrs, be32(a.As4()))
		p.contiguous = p.contiguous && p.addrs[i] == p.addrs[0]+uint32(i)
	}
	if len(p.addrs) > 0 {
		p.lo = p.addrs[0]
	}
	return p
}

// index returns a's position in the pool, or -1.
func (p *pool) index(a uint32) int {
	if p.contiguous {
		if d := a - p.lo; d < uint32(len(p.addrs)) {
			return int(d)
		}
		return -1
	}
	for i, x := range p.addrs {
		if x == a {
			return i
		}
	}
	return -1
}

// pick returns the pool position an inside address always maps to
// (paired pooling, RFC 4787 REQ-2).
func (p *pool) pick(inside uint32) int {
	if len(p.addrs) == 1 {
		return 0
	}
	return int(mix(uint64(inside)) % uint64(len(p.addrs)))
}

// bytes returns the address at position i.
func (p *pool) bytes(i int) [4]byte {
	a := p.addrs[i]
	return [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}
}
