package afxdp

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/driver/offload/offloadtest"
	"github.com/vecnet/vecnet/driver/tap"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// TestRecvFromTSOPeer: a kernel TCP sender at the veth defaults (TSO, GSO,
// TX checksum offload on) in namespace B sends 8 MiB toward the AF_XDP port
// on the veth end in namespace A. The test bridges that port to a tap in A
// whose kernel side holds the listener (static neighbours both ways), so
// the connection runs through the port in both directions. Every frame the
// port delivers must fit a slot with valid IPv4 and TCP checksums, and
// together they must carry the whole stream.
func TestRecvFromTSOPeer(t *testing.T) {
	for _, mode := range []string{ModeGeneric, ModeNative} {
		t.Run(mode, func(t *testing.T) { testRecvFromTSOPeer(t, mode) })
	}
}

func testRecvFromTSOPeer(t *testing.T, mode string) {
	testutil.RequireTool(t, "ethtool")
	const size = 8 << 20
	nsA := testutil.NewNS(t, "xoa") // the port and the listener's tap
	nsB := testutil.NewNS(t, "xob") // the sender
	a, b := testutil.Name("xoa"), testutil.Name("xob")
	testutil.Veth(t, nsA, a, nsB, b)
	offloadtest.RequireOffloads(t, nsB, b)

	r := newRig(t, 4*DefaultRingSize)
	ifc := open(t, nsA, Config{Device: a, Mode: mode}, r.arena)
	t.Cleanup(func() { ifc.Close(r.cache) })
	tapName := testutil.Name("xot")
	var tp *tap.Interface
	if err := nsA.Do(func() (err error) { tp, err = tap.Open(tap.Config{Name: tapName}); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close(r.cache) })
	tapDev := tp.DeviceMAC()
	tapMAC := net.HardwareAddr(tapDev[:]).String()
	var bMAC string
	nsB.Do(func() error {
		ifi, err := net.InterfaceByName(b)
		if err == nil {
			bMAC = ifi.HardwareAddr.String()
		}
		return err
	})
	nsA.Run("ip", "addr", "add", "10.79.0.1/24", "dev", tapName)
	nsA.Run("ip", "neigh", "replace", "10.79.0.2", "lladdr", bMAC, "dev", tapName)
	nsB.Run("ip", "addr", "add", "10.79.0.2/24", "dev", b)
	nsB.Run("ip", "neigh", "replace", "10.79.0.1", "lladdr", tapMAC, "dev", b)
	if mode == ModeNative {
		// Native XDP on a veth makes the kernel turn the peer's TSO off.
		if out := nsB.Run("ethtool", "-k", b); !strings.Contains(out, "tcp-segmentation-offload: off") {
			t.Errorf("native XDP: peer %s kept TSO on:\n%s", b, out)
		}
	}

	xp, tq := ifc.Port(0), tp.Ports()[0]
	tr := offloadtest.StartTransfer(t, nsA, nsB, "10.79.0.1", 5201, size)
	s := offloadtest.NewStream(5201, size)
	s.MaxFrame = 1514 // MTU 1500
	s.AllowPartial = true
	done := make(chan error, 1)
	go func() { done <- tr.Wait(60 * time.Second) }()
	var v, w pkt.Vector
	finished := false
	deadline := time.Now().Add(90 * time.Second)
	for !finished || time.Now().Before(deadline) {
		v.Reset()
		w.Reset()
		got := xp.Recv(r.cache, &v) + tq.Recv(r.cache, &w)
		var bad error
		for _, i := range v.Slice() {
			if m, d := r.arena.Packet(i); bad == nil {
				bad = s.Frame(d, m.Flags)
				completePartial(d) // as ip4-input would, for the kernel behind the tap
			}
		}
		tq.Send(r.cache, &v)
		xp.Send(r.cache, &w)
		if bad != nil {
			t.Fatal(bad)
		}
		if missing, _ := s.Missing(); finished && missing == 0 {
			break
		}
		if got == 0 {
			waitReadable(xp.PollFD(), 1)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("transfer: %v (port stats %+v, xdp %+v)", err, xp.Stats(), xdpStats(xp))
			}
			finished = true
		default:
		}
	}
	st := xp.Stats()
	missing, first := s.Missing()
	t.Logf("%s: frames %d (longest %d B, %d flagged checksum-OK, %d partial); stats %+v; offload %+v; xdp %+v",
		mode, s.Frames, s.MaxLen, s.ChecksumOKFlagged, s.Partial, st, xp.OffloadErrors(), xdpStats(xp))
	if !finished {
		t.Fatal("transfer did not finish")
	}
	if oc := xp.OffloadErrors(); mode == ModeGeneric && oc.Segmented == 0 {
		t.Error("generic XDP: no super-frame was segmented (the peer's TSO did not reach the port)")
	}
	if missing != 0 {
		t.Fatalf("%d stream bytes never delivered, the first at %d", missing, first)
	}
	if err := ifc.Close(r.cache); err != nil {
		t.Error(err)
	}
	if err := tp.Close(r.cache); err != nil {
		t.Error(err)
	}
	r.checkLeaks(t)
}

