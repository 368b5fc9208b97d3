package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vecnet/vecnet/service/acl"
)

// ACL is an ordered rule list applied to what an interface receives (or,
// with direction out, to what it sends); the first matching rule decides,
// and Default decides for packets no rule matches. YAML:
//
//	acls:
//	  - name: web-in
//	    interface: eth0
//	    direction: in                      # in (the default) or out
//	    default: deny                      # deny (the default) or permit
//	    rules:
//	      - {action: permit, proto: tcp, dst: 10.0.2.0/24, dport: 80-443}
//	      - {action: deny, src: 10.0.1.66/32}
//	      - {action: permit, proto: icmp, icmp_type: 8}
//	      - {action: permit+reflect, proto: tcp, tcp_flags: "syn !ack"}
//
// Rule keys: action (permit, deny, permit+reflect), src, dst (IPv4 or IPv6
// prefixes of one family, which is the rule's; both omitted: any, and the
// rule applies to both families), proto (tcp, udp, icmp, icmp6, a number;
// omitted: any), sport, dport (N or N-M; tcp and udp), icmp_type, icmp_code
// (N or N-M; icmp and icmp6),
// tcp_flags (names among fin syn rst psh ack urg, "!" before a name for a
// flag that must be clear), police (a policer's name: it meters what the
// rule permits, a class policer). permit+reflect and police are IPv4 only:
// refused on a rule with IPv6 prefixes, and a family-less rule with either
// does not apply to IPv6 packets.
type ACL struct {
	Name      string
	Interface string
	Out       bool // filters what the interface sends (ip4-acl-out), not what it receives
	Default   acl.Action
	Rules     []acl.Rule
}

func (w *walker) acls(n *yaml.Node, ifaces, policers map[string]bool) []ACL {
	var out []ACL
	names, bound := seenAt{}, seenAt{}
	for _, it := range w.seq(n, "acls", false) {
		a, ok := w.acl(it, ifaces, policers)
		if !ok {
			continue
		}
		if l, dup := names.first(a.Name, it.Line); dup {
			w.errorf(it, "acl %q: name already used at line %d", a.Name, l)
			continue
		}
		if l, dup := bound.first(a.Interface+" "+a.direction(), it.Line); dup {
			w.errorf(it, "acl %q: interface %q already has the %s acl at line %d", a.Name, a.Interface, a.direction(), l)
			continue
		}
		out = append(out, a)
	}
	return out
}

func (w *walker) acl(n *yaml.Node, ifaces, policers map[string]bool) (ACL, bool) {
	f := w.fields(n, "acl", "name", "interface", "direction", "default", "rules")
	if f == nil {
		return ACL{}, false
	}
	w.require(n, f, "acl", "name", "interface", "rules")
	var a ACL
	ok := true
	if v, has := f["name"]; has {
		a.Name, ok = w.str(v, "acl name")
	}
	if v, has := f["interface"]; has {
		if s, good := w.str(v, "acl interface"); good {
			if !ifaces[s] {
				w.errorf(v, "acl interface: no interface named %q", s)
				ok = false
			}
			a.Interface = s
		}
	}
	if v, has := f["direction"]; has {
		if s, good := w.oneOf(v, "acl direction", "in", "out"); good && s == "out" {
			a.Out = true
		}
	}
	if v, has := f["default"]; has {
		if s, good := w.oneOf(v, "acl default", "deny", "permit"); good && s == "permit" {
			a.Default = acl.Permit
		}
	}
	if v, has := f["rules"]; has {
		for _, it := range w.seq(v, "acl rules", false) {
			r, good := w.aclRule(it, policers)
			if !good {
				ok = false
				continue
			}
			a.Rules = append(a.Rules, r)
		}
	}
	return a, ok && a.Name != "" && a.Interface != ""
}

// direction is "in" or "out".
func (a ACL) direction() string {
	if a.Out {
		return "out"
	}
	return "in"
}

var protoNames = map[string]uint8{"tcp": acl.ProtoTCP, "udp": acl.ProtoUDP, "icmp": acl.ProtoICMP, "icmp6": acl.ProtoICMPv6}

