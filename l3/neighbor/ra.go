package neighbor

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Router advertisement constants (RFC 4861 10).
const (
	maxInitialRAs        = 3                // MAX_INITIAL_RTR_ADVERTISEMENTS
	maxInitialRAInterval = 16 * time.Second // MAX_INITIAL_RTR_ADVERT_INTERVAL
	minDelayBetweenRAs   = 3 * time.Second  // MIN_DELAY_BETWEEN_RAS
	// RAMaxPrefixes bounds the Prefix Information options of one advertisement.
	RAMaxPrefixes = 8
	// Prefix lifetimes advertised (RFC 4861 6.2.1 AdvValidLifetime,
	// AdvPreferredLifetime defaults), in seconds.
	raValidLifetime     = 2592000
	raPreferredLifetime = 604800
	raCurHopLimit       = 64
	raFlagManaged       = 0x80
	raFlagOther         = 0x40
	ndOptPrefixInfo     = 3
	ndOptMTU            = 5
	raHeaderLen         = 16
)

// RAConfig is one interface's router advertisement settings (RFC 4861
// 6.2.1).
type RAConfig struct {
	// Interval is MaxRtrAdvInterval: unsolicited advertisements go out
	// uniformly between a third of it and it.
	Interval time.Duration
	// Lifetime is the router lifetime (0: not a default router).
	Lifetime time.Duration
	// Prefixes are advertised on-link and autonomous (SLAAC), at most
	// RAMaxPrefixes.
	Prefixes []netip.Prefix
	// Managed and Other are the M and O flags.
	Managed, Other bool
	// MTU adds the MTU option with the interface's MTU.
	MTU bool
}

// raPort is one interface's advertisement schedule.
type raPort struct {
	cfg     *RAConfig
	next    int64 // next unsolicited advertisement; 0: at the next tick
	initial int   // advertisements sent so far, up to maxInitialRAs
	last    int64 // last multicast advertisement
	sent    bool  // last is set
	waiting int   // solicitations the next advertisement answers
}

// raSchedule is the router advertisement schedule of all interfaces,
// shared by the workers: each worker's nd-input timer asks it what is due,
// so one advertisement goes out per interface and interval whatever the
// number of workers.
type raSchedule struct {
	on    atomic.Bool // some interface advertises: the timer looks
	mu    sync.Mutex
	ports []raPort // by interface index
	rnd   uint64
}

// SetRA turns router advertisements on for interface port with cfg, or
// off with nil. A new or changed configuration is advertised at the next
// timer tick, then per RFC 4861's initial schedule.
func (t *NDTable) SetRA(port uint16, cfg *RAConfig) {
	s := &t.ra
	s.mu.Lock()
	defer s.mu.Unlock()
	for int(port) >= len(s.ports) {
		s.ports = append(s.ports, raPort{})
	}
	if cfg != nil {
		c := *cfg
		c.Prefixes = append([]netip.Prefix(nil), cfg.Prefixes...)
		if len(c.Prefixes) > RAMaxPrefixes {
			c.Prefixes = c.Prefixes[:RAMaxPrefixes]
		}
		cfg = &c
	}
	s.ports[port] = raPort{cfg: cfg}
	on := false
	for _, p := range s.ports {
		on = on || p.cfg != nil
	}
	s.on.Store(on)
}

// RA returns interface port's router advertisement settings (nil: off).
func (t *NDTable) RA(port uint16) *RAConfig {
	s := &t.ra
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(port) >= len(s.ports) {
		return nil
	}
	return s.ports[port].cfg
}

// raDue is an advertisement to send now.
type raDue struct {
	port    uint16
	cfg     *RAConfig
	answers int // solicitations it answers (they were rate limited)
}

// due appends the interfaces whose unsolicited advertisement is due at now
// and ready to go (raReady in set) and schedules their next: an interface
// whose link-local address is still tentative advertises as soon as it
// passed DAD.
func (s *raSchedule) due(now int64, set *iface.Set, out []raDue) []raDue {
	if !s.on.Load() {
		return out
	}
	s.mu.Lock()
	for i := range s.ports {
		p := &s.ports[i]
		if p.cfg == nil || (p.next != 0 && now < p.next) || !raReady(set.Get(uint16(i))) {
			continue
		}
		out = append(out, raDue{uint16(i), p.cfg, p.waiting})
		p.last, p.sent, p.waiting = now, true, 0
		p.next = now + s.interval(p)
	}
	s.mu.Unlock()
	return out
}

