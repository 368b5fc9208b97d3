package afxdp

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/xdpprog"
	"github.com/vecnet/vecnet/pkt"
)

// rig is an arena, its pool and one worker cache, checked for leaks at the
// end of the test.
type rig struct {
	arena *pkt.Arena
	pool  *pkt.Pool
	cache *pkt.Cache
}

func newRig(t *testing.T, slots int) *rig {
	t.Helper()
	a, err := pkt.NewArena(slots)
	if err != nil {
		t.Fatal(err)
	}
	p := pkt.NewPool(a)
	r := &rig{arena: a, pool: p, cache: p.NewCache()}
	t.Cleanup(func() { a.Close() })
	return r
}

// checkLeaks asserts every buffer came back to the pool.
func (r *rig) checkLeaks(t *testing.T) {
	t.Helper()
	r.cache.Flush()
	if n := r.pool.InUse(); n != 0 {
		t.Errorf("pool InUse = %d after Close, want 0", n)
	}
	if err := r.pool.Check(); err != nil {
		t.Error(err)
	}
}

// open opens an Interface on dev inside ns.
func open(t *testing.T, ns *testutil.NS, cfg Config, a *pkt.Arena) *Interface {
	t.Helper()
	var ifc *Interface
	if err := ns.Do(func() error {
		var err error
		cfg.Logf = t.Logf
		ifc, err = Open(cfg, a)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ifc
}

// packetSocket is an AF_PACKET socket bound to dev in ns: the kernel-side
// peer that sends and captures raw frames.
type packetSocket struct {
	fd      int
	ifindex int
}

func newPacketSocket(t *testing.T, ns *testutil.NS, dev string) *packetSocket {
	t.Helper()
	ps := &packetSocket{}
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		ps.ifindex = ifi.Index
		proto := int(htons(unix.ETH_P_ALL))
		ps.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
		if err := unix.SetsockoptTimeval(ps.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(ps.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(ps.fd) })
	return ps
}

func (ps *packetSocket) send(t *testing.T, frame []byte) {
	t.Helper()
	if err := unix.Sendto(ps.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: ps.ifindex, Halen: 6}); err != nil {
		t.Fatal(err)
	}
}

// recvMatching reads frames until want of them satisfy keep or timeout.
func (ps *packetSocket) recvMatching(t *testing.T, want int, keep func([]byte) bool) [][]byte {
	t.Helper()
	var got [][]byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(ps.fd, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if keep(buf[:n]) {
			got = append(got, bytes.Clone(buf[:n]))
		}
	}
	return got
}

func htons(v uint16) uint16 { return v>>8 | v<<8 }

var (
	addrA  = netip.MustParseAddr("10.97.0.1")
	addrB  = netip.MustParseAddr("10.97.0.2")  // kernel address on the afxdp side
	ours   = netip.MustParseAddr("10.97.0.10") // data-plane address
	magic  = []byte("vecnet-afxdp-test")
	bcast  = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	srcMAC = [6]byte{0x02, 0, 0, 0, 0, 0xa}
)

// udpFrame builds Ethernet/IPv4/UDP to dst:port carrying magic and seq.
// Checksums are left zero: nothing on the path verifies them.
func udpFrame(dstMAC, src [6]byte, dst netip.Addr, seq uint16) []byte {
	b := append(dstMAC[:], src[:]...)
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	payload := binary.BigEndian.AppendUint16(bytes.Clone(magic), seq)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	s4, d4 := addrA.As4(), dst.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], 40000+seq) // varies the flow hash
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	b = append(append(append(b, ip...), udp...), payload...)
	return b
}

func isTestFrame(b []byte) bool { return bytes.Contains(b, magic) }

// pair makes namespaces a and b joined by a veth pair va<->vb (unique names), with kernel
// addresses addrA and addrB.
func pair(t *testing.T) (a, b *testutil.NS, va, vb string) {
	a = testutil.NewNS(t, "axa")
	b = testutil.NewNS(t, "axb")
	va, vb = testutil.Name("va"), testutil.Name("vb")
	testutil.Veth(t, a, va, b, vb)
	a.Run("ip", "addr", "add", addrA.String()+"/24", "dev", va)
	b.Run("ip", "addr", "add", addrB.String()+"/24", "dev", vb)
	return a, b, va, vb
}

