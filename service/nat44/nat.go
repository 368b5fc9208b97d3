// Package nat44 translates IPv4 source addresses and ports between inside
// interfaces and an outside interface (NAPT, RFC 3022) with
// endpoint-independent mapping (RFC 4787 REQ-1): an inside endpoint keeps
// its external address and port whatever it talks to, for as long as the
// mapping lives. The external address is the outside interface's or one of
// a pool, always the same one for an inside address ("paired", RFC 4787
// REQ-2). TCP, UDP and ICMP echo (by identifier, RFC 5508) are translated,
// and ICMP errors about them with their quoted header (RFC 5508 REQ-3);
// checksums are updated incrementally (RFC 1624). Static mappings forward
// an external port to an inside endpoint (DNAT). An inside host reaching
// another through its external address and port is hairpinned (RFC 4787
// REQ-9): it is seen from the external address of its own mapping.
//
// Each worker owns a share of the external port range and its own
// mappings (shared-nothing): a reply reaches its mapping when it arrives
// on the worker that made it, which one worker, or symmetric RSS,
// guarantees.
package nat44

import (
	"fmt"
	"net/netip"
	"time"
)

// Protocol slots of the per-protocol port spaces.
const (
	slotTCP = iota
	slotUDP
	slotICMP
	numSlots
)

var slotNames = [numSlots]string{"tcp", "udp", "icmp"}

// Static forwards an external port of the first pool address to an inside
// endpoint (and translates that endpoint's own traffic to the port).
type Static struct {
	Proto    uint8 // 6 or 17
	Inside   netip.AddrPort
	External uint16
}

// Config is a NAT44 instance.
type Config struct {
	Inside  []uint16   // interfaces whose traffic is translated on its way out
	Outside uint16     // the interface toward the outside
	Addr    netip.Addr // the external address when Pool is empty (the outside interface's, typically)
	// Pool, when not empty, holds the external addresses instead of Addr;
	// each inside address maps to one of them (by a hash of it).
	Pool    []netip.Addr
	Workers int // workers sharing the port range; default 1
	// Max bounds each worker's mappings; default: the worker's share of
	// the port range times 3 (every port of every protocol of one
	// address), plus the static ones.
	Max int
	// PortLo..PortHi is the external port range, split evenly between
	// workers; default 1024..65535.
	PortLo, PortHi uint16
	Static         []Static
	// Timeouts; zero fields take the defaults.
	UDP            time.Duration // default 5 min (RFC 4787 REQ-5 recommends 5)
	TCPEstablished time.Duration // default 2 h 4 min (RFC 5382 REQ-5)
	TCPTransitory  time.Duration // SYN, FIN or RST seen; default 4 min (RFC 7857 section 2.1)
	ICMP           time.Duration // default 60 s (RFC 5508 REQ-1)
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Workers <= 0 {
		d.Workers = 1
	}
	if d.PortLo == 0 && d.PortHi == 0 {
		d.PortLo, d.PortHi = 1024, 65535
	}
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&d.UDP, 5*time.Minute)
	def(&d.TCPEstablished, 2*time.Hour+4*time.Minute)
	def(&d.TCPTransitory, 4*time.Minute)
	def(&d.ICMP, time.Minute)
	if len(d.Pool) == 0 {
		d.Pool = []netip.Addr{d.Addr}
	}
	return d
}

// maxPool bounds the pool (external addresses index mappings in 16 bits,
// and each has its own free-port stacks).
const maxPool = 256

// Validate reports what is wrong with c, or nil.
func (c *Config) Validate() error {
	d := c.withDefaults()
	if len(d.Pool) > maxPool {
		return fmt.Errorf("nat44: pool of %d addresses (at most %d)", len(d.Pool), maxPool)
	}
	seen := map[netip.Addr]bool{}
	for _, a := range d.Pool {
		if !a.Is4() {
			return fmt.Errorf("nat44: pool address %v is not IPv4", a)
		}
		if seen[a] {
			return fmt.Errorf("nat44: pool address %v given twice", a)
		}
		seen[a] = true
	}
	if d.Max < 0 {
		return fmt.Errorf("nat44: max mappings %d", d.Max)
	}
	if d.PortLo == 0 || d.PortHi < d.PortLo {
		return fmt.Errorf("nat44: port range %d-%d", d.PortLo, d.PortHi)
	}
	if int(d.PortHi-d.PortLo)+1 < 64*d.Workers {
		return fmt.Errorf("nat44: port range %d-%d gives %d workers fewer than 64 ports each", d.PortLo, d.PortHi, d.Workers)
	}
	for _, s := range d.Static {
		if s.Proto != 6 && s.Proto != 17 {
			return fmt.Errorf("nat44: static mapping for protocol %d (tcp or udp)", s.Proto)
		}
		if !s.Inside.Addr().Is4() || s.External == 0 {
			return fmt.Errorf("nat44: static mapping %v → %d", s.Inside, s.External)
		}
		if s.External >= d.PortLo && s.External <= d.PortHi {
			return fmt.Errorf("nat44: static external port %d inside the dynamic range %d-%d", s.External, d.PortLo, d.PortHi)
		}
	}
	for _, p := range d.Inside {
		if p == d.Outside {
			return fmt.Errorf("nat44: interface %d both inside and outside", p)
		}
	}
	return nil
}

// workerRange returns worker w's share of the port range.
func (c *Config) workerRange(w int) (lo, hi uint16) {
	n := int(c.PortHi-c.PortLo) + 1
	per := n / c.Workers
	lo = c.PortLo + uint16(w*per)
	hi = lo + uint16(per-1)
	if w == c.Workers-1 {
		hi = c.PortHi
	}
	return lo, hi
}