// interval draws the time to the next unsolicited advertisement: uniform
// in [Interval/3, Interval], at most maxInitialRAInterval for the first
// few (RFC 4861 6.2.4).
func (s *raSchedule) interval(p *raPort) int64 {
	hi := int64(p.cfg.Interval)
	if p.initial < maxInitialRAs {
		p.initial++
		hi = min(hi, int64(maxInitialRAInterval))
	}
	lo := hi / 3
	s.rnd ^= s.rnd << 13
	s.rnd ^= s.rnd >> 7
	s.rnd ^= s.rnd << 17
	if s.rnd == 0 {
		s.rnd = 0x9e3779b97f4a7c15
	}
	return lo + int64(s.rnd%uint64(hi-lo+1))
}

// solicited decides what to do with a router solicitation on port at now:
// answer it now (the last multicast advertisement is at least
// MIN_DELAY_BETWEEN_RAS old), or bring the next advertisement forward to
// when it may go (rate limited, RFC 4861 6.2.6). cfg is nil when the
// interface does not advertise. A solicitation while the interface is not
// ready (raReady) is not answered and does not count against the limit.
func (s *raSchedule) solicited(port uint16, now int64, ready bool) (cfg *RAConfig, answer bool) {
	if !s.on.Load() {
		return nil, false
	}
	s.mu.Lock()
	if int(port) < len(s.ports) && s.ports[port].cfg != nil {
		cfg, answer = s.ports[port].solicited(now, ready)
	}
	s.mu.Unlock()
	return cfg, answer
}

// solicited is raSchedule.solicited for one interface, under the lock.
func (p *raPort) solicited(now int64, ready bool) (*RAConfig, bool) {
	if !ready {
		return p.cfg, false // not answered: the rate limit is not spent
	}
	if at := p.last + int64(minDelayBetweenRAs); p.sent && now < at {
		if p.next > at {
			p.next = at
		}
		p.waiting++
		return p.cfg, false
	}
	p.last, p.sent = now, true
	return p.cfg, true
}

// RALen is the size of the router advertisement frame writeRA writes for
// cfg: Ethernet, IPv6, the RA header, source link-layer, MTU and prefix
// options.
func RALen(cfg *RAConfig) int {
	n := wire.EthernetLen + wire.IPv6Len + raHeaderLen + 8 + 32*len(cfg.Prefixes)
	if cfg.MTU {
		n += 8
	}
	return n
}

// writeRA writes a router advertisement from out's link-local address to
// all-nodes into f (RALen(cfg) bytes): hop limit 255, current hop limit
// 64, the M and O flags, the router lifetime, out's MAC as source
// link-layer option, out's MTU, and each prefix on-link and autonomous.
func writeRA(f []byte, out *iface.Interface, cfg *RAConfig) {
	eth := wire.Ethernet(f)
	eth.SetDst(wire.MulticastMAC(wire.AllNodes))
	eth.SetSrc(out.MAC)
	eth.SetType(wire.EtherTypeIPv6)
	plen := len(f) - wire.EthernetLen - wire.IPv6Len
	src, dst := out.LinkLocal, wire.AllNodes
	ip := wire.IPv6(f[wire.EthernetLen:])
	ip.Encode(&wire.IPv6Fields{PayloadLen: uint16(plen), NextHeader: wire.IPProtoICMPv6, HopLimit: 255, Src: src, Dst: dst})
	b := f[wire.EthernetLen+wire.IPv6Len:]
	b[0], b[1], b[2], b[3] = wire.ICMPv6RouterAdvert, 0, 0, 0
	b[4] = raCurHopLimit
	b[5] = 0
	if cfg.Managed {
		b[5] |= raFlagManaged
	}
	if cfg.Other {
		b[5] |= raFlagOther
	}
	life := uint16(cfg.Lifetime / time.Second)
	b[6], b[7] = byte(life>>8), byte(life)
	clear(b[8:16]) // reachable time, retrans timer: unspecified
	o := b[raHeaderLen:]
	o[0], o[1] = wire.NDOptSourceLinkAddr, 1
	copy(o[2:8], out.MAC[:])
	o = o[8:]
	if cfg.MTU {
		o[0], o[1], o[2], o[3] = ndOptMTU, 1, 0, 0
		put32(o[4:8], uint32(out.MTU))
		o = o[8:]
	}
	for _, p := range cfg.Prefixes {
		o[0], o[1], o[2], o[3] = ndOptPrefixInfo, 4, byte(p.Bits()), 0xc0 // L, A
		put32(o[4:8], raValidLifetime)
		put32(o[8:12], raPreferredLifetime)
		clear(o[12:16])
		a := p.Addr().As16()
		copy(o[16:32], a[:])
		o = o[32:]
	}
	icmp := wire.ICMPv6(b[:plen])
	icmp.SetChecksum(icmp.ComputeChecksum6(src, dst))
}