var tcpFlagBits = map[string]uint8{"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20}

func (w *walker) aclRule(n *yaml.Node, policers map[string]bool) (acl.Rule, bool) {
	f := w.fields(n, "acl rule", "action", "src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "tcp_flags", "police")
	if f == nil {
		return acl.Rule{}, false
	}
	w.require(n, f, "acl rule", "action")
	var r acl.Rule
	ok := true
	if v, has := f["action"]; has {
		s, good := w.oneOf(v, "acl rule action", "permit", "deny", "permit+reflect")
		ok = ok && good
		r.Action = map[string]acl.Action{"permit": acl.Permit, "deny": acl.Deny, "permit+reflect": acl.PermitReflect}[s]
	}
	for _, pf := range []struct {
		key string
		dst *netip.Prefix
	}{{"src", &r.Src}, {"dst", &r.Dst}} {
		key, dst := pf.key, pf.dst
		if v, has := f[key]; has {
			s, good := w.str(v, "acl rule "+key)
			p, err := netip.ParsePrefix(s)
			if good && (err != nil || p.Addr().Is4In6()) {
				w.errorf(v, "acl rule %s: %q is not an IPv4 or IPv6 prefix", key, s)
				good = false
			}
			*dst, ok = p.Masked(), ok && good
		}
	}
	if v, has := f["proto"]; has {
		s, good := w.str(v, "acl rule proto")
		if p, known := protoNames[s]; known {
			r.Proto = p
		} else if u, err := strconv.ParseUint(s, 10, 8); good && err == nil {
			r.Proto = uint8(u)
		} else if s != "any" && good {
			w.errorf(v, "acl rule proto: %q is not tcp, udp, icmp, icmp6, any or a number 0..255", s)
			good = false
		}
		ok = ok && good
	}
	ranges := []struct {
		key   string
		dst   *acl.PortRange
		proto []uint8
		max   uint64
	}{
		{"sport", &r.SrcPorts, []uint8{acl.ProtoTCP, acl.ProtoUDP}, 65535},
		{"dport", &r.DstPorts, []uint8{acl.ProtoTCP, acl.ProtoUDP}, 65535},
		{"icmp_type", &r.SrcPorts, []uint8{acl.ProtoICMP, acl.ProtoICMPv6}, 255},
		{"icmp_code", &r.DstPorts, []uint8{acl.ProtoICMP, acl.ProtoICMPv6}, 255},
	}
	for _, rg := range ranges {
		v, has := f[rg.key]
		if !has {
			continue
		}
		if !contains8(rg.proto, r.Proto) {
			w.errorf(v, "acl rule %s: only for proto %s", rg.key, protoList(rg.proto))
			ok = false
			continue
		}
		pr, good := w.portRange(v, "acl rule "+rg.key, rg.max)
		*rg.dst, ok = pr, ok && good
	}
	if v, has := f["police"]; has {
		if s, good := w.str(v, "acl rule police"); good {
			if !policers[s] {
				w.errorf(v, "acl rule police: no policer named %q", s)
			}
			r.Police = s
		}
	}
	if v, has := f["tcp_flags"]; has {
		s, good := w.str(v, "acl rule tcp_flags")
		if good && r.Proto != acl.ProtoTCP {
			w.errorf(v, "acl rule tcp_flags: only for proto tcp")
			good = false
		}
		for _, word := range strings.Fields(s) {
			if !good {
				break
			}
			bit, known := tcpFlagBits[strings.TrimPrefix(word, "!")]
			if !known {
				w.errorf(v, "acl rule tcp_flags: %q is not one of fin syn rst psh ack urg (with ! for clear)", word)
				good = false
				break
			}
			r.TCPFlagsMask |= bit
			if !strings.HasPrefix(word, "!") {
				r.TCPFlags |= bit
			}
		}
		ok = ok && good
	}
	if ok && r.Src.IsValid() && r.Dst.IsValid() && r.Src.Addr().Is4() != r.Dst.Addr().Is4() {
		w.errorf(f["dst"], "acl rule dst: %v is not of src %v's family", r.Dst, r.Src)
		ok = false
	}
	if v, has := f["action"]; ok && has && r.Family() == 6 && r.Action == acl.PermitReflect {
		w.errorf(v, "acl rule action: permit+reflect is IPv4 only (sessions key IPv4 addresses), this rule's prefixes are IPv6")
		ok = false
	}
	if v, has := f["police"]; ok && has && r.Family() == 6 {
		w.errorf(v, "acl rule police: class policers are IPv4 only, this rule's prefixes are IPv6")
		ok = false
	}
	if ok {
		if err := r.Validate(); err != nil {
			w.errorf(n, "acl rule: %v", err)
			ok = false
		}
	}
	return r, ok
}

// portRange reads N or N-M, each at most max.
func (w *walker) portRange(n *yaml.Node, what string, max uint64) (acl.PortRange, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return acl.PortRange{}, false
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := a, error(nil)
	if isRange {
		b, err2 = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	}
	if err1 != nil || err2 != nil || a > b || b > max {
		w.errorf(n, "%s: %q is not N or N-M with N <= M <= %d", what, s, max)
		return acl.PortRange{}, false
	}
	return acl.PortRange{Lo: uint16(a), Hi: uint16(b)}, true
}

func contains8(list []uint8, v uint8) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func protoList(ps []uint8) string {
	var s []string
	for _, p := range ps {
		for name, v := range protoNames {
			if v == p {
				s = append(s, name)
			}
		}
	}
	return strings.Join(s, " or ")
}

// fileACL and fileRule are an ACL as Marshal writes it.
type (
	fileACL struct {
		Name      string     `yaml:"name"`
		Interface string     `yaml:"interface"`
		Direction string     `yaml:"direction,omitempty"`
		Default   string     `yaml:"default"`
		Rules     []fileRule `yaml:"rules"`
	}
	fileRule struct {
		Action   string `yaml:"action"`
		Src      string `yaml:"src,omitempty"`
		Dst      string `yaml:"dst,omitempty"`
		Proto    string `yaml:"proto,omitempty"`
		Sport    string `yaml:"sport,omitempty"`
		Dport    string `yaml:"dport,omitempty"`
		ICMPType string `yaml:"icmp_type,omitempty"`
		ICMPCode string `yaml:"icmp_code,omitempty"`
		TCPFlags string `yaml:"tcp_flags,omitempty"`
		Police   string `yaml:"police,omitempty"`
	}
)

func marshalACLs(as []ACL) []fileACL {
	var out []fileACL
	rng := func(r acl.PortRange) string {
		if r.Any() {
			return ""
		}
		if r.Lo == r.Hi {
			return strconv.Itoa(int(r.Lo))
		}
		return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
	}
	for _, a := range as {
		fa := fileACL{Name: a.Name, Interface: a.Interface, Default: "deny"}
		if a.Out {
			fa.Direction = "out"
		}
		if a.Default == acl.Permit {
			fa.Default = "permit"
		}
		for _, r := range a.Rules {
			fr := fileRule{Action: r.Action.String(), Police: r.Police}
			if r.Src.IsValid() {
				fr.Src = r.Src.String()
			}
			if r.Dst.IsValid() {
				fr.Dst = r.Dst.String()
			}
			if r.Proto != 0 {
				fr.Proto = strconv.Itoa(int(r.Proto))
			}
			if r.Proto == acl.ProtoICMP || r.Proto == acl.ProtoICMPv6 {
				fr.ICMPType, fr.ICMPCode = rng(r.SrcPorts), rng(r.DstPorts)
			} else {
				fr.Sport, fr.Dport = rng(r.SrcPorts), rng(r.DstPorts)
			}
			var flags []string
			for _, name := range []string{"fin", "syn", "rst", "psh", "ack", "urg"} {
				bit := tcpFlagBits[name]
				if r.TCPFlagsMask&bit != 0 {
					if r.TCPFlags&bit == 0 {
						name = "!" + name
					}
					flags = append(flags, name)
				}
			}
			fr.TCPFlags = strings.Join(flags, " ")
			fa.Rules = append(fa.Rules, fr)
		}
		out = append(out, fa)
	}
	return out
}

// sessions reads the stateful firewall's table bounds and timeouts:
//
//	sessions: {max: 65536, tcp_transitory: 30s, tcp_established: 2h4m, tcp_closed: 2s, udp: 2m, icmp: 30s, other: 2m}
func (w *walker) sessions(n *yaml.Node) acl.SessionConfig {
	var c acl.SessionConfig
	f := w.fields(n, "sessions", "max", "tcp_transitory", "tcp_established", "tcp_closed", "udp", "icmp", "other")
	if v, ok := f["max"]; ok {
		c.Max, _ = w.integer(v, "sessions max", 16, 1<<24)
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"tcp_transitory", &c.TCPTransitory}, {"tcp_established", &c.TCPEstablished}, {"tcp_closed", &c.TCPClosed},
		{"udp", &c.UDP}, {"icmp", &c.ICMP}, {"other", &c.Other}} {
		if v, ok := f[d.key]; ok {
			*d.dst, _ = w.duration(v, "sessions "+d.key, time.Second, 7*24*time.Hour)
		}
	}
	return c
}

// fileSessions is a SessionConfig as Marshal writes it.
type fileSessions struct {
	Max            int    `yaml:"max,omitempty"`
	TCPTransitory  string `yaml:"tcp_transitory,omitempty"`
	TCPEstablished string `yaml:"tcp_established,omitempty"`
	TCPClosed      string `yaml:"tcp_closed,omitempty"`
	UDP            string `yaml:"udp,omitempty"`
	ICMP           string `yaml:"icmp,omitempty"`
	Other          string `yaml:"other,omitempty"`
}

func marshalSessions(c acl.SessionConfig) *fileSessions {
	if c == (acl.SessionConfig{}) {
		return nil
	}
	d := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	return &fileSessions{Max: c.Max, TCPTransitory: d(c.TCPTransitory), TCPEstablished: d(c.TCPEstablished),
		TCPClosed: d(c.TCPClosed), UDP: d(c.UDP), ICMP: d(c.ICMP), Other: d(c.Other)}
}
