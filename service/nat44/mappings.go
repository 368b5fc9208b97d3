package nat44

import (
	"net/netip"
	"time"
)

// TCP and other states of a mapping.
const (
	stTransitory uint8 = iota // TCP: SYN seen, or FIN/RST
	stEstablished
	stUDP
	stICMP
	stStatic
)

var stateNames = [...]string{"tcp-transitory", "tcp-established", "udp", "icmp", "static"}

type mapping struct {
	inAddr  uint32
	inPort  uint16
	extPort uint16
	extAddr uint16 // position in the pool
	slot    uint8
	state   uint8
	used    bool
	outSeen bool // a packet from the outside arrived (TCP establishes)
	closing bool // a FIN or RST was seen: transitory until it expires
	expires int64
	packets uint64
}

// Mappings is one worker's translations: the mappings, the two indexes
// that find them from either side, and the free external ports of the
// worker's range per pool address and protocol. Allocated once; touched
// only by its worker.
type Mappings struct {
	cfg     Config
	pool    pool
	maps    []mapping
	free    []int32 // free positions in maps
	in2out  index
	out2in  index
	ports   [][numSlots][]uint16 // per pool address: free external ports, used as stacks
	timeout [5]int64
	scan    int
}

// NewMappings returns worker w's table for cfg (already validated).
func NewMappings(cfg Config, w int) *Mappings {
	cfg = cfg.withDefaults()
	lo, hi := cfg.workerRange(w)
	n := int(hi-lo) + 1
	max := cfg.Max
	if max == 0 {
		max = n * numSlots
	}
	max += len(cfg.Static)
	m := &Mappings{cfg: cfg, pool: newPool(cfg.Pool), maps: make([]mapping, max), free: make([]int32, 0, max),
		in2out: newIndex(max), out2in: newIndex(max), ports: make([][numSlots][]uint16, len(cfg.Pool))}
	for i := max - 1; i >= 0; i-- {
		m.free = append(m.free, int32(i))
	}
	for a := range m.ports {
		for s := range m.ports[a] {
			m.ports[a][s] = make([]uint16, 0, n)
			for p := int(hi); p >= int(lo); p-- {
				m.ports[a][s] = append(m.ports[a][s], uint16(p))
			}
		}
	}
	m.timeout = [5]int64{stTransitory: int64(cfg.TCPTransitory), stEstablished: int64(cfg.TCPEstablished),
		stUDP: int64(cfg.UDP), stICMP: int64(cfg.ICMP), stStatic: 1 << 62}
	for _, st := range cfg.Static {
		slot := slotTCP
		if st.Proto == 17 {
			slot = slotUDP
		}
		a := st.Inside.Addr().As4()
		m.add(mapping{inAddr: be32(a), inPort: st.Inside.Port(), extPort: st.External, slot: uint8(slot), state: stStatic, expires: 1 << 62})
	}
	return m
}

func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// Len returns the number of mappings, static ones included.
func (m *Mappings) Len() int { return len(m.maps) - len(m.free) }

func (m *Mappings) add(mp mapping) int32 {
	pos := m.free[len(m.free)-1]
	m.free = m.free[:len(m.free)-1]
	mp.used = true
	m.maps[pos] = mp
	m.in2out.put(in2outKey(mp.inAddr, mp.inPort, int(mp.slot)), pos)
	m.out2in.put(out2inKey(mp.extAddr, mp.extPort, int(mp.slot)), pos)
	return pos
}

func (m *Mappings) remove(pos int32) {
	mp := &m.maps[pos]
	m.in2out.del(in2outKey(mp.inAddr, mp.inPort, int(mp.slot)))
	m.out2in.del(out2inKey(mp.extAddr, mp.extPort, int(mp.slot)))
	if mp.state != stStatic {
		m.ports[mp.extAddr][mp.slot] = append(m.ports[mp.extAddr][mp.slot], mp.extPort)
	}
	*mp = mapping{}
	m.free = append(m.free, pos)
}

