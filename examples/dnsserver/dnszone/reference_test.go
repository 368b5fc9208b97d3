package dnszone

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const (
	testZoneFile = "../testdata/example.zone"
	testOrigin   = "example.test."
)

// refZone is a slow reference resolver over the same zone data, written
// with miekg/dns types, independent of the compiler.
type refZone struct {
	apex string
	rrs  map[string][]dns.RR // lower-case owner -> records
	soa  *dns.SOA
}

func loadRef(t testing.TB) *refZone {
	t.Helper()
	f, err := os.Open(testZoneFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &refZone{apex: testOrigin, rrs: map[string][]dns.RR{}}
	zp := dns.NewZoneParser(f, testOrigin, testZoneFile)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n := strings.ToLower(rr.Header().Name)
		r.rrs[n] = append(r.rrs[n], rr)
		if s, ok := rr.(*dns.SOA); ok {
			r.soa = s
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

func loadZone(t testing.TB) *Zone {
	t.Helper()
	z, err := Load(testZoneFile, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// exists reports whether n owns records or is an empty non-terminal.
func (r *refZone) exists(n string) bool {
	if _, ok := r.rrs[n]; ok {
		return true
	}
	for o := range r.rrs {
		if strings.HasSuffix(o, "."+n) {
			return true
		}
	}
	return false
}

func (r *refZone) negSOA() dns.RR {
	s := dns.Copy(r.soa).(*dns.SOA)
	s.Hdr.Ttl = min(s.Hdr.Ttl, s.Minttl)
	return s
}

// answer returns what an authoritative server should say to (qname, qtype).
func (r *refZone) answer(qname string, qtype uint16) (rcode int, ans, auth, extra []dns.RR) {
	name := strings.ToLower(qname)
	if !dns.IsSubDomain(r.apex, name) {
		return dns.RcodeRefused, nil, nil, nil
	}
	if !r.exists(name) {
		return dns.RcodeNameError, nil, []dns.RR{r.negSOA()}, nil
	}
	for hop := 0; ; hop++ {
		var cname *dns.CNAME
		for _, rr := range r.rrs[name] {
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if cname != nil && qtype != dns.TypeCNAME {
			ans = append(ans, cname)
			t := strings.ToLower(cname.Target)
			if hop == maxChase || !dns.IsSubDomain(r.apex, t) {
				return dns.RcodeSuccess, ans, nil, nil
			}
			if !r.exists(t) {
				return dns.RcodeNameError, ans, []dns.RR{r.negSOA()}, nil
			}
			name = t
			continue
		}
		n := len(ans)
		for _, rr := range r.rrs[name] {
			if rr.Header().Rrtype == qtype {
				ans = append(ans, rr)
			}
		}
		if len(ans) == n {
			return dns.RcodeSuccess, ans, []dns.RR{r.negSOA()}, nil
		}
		for _, rr := range ans[n:] {
			var target string
			switch v := rr.(type) {
			case *dns.NS:
				target = v.Ns
			case *dns.MX:
				target = v.Mx
			default:
				continue
			}
			for _, g := range r.rrs[strings.ToLower(target)] {
				if t := g.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
					extra = append(extra, g)
				}
			}
		}
		return dns.RcodeSuccess, ans, nil, extra
	}
}

// rrStrings returns the records as sorted lower-case presentation lines
// (names are case-insensitive; our answers echo the query's case).
func rrStrings(rrs []dns.RR) []string {
	var s []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		s = append(s, strings.ToLower(rr.String()))
	}
	sort.Strings(s)
	return s
}
