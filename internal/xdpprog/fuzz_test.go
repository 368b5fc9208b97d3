package xdpprog

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
)

// refMatch is the slow reference for the program: it reports whether frame
// should be redirected under m, following the rules of the package
// documentation.
func refMatch(m Match, frame []byte) bool {
	if m.All {
		return true
	}
	if len(frame) < 14 {
		return false
	}
	etype, l3 := binary.BigEndian.Uint16(frame[12:]), frame[14:]
	if etype == 0x8100 || etype == 0x88a8 {
		if len(frame) < 18 {
			return false
		}
		etype, l3 = binary.BigEndian.Uint16(frame[16:]), frame[18:]
		if etype == 0x8100 {
			if len(frame) < 22 {
				return false
			}
			etype, l3 = binary.BigEndian.Uint16(frame[20:]), frame[22:]
		}
	}
	ours := func(b []byte) bool { return slices.Contains(m.DstIP, netip.AddrFrom4([4]byte(b))) }
	switch etype {
	case 0x0806:
		return len(l3) >= 28 && binary.BigEndian.Uint16(l3[2:]) == 0x0800 && ours(l3[24:28])
	case 0x0800:
		if len(l3) < 20 || !ours(l3[16:20]) {
			return false
		}
		if m.Proto != 0 && l3[9] != m.Proto {
			return false
		}
		if m.DstPort == 0 {
			return true
		}
		ihl := int(l3[0]&0x0f) * 4
		if binary.BigEndian.Uint16(l3[6:])&0x1fff != 0 || ihl < 20 || len(l3) < ihl+4 {
			return false
		}
		return binary.BigEndian.Uint16(l3[ihl+2:]) == m.DstPort
	}
	return false
}

// FuzzMatcher checks that the loaded program agrees with refMatch on any
// frame, for an address-only and an address+protocol+port match.
func FuzzMatcher(f *testing.F) {
	two := []netip.Addr{ours, ours2}
	seeds := [][]byte{
		ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53}),
		ipv4Frame(frameSpec{dst: ours2, proto: ProtoUDP, dstPort: 53, ihl: 6}),
		ipv4Frame(frameSpec{vlan: true, dst: ours, proto: ProtoTCP, dstPort: 53}),
		ipv4Frame(frameSpec{dst: ours, proto: ProtoUDP, dstPort: 53, frag: 0x0001}),
		ipv4Frame(frameSpec{dst: other, proto: ProtoUDP, dstPort: 53}),
		ipv4Frame(frameSpec{qinq: true, dst: ours}),
		arpFrame(frameSpec{dst: ours}, 0x0800),
		arpFrame(frameSpec{vlan: true, dst: ours2, cut: 1}, 0x0800),
		ethHeader(0x86dd, frameSpec{}),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	s := boundSocket(f)
	var progs []*Program
	matches := []Match{{DstIP: two}, {DstIP: two, Proto: ProtoUDP, DstPort: 53}}
	for _, m := range matches {
		p, err := Load(m, 1)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { p.Close() })
		if err := p.Register(0, s.FD()); err != nil {
			f.Fatal(err)
		}
		progs = append(progs, p)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 || len(frame) > 1500 {
			return // the kernel's test run wants an Ethernet header; keep inputs frame-sized
		}
		for k, p := range progs {
			got, err := p.Prog().Run(&ebpf.RunOptions{Data: frame})
			if err != nil {
				t.Fatal(err)
			}
			want := uint32(xdpPassRet)
			if refMatch(matches[k], frame) {
				want = xdpRedirect
			}
			if got != want {
				t.Errorf("match %v: program returned %d, reference says %d for % x", matches[k], got, want, frame)
			}
		}
	})
}
