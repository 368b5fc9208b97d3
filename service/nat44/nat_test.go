package nat44

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vecnet/vecnet/wire"
)

var poolAddr = netip.MustParseAddr("203.0.113.1")

func testConfig() Config {
	return Config{Inside: []uint16{0}, Outside: 1, Addr: poolAddr, PortLo: 2000, PortHi: 2099,
		Static: []Static{{Proto: 6, Inside: netip.MustParseAddrPort("10.0.0.5:80"), External: 8080}}}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{Addr: netip.MustParseAddr("2001:db8::1")},
		{Addr: poolAddr, PortLo: 3000, PortHi: 2000},
		{Addr: poolAddr, PortLo: 2000, PortHi: 2100, Workers: 4},
		{Addr: poolAddr, Static: []Static{{Proto: 1, Inside: netip.MustParseAddrPort("10.0.0.5:80"), External: 80}}},
		{Addr: poolAddr, Static: []Static{{Proto: 6, Inside: netip.MustParseAddrPort("10.0.0.5:80"), External: 5000}}},
		{Addr: poolAddr, Inside: []uint16{1}, Outside: 1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestWorkerRangesSplitThePorts(t *testing.T) {
	c := Config{Addr: poolAddr, Workers: 3, PortLo: 1024, PortHi: 65535}
	d := c.withDefaults()
	next := uint16(1024)
	for w := range 3 {
		lo, hi := d.workerRange(w)
		if lo != next || hi < lo {
			t.Fatalf("worker %d: %d-%d, want from %d", w, lo, hi, next)
		}
		next = hi + 1
	}
	if next != 0 { // 65535 + 1 wraps: the last range ends at PortHi
		t.Fatalf("ranges end at %d", next-1)
	}
}

// TestMappingsEIM: one inside endpoint keeps its external port whatever it
// talks to (RFC 4787 REQ-1), another gets another port, and mappings
// expire and free their ports.
func TestMappingsEIM(t *testing.T) {
	m := NewMappings(testConfig(), 0)
	a := m.outbound(0x0a000002, 40000, slotUDP, 0)
	b := m.outbound(0x0a000002, 40000, slotUDP, 1)
	c := m.outbound(0x0a000003, 40000, slotUDP, 1)
	if a != b || a == c || m.maps[a].extPort == m.maps[c].extPort {
		t.Fatalf("mappings %d %d %d", a, b, c)
	}
	ext := m.maps[a].extPort
	if ext < 2000 || ext > 2099 {
		t.Fatalf("external port %d outside the range", ext)
	}
	if m.inbound(0, ext, slotUDP, 2) != a || m.inbound(0, ext, slotTCP, 2) != -1 {
		t.Fatal("inbound lookup")
	}
	late := int64(6 * time.Minute)
	if m.inbound(0, ext, slotUDP, late) != -1 {
		t.Fatal("an expired mapping answered")
	}
	if m.Len() != 2 { // c and the static mapping
		t.Fatalf("%d mappings", m.Len())
	}
	if m.Sweep(late, len(m.maps)) != 1 || m.Len() != 1 {
		t.Fatalf("sweep left %d", m.Len())
	}
}

func TestMappingsRunOutOfPortsAndRecover(t *testing.T) {
	m := NewMappings(testConfig(), 0)
	for i := range 100 {
		if m.outbound(0x0a000002, uint16(i), slotTCP, 0) < 0 {
			t.Fatalf("mapping %d refused", i)
		}
	}
	if m.outbound(0x0a000002, 999, slotTCP, 0) >= 0 {
		t.Fatal("101st mapping in a 100-port range")
	}
	if m.outbound(0x0a000002, 999, slotUDP, 0) < 0 {
		t.Fatal("UDP has its own ports")
	}
	// The TCP mappings are transitory (4 min); after that the ports return.
	if m.outbound(0x0a000002, 999, slotTCP, int64(5*time.Minute)) < 0 {
		t.Fatal("no port after the others expired")
	}
}

// TestMappingsAgainstMap drives random traffic and checks every lookup
// against a reference (backward-shift deletion never loses a mapping; a
// port is never given to two live mappings).
func TestMappingsAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cfg := testConfig()
	cfg.UDP = time.Second
	m := NewMappings(cfg, 0)
	type ref struct {
		ext     uint16
		expires int64
	}
	live := map[uint16]ref{} // inside port → mapping
	now := int64(0)
	for step := range 30000 {
		now += int64(rng.IntN(20_000_000))
		port := uint16(rng.IntN(300))
		pos := m.outbound(0x0a000002, port, slotUDP, now)
		r, ok := live[port]
		if ok && r.expires > now {
			if pos < 0 || m.maps[pos].extPort != r.ext {
				t.Fatalf("step %d: live mapping of %d changed", step, port)
			}
		}
		if pos >= 0 {
			m.touch(pos, false, 0, now)
			live[port] = ref{m.maps[pos].extPort, now + int64(time.Second)}
		} else {
			delete(live, port)
		}
		used := map[uint16]uint16{}
		if step%500 == 0 {
			for p, r := range live {
				if r.expires <= now {
					continue
				}
				if q, dup := used[r.ext]; dup {
					t.Fatalf("step %d: external port %d given to %d and %d", step, r.ext, p, q)
				}
				used[r.ext] = p
				if got := m.inbound(0, r.ext, slotUDP, now); got < 0 || m.maps[got].inPort != p {
					t.Fatalf("step %d: inbound %d lost", step, r.ext)
				}
			}
			m.Sweep(now, 50)
		}
	}
}

// checksumsValid reports whether an IPv4 packet's header and TCP/UDP/ICMP
// checksums verify.
func checksumsValid(ip wire.IPv4) bool {
	if !ip.ChecksumValid() {
		return false
	}
	hl := ip.HeaderLen()
	l4 := ip[hl:ip.TotalLen()]
	if ip.Protocol() == wire.IPProtoICMP {
		return wire.Checksum(l4, 0) == 0
	}
	if ip.Protocol() == wire.IPProtoUDP && binary.BigEndian.Uint16(l4[6:]) == 0 {
		return true
	}
	return wire.Checksum(l4, wire.PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), uint16(len(l4)))) == 0
}