// outbound returns the mapping for an inside endpoint, making one when
// there is none and both a port of the address's pool address and a slot
// of the table are free (it reports -1 when not).
func (m *Mappings) outbound(addr uint32, port uint16, slot int, now int64) int32 {
	pos := m.in2out.get(in2outKey(addr, port, slot))
	if pos >= 0 {
		if mp := &m.maps[pos]; mp.expires > now {
			return pos
		}
		m.remove(pos)
	}
	pa := m.pool.pick(addr)
	ports := &m.ports[pa][slot]
	if len(*ports) == 0 || len(m.free) == 0 {
		m.sweep(now, len(m.maps)) // reclaim expired mappings before refusing
		if len(*ports) == 0 || len(m.free) == 0 {
			return -1
		}
	}
	ext := (*ports)[len(*ports)-1]
	*ports = (*ports)[:len(*ports)-1]
	st := stUDP
	switch slot {
	case slotTCP:
		st = stTransitory
	case slotICMP:
		st = stICMP
	}
	return m.add(mapping{inAddr: addr, inPort: port, extPort: ext, extAddr: uint16(pa), slot: uint8(slot), state: st, expires: now + m.timeout[st]})
}

// inside returns the live mapping of an inside endpoint without making
// one or touching it, or -1.
func (m *Mappings) inside(addr uint32, port uint16, slot int, now int64) int32 {
	pos := m.in2out.get(in2outKey(addr, port, slot))
	if pos >= 0 && m.maps[pos].expires <= now {
		m.remove(pos)
		return -1
	}
	return pos
}

// inbound returns the live mapping of an external address (its pool
// position) and port, or -1.
func (m *Mappings) inbound(pa int, ext uint16, slot int, now int64) int32 {
	pos := m.out2in.get(out2inKey(uint16(pa), ext, slot))
	if pos < 0 {
		return -1
	}
	if m.maps[pos].expires <= now {
		m.remove(pos)
		return -1
	}
	return pos
}

// touch updates a mapping's state for a packet (TCP flags, direction)
// and restarts its timeout.
func (m *Mappings) touch(pos int32, fromOutside bool, tcpFlags uint8, now int64) {
	mp := &m.maps[pos]
	mp.packets++
	if mp.state == stStatic {
		return
	}
	if mp.slot == slotTCP {
		const fin, rst = 0x01, 0x04
		switch {
		case tcpFlags&(fin|rst) != 0 || mp.closing:
			mp.state, mp.closing = stTransitory, true
		case fromOutside:
			mp.outSeen = true
			mp.state = stEstablished
		case mp.outSeen && mp.state == stTransitory && tcpFlags&0x02 == 0:
			mp.state = stEstablished
		}
	}
	mp.expires = now + m.timeout[mp.state]
}

// Sweep removes expired mappings among the next budget slots and returns
// how many it removed.
func (m *Mappings) Sweep(now int64, budget int) int { return m.sweep(now, budget) }

func (m *Mappings) sweep(now int64, budget int) int {
	removed := 0
	for ; budget > 0; budget-- {
		if mp := &m.maps[m.scan]; mp.used && mp.expires <= now {
			m.remove(int32(m.scan))
			removed++
		}
		m.scan++
		if m.scan == len(m.maps) {
			m.scan = 0
		}
	}
	return removed
}

// SessionInfo describes a mapping for `show nat sessions`.
type SessionInfo struct {
	Proto     string
	Inside    netip.AddrPort
	Outside   netip.AddrPort
	State     string
	Packets   uint64
	ExpiresIn time.Duration // 0 for static
}

// Snapshot lists the live mappings at time now (on the worker).
func (m *Mappings) Snapshot(now int64) []SessionInfo {
	var out []SessionInfo
	for i := range m.maps {
		mp := &m.maps[i]
		if !mp.used || mp.expires <= now {
			continue
		}
		in := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(mp.inAddr >> 24), byte(mp.inAddr >> 16), byte(mp.inAddr >> 8), byte(mp.inAddr)}), mp.inPort)
		si := SessionInfo{Proto: slotNames[mp.slot], Inside: in, Outside: netip.AddrPortFrom(netip.AddrFrom4(m.pool.bytes(int(mp.extAddr))), mp.extPort),
			State: stateNames[mp.state], Packets: mp.packets}
		if mp.state != stStatic {
			si.ExpiresIn = time.Duration(mp.expires - now)
		}
		out = append(out, si)
	}
	return out
}
