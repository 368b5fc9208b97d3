package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// tcpFrame is ipFrame carrying a 20-byte TCP header and payload bytes,
// with a correct checksum.
func tcpFrame(src, dst [4]byte, payload int) graphtest.Packet {
	p := ipFrame(src, dst, frames.Spec{Proto: wire.IPProtoTCP, Payload: wire.TCPMinLen + payload})
	ip := wire.IPv4(p.Data[wire.EthernetLen:])
	tc := wire.TCP(ip[wire.IPv4MinLen:])
	tc.Encode(&wire.TCPFields{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 2, Flags: wire.TCPFlagACK, Window: 512})
	tc.SetChecksum(tc.ComputeChecksum(src, dst, uint16(len(tc))))
	return p
}

// partial marks the L4 checksum of p's frame as a sender with checksum
// offload leaves it.
func partial(t *testing.T, p graphtest.Packet) graphtest.Packet {
	t.Helper()
	if !wire.IPv4(p.Data[wire.EthernetLen:]).SetPartialL4Checksum() {
		t.Fatal("SetPartialL4Checksum refused")
	}
	return p
}

// l4Field returns the TCP or UDP checksum field of a frame.
func l4Field(d []byte) uint16 {
	ip := wire.IPv4(d[wire.EthernetLen:])
	if ip.Protocol() == wire.IPProtoTCP {
		return wire.TCP(ip[ip.HeaderLen():]).Checksum()
	}
	return wire.UDP(ip[ip.HeaderLen():]).Checksum()
}

// TestIP4InputCompletesPartialChecksum: ip4-input completes TCP and UDP
// checksums left for offload, forwarded (remote) and host-bound (addr0)
// alike, counts each under l4_checksum_completed and marks the packet
// FlagL4ChecksumOK; it leaves complete checksums, fragments, UDP without a
// checksum and packets a driver already finished alone.
func TestIP4InputCompletesPartialChecksum(t *testing.T) {
	udp := func(dst [4]byte) graphtest.Packet { return ipFrame(host0, dst, frames.Spec{Payload: 100}) }
	noChecksum := udp(remote)
	wire.UDP(noChecksum.Data[34:]).SetChecksum(0)
	driverDone := partial(t, udp(remote))
	driverDone.Meta.Flags = pkt.FlagL4ChecksumOK
	fragment := ipFrame(host0, remote, frames.Spec{Payload: 100})
	partial(t, fragment)
	fragment = edit(fragment, func(ip wire.IPv4) { ip[6] |= 0x20 }) // MF
	tests := []struct {
		name     string
		p        graphtest.Packet
		complete bool // completed by ip4-input
	}{
		{"udp partial forwarded", partial(t, udp(remote)), true},
		{"udp partial to the host", partial(t, udp(addr0)), true},
		{"tcp partial forwarded", partial(t, tcpFrame(host0, remote, 1000)), true},
		{"tcp partial to the host", partial(t, tcpFrame(host0, addr0, 0)), true},
		{"udp complete", udp(remote), false},
		{"tcp complete", tcpFrame(host0, remote, 10), false},
		{"udp without checksum", noChecksum, false},
		{"partial, driver finished it", driverDone, false},
		{"partial fragment", fragment, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := inputHarness(t)
			in := append([]byte(nil), tc.p.Data...)
			flags := tc.p.Meta.Flags
			r := h.Run(tc.p)
			o := &r.Out[0]
			if o.Next != LookupName {
				t.Fatalf("got %s, want %s", o.Where(), LookupName)
			}
			if !tc.complete {
				checkCounters(t, r, nil)
				if string(o.Data) != string(in) || o.Meta.Flags != flags {
					t.Fatalf("packet changed (flags %#x -> %#x)", flags, o.Meta.Flags)
				}
				return
			}
			checkCounters(t, r, one(InputName, "l4_checksum_completed"))
			if o.Meta.Flags&pkt.FlagL4ChecksumOK == 0 {
				t.Error("FlagL4ChecksumOK not set")
			}
			ip := ipOf(o)
			seg := ip[ip.HeaderLen():]
			var ok bool
			if ip.Protocol() == wire.IPProtoTCP {
				ok = wire.TCP(seg).ChecksumValid(ip.Src(), ip.Dst(), uint16(len(seg)))
			} else {
				ok = wire.UDP(seg).Checksum() != 0 && wire.UDP(seg).ChecksumValid(ip.Src(), ip.Dst())
			}
			if !ok || l4Field(o.Data) == l4Field(in) {
				t.Fatalf("checksum %#04x (was %#04x) does not verify", l4Field(o.Data), l4Field(in))
			}
			for k := range in {
				if o.Data[k] != in[k] && k != 34+6 && k != 34+7 && k != 34+16 && k != 34+17 {
					t.Fatalf("byte %d changed", k)
				}
			}
		})
	}
}

