package afpacket

import (
	"encoding/binary"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
)

// testEtherType marks test frames (IEEE local experimental), so that the
// kernel's own IPv6 chatter on the link is ignored.
const testEtherType = 0x88b5

// bothRings runs test once per receive ring kind, as a subtest named after it.
func bothRings(t *testing.T, test func(t *testing.T, ring string)) {
	for _, ring := range []string{RingBlocks, RingFrames} {
		t.Run(ring, func(t *testing.T) { test(t, ring) })
	}
}

// rig is a port in namespace A and a raw packet socket on the veth peer in
// namespace B.
type rig struct {
	ifc     *Interface
	pool    *pkt.Pool
	c       *pkt.Cache
	peer    int // raw AF_PACKET socket on the peer
	peerMAC [6]byte
	nsA     *testutil.NS // the port's namespace
	dev     string       // the port's device, in nsA
}

// newRig builds the namespaces, the veth pair and opens the interface with cfg
// (Device is filled in). mtu > 0 sets both ends' MTU.
func newRig(t testing.TB, cfg Config, mtu int) *rig {
	t.Helper()
	nsA := testutil.NewNS(t, "afpa")
	nsB := testutil.NewNS(t, "afpb")
	a, b := testutil.Name("afa"), testutil.Name("afb")
	testutil.Veth(t, nsA, a, nsB, b)
	if mtu > 0 {
		nsA.Run("ip", "link", "set", a, "mtu", strconv.Itoa(mtu))
		nsB.Run("ip", "link", "set", b, "mtu", strconv.Itoa(mtu))
	}
	arena, err := pkt.NewArena(4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arena.Close() })
	r := &rig{pool: pkt.NewPool(arena), nsA: nsA, dev: a}
	r.c = r.pool.NewCache()
	cfg.Device = a
	if err := nsA.Do(func() (err error) { r.ifc, err = Open(cfg); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ifc.Close(r.c) })
	if err := nsB.Do(func() error {
		dev, err := net.InterfaceByName(b)
		if err != nil {
			return err
		}
		copy(r.peerMAC[:], dev.HardwareAddr)
		r.peer, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		return unix.Bind(r.peer, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: dev.Index})
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(r.peer) })
	return r
}

// testFrame builds a frame of size bytes (>= 14) carrying seq.
func testFrame(dst, src [6]byte, seq uint32, size int) []byte {
	f := make([]byte, size)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:14], testEtherType)
	for i := 14; i < size; i++ {
		f[i] = byte(seq*7 + uint32(i))
	}
	if size >= 18 {
		binary.BigEndian.PutUint32(f[14:18], seq)
	}
	return f
}

// isTest reports whether f is a test frame.
func isTest(f []byte) bool {
	return len(f) >= 14 && binary.BigEndian.Uint16(f[12:14]) == testEtherType
}

// peerSend writes f on the peer socket.
func (r *rig) peerSend(t *testing.T, f []byte) {
	t.Helper()
	if _, err := unix.Write(r.peer, f); err != nil {
		t.Fatalf("peer write: %v", err)
	}
}

// peerRecv collects n frames that keep(f) accepts from the peer socket.
func (r *rig) peerRecv(t *testing.T, n int, keep func([]byte) bool) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 1<<16)
	deadline := time.Now().Add(5 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("peer received %d of %d frames", len(out), n)
		}
		k, err := unix.Read(r.peer, buf)
		if err == unix.EAGAIN {
			waitReadable(r.peer, 10)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if keep(buf[:k]) {
			out = append(out, append([]byte(nil), buf[:k]...))
		}
	}
	return out
}

// recvN receives from p, at most max frames per call, until n frames that
// keep accepts have arrived, and returns their copies (buffers are freed).
func (r *rig) recvN(t *testing.T, p *Port, n, max int, keep func([]byte) bool) [][]byte {
	t.Helper()
	var out [][]byte
	var v pkt.Vector
	a := r.c.Arena()
	deadline := time.Now().Add(5 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d frames; stats %+v", len(out), n, p.Stats())
		}
		v.Len = pkt.VectorSize - max // leave room for max frames only
		got := p.Recv(r.c, &v)
		if got == 0 {
			waitReadable(p.PollFD(), 10)
			continue
		}
		for _, i := range v.Idx[pkt.VectorSize-max : v.Len] {
			m := a.Meta(i)
			if m.Off != pkt.Headroom {
				t.Errorf("Meta.Off = %d, want %d", m.Off, pkt.Headroom)
			}
			if d := a.Data(i); keep(d) {
				out = append(out, append([]byte(nil), d...))
			}
			r.c.Free(i)
		}
	}
	return out
}

// waitReadable polls fd for up to ms milliseconds.
func waitReadable(fd, ms int) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, ms)
}

// checkNoLeak closes the interface and checks every buffer came back.
func (r *rig) checkNoLeak(t *testing.T) {
	t.Helper()
	if err := r.ifc.Close(r.c); err != nil {
		t.Errorf("Close: %v", err)
	}
	r.c.Flush()
	if n := r.pool.InUse(); n != 0 {
		t.Errorf("pool.InUse() = %d after Close, want 0", n)
	}
	if err := r.pool.Check(); err != nil {
		t.Error(err)
	}
}

// unixRead is unix.Read, named for the allocation test's readability.
func unixRead(fd int, b []byte) (int, error) { return unix.Read(fd, b) }
