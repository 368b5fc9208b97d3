package tap

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
)

var (
	kernelIP = [4]byte{10, 77, 0, 1} // the kernel side of the tap
	ourIP    = [4]byte{10, 77, 0, 2} // the data plane, behind the tap
)

// rig is a tap interface in a fresh namespace whose kernel side has
// kernelIP and a permanent neighbour entry for ourIP at the port's MAC.
type rig struct {
	ns   *testutil.NS
	name string
	ifc  *Interface
	pool *pkt.Pool
	c    *pkt.Cache
}

func newRig(t *testing.T, queues int) *rig {
	t.Helper()
	r := &rig{ns: testutil.NewNS(t, "tap"), name: testutil.Name("vt")}
	arena, err := pkt.NewArena(1024)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arena.Close() })
	r.pool = pkt.NewPool(arena)
	r.c = r.pool.NewCache()
	if err := r.ns.Do(func() (err error) {
		r.ifc, err = Open(Config{Name: r.name, Queues: queues, MTU: 1500})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ifc.Close(r.c) })
	mac := r.ifc.MAC()
	r.ns.Run("ip", "addr", "add", "10.77.0.1/24", "dev", r.name)
	r.ns.Run("ip", "neigh", "replace", "10.77.0.2", "lladdr", net.HardwareAddr(mac[:]).String(), "dev", r.name, "nud", "permanent")
	return r
}

// icmpEcho builds an Ethernet/IPv4/ICMP echo frame (typ 8 request, 0 reply).
func icmpEcho(dst, src [6]byte, sip, dip [4]byte, typ byte, id, seq uint16) []byte {
	f := make([]byte, 14+20+8+16)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(f)-14))
	copy(ip[12:16], sip[:])
	copy(ip[16:20], dip[:])
	binary.BigEndian.PutUint16(ip[10:12], checksum(ip))
	ic := f[34:]
	ic[0] = typ
	binary.BigEndian.PutUint16(ic[4:6], id)
	binary.BigEndian.PutUint16(ic[6:8], seq)
	binary.BigEndian.PutUint16(ic[2:4], checksum(ic))
	return f
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// isEcho reports whether f is an ICMP echo of type typ from sip to dip,
// returning its id.
func isEcho(f []byte, typ byte, sip, dip [4]byte) (uint16, bool) {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 || f[23] != 1 {
		return 0, false
	}
	ihl := int(f[14]&0x0f) * 4
	if len(f) < 14+ihl+8 || [4]byte(f[26:30]) != sip || [4]byte(f[30:34]) != dip || f[14+ihl] != typ {
		return 0, false
	}
	return binary.BigEndian.Uint16(f[14+ihl+4:]), true
}

// recvUntil receives on every port until match accepts a frame, freeing
// everything.
func (r *rig) recvUntil(t *testing.T, what string, match func([]byte) bool) {
	t.Helper()
	var v pkt.Vector
	deadline := time.Now().Add(5 * time.Second)
	for k := 0; time.Now().Before(deadline); k++ {
		p := r.ifc.ports[k%len(r.ifc.ports)]
		v.Reset()
		if p.Recv(r.c, &v) == 0 {
			waitReadable(p.PollFD(), 5)
			continue
		}
		found := false
		for _, i := range v.Slice() {
			m := r.c.Arena().Meta(i)
			if m.Off != pkt.Headroom {
				t.Errorf("Meta.Off = %d, want %d", m.Off, pkt.Headroom)
			}
			found = found || match(r.c.Arena().Data(i))
			r.c.Free(i)
		}
		if found {
			return
		}
	}
	for _, p := range r.ifc.ports {
		t.Errorf("queue %d stats %+v", p.queue, p.Stats())
	}
	t.Fatalf("timed out waiting for %s", what)
}

func waitReadable(fd, ms int) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, ms)
}

// send transmits frame f on p.
func (r *rig) send(t *testing.T, p *Port, f []byte) {
	t.Helper()
	var v pkt.Vector
	i, ok := r.c.Alloc()
	if !ok {
		t.Fatal("pool empty")
	}
	d, _ := r.c.Arena().SetData(i, pkt.Headroom, len(f))
	copy(d, f)
	v.Append(i)
	if n := p.Send(r.c, &v); n != 1 || v.Len != 0 {
		t.Fatalf("Send = %d (v.Len %d), want 1 (0); stats %+v", n, v.Len, p.Stats())
	}
}

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

func TestConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{}},
		{"long name", Config{Name: "0123456789abcdefg"}},
		{"queues", Config{Name: "x", Queues: -2}},
		{"mtu", Config{Name: "x", MTU: MaxMTU + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Open(tc.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Open(%+v) = %v, want ErrInvalidConfig", tc.cfg, err)
			}
		})
	}
}

// TestRecvKernelPing has the kernel ping an address behind the tap and
// checks the port receives the echo request.
func TestRecvKernelPing(t *testing.T) {
	testutil.RequireTool(t, "ping")
	r := newRig(t, 1)
	r.ns.Start("ping", "-i", "0.2", "-c", "50", "10.77.0.2")
	p := r.ifc.ports[0]
	mac := r.ifc.MAC()
	r.recvUntil(t, "the kernel's echo request", func(f []byte) bool {
		_, ok := isEcho(f, 8, kernelIP, ourIP)
		return ok && [6]byte(f[0:6]) == mac && [6]byte(f[6:12]) == r.ifc.DeviceMAC()
	})
	if st := p.Stats(); st.RxPackets == 0 || st.RxErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	r.checkNoLeak(t)
}

// TestSendKernelAnswers sends an echo request to the kernel through the tap
// and waits for the kernel's echo reply, on every queue.
func TestSendKernelAnswers(t *testing.T) {
	for _, queues := range []int{1, 2} {
		t.Run(map[int]string{1: "single", 2: "multiqueue"}[queues], func(t *testing.T) {
			r := newRig(t, queues)
			if len(r.ifc.Ports()) != queues {
				t.Fatalf("%d ports, want %d", len(r.ifc.Ports()), queues)
			}
			for q, p := range r.ifc.ports {
				id := uint16(0x4000 + q)
				r.send(t, p, icmpEcho(r.ifc.DeviceMAC(), r.ifc.MAC(), ourIP, kernelIP, 8, id, 1))
				// The reply may leave by any queue.
				r.recvUntil(t, "the kernel's echo reply", func(f []byte) bool {
					got, ok := isEcho(f, 0, kernelIP, ourIP)
					return ok && got == id
				})
				if st := p.Stats(); st.TxPackets != 1 || st.TxDrops != 0 {
					t.Errorf("queue %d stats %+v", q, st)
				}
			}
			out := r.ns.Run("ip", "-s", "link", "show", r.name)
			t.Logf("%s\n%s", r.ifc.Info(), out)
			r.checkNoLeak(t)
		})
	}
}

// TestNoAllocs checks that steady-state Send and Recv do not allocate: each
// round sends an echo request and receives the kernel's reply.
func TestNoAllocs(t *testing.T) {
	r := newRig(t, 1)
	p := r.ifc.ports[0]
	req := icmpEcho(r.ifc.DeviceMAC(), r.ifc.MAC(), ourIP, kernelIP, 8, 0x77, 1)
	a := r.c.Arena()
	var v pkt.Vector
	round := func() {
		i, _ := r.c.Alloc()
		d, _ := a.SetData(i, pkt.Headroom, len(req))
		copy(d, req)
		v.Reset()
		v.Append(i)
		p.Send(r.c, &v)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if time.Now().After(deadline) {
				t.Fatalf("no echo reply from the kernel; stats %+v", p.Stats())
			}
			v.Reset()
			p.Recv(r.c, &v)
			got := false
			for _, i := range v.Slice() {
				if id, ok := isEcho(a.Data(i), 0, kernelIP, ourIP); ok && id == 0x77 {
					got = true
				}
				r.c.Free(i)
			}
			if got {
				return
			}
			if v.Len == 0 {
				waitReadable(p.fd, 5)
			}
		}
	}
	round()
	t0 := time.Now()
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("Send+Recv allocate %.1f times per round, want 0", n)
	}
	t.Logf("round trip through the kernel: %v", time.Since(t0)/101)
	r.checkNoLeak(t)
}