// TestIP4InputPartialAllocs: a vector of partial checksums completes
// without allocating.
func TestIP4InputPartialAllocs(t *testing.T) {
	h := inputHarness(t)
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = tcpFrame(host0, remote, 1400)
	}
	if n := testing.AllocsPerRun(100, func() {
		for k := range pkts {
			wire.IPv4(pkts[k].Data[wire.EthernetLen:]).SetPartialL4Checksum()
		}
		h.Send(InputName, pkts...)
	}); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestIP4InputSkipsPartialOnChecksumsComplete: on an interface marked
// iface.Interface.ChecksumsComplete (a memif's), ip4-input does not test
// for partial checksums at all — a frame that looks partial goes on
// untouched, uncounted — while on an unmarked interface (AF_XDP or
// AF_PACKET on a veth whose peer offloads) in the same vector the same
// frame is completed. The mark is read per vector: cleared again (a
// reload), the interface's frames are completed again.
func TestIP4InputSkipsPartialOnChecksumsComplete(t *testing.T) {
	tp := newTopo(t)
	arc := graph.Arc{Name: UnicastArc, Start: InputName, End: LookupName}
	h := graphtest.New(t, InputNode(tp.ifs), graphtest.Options{Arcs: []graph.Arc{arc}})
	if err := tp.ifs.SetChecksumsComplete(1, true); err != nil {
		t.Fatal(err)
	}
	on := func(port uint16, p graphtest.Packet) graphtest.Packet { p.Meta.RxPort = port; return p }
	udp := func() graphtest.Packet { return partial(t, ipFrame(host0, remote, frames.Spec{Payload: 100})) }
	tcp := func() graphtest.Packet { return partial(t, tcpFrame(host0, remote, 200)) }
	// Runs of ports 0, 1, 0, 1 in one vector: the answer changes with the port.
	vec := func() []graphtest.Packet {
		return []graphtest.Packet{on(0, udp()), on(1, udp()), on(1, tcp()), on(0, tcp()), on(1, udp()), on(0, udp())}
	}
	check := func(completeOn1 bool) {
		t.Helper()
		in := vec()
		r := h.Run(in...)
		want := uint64(3)
		if completeOn1 {
			want = 6
		}
		checkCounters(t, r, map[string]uint64{graphtest.Label(InputName, "l4_checksum_completed"): want})
		for k := range r.Out {
			o := &r.Out[k]
			if o.Next != LookupName {
				t.Fatalf("packet %d: got %s, want %s", k, o.Where(), LookupName)
			}
			completed := o.Meta.Flags&pkt.FlagL4ChecksumOK != 0
			if wantDone := in[k].Meta.RxPort == 0 || completeOn1; completed != wantDone {
				t.Errorf("packet %d from port %d: completed %v, want %v", k, in[k].Meta.RxPort, completed, wantDone)
			}
			if same := l4Field(o.Data) == l4Field(in[k].Data); same == completed {
				t.Errorf("packet %d from port %d: checksum %#04x -> %#04x, completed %v", k, in[k].Meta.RxPort,
					l4Field(in[k].Data), l4Field(o.Data), completed)
			}
		}
	}
	check(false)
	if err := tp.ifs.SetChecksumsComplete(1, false); err != nil {
		t.Fatal(err)
	}
	check(true)
}
