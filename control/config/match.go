package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Match says which received packets an afxdp interface's XDP program
// redirects to vecnet; everything else passes to the kernel. The zero value
// is "unset"; Parse turns an absent match into Match{All: true}.
//
// A packet matches when every given clause matches (AND); within a clause,
// any of the listed values (OR).
type Match struct {
	All     bool         // redirect everything; no other field is set
	DstIP   []netip.Addr // IPv4 destinations; empty = any
	Proto   string       // "udp", "tcp", "icmp"; empty = any
	DstPort []uint16     // UDP/TCP destination ports; needs Proto udp or tcp
}

// ParseMatch parses the text form of a Match:
//
//	all
//	dst 10.0.1.1
//	dst 10.0.1.1,10.0.1.2 udp dport 53
//	tcp dport 80,443
//	icmp
//
// Clauses are "dst ADDR[,ADDR...]", one of "udp", "tcp", "icmp" (or
// "proto NAME"), and "dport PORT[,PORT...]", each at most once, in any order.
func ParseMatch(s string) (Match, error) {
	var m Match
	f := strings.Fields(s)
	if len(f) == 0 {
		return m, fmt.Errorf("empty match: want \"all\" or clauses like \"dst 10.0.1.1 udp dport 53\"")
	}
	if len(f) == 1 && f[0] == "all" {
		return Match{All: true}, nil
	}
	seen := map[string]bool{}
	once := func(c string) error {
		if seen[c] {
			return fmt.Errorf("match: %q given twice", c)
		}
		seen[c] = true
		return nil
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch c {
		case "all":
			return Match{}, fmt.Errorf("match: \"all\" cannot be combined with other clauses")
		case "udp", "tcp", "icmp", "proto":
			if err := once("proto"); err != nil {
				return Match{}, err
			}
			if c == "proto" {
				if i+1 >= len(f) {
					return Match{}, fmt.Errorf("match: proto needs udp, tcp or icmp")
				}
				i++
				c = f[i]
				if c != "udp" && c != "tcp" && c != "icmp" {
					return Match{}, fmt.Errorf("match: unknown protocol %q (want udp, tcp or icmp)", c)
				}
			}
			m.Proto = c
		case "dst", "dport":
			if err := once(c); err != nil {
				return Match{}, err
			}
			if i+1 >= len(f) {
				return Match{}, fmt.Errorf("match: %s needs a value", c)
			}
			i++
			for _, v := range strings.Split(f[i], ",") {
				if c == "dst" {
					a, err := netip.ParseAddr(v)
					if err != nil || !a.Is4() {
						return Match{}, fmt.Errorf("match: dst %q is not an IPv4 address", v)
					}
					m.DstIP = append(m.DstIP, a)
				} else {
					p, err := strconv.ParseUint(v, 10, 16)
					if err != nil || p == 0 {
						return Match{}, fmt.Errorf("match: dport %q is not a port 1..65535", v)
					}
					m.DstPort = append(m.DstPort, uint16(p))
				}
			}
		default:
			return Match{}, fmt.Errorf("match: unknown clause %q (want all, dst, udp, tcp, icmp, proto, dport)", c)
		}
	}
	if len(m.DstPort) > 0 && m.Proto != "udp" && m.Proto != "tcp" {
		return Match{}, fmt.Errorf("match: dport needs udp or tcp")
	}
	return m, nil
}

// IsZero reports whether m is unset.
func (m Match) IsZero() bool {
	return !m.All && len(m.DstIP) == 0 && m.Proto == "" && len(m.DstPort) == 0
}

// String returns the canonical text form that ParseMatch accepts; "" for
// the zero Match.
func (m Match) String() string {
	if m.All {
		return "all"
	}
	var parts []string
	if len(m.DstIP) > 0 {
		s := make([]string, len(m.DstIP))
		for i, a := range m.DstIP {
			s[i] = a.String()
		}
		parts = append(parts, "dst", strings.Join(s, ","))
	}
	if m.Proto != "" {
		parts = append(parts, m.Proto)
	}
	if len(m.DstPort) > 0 {
		s := make([]string, len(m.DstPort))
		for i, p := range m.DstPort {
			s[i] = strconv.Itoa(int(p))
		}
		parts = append(parts, "dport", strings.Join(s, ","))
	}
	return strings.Join(parts, " ")
}
