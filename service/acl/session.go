package acl

import (
	"math/bits"
	"net/netip"
	"time"
)

// SessionConfig bounds and times the sessions that permit+reflect rules
// open. Zero fields take the defaults.
type SessionConfig struct {
	Max            int           // sessions per worker; default 65536
	TCPTransitory  time.Duration // SYN seen, not yet answered; FIN seen; default 30 s
	TCPEstablished time.Duration // answered, no FIN or RST; default 2 h 4 min (RFC 5382 REQ-5)
	TCPClosed      time.Duration // after an RST; default 2 s
	UDP            time.Duration // default 2 min (RFC 4787 REQ-5)
	ICMP           time.Duration // echo; default 30 s
	Other          time.Duration // any other protocol; default 2 min
}

func (c SessionConfig) withDefaults() SessionConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Max <= 0 {
		c.Max = 65536
	}
	def(&c.TCPTransitory, 30*time.Second)
	def(&c.TCPEstablished, 2*time.Hour+4*time.Minute)
	def(&c.TCPClosed, 2*time.Second)
	def(&c.UDP, 2*time.Minute)
	def(&c.ICMP, 30*time.Second)
	def(&c.Other, 2*time.Minute)
	return c
}

// Session states.
const (
	stateTCPSyn uint8 = iota // the initiator's SYN seen, no answer yet
	stateTCPEstablished
	stateTCPFin    // a FIN seen
	stateTCPClosed // an RST seen
	stateUDP
	stateICMP
	stateOther
)

var stateNames = [...]string{"tcp-syn", "tcp-established", "tcp-fin", "tcp-closed", "udp", "icmp", "other"}

// sessionKey is a flow in a canonical order: (a, pa) is the lower of the
// two endpoints, so both directions of a flow find the same key.
type sessionKey struct {
	a, b   uint32
	pa, pb uint16
	proto  uint8
}

type session struct {
	key       sessionKey
	used      bool
	state     uint8
	initA     bool // the initiator is endpoint a
	finA      bool
	finB      bool
	expires   int64 // ns, graph clock
	packets   uint64
	createdNs int64
}

// Sessions is one worker's session table: a bounded open-addressing hash
// table (linear probing, backward-shift deletion), allocated once. It is
// touched only by its worker.
type Sessions struct {
	cfg     SessionConfig
	slots   []session
	shift   uint8
	n       int
	scan    int // next slot the expiry sweep looks at
	timeout [7]int64
}