// recvN drives port 0 of ifc until n test frames arrived or a deadline.
func recvN(t *testing.T, r *rig, ifc *Interface, n int, kick func()) []pkt.Index {
	t.Helper()
	var got []pkt.Index
	var v pkt.Vector
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		if kick != nil {
			kick()
		}
		v.Reset()
		ifc.Port(0).Recv(r.cache, &v)
		for _, i := range v.Slice() {
			if isTestFrame(r.arena.Data(i)) {
				got = append(got, i)
			} else {
				r.cache.Free(i)
			}
		}
		if len(got) < n {
			time.Sleep(time.Millisecond) // pacing a poll loop, not synchronisation
		}
	}
	return got
}

func TestReceive(t *testing.T) {
	for _, mode := range []string{ModeNative, ModeGeneric} {
		t.Run(mode, func(t *testing.T) {
			a, b, va, vb := pair(t)
			r := newRig(t, 4096)
			ifc := open(t, b, Config{Device: vb, Mode: mode, RingSize: 1024, TXRingSize: 512,
				Match: xdpprog.Match{DstIP: []netip.Addr{ours}}}, r.arena)
			ps := newPacketSocket(t, a, va)
			// Hand the fill ring buffers before the frames arrive.
			var v pkt.Vector
			ifc.Port(0).Recv(r.cache, &v)
			const n = 32
			sent := make(map[uint16][]byte)
			for s := range uint16(n) {
				f := udpFrame(ifc.MAC(), srcMAC, ours, s)
				sent[s] = f
				ps.send(t, f)
			}
			got := recvN(t, r, ifc, n, nil)
			if len(got) != n {
				t.Fatalf("received %d of %d frames", len(got), n)
			}
			for _, i := range got {
				m := r.arena.Meta(i)
				d := r.arena.Data(i)
				seq := binary.BigEndian.Uint16(d[len(d)-2:])
				if !bytes.Equal(d, sent[seq]) {
					t.Errorf("frame %d differs:\n got % x\nwant % x", seq, d, sent[seq])
				}
				if m.Off != pkt.Headroom || int(m.Len) != len(sent[seq]) || m.Error != 0 || m.Flags != 0 || m.L3 != 0 || m.TxPort != 0 || m.VLAN != 0 {
					t.Errorf("frame %d: Meta %+v", seq, *m)
				}
				r.cache.Free(i)
			}
			if st := ifc.Port(0).Stats(); st.RxPackets != n || st.RxErrors != 0 {
				t.Errorf("stats %+v, want %d packets, no errors", st, n)
			}
			if err := ifc.Close(r.cache); err != nil {
				t.Fatal(err)
			}
			r.checkLeaks(t)
		})
	}
}

func TestTransmit(t *testing.T) {
	a, b, va, vb := pair(t)
	r := newRig(t, 4096)
	ifc := open(t, b, Config{Device: vb, RingSize: 1024, TXRingSize: 512,
		Match: xdpprog.Match{DstIP: []netip.Addr{ours}}}, r.arena)
	ps := newPacketSocket(t, a, va)
	const n = 64
	var v pkt.Vector
	for s := range uint16(n) {
		i, ok := r.cache.Alloc()
		if !ok {
			t.Fatal("pool empty")
		}
		f := udpFrame(bcast, ifc.MAC(), addrA, s)
		d, _ := r.arena.SetData(i, pkt.Headroom, len(f))
		copy(d, f)
		v.Append(i)
	}
	if got := ifc.Port(0).Send(r.cache, &v); got != n {
		t.Fatalf("Send queued %d of %d", got, n)
	}
	if v.Len != 0 {
		t.Errorf("Send left %d packets in the vector", v.Len)
	}
	frames := ps.recvMatching(t, n, isTestFrame)
	if len(frames) != n {
		t.Fatalf("peer captured %d of %d frames", len(frames), n)
	}
	for _, f := range frames {
		seq := binary.BigEndian.Uint16(f[len(f)-2:])
		if want := udpFrame(bcast, ifc.MAC(), addrA, seq); !bytes.Equal(f, want) {
			t.Errorf("frame %d differs:\n got % x\nwant % x", seq, f, want)
		}
	}
	// Completions come back on a later Send; then nothing is in flight.
	testutil.Eventually(t, 5*time.Second, "completions reaped", func() bool {
		var empty pkt.Vector
		ifc.Port(0).Send(r.cache, &empty)
		r.cache.Flush()
		return r.pool.InUse() == 0
	})
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}