func TestMappingsAllocateNothing(t *testing.T) {
	m := NewMappings(testConfig(), 0)
	now, port := int64(0), uint16(0)
	if a := testing.AllocsPerRun(1000, func() {
		now += int64(time.Second)
		port++
		if pos := m.outbound(0x0a000002, port, slotUDP, now); pos >= 0 {
			m.touch(pos, false, 0, now)
			m.inbound(0, m.maps[pos].extPort, slotUDP, now)
		}
		m.Sweep(now, 8)
	}); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}

// TestTCPStates: a mapping is transitory until the outside answers, then
// established, and transitory again for good once a FIN or RST is seen.
func TestTCPStates(t *testing.T) {
	m := NewMappings(testConfig(), 0)
	pos := m.outbound(0x0a000002, 40000, slotTCP, 0)
	state := func() uint8 { return m.maps[pos].state }
	m.touch(pos, false, 0x02, 0) // SYN out
	if state() != stTransitory {
		t.Fatalf("after SYN: %s", stateNames[state()])
	}
	m.touch(pos, true, 0x12, 0) // SYN-ACK in
	if state() != stEstablished || m.maps[pos].expires != int64(2*time.Hour+4*time.Minute) {
		t.Fatalf("after SYN-ACK: %s", stateNames[state()])
	}
	m.touch(pos, false, 0x11, 0) // FIN out
	m.touch(pos, true, 0x10, 0)  // ACK in
	if state() != stTransitory || m.maps[pos].expires != int64(4*time.Minute) {
		t.Fatalf("after FIN and an ACK: %s", stateNames[state()])
	}
}

// TestHundredThousandMappings: 100 000 flows from 100 000 inside hosts fit
// one worker's table without the heap growing (the table is allocated
// once), and all of them expire, giving every port back.
func TestHundredThousandMappings(t *testing.T) {
	cfg := Config{Inside: []uint16{0}, Outside: 1, Addr: poolAddr, UDP: time.Minute} // ports 1024-65535
	m := NewMappings(cfg, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100000 {
		slot := slotUDP
		if i >= 60000 {
			slot = slotTCP // 64 512 ports a protocol: the rest as TCP
		}
		if m.outbound(0x0a000000+uint32(i), 5000, slot, 0) < 0 {
			t.Fatalf("mapping %d refused", i)
		}
	}
	runtime.ReadMemStats(&after)
	if m.Len() != 100000 {
		t.Fatalf("%d mappings, want 100000", m.Len())
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Fatalf("the heap grew %d bytes for 100 000 mappings: the table should not allocate", grew)
	}
	// UDP idles out after a minute, TCP transitory after four.
	if n := m.Sweep(int64(5*time.Minute), len(m.maps)); n != 100000 || m.Len() != 0 {
		t.Fatalf("swept %d, %d left", n, m.Len())
	}
	for s := range m.ports[0] {
		if len(m.ports[0][s]) != 64512 {
			t.Fatalf("protocol %d: %d free ports after expiry, want 64512", s, len(m.ports[0][s]))
		}
	}
}
