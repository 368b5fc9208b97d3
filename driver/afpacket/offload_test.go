package afpacket

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/driver/offload/offloadtest"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

// TestRecvFromTSOPeer: a kernel TCP sender at the veth defaults (TSO, GSO,
// TX checksum offload on) sends 8 MiB to a listener in the port's
// namespace; the port sees every frame the kernel receives. Every frame it
// delivers must fit a slot with valid IPv4 and TCP checksums, and together
// they must carry the whole byte stream, in place. On the code before
// PACKET_VNET_HDR the super-frames were counted as RxErrors and the
// stream had gaps; the partial checksums were delivered unfinished.
func TestRecvFromTSOPeer(t *testing.T) { bothRings(t, testRecvFromTSOPeer) }

func testRecvFromTSOPeer(t *testing.T, ring string) {
	testutil.RequireTool(t, "ethtool")
	const size = 8 << 20
	nsA := testutil.NewNS(t, "afoa")
	nsB := testutil.NewNS(t, "afob")
	a, b := testutil.Name("afoa"), testutil.Name("afob")
	testutil.Veth(t, nsA, a, nsB, b)
	nsA.Run("ip", "addr", "add", "10.77.0.1/24", "dev", a)
	nsB.Run("ip", "addr", "add", "10.77.0.2/24", "dev", b)
	offloadtest.RequireOffloads(t, nsB, b)

	c := pkttest.NewPool(t, 4096).NewCache() // audited when the test ends
	var ifc *Interface
	if err := nsA.Do(func() (err error) { ifc, err = Open(Config{Device: a, Ring: ring}); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ifc.Close(c) })
	p := ifc.ports[0]
	tp := offloadtest.TSOPeer{NSRecv: nsA, NSSend: nsB, Addr: "10.77.0.1", Port: p, Cache: c,
		Drops: func() uint64 { return p.Stats().RxDrops }, DropsName: "ring overflow, PACKET_STATISTICS"}
	if s, _ := tp.Run(t, size); s.ChecksumOKFlagged == 0 {
		t.Error("no frame carried pkt.FlagL4ChecksumOK")
	}
}

// TestRecvAllocsSuperFrame: the receive path of a super-frame allocates
// nothing. The frame is written to the peer's raw socket with a
// virtio_net_hdr asking for GSO, as a TSO sender's stack would hand it.
func TestRecvAllocsSuperFrame(t *testing.T) { bothRings(t, testRecvAllocsSuperFrame) }

func testRecvAllocsSuperFrame(t *testing.T, ring string) {
	r := newRig(t, Config{Ring: ring}, 0)
	var peerVnet bool
	// The peer socket sends with PACKET_VNET_HDR, so it can hand a GSO frame.
	if err := unixSetVnet(r.peer); err == nil {
		peerVnet = true
	}
	if !peerVnet {
		t.Fatal("PACKET_VNET_HDR on the peer socket")
	}
	frame := tcpSuperFrame(r.ifc.MAC(), r.peerMAC, 20000)
	h := offload.VnetHdr{Flags: offload.VnetNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	msg := make([]byte, offload.VnetHdrLen+len(frame))
	h.Put(msg)
	copy(msg[offload.VnetHdrLen:], frame)
	p := r.ifc.ports[0]
	var v pkt.Vector
	const runs = 20
	for range runs + 10 { // more than the runs take: the link's own IPv6 frames also use calls
		r.peerSend(t, msg)
	}
	deadline := time.Now().Add(10 * time.Second)
	// Room for one super-frame's 14 segments per call: Recv leaves the
	// next one in the ring (offload.ErrNoRoom).
	const room = pkt.VectorSize - 14
	allocs := testing.AllocsPerRun(runs, func() {
		v.Len = room
		for v.Len == room && time.Now().Before(deadline) {
			p.Recv(r.c, &v)
		}
		r.c.FreeN(v.Idx[room:v.Len])
	})
	oc := p.OffloadErrors()
	if time.Now().After(deadline) {
		t.Fatalf("super-frames did not all arrive; stats %+v", p.Stats())
	}
	if oc.Segmented == 0 || oc.Segments != oc.Segmented*14 {
		t.Fatalf("segmented %d super-frames into %d segments, want 14 each; stats %+v", oc.Segmented, oc.Segments, p.Stats())
	}
	if allocs != 0 {
		t.Errorf("Recv of a super-frame: %v allocations, want 0", allocs)
	}
	r.checkNoLeak(t)
}

// unixSetVnet turns PACKET_VNET_HDR on for a packet socket without a ring.
func unixSetVnet(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1)
}

// tcpSuperFrame builds an Ethernet/IPv4/TCP frame with payload bytes and
// the TCP checksum left partial (the pseudo-header sum), as a TSO sender's
// stack hands it to the device.
func tcpSuperFrame(dst, src [6]byte, payload int) []byte {
	f := make([]byte, 54+payload)
	copy(f[0:], dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, wire.IPProtoTCP
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	s, d := [4]byte{10, 9, 0, 2}, [4]byte{10, 9, 0, 1}
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:20], 0))
	th := ip[20:]
	binary.BigEndian.PutUint16(th[0:], 40000)
	binary.BigEndian.PutUint16(th[2:], 5201)
	binary.BigEndian.PutUint32(th[4:], 1000)
	th[12], th[13] = 5<<4, 0x18
	for k := range payload {
		th[20+k] = byte(k)
	}
	binary.BigEndian.PutUint16(th[16:], uint16(wire.PseudoHeaderSum(s, d, wire.IPProtoTCP, uint16(len(th)))))
	return f
}