func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// raReady reports whether out can advertise: a link-local address that
// passed DAD (RFC 4861 6.2.2 sends from the link-local address).
func raReady(out *iface.Interface) bool {
	return out != nil && out.LinkLocal != [16]byte{} && !out.IsTentative6(out.LinkLocal)
}

// ndTick sends the unsolicited router advertisements due (from the shared
// schedule: one worker sends each), counting the rate-limited
// solicitations each answers.
func ndTick(n *graph.Node, set *iface.Set, nt *NDTable) {
	st := n.State.(*ndState)
	if !nt.ra.on.Load() {
		return
	}
	st.due = nt.ra.due(n.Graph().Now(), set, st.due[:0])
	for _, d := range st.due {
		out := set.Get(d.port)
		b, ok := n.Cache().Alloc()
		if !ok {
			n.Count(NDErrNoBuffer, 1)
			continue
		}
		a := n.Arena()
		f, _ := a.SetData(b, pkt.Headroom, RALen(d.cfg))
		writeRA(f, out, d.cfg)
		m := a.Meta(b)
		m.TxPort, m.RxPort = out.Index, out.Index
		m.L3 = wire.EthernetLen
		m.L4 = wire.EthernetLen + wire.IPv6Len
		m.Flags |= pkt.FlagLocal
		pushTags(a, b, out)
		n.EnqueueOne(b, ndNextOutput)
		n.Count(NDErrRASent, 1)
		n.Count(NDErrRSAnswered, uint64(d.answers))
	}
}

// ndSolicit handles a router solicitation (RFC 4861 6.1.1 validation; hop
// limit and code checked by the caller): on an interface that advertises,
// it is answered in place with a multicast advertisement unless one went
// out within MIN_DELAY_BETWEEN_RAS (then the next is brought forward).
func ndSolicit(n *graph.Node, set *iface.Set, nt *NDTable, a *pkt.Arena, i pkt.Index, m *pkt.Meta, k int, ip wire.IPv6, icmp wire.ICMPv6, now int64) uint16 {
	if len(icmp) < 8 {
		n.Drop(m, k, NDErrTooShort)
		return graph.NextDrop
	}
	opts, e := wire.ParseNDOptions(icmp[8:], wire.NDOptSourceLinkAddr)
	if e != wire.NDOptOK {
		n.Drop(m, k, NDErrBadOption)
		return graph.NextDrop
	}
	if ip.Src() == ([16]byte{}) && opts.HasLinkAddr {
		n.Drop(m, k, NDErrBadSource)
		return graph.NextDrop
	}
	in := set.Get(m.RxPort)
	if in == nil {
		n.Drop(m, k, NDErrNoInterface)
		return graph.NextDrop
	}
	ready := raReady(in)
	cfg, answer := nt.ra.solicited(in.Index, now, ready)
	switch {
	case cfg == nil:
		n.Drop(m, k, NDErrRSIgnored)
		return graph.NextDrop
	case !ready:
		n.Drop(m, k, NDErrTentative)
		return graph.NextDrop
	case !answer:
		n.Drop(m, k, NDErrRSRateLimited)
		return graph.NextDrop
	}
	f, ok := a.SetData(i, int(m.Off), RALen(cfg))
	if !ok {
		n.Drop(m, k, NDErrTooShort)
		return graph.NextDrop
	}
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv6Len
	writeRA(f, in, cfg)
	pushTags(a, i, in)
	m.TxPort = in.Index
	m.Flags |= pkt.FlagLocal
	n.Count(NDErrRSAnswered, 1)
	return ndNextOutput
}