// NewSessions returns an empty table sized for cfg.
func NewSessions(cfg SessionConfig) *Sessions {
	cfg = cfg.withDefaults()
	size := 1 << bits.Len(uint(cfg.Max+cfg.Max/2)) // at most 2/3 full
	s := &Sessions{cfg: cfg, slots: make([]session, size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
	s.timeout = [7]int64{
		stateTCPSyn: int64(cfg.TCPTransitory), stateTCPEstablished: int64(cfg.TCPEstablished),
		stateTCPFin: int64(cfg.TCPTransitory), stateTCPClosed: int64(cfg.TCPClosed),
		stateUDP: int64(cfg.UDP), stateICMP: int64(cfg.ICMP), stateOther: int64(cfg.Other),
	}
	return s
}

// Len returns the number of sessions.
func (s *Sessions) Len() int { return s.n }

// flowKey returns k's session key and whether k is sent by endpoint a.
// ICMP echo requests and replies are keyed by their identifier on both
// sides; other ICMP messages open no session.
func flowKey(k *Key) (sk sessionKey, fromA bool, ok bool) {
	sp, dp := k.SrcPort, k.DstPort
	switch k.Proto {
	case ProtoTCP, ProtoUDP:
	case ProtoICMP:
		if k.SrcPort != 8 && k.SrcPort != 0 { // echo request, echo reply
			return sk, false, false
		}
		sp, dp = k.ICMPID, k.ICMPID
	default:
		sp, dp = 0, 0
	}
	if k.Fragment {
		return sk, false, false
	}
	if k.Src < k.Dst || k.Src == k.Dst && sp <= dp {
		return sessionKey{a: k.Src, b: k.Dst, pa: sp, pb: dp, proto: k.Proto}, true, true
	}
	return sessionKey{a: k.Dst, b: k.Src, pa: dp, pb: sp, proto: k.Proto}, false, true
}

func (sk *sessionKey) hash() uint64 {
	h := (uint64(sk.a)<<32 | uint64(sk.b)) ^ (uint64(sk.pa)<<24|uint64(sk.pb)<<8|uint64(sk.proto))*0x9e3779b97f4a7c15
	h *= 0xff51afd7ed558ccd
	return h ^ h>>29
}

func (s *Sessions) find(sk *sessionKey) int {
	m := len(s.slots) - 1
	for i := int(sk.hash() >> s.shift); ; i = (i + 1) & m {
		e := &s.slots[i]
		if !e.used {
			return -1
		}
		if e.key == *sk {
			return i
		}
	}
}

// Track looks k's flow up at time now: an existing, live session is
// updated (state, expiry) and Track reports true.
func (s *Sessions) Track(k *Key, now int64) bool {
	sk, fromA, ok := flowKey(k)
	if !ok {
		return false
	}
	i := s.find(&sk)
	if i < 0 {
		return false
	}
	e := &s.slots[i]
	if e.expires <= now {
		s.remove(i)
		return false
	}
	fromInit := fromA == e.initA
	if k.Proto == ProtoTCP {
		const fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
		switch {
		case k.TCPFlags&rst != 0:
			e.state = stateTCPClosed
		case k.TCPFlags&fin != 0:
			if fromA {
				e.finA = true
			} else {
				e.finB = true
			}
			e.state = stateTCPFin
		case e.state == stateTCPSyn && !fromInit && k.TCPFlags&(syn|ack) == syn|ack:
			e.state = stateTCPEstablished
		}
	}
	e.packets++
	e.expires = now + s.timeout[e.state]
	return true
}

// Related reports whether q, the datagram an ICMP error quotes, belongs
// to a live session at time now (RFC 5508 REQ-4 style: an error about a
// flow is admitted like the flow's own return traffic). It changes
// nothing: an error neither refreshes nor advances its session.
func (s *Sessions) Related(q *Key, now int64) bool {
	sk, _, ok := flowKey(q)
	if !ok {
		return false
	}
	i := s.find(&sk)
	return i >= 0 && s.slots[i].expires > now
}

// OpenResult says what Open did.
type OpenResult uint8

// Open's results.
const (
	Opened    OpenResult = iota
	NoSession            // k opens no session: a fragment, an ICMP message other than echo
	TableFull            // the table is full: a live session is never evicted to make room
	Existing             // the flow's session was already open (an earlier packet of the vector opened it)
)

// Open adds a session for k's flow, k being sent by the initiator, at
// time now.
func (s *Sessions) Open(k *Key, now int64) OpenResult {
	sk, fromA, ok := flowKey(k)
	if !ok {
		return NoSession
	}
	if s.n >= s.cfg.Max {
		s.sweep(now, len(s.slots)) // reclaim the expired before refusing
		if s.n >= s.cfg.Max {
			return TableFull
		}
	}
	st := stateOther
	switch k.Proto {
	case ProtoTCP:
		st = stateTCPSyn
	case ProtoUDP:
		st = stateUDP
	case ProtoICMP:
		st = stateICMP
	}
	m := len(s.slots) - 1
	i := int(sk.hash() >> s.shift)
	for ; s.slots[i].used; i = (i + 1) & m {
		if s.slots[i].key == sk { // opened by an earlier packet of the vector
			return Existing
		}
	}
	s.slots[i] = session{key: sk, used: true, state: st, initA: fromA, expires: now + s.timeout[st], packets: 1, createdNs: now}
	s.n++
	return Opened
}

// remove deletes slot i, shifting later members of its probe chain back
// so that no lookup stops early at the hole.
func (s *Sessions) remove(i int) {
	m := len(s.slots) - 1
	s.slots[i] = session{}
	s.n--
	for j := (i + 1) & m; s.slots[j].used; j = (j + 1) & m {
		home := int(s.slots[j].key.hash() >> s.shift)
		// Move j back to i if its home is not in (i, j] cyclically.
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			s.slots[j] = session{}
			i = j
		}
	}
}

// Sweep expires sessions in the next budget slots (the worker calls it on
// every tick, so the whole table is swept every few seconds) and returns
// how many it removed.
func (s *Sessions) Sweep(now int64, budget int) int { return s.sweep(now, budget) }

func (s *Sessions) sweep(now int64, budget int) int {
	removed := 0
	for visited := 0; visited < budget; {
		e := &s.slots[s.scan]
		if e.used && e.expires <= now {
			s.remove(s.scan)
			removed++
			continue // a later entry may have shifted into this slot
		}
		s.scan = (s.scan + 1) & (len(s.slots) - 1)
		visited++
	}
	return removed
}

// SessionInfo describes a session for `show sessions`.
type SessionInfo struct {
	Initiator, Responder netip.AddrPort
	Proto                uint8
	State                string
	Packets              uint64
	ExpiresIn            time.Duration
}

// Snapshot lists the live sessions at time now (on the worker).
func (s *Sessions) Snapshot(now int64) []SessionInfo {
	var out []SessionInfo
	for i := range s.slots {
		e := &s.slots[i]
		if !e.used || e.expires <= now {
			continue
		}
		a := netip.AddrPortFrom(addrOf(e.key.a), e.key.pa)
		b := netip.AddrPortFrom(addrOf(e.key.b), e.key.pb)
		if !e.initA {
			a, b = b, a
		}
		out = append(out, SessionInfo{Initiator: a, Responder: b, Proto: e.key.proto, State: stateNames[e.state],
			Packets: e.packets, ExpiresIn: time.Duration(e.expires - now)})
	}
	return out
}

func addrOf(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