// TestCloseFreesKernelBuffers closes a port with a full fill ring and
// frames in flight; every buffer must come back.
func TestCloseFreesKernelBuffers(t *testing.T) {
	_, b, _, vb := pair(t)
	r := newRig(t, 2048)
	ifc := open(t, b, Config{Device: vb, RingSize: 512, TXRingSize: 256}, r.arena)
	var v pkt.Vector
	ifc.Port(0).Recv(r.cache, &v)
	ifc.Port(0).Recv(r.cache, &v)
	for range 100 {
		i, _ := r.cache.Alloc()
		f := udpFrame(bcast, ifc.MAC(), addrA, 1)
		d, _ := r.arena.SetData(i, pkt.Headroom, len(f))
		copy(d, f)
		v.Append(i)
	}
	ifc.Port(0).Send(r.cache, &v)
	r.cache.Flush()
	if r.pool.InUse() < 512 {
		t.Fatalf("InUse = %d before Close, want at least the fill ring (512)", r.pool.InUse())
	}
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
	if err := ifc.Close(r.cache); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestForward: frames from namespace A enter R on ra, a forwarder sends the
// same slots out of rc (an Interface sharing ra's UMEM), and namespace C
// captures them.
func TestForward(t *testing.T) {
	a := testutil.NewNS(t, "axa")
	rt := testutil.NewNS(t, "axr")
	c := testutil.NewNS(t, "axc")
	va, ra, rc, vc := testutil.Name("va"), testutil.Name("ra"), testutil.Name("rc"), testutil.Name("vc")
	testutil.Veth(t, a, va, rt, ra)
	testutil.Veth(t, rt, rc, c, vc)
	r := newRig(t, 4096)
	in := open(t, rt, Config{Device: ra, RingSize: 1024, TXRingSize: 512}, r.arena)
	out := open(t, rt, Config{Device: rc, RingSize: 1024, TXRingSize: 512, Shared: in}, r.arena)
	psA := newPacketSocket(t, a, va)
	psC := newPacketSocket(t, c, vc)
	var v pkt.Vector
	in.Port(0).Recv(r.cache, &v)
	const n = 50
	for s := range uint16(n) {
		psA.send(t, udpFrame(in.MAC(), srcMAC, ours, s))
	}
	forwarded := 0
	seen := map[pkt.Index]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for forwarded < n && time.Now().Before(deadline) {
		v.Reset()
		in.Port(0).Recv(r.cache, &v)
		k := 0
		for _, i := range v.Slice() {
			if !isTestFrame(r.arena.Data(i)) {
				r.cache.Free(i)
				continue
			}
			d := r.arena.Data(i)
			copy(d[0:6], bcast[:])
			copy(d[6:12], func() []byte { m := out.MAC(); return m[:] }())
			seen[i] = true
			v.Idx[k] = i
			k++
		}
		v.Len = k
		forwarded += out.Port(0).Send(r.cache, &v)
		time.Sleep(time.Millisecond)
	}
	if forwarded != n {
		t.Fatalf("forwarded %d of %d", forwarded, n)
	}
	frames := psC.recvMatching(t, n, isTestFrame)
	if len(frames) != n {
		t.Fatalf("C captured %d of %d forwarded frames", len(frames), n)
	}
	for _, f := range frames {
		seq := binary.BigEndian.Uint16(f[len(f)-2:])
		want := udpFrame(bcast, out.MAC(), ours, seq)
		if !bytes.Equal(f, want) {
			t.Errorf("frame %d differs:\n got % x\nwant % x", seq, f, want)
		}
	}
	t.Logf("%d frames forwarded through %d distinct slots", n, len(seen))
	if err := out.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}

// TestNonMatchingReachesKernel: with a socket registered for another
// address, the kernel on the afxdp side still answers ping (and ARP).
func TestNonMatchingReachesKernel(t *testing.T) {
	testutil.RequireTool(t, "ping")
	a, b, _, vb := pair(t)
	r := newRig(t, 2048)
	ifc := open(t, b, Config{Device: vb, RingSize: 512, TXRingSize: 256,
		Match: xdpprog.Match{DstIP: []netip.Addr{ours}}}, r.arena)
	var v pkt.Vector
	ifc.Port(0).Recv(r.cache, &v)
	a.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", addrB.String())
	ifc.Port(0).Recv(r.cache, &v)
	if v.Len != 0 {
		t.Errorf("port received %d frames meant for the kernel", v.Len)
	}
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}

// TestNoAllocs: steady-state Recv and Send on a real socket allocate nothing.
func TestNoAllocs(t *testing.T) {
	_, b, _, vb := pair(t)
	r := newRig(t, 4096)
	ifc := open(t, b, Config{Device: vb, RingSize: 1024, TXRingSize: 512}, r.arena)
	p := ifc.Port(0)
	f := udpFrame(bcast, ifc.MAC(), addrA, 7)
	var v pkt.Vector
	run := func() {
		v.Reset()
		p.Recv(r.cache, &v)
		r.cache.FreeN(v.Slice())
		v.Reset()
		for range 8 {
			i, _ := r.cache.Alloc()
			d, _ := r.arena.SetData(i, pkt.Headroom, len(f))
			copy(d, f)
			v.Append(i)
		}
		p.Send(r.cache, &v)
		p.PrepareWait()
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("Recv+Send allocate %.1f times per run, want 0", n)
	}
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no device", Config{}},
		{"bad mode", Config{Device: "x", Mode: "turbo"}},
		{"zerocopy and copy", Config{Device: "x", ZeroCopy: true, Copy: true}},
		{"bad match", Config{Device: "x", Match: xdpprog.Match{DstPort: 53}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.cfg, nil); err == nil {
				t.Error("Open succeeded")
			}
		})
	}
}

