package dnszone

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrBadZone is wrapped by every error about the content of a zone.
var ErrBadZone = errors.New("dnszone: bad zone")

// maxChase bounds CNAME chains followed at compile time.
const maxChase = 8

// record is one resource record of the zone in compile-ready form. All
// names are lower-case wire format.
type record struct {
	owner string
	typ   uint16
	ttl   uint32
	rdata []byte   // A, AAAA, TXT: wire rdata
	names []string // NS, CNAME: target; MX: exchange; SOA: mname, rname
	pref  uint16   // MX preference
	soa   [5]uint32
}

// inZone reports whether wire name n is the apex or below it.
func inZone(n, apex string) bool {
	if !strings.HasSuffix(n, apex) {
		return false
	}
	for i := 0; i < len(n); i += 1 + int(n[i]) {
		if i == len(n)-len(apex) {
			return true
		}
	}
	return false
}

// compiler holds the zone data while responses are built.
type compiler struct {
	apex   string
	byName map[string][]*record
	soa    *record
	negTTL uint32
}

// compile validates recs and builds the Zone.
func compile(apex string, recs []record) (*Zone, error) {
	c := &compiler{apex: apex, byName: map[string][]*record{}}
	for i := range recs {
		r := &recs[i]
		if !inZone(r.owner, apex) {
			return nil, fmt.Errorf("%w: %s outside the zone", ErrBadZone, presentation(r.owner))
		}
		switch {
		case r.typ == typeSOA && r.owner != apex:
			return nil, fmt.Errorf("%w: SOA at %s, not at the apex", ErrBadZone, presentation(r.owner))
		case r.typ == typeSOA && c.soa != nil:
			return nil, fmt.Errorf("%w: more than one SOA", ErrBadZone)
		case r.typ == typeSOA:
			c.soa = r
		case r.typ == typeNS && r.owner != apex:
			return nil, fmt.Errorf("%w: NS at %s: delegations are not supported", ErrBadZone, presentation(r.owner))
		}
		c.byName[r.owner] = append(c.byName[r.owner], r)
	}
	if c.soa == nil {
		return nil, fmt.Errorf("%w: no SOA at the apex", ErrBadZone)
	}
	c.negTTL = min(c.soa.ttl, c.soa.soa[4])
	for n, rs := range c.byName {
		if find(rs, typeCNAME) != nil && len(rs) > 1 {
			return nil, fmt.Errorf("%w: CNAME and other data at %s", ErrBadZone, presentation(n))
		}
	}
	// Empty non-terminals exist (NODATA), so add every ancestor up to the apex.
	for n := range c.byName {
		for p := n; p != apex; p = p[1+int(p[0]):] {
			if _, ok := c.byName[p]; !ok {
				c.byName[p] = nil
			}
		}
	}
	names := make([]string, 0, len(c.byName))
	for n := range c.byName {
		names = append(names, n)
	}
	sort.Strings(names)

	z := &Zone{apex: apex, names: make([]nameEntry, len(names))}
	for i, n := range names {
		e := &z.names[i]
		e.name = n
		for s := range numSlots {
			e.resp[s] = c.response(n, slotTypes[s])
		}
	}
	nx := encoder{}
	nx.u16(0xC000) // owner: pointer patched per query
	nx.rrBody(c.soa, c.negTTL)
	z.nxSOA = nx.b
	z.buildTable()
	return z, nil
}

func find(rs []*record, t uint16) *record {
	for _, r := range rs {
		if r.typ == t {
			return r
		}
	}
	return nil
}

// resolve answers (name, qtype) from the zone data, the slow way.
func (c *compiler) resolve(name string, qtype uint16) (ans, auth, add []*record, rcode uint16, outcome uint8) {
	cur := name
	for hop := 0; ; hop++ {
		rs := c.byName[cur]
		if cn := find(rs, typeCNAME); cn != nil && qtype != typeCNAME {
			ans = append(ans, cn)
			t := cn.names[0]
			if hop == maxChase || !inZone(t, c.apex) {
				return ans, nil, nil, rcodeNoError, outAnswer
			}
			if _, ok := c.byName[t]; !ok {
				return ans, []*record{c.soa}, nil, rcodeNXDomain, outNXDomain
			}
			cur = t
			continue
		}
		n := len(ans)
		for _, r := range rs {
			if r.typ == qtype {
				ans = append(ans, r)
			}
		}
		if len(ans) == n {
			if n == 0 {
				return nil, []*record{c.soa}, nil, rcodeNoError, outNoData
			}
			return ans, []*record{c.soa}, nil, rcodeNoError, outAnswer
		}
		if qtype == typeNS || qtype == typeMX {
			for _, r := range ans[n:] {
				for _, g := range c.byName[r.names[0]] {
					if g.typ == typeA || g.typ == typeAAAA {
						add = append(add, g)
					}
				}
			}
		}
		return ans, nil, add, rcodeNoError, outAnswer
	}
}

// response encodes the response to (name, qtype).
func (c *compiler) response(name string, qtype uint16) response {
	ans, auth, add, rcode, outcome := c.resolve(name, qtype)
	e := encoder{comp: map[string]int{}}
	e.u16(0)
	e.u16(flagQR | flagAA | rcode)
	e.u16(1)
	e.u16(uint16(len(ans)))
	e.u16(uint16(len(auth)))
	e.u16(uint16(len(add)))
	e.name(name)
	e.u16(qtype)
	e.u16(classIN)
	for _, r := range ans {
		e.rr(r, r.ttl)
	}
	for _, r := range auth {
		e.rr(r, c.negTTL)
	}
	minLen := len(e.b)
	for _, r := range add {
		e.rr(r, r.ttl)
	}
	return response{b: e.b, minLen: minLen, outcome: outcome}
}

// presentation formats a wire name for error messages.
func presentation(n string) string {
	var sb strings.Builder
	for i := 0; i < len(n) && n[i] != 0; i += 1 + int(n[i]) {
		sb.WriteString(n[i+1 : i+1+int(n[i])])
		sb.WriteByte('.')
	}
	if sb.Len() == 0 {
		return "."
	}
	return sb.String()
}
