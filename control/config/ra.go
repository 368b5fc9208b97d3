package config

import (
	"net/netip"
	"time"

	"go.yaml.in/yaml/v3"
)

// RA limits (RFC 4861 6.2.1, 10).
const (
	MinRAInterval     = 4 * time.Second    // MinRtrAdvInterval's floor (3s) rounded up
	MaxRAInterval     = 1800 * time.Second // MaxRtrAdvInterval's ceiling
	MaxRALifetime     = 9000 * time.Second // AdvDefaultLifetime's ceiling
	MaxRAPrefixes     = 8                  // Prefix Information options in one advertisement
	DefaultRAInterval = 200 * time.Second
)

// RA turns router advertisements on for an interface (RFC 4861 6.2):
// unsolicited ones every Interval (randomised) and answers to router
// solicitations. Absent, the interface sends none. YAML:
//
//	ra:
//	  interval: 200s     # MaxRtrAdvInterval, 4s..1800s; default 200s
//	  lifetime: 1800s    # router lifetime, 0 (not a default router) or interval..9000s; default 3 x interval
//	  prefixes: [2001:db8:1::/64]   # Prefix Information options (on-link, autonomous), at most 8
//	  managed: false     # M flag (addresses by DHCPv6)
//	  other: false       # O flag (other configuration by DHCPv6)
//	  mtu: true          # MTU option with the interface's MTU; default true
type RA struct {
	Interval time.Duration
	Lifetime time.Duration
	Prefixes []netip.Prefix
	Managed  bool
	Other    bool
	MTU      bool
}

func (w *walker) ra(n *yaml.Node, what string) *RA {
	what += ": ra"
	m := w.fields(n, what, "interval", "lifetime", "prefixes", "managed", "other", "mtu")
	if m == nil {
		return nil
	}
	r := &RA{Interval: DefaultRAInterval, MTU: true}
	if v, ok := m["interval"]; ok {
		if d, ok := w.duration(v, what+": interval", MinRAInterval, MaxRAInterval); ok {
			r.Interval = d
		}
	}
	r.Lifetime = 3 * r.Interval
	if r.Lifetime > MaxRALifetime {
		r.Lifetime = MaxRALifetime
	}
	if v, ok := m["lifetime"]; ok {
		if d, ok := w.duration(v, what+": lifetime", 0, MaxRALifetime); ok {
			if d != 0 && d < r.Interval {
				w.errorf(v, "%s: lifetime %v is shorter than the interval %v (RFC 4861 6.2.1): use 0 or at least the interval", what, d, r.Interval)
			}
			if d%time.Second != 0 {
				w.errorf(v, "%s: lifetime %v is not a whole number of seconds", what, d)
			}
			r.Lifetime = d
		}
	}
	if v, ok := m["prefixes"]; ok {
		for _, it := range w.seq(v, what+": prefixes", true) {
			s, ok := w.str(it, what+": prefix")
			if !ok {
				continue
			}
			p, err := netip.ParsePrefix(s)
			switch {
			case err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "":
				w.errorf(it, "%s: bad prefix %q: want an IPv6 prefix like 2001:db8:1::/64", what, s)
			case p != p.Masked():
				w.errorf(it, "%s: prefix %v has host bits set (want %v)", what, p, p.Masked())
			case p.Addr().IsLinkLocalUnicast() || p.Addr().IsMulticast():
				w.errorf(it, "%s: prefix %v is link-local or multicast", what, p)
			case len(r.Prefixes) == MaxRAPrefixes:
				w.errorf(it, "%s: more than %d prefixes", what, MaxRAPrefixes)
			default:
				for _, q := range r.Prefixes {
					if q == p {
						w.errorf(it, "%s: prefix %v listed twice", what, p)
					}
				}
				r.Prefixes = append(r.Prefixes, p)
			}
		}
	}
	flag := func(k string, dst *bool) {
		if v, ok := m[k]; ok {
			b, ok := w.oneOf(v, what+": "+k, "true", "false")
			if ok {
				*dst = b == "true"
			}
		}
	}
	flag("managed", &r.Managed)
	flag("other", &r.Other)
	flag("mtu", &r.MTU)
	return r
}
