package dnszone

import (
	"fmt"
	"io"
	"os"

	"github.com/miekg/dns"
)

// This file is the only non-test user of github.com/miekg/dns: it turns a
// master file into records; compile.go encodes them without it.

// Load reads the RFC 1035 master file at path for the zone origin (e.g.
// "example.test.") and compiles it. Supported types: A, AAAA, NS (apex
// only), SOA, CNAME, TXT, MX; $INCLUDE is refused.
func Load(path, origin string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	z, err := parse(f, origin, path)
	f.Close()
	return z, err
}

// Parse reads a master file from r for the zone origin and compiles it.
// See [Load].
func Parse(r io.Reader, origin string) (*Zone, error) {
	return parse(r, origin, "")
}

func parse(r io.Reader, origin, file string) (*Zone, error) {
	origin = dns.Fqdn(origin)
	apex, err := wireName(origin)
	if err != nil {
		return nil, fmt.Errorf("%w: origin %q: %v", ErrBadZone, origin, err)
	}
	zp := dns.NewZoneParser(r, origin, file)
	var recs []record
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rec, err := convert(rr)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadZone, err)
	}
	return compile(apex, recs)
}

// convert turns one parsed RR into a record.
func convert(rr dns.RR) (record, error) {
	h := rr.Header()
	bad := func(err error) (record, error) {
		return record{}, fmt.Errorf("%w: %s: %v", ErrBadZone, rr, err)
	}
	if h.Class != dns.ClassINET {
		return bad(fmt.Errorf("class %s, want IN", dns.Class(h.Class)))
	}
	owner, err := wireName(h.Name)
	if err != nil {
		return bad(err)
	}
	rec := record{owner: owner, typ: h.Rrtype, ttl: h.Ttl}
	names := func(ns ...string) error {
		for _, n := range ns {
			w, err := wireName(n)
			if err != nil {
				return err
			}
			rec.names = append(rec.names, w)
		}
		return nil
	}
	switch v := rr.(type) {
	case *dns.A:
		rec.rdata = append([]byte(nil), v.A.To4()...)
	case *dns.AAAA:
		rec.rdata = append([]byte(nil), v.AAAA.To16()...)
	case *dns.NS:
		err = names(v.Ns)
	case *dns.CNAME:
		err = names(v.Target)
	case *dns.MX:
		rec.pref = v.Preference
		err = names(v.Mx)
	case *dns.SOA:
		rec.soa = [5]uint32{v.Serial, v.Refresh, v.Retry, v.Expire, v.Minttl}
		err = names(v.Ns, v.Mbox)
	case *dns.TXT:
		rec.rdata, err = rdata(rr, len(owner))
	default:
		err = fmt.Errorf("type %s not supported", dns.Type(h.Rrtype))
	}
	if err != nil {
		return bad(err)
	}
	return rec, nil
}

// rdata packs rr uncompressed and returns its rdata.
func rdata(rr dns.RR, ownerLen int) ([]byte, error) {
	buf := make([]byte, dns.Len(rr)+ownerLen+16)
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	return buf[ownerLen+10 : n], nil
}

// wireName returns the lower-case wire form of a fully qualified name.
func wireName(s string) (string, error) {
	var buf [maxNameLen + 1]byte
	n, err := dns.PackDomainName(dns.Fqdn(s), buf[:], 0, nil, false)
	if err != nil {
		return "", err
	}
	if n > maxNameLen {
		return "", fmt.Errorf("name %q longer than %d bytes", s, maxNameLen)
	}
	for i := range n {
		buf[i] = lower(buf[i])
	}
	return string(buf[:n]), nil
}