// TestMultiQueue opens two queues of a two-queue veth (the second socket
// shares the first's UMEM) and receives on both ports.
func TestMultiQueue(t *testing.T) {
	a := testutil.NewNS(t, "axa")
	b := testutil.NewNS(t, "axb")
	va, vb := testutil.Name("va"), testutil.Name("vb")
	testutil.Veth(t, a, va, b, vb, "numtxqueues", "2", "numrxqueues", "2")
	r := newRig(t, 8192)
	ifc := open(t, b, Config{Device: vb, Queues: 2, RingSize: 1024, TXRingSize: 512}, r.arena)
	if !strings.Contains(ifc.Info(), " native ") {
		t.Errorf("auto mode on a two-queue veth chose %q, want native", ifc.Info())
	}
	if got := len(ifc.Ports()); got != 2 {
		t.Fatalf("%d ports, want 2", got)
	}
	var v pkt.Vector
	for q := range 2 {
		ifc.Port(q).Recv(r.cache, &v)
	}
	// veth delivers TX queue N to the peer's RX queue N, and the kernel
	// picks the TX queue by flow hash: frames differ in UDP source port.
	const n = 40
	ps := newPacketSocket(t, a, va)
	for s := range uint16(n) {
		ps.send(t, udpFrame(ifc.MAC(), srcMAC, ours, s))
	}
	perQueue := [2]int{}
	deadline := time.Now().Add(5 * time.Second)
	for perQueue[0]+perQueue[1] < n && time.Now().Before(deadline) {
		for q := range 2 {
			v.Reset()
			ifc.Port(q).Recv(r.cache, &v)
			for _, i := range v.Slice() {
				if isTestFrame(r.arena.Data(i)) {
					perQueue[q]++
				}
			}
			r.cache.FreeN(v.Slice())
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("received per queue: %v (%s)", perQueue, ifc.Info())
	if perQueue[0]+perQueue[1] != n {
		t.Fatalf("received %d of %d frames", perQueue[0]+perQueue[1], n)
	}
	if perQueue[0] == 0 || perQueue[1] == 0 {
		t.Errorf("a queue received nothing: %v", perQueue)
	}
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}

// TestSendSameBufferTwice: a buffer queued twice in one vector (a node's
// bug) goes out once and is counted as a drop, so the first completion
// cannot free it while the kernel still reads the second descriptor.
func TestSendSameBufferTwice(t *testing.T) {
	a, b, va, vb := pair(t)
	r := newRig(t, 4096)
	ifc := open(t, b, Config{Device: vb, RingSize: 1024, TXRingSize: 512,
		Match: xdpprog.Match{DstIP: []netip.Addr{ours}}}, r.arena)
	ps := newPacketSocket(t, a, va)
	i, ok := r.cache.Alloc()
	if !ok {
		t.Fatal("pool empty")
	}
	f := udpFrame(bcast, ifc.MAC(), addrA, 7)
	d, _ := r.arena.SetData(i, pkt.Headroom, len(f))
	copy(d, f)
	var v pkt.Vector
	v.Append(i)
	v.Append(i)
	p := ifc.Port(0)
	if got := p.Send(r.cache, &v); got != 1 {
		t.Fatalf("Send queued %d descriptors for one buffer, want 1", got)
	}
	if p.Stats().TxDrops != 1 {
		t.Fatalf("TxDrops = %d, want 1", p.Stats().TxDrops)
	}
	p.PrepareWait() // the lone frame goes out before a sleep
	if frames := ps.recvMatching(t, 1, isTestFrame); len(frames) != 1 {
		t.Fatalf("peer captured %d frames, want 1", len(frames))
	}
	testutil.Eventually(t, 5*time.Second, "the buffer came back from the kernel", func() bool {
		p.PrepareWait() // reaps completions too
		return !p.held(i)
	})
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}

// TestFlushTXWaitsForReadyRX: a flush that finds frames waiting on the RX
// ring leaves the TX frames queued (no kick: copy mode sends only when
// kicked), and the next pass's flush, with nothing left to receive, sends
// them together with that pass's frames in one kick.
func TestFlushTXWaitsForReadyRX(t *testing.T) {
	a, b, va, vb := pair(t)
	r := newRig(t, 4096)
	ifc := open(t, b, Config{Device: vb, Mode: ModeGeneric, RingSize: 1024, TXRingSize: 512,
		Match: xdpprog.Match{DstIP: []netip.Addr{ours}}}, r.arena)
	ps := newPacketSocket(t, a, va)
	p := ifc.Port(0)
	var v pkt.Vector
	p.Recv(r.cache, &v) // hand the fill ring buffers
	send := func(seq uint16) {
		t.Helper()
		i, ok := r.cache.Alloc()
		if !ok {
			t.Fatal("pool empty")
		}
		f := udpFrame(bcast, ifc.MAC(), addrA, seq)
		d, _ := r.arena.SetData(i, pkt.Headroom, len(f))
		copy(d, f)
		var out pkt.Vector
		out.Append(i)
		if got := p.Send(r.cache, &out); got != 1 {
			t.Fatalf("Send queued %d of 1", got)
		}
	}
	send(1)
	ps.send(t, udpFrame(ifc.MAC(), srcMAC, ours, 100))
	testutil.Eventually(t, 5*time.Second, "the peer's frame on the RX ring", p.rx.Ready)
	p.FlushTX()
	if n := p.tx.Pending(); n != 1 {
		t.Fatalf("after a flush with a frame waiting on the RX ring, %d frames pending on TX, want 1 (not kicked)", n)
	}
	// The next pass: it takes the frame, answers, and flushes both.
	if got := p.Recv(r.cache, &v); got != 1 {
		t.Fatalf("Recv got %d frames, want 1", got)
	}
	r.cache.FreeN(v.Idx[:v.Len])
	v.Reset()
	send(2)
	p.FlushTX()
	if n := p.tx.Pending(); n != 0 {
		t.Fatalf("after the next pass's flush, %d frames pending on TX, want 0", n)
	}
	if frames := ps.recvMatching(t, 2, func(f []byte) bool { return isTestFrame(f) && bytes.Equal(f[:6], bcast[:]) }); len(frames) != 2 {
		t.Fatalf("peer captured %d of 2 frames", len(frames))
	}
	// Close frees what the kernel still holds (fill ring, TX in flight).
	if err := ifc.Close(r.cache); err != nil {
		t.Fatal(err)
	}
	r.checkLeaks(t)
}
