package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vecnet/vecnet/service/nat44"
)

// NAT44 translates what the inside interfaces send out by the outside
// interface to one address, or to a pool of them (NAPT with
// endpoint-independent mapping). YAML:
//
//	nat44:
//	  inside: [eth0]
//	  outside: eth1
//	  address: 203.0.113.1        # default: the outside interface's first address
//	  pool: [198.51.100.10-198.51.100.20, 198.51.100.30]   # instead of address
//	  ports: 1024-65535           # the default
//	  static:                     # port forwards to inside servers
//	    - {proto: tcp, inside: 10.0.1.5:80, port: 8080}
//	  timeouts: {udp: 5m, tcp_established: 2h4m, tcp_transitory: 4m, icmp: 1m}
type NAT44 struct {
	Inside   []string
	Outside  string
	Address  netip.Addr   // zero: the outside interface's first address
	Pool     []netip.Addr // when not empty, the external addresses (Address unused)
	PortLo   uint16
	PortHi   uint16
	Static   []nat44.Static
	Timeouts NAT44Timeouts
}

// NAT44Timeouts are the mappings' idle timeouts; zero takes the default.
type NAT44Timeouts struct {
	UDP, TCPEstablished, TCPTransitory, ICMP time.Duration
}

func (w *walker) nat44(n *yaml.Node, ifaces map[string]bool) *NAT44 {
	f := w.fields(n, "nat44", "inside", "outside", "address", "pool", "ports", "static", "timeouts")
	if f == nil {
		return nil
	}
	w.require(n, f, "nat44", "inside", "outside")
	c := &NAT44{}
	ifname := func(v *yaml.Node, what string) string {
		s, ok := w.str(v, what)
		if ok && !ifaces[s] {
			w.errorf(v, "%s: no interface named %q", what, s)
		}
		return s
	}
	if v, ok := f["inside"]; ok {
		for _, it := range w.seq(v, "nat44 inside", true) {
			c.Inside = append(c.Inside, ifname(it, "nat44 inside"))
		}
	}
	if v, ok := f["outside"]; ok {
		c.Outside = ifname(v, "nat44 outside")
		for _, in := range c.Inside {
			if in == c.Outside {
				w.errorf(v, "nat44 outside: %q is also inside", in)
			}
		}
	}
	if v, ok := f["address"]; ok {
		if a, good := w.hostAddr(v, "nat44 address"); good {
			c.Address = a
		}
	}
	if v, ok := f["pool"]; ok {
		if _, both := f["address"]; both {
			w.errorf(v, "nat44 pool: give address or pool, not both")
		}
		c.Pool = w.natPool(v)
	}
	if v, ok := f["ports"]; ok {
		s, _ := w.str(v, "nat44 ports")
		lo, hi, _ := strings.Cut(s, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || a == 0 || a > b || b-a < 63 {
			w.errorf(v, "nat44 ports: %q is not a range N-M of at least 64 ports above 0", s)
		} else {
			c.PortLo, c.PortHi = uint16(a), uint16(b)
		}
	}
	if v, ok := f["static"]; ok {
		for _, it := range w.seq(v, "nat44 static", false) {
			sf := w.fields(it, "nat44 static", "proto", "inside", "port")
			if sf == nil {
				continue
			}
			w.require(it, sf, "nat44 static", "proto", "inside", "port")
			var st nat44.Static
			if pv, has := sf["proto"]; has {
				if p, good := w.oneOf(pv, "nat44 static proto", "tcp", "udp"); good {
					st.Proto = map[string]uint8{"tcp": 6, "udp": 17}[p]
				}
			}
			if iv, has := sf["inside"]; has {
				s, _ := w.str(iv, "nat44 static inside")
				ap, err := netip.ParseAddrPort(s)
				if err != nil || !ap.Addr().Is4() {
					w.errorf(iv, "nat44 static inside: %q is not ADDR:PORT (IPv4)", s)
				}
				st.Inside = ap
			}
			if pv, has := sf["port"]; has {
				p, _ := w.integer(pv, "nat44 static port", 1, 65535)
				st.External = uint16(p)
			}
			c.Static = append(c.Static, st)
		}
	}
	if v, ok := f["timeouts"]; ok {
		tf := w.fields(v, "nat44 timeouts", "udp", "tcp_established", "tcp_transitory", "icmp")
		for _, d := range []struct {
			key string
			dst *time.Duration
		}{{"udp", &c.Timeouts.UDP}, {"tcp_established", &c.Timeouts.TCPEstablished}, {"tcp_transitory", &c.Timeouts.TCPTransitory}, {"icmp", &c.Timeouts.ICMP}} {
			if tv, has := tf[d.key]; has {
				*d.dst, _ = w.duration(tv, "nat44 timeouts "+d.key, time.Second, 7*24*time.Hour)
			}
		}
	}
	return c
}

// natPool reads a pool: a list of addresses and ranges A-B (at most 256
// addresses in all, none twice).
func (w *walker) natPool(n *yaml.Node) []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, it := range w.seq(n, "nat44 pool", true) {
		s, ok := w.str(it, "nat44 pool")
		if !ok {
			continue
		}
		lo, hi, isRange := strings.Cut(s, "-")
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = netip.ParseAddr(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || !a.Is4() || !b.Is4() || b.Less(a) {
			w.errorf(it, "nat44 pool: %q is not an IPv4 address or a range A-B", s)
			continue
		}
		for x := a; ; x = x.Next() {
			if seen[x] {
				w.errorf(it, "nat44 pool: %v given twice", x)
				break
			}
			seen[x] = true
			out = append(out, x)
			if len(out) > 256 {
				w.errorf(it, "nat44 pool: more than 256 addresses")
				return nil
			}
			if x == b {
				break
			}
		}
	}
	return out
}

// Engine returns the nat44 configuration for interface indexes from
// index and the outside interface's address when none is given.
func (c *NAT44) Engine(workers int, index func(string) (uint16, bool), outsideAddr netip.Addr) (nat44.Config, error) {
	e := nat44.Config{Workers: workers, PortLo: c.PortLo, PortHi: c.PortHi, Static: c.Static, Addr: c.Address, Pool: c.Pool,
		UDP: c.Timeouts.UDP, TCPEstablished: c.Timeouts.TCPEstablished, TCPTransitory: c.Timeouts.TCPTransitory, ICMP: c.Timeouts.ICMP}
	for _, name := range c.Inside {
		p, ok := index(name)
		if !ok {
			return e, fmt.Errorf("nat44: no interface %q", name)
		}
		e.Inside = append(e.Inside, p)
	}
	p, ok := index(c.Outside)
	if !ok {
		return e, fmt.Errorf("nat44: no interface %q", c.Outside)
	}
	e.Outside = p
	if !e.Addr.IsValid() {
		e.Addr = outsideAddr
	}
	return e, e.Validate()
}

// fileNAT44 is a NAT44 as Marshal writes it.
type fileNAT44 struct {
	Inside   []string          `yaml:"inside,flow"`
	Outside  string            `yaml:"outside"`
	Address  string            `yaml:"address,omitempty"`
	Pool     []string          `yaml:"pool,omitempty,flow"`
	Ports    string            `yaml:"ports,omitempty"`
	Static   []map[string]any  `yaml:"static,omitempty"`
	Timeouts map[string]string `yaml:"timeouts,omitempty"`
}

func marshalNAT44(c *NAT44) *fileNAT44 {
	if c == nil {
		return nil
	}
	f := &fileNAT44{Inside: c.Inside, Outside: c.Outside}
	if c.Address.IsValid() {
		f.Address = c.Address.String()
	}
	for i := 0; i < len(c.Pool); {
		j := i
		for j+1 < len(c.Pool) && c.Pool[j+1] == c.Pool[j].Next() {
			j++
		}
		if j == i {
			f.Pool = append(f.Pool, c.Pool[i].String())
		} else {
			f.Pool = append(f.Pool, c.Pool[i].String()+"-"+c.Pool[j].String())
		}
		i = j + 1
	}
	if c.PortLo != 0 {
		f.Ports = fmt.Sprintf("%d-%d", c.PortLo, c.PortHi)
	}
	for _, s := range c.Static {
		f.Static = append(f.Static, map[string]any{"proto": map[uint8]string{6: "tcp", 17: "udp"}[s.Proto], "inside": s.Inside.String(), "port": int(s.External)})
	}
	for k, d := range map[string]time.Duration{"udp": c.Timeouts.UDP, "tcp_established": c.Timeouts.TCPEstablished,
		"tcp_transitory": c.Timeouts.TCPTransitory, "icmp": c.Timeouts.ICMP} {
		if d != 0 {
			if f.Timeouts == nil {
				f.Timeouts = map[string]string{}
			}
			f.Timeouts[k] = d.String()
		}
	}
	return f
}