// TestRecvUDPSuperFrame: a UDP_SEGMENT (GSO_UDP_L4) super-frame reaches
// the port with its metadata and is split into datagrams of gso_size, each
// with its own UDP length and a full checksum.
func TestRecvUDPSuperFrame(t *testing.T) { bothRings(t, testRecvUDPSuperFrame) }

func testRecvUDPSuperFrame(t *testing.T, ring string) {
	r := newRig(t, Config{Ring: ring}, 0)
	if err := unixSetVnet(r.peer); err != nil {
		t.Fatal(err)
	}
	const seg, count = 1000, 7
	f := tcpSuperFrame(r.ifc.MAC(), r.peerMAC, 0)[:34] // Ethernet + IPv4
	f = append(f, make([]byte, 8+seg*count-seg/2)...)
	ip := wire.IPv4(f[14:])
	f[23] = wire.IPProtoUDP
	ip.SetTotalLen(uint16(len(f) - 14))
	ip.SetChecksum(ip.ComputeChecksum())
	u := wire.UDP(f[34:])
	u.SetSrcPort(4000)
	u.SetDstPort(5000)
	u.SetLength(uint16(len(f) - 34))
	for k := 42; k < len(f); k++ {
		f[k] = byte(k)
	}
	binary.BigEndian.PutUint16(f[40:], uint16(wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.IPProtoUDP, uint16(len(f)-34))))
	h := offload.VnetHdr{Flags: offload.VnetNeedsCsum, GSOType: offload.GSOUDPL4, HdrLen: 42, GSOSize: seg, CsumStart: 34, CsumOffset: 6}
	msg := make([]byte, offload.VnetHdrLen+len(f))
	h.Put(msg)
	copy(msg[offload.VnetHdrLen:], f)
	r.peerSend(t, msg)
	got := r.recvN(t, r.ifc.ports[0], count, pkt.VectorSize, func(d []byte) bool {
		return len(d) > 34 && d[23] == wire.IPProtoUDP
	})
	var payload []byte
	for k, d := range got {
		dip := wire.IPv4(d[14:])
		du := wire.UDP(d[34:])
		if !dip.ChecksumValid() || int(du.Length()) != len(d)-34 || !du.ChecksumValid(dip.Src(), dip.Dst()) {
			t.Errorf("datagram %d: bad headers (len %d, udp length %d)", k, len(d), du.Length())
		}
		payload = append(payload, d[42:]...)
	}
	if !bytes.Equal(payload, f[42:]) {
		t.Errorf("payload of %d bytes differs from the %d sent", len(payload), len(f)-42)
	}
	if oc := r.ifc.ports[0].OffloadErrors(); oc.Segmented != 1 || oc.Segments != count {
		t.Errorf("segmented %d into %d, want 1 into %d", oc.Segmented, oc.Segments, count)
	}
	r.checkNoLeak(t)
}

// TestBigFrameWaitsForRoom: a frame larger than a ring slot is read from
// the socket once; when the vector lacks room for its segments the port
// holds it for the next call, so the ring's slots and the socket's queue
// stay in step. The peer sends a small frame and two distinct super-frames
// of 14 segments; each call has room for 14 packets.
func TestBigFrameWaitsForRoom(t *testing.T) {
	r := newRig(t, Config{Ring: RingFrames}, 0)
	if err := unixSetVnet(r.peer); err != nil {
		t.Fatal(err)
	}
	h := offload.VnetHdr{Flags: offload.VnetNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	send := func(f []byte, h offload.VnetHdr) {
		msg := make([]byte, offload.VnetHdrLen+len(f))
		h.Put(msg)
		copy(msg[offload.VnetHdrLen:], f)
		r.peerSend(t, msg)
	}
	send(testFrame(r.ifc.MAC(), r.peerMAC, 1, 60), offload.VnetHdr{}) // takes one place of the first call's room
	a, b := tcpSuperFrame(r.ifc.MAC(), r.peerMAC, 20000), tcpSuperFrame(r.ifc.MAC(), r.peerMAC, 20000)
	binary.BigEndian.PutUint32(b[14+20+4:], 50000) // b's TCP sequence number
	send(a, h)
	send(b, h)
	const room = 14
	var seqs []uint32
	var v pkt.Vector
	ar := r.c.Arena()
	deadline := time.Now().Add(5 * time.Second)
	for len(seqs) < 28 && time.Now().Before(deadline) {
		v.Len = pkt.VectorSize - room
		if p := r.ifc.ports[0]; p.Recv(r.c, &v) == 0 {
			waitReadable(p.PollFD(), 10)
			continue
		}
		for _, i := range v.Idx[pkt.VectorSize-room : v.Len] {
			if d := ar.Data(i); len(d) >= 54 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[23] == wire.IPProtoTCP {
				seqs = append(seqs, binary.BigEndian.Uint32(d[38:]))
			}
			r.c.Free(i)
		}
	}
	if st := r.ifc.ports[0].Stats(); st.RxErrors != 0 || len(seqs) != 28 {
		t.Fatalf("%d segments, stats %+v; want 28 and no RX errors", len(seqs), st)
	}
	for k, s := range seqs {
		want := uint32(1000 + 1448*(k%14))
		if k >= 14 {
			want += 50000 - 1000
		}
		if s != want {
			t.Fatalf("segment %d: TCP seq %d, want %d (a's 14 segments, then b's)", k, s, want)
		}
	}
	r.checkNoLeak(t)
}