func xdpStats(p *Port) any {
	s, err := p.XDPStats()
	if err != nil {
		return err
	}
	return s
}

// waitReadable polls fd for up to ms milliseconds.
func waitReadable(fd, ms int) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, ms)
}

// completePartial completes the partial TCP checksum of an untagged
// Ethernet/IPv4 frame, if it has one.
func completePartial(d []byte) {
	if len(d) < 54 || d[12] != 8 || d[13] != 0 || d[14] != 0x45 || d[23] != wire.IPProtoTCP {
		return
	}
	ip, _ := wire.ParseIPv4(d[14:])
	if int(ip.TotalLen()) != len(d)-14 {
		return
	}
	th := wire.TCP(d[34:])
	if offloadtest.IsPartial(th, ip.Src(), ip.Dst(), uint16(len(d)-34)) {
		offload.Complete(d, 34, 16)
	}
}

// TestRecvSuperFrameAllocs: in generic mode a GSO super-frame larger than a
// slot comes as a chain of descriptors (XDP_USE_SG) and is segmented at the
// MTU; that receive path allocates nothing. The peer's raw socket sends the
// super-frames with a virtio_net_hdr asking for TSO, as a TSO sender's
// stack hands them to the device.
func TestRecvSuperFrameAllocs(t *testing.T) {
	nsA := testutil.NewNS(t, "xsa")
	nsB := testutil.NewNS(t, "xsb")
	a, b := testutil.Name("xsa"), testutil.Name("xsb")
	testutil.Veth(t, nsA, a, nsB, b)
	r := newRig(t, 4*DefaultRingSize)
	ifc := open(t, nsA, Config{Device: a, Mode: ModeGeneric}, r.arena)
	t.Cleanup(func() { ifc.Close(r.cache) })
	ps := newPacketSocket(t, nsB, b)
	if err := unix.SetsockoptInt(ps.fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		t.Fatal(err)
	}
	const payload = 20000 // 6 descriptors, 14 segments of 1460
	frame := make([]byte, offload.VnetHdrLen+54+payload)
	offload.VnetHdr{Flags: offload.VnetNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54, GSOSize: 1460,
		CsumStart: 34, CsumOffset: 16}.Put(frame)
	f := frame[offload.VnetHdrLen:]
	copy(f, []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0})
	ip := wire.IPv4(f[14:])
	ip[0], ip[8], ip[9] = 0x45, 64, wire.IPProtoTCP
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	src, dst := [4]byte{10, 98, 0, 2}, [4]byte{10, 98, 0, 1}
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	ip.SetChecksum(ip.ComputeChecksum())
	th := f[34:]
	th[12], th[13] = 5<<4, 0x10
	binary.BigEndian.PutUint16(th[16:], uint16(wire.PseudoHeaderSum(src, dst, wire.IPProtoTCP, uint16(len(th)))))

	p := ifc.Port(0)
	var v pkt.Vector
	const room = pkt.VectorSize - 14 // one super-frame's segments per call
	deadline := time.Now().Add(10 * time.Second)
	recvOne := func() {
		v.Len = room
		for v.Len == room && time.Now().Before(deadline) {
			p.Recv(r.cache, &v)
		}
		for _, i := range v.Idx[room:v.Len] {
			if d := r.arena.Data(i); len(d) > 1514 {
				t.Errorf("segment of %d bytes", len(d))
			}
		}
		r.cache.FreeN(v.Idx[room:v.Len])
	}
	p.Recv(r.cache, &v) // fills the fill ring
	v.Reset()
	for range 21 { // sent before measuring: Sendto allocates
		ps.send(t, frame)
	}
	allocs := testing.AllocsPerRun(20, recvOne)
	oc := p.OffloadErrors()
	if time.Now().After(deadline) || oc.Segmented != 21 || oc.Segments != 14*oc.Segmented {
		t.Fatalf("segmented %d super-frames into %d segments (want 14 each); offload %+v, stats %+v, xdp %+v", oc.Segmented, oc.Segments, oc, p.Stats(), xdpStats(p))
	}
	if allocs != 0 {
		t.Errorf("Recv of a multi-buffer super-frame: %v allocations, want 0", allocs)
	}
}
