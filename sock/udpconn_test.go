package sock_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

var (
	local  = netip.MustParseAddrPort("10.0.1.1:7")
	remote = netip.MustParseAddrPort("10.0.1.2:40000")
)

// newRig starts a running rig whose ip4-lookup loops packets addressed to
// 10.0.1.1 back into udp4-input (so sockets can talk to each other).
func newRig(t *testing.T, cfg stack.Config) *stacktest.Rig {
	r := stacktest.New(t, 4096, cfg)
	r.Reply = func(c *pkt.Cache, d stacktest.Captured) []pkt.Index {
		if wire.IPv4(d.Data[d.Meta.L3:]).Dst() != local.Addr().As4() {
			return nil
		}
		i, ok := c.Alloc()
		if !ok {
			return nil
		}
		b, _ := c.Arena().SetData(i, pkt.Headroom, len(d.Data))
		copy(b, d.Data)
		m := c.Arena().Meta(i)
		m.L3, m.L4 = d.Meta.L3, d.Meta.L4
		return []pkt.Index{i}
	}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func listen(t *testing.T, r *stacktest.Rig, a netip.AddrPort) *sock.UDPConn {
	t.Helper()
	c, err := sock.ListenUDP(r.Stack, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func deliver(r *stacktest.Rig, from, to netip.AddrPort, payload string) {
	r.Inject(0, func(c *pkt.Cache) []pkt.Index {
		return []pkt.Index{stacktest.Frame(c, from, to, []byte(payload))}
	})
}

func TestReadWrite(t *testing.T) {
	r := newRig(t, stack.Config{})
	c := listen(t, r, local)
	if la, ok := c.LocalAddr().(*net.UDPAddr); !ok || la.AddrPort() != local {
		t.Fatalf("LocalAddr = %v", c.LocalAddr())
	}
	deliver(r, remote, local, "ping")
	buf := make([]byte, 100)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "ping" || from != remote {
		t.Fatalf("read %q from %v: %v", buf[:n], from, err)
	}
	// Truncation, as net.UDPConn on Linux: the rest is discarded.
	deliver(r, remote, local, "0123456789")
	n, addr, err := c.ReadFrom(buf[:4])
	if err != nil || string(buf[:n]) != "0123" || addr.(*net.UDPAddr).AddrPort() != remote {
		t.Fatalf("ReadFrom %q %v %v", buf[:n], addr, err)
	}
	if n, err := c.WriteTo([]byte("pong"), net.UDPAddrFromAddrPort(remote)); n != 4 || err != nil {
		t.Fatalf("WriteTo: %d %v", n, err)
	}
	testutil.Eventually(t, 5*time.Second, "reply at ip4-lookup", func() bool {
		for _, p := range r.TakeLookup() {
			ip := wire.IPv4(p.Data[p.Meta.L3:])
			u := wire.UDP(ip.Payload())
			if ip.Src() == local.Addr().As4() && ip.Dst() == remote.Addr().As4() && u.SrcPort() == 7 &&
				u.DstPort() == remote.Port() && string(u.Payload()) == "pong" && u.ChecksumValid(ip.Src(), ip.Dst()) {
				return true
			}
		}
		return false
	})
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EDESTADDRREQ) {
		t.Errorf("Write on an unconnected conn: %v", err)
	}
	if c.RemoteAddr() != nil {
		t.Errorf("RemoteAddr of an unconnected conn = %v", c.RemoteAddr())
	}
	_, err = c.WriteTo([]byte("x"), &net.IPAddr{})
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("WriteTo(IPAddr) = %v", err)
	}
	_, err = c.WriteToUDPAddrPort(make([]byte, udp.MaxPayload+1), remote)
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" || oe.Net != "udp" || !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("oversized write = %#v", err)
	}
}

func isTimeout(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read" && oe.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

func TestDeadlines(t *testing.T) {
	r := newRig(t, stack.Config{})
	c := listen(t, r, local)
	buf := make([]byte, 16)

	// A deadline in the past fails at once, even with data queued.
	deliver(r, remote, local, "queued")
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := c.ReadFromUDPAddrPort(buf); !isTimeout(err) {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	if n, _, err := c.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "queued" {
		t.Fatalf("after clearing: %q %v", buf[:n], err)
	}

	// A future deadline expires.
	start := time.Now()
	c.SetReadDeadline(start.Add(30 * time.Millisecond))
	if _, _, err := c.ReadFromUDPAddrPort(buf); !isTimeout(err) {
		t.Fatalf("deadline: %v", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("returned after %v", d)
	}

	// Moving the deadline into the past wakes a blocked reader.
	c.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() { _, _, err := c.ReadFromUDPAddrPort(buf); errc <- err }()
	time.Sleep(10 * time.Millisecond) // let it block (not for synchronisation: either order passes)
	c.SetReadDeadline(time.Now().Add(-time.Millisecond))
	select {
	case err := <-errc:
		if !isTimeout(err) {
			t.Fatalf("woken reader: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocked reader not woken by the deadline change")
	}

	// Extending the deadline keeps a reader waiting until data comes.
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, _, err := c.ReadFromUDPAddrPort(b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b[:n])
	}()
	c.SetReadDeadline(time.Now().Add(time.Hour))
	time.Sleep(40 * time.Millisecond) // past the first deadline
	deliver(r, remote, local, "late")
	if s := <-got; s != "late" {
		t.Fatalf("extended deadline: %s", s)
	}
}

func TestClose(t *testing.T) {
	r := newRig(t, stack.Config{})
	c, err := sock.ListenUDP(r.Stack, local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sock.ListenUDP(r.Stack, local); err == nil {
		t.Fatal("second listener on the same port")
	}
	deliver(r, remote, local, "never read") // freed by Close
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1)
			for {
				if _, _, err := c.ReadFromUDPAddrPort(b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked reader got %v", err)
		}
	}
	if _, err := c.WriteToUDPAddrPort([]byte("x"), remote); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
	if err := c.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetDeadline after close: %v", err)
	}
	// The port is free again.
	listen(t, r, local)
}

// TestConcurrent runs writers on one socket and readers on another over
// the loopback rig: every datagram that was not refused (ENOBUFS: the
// readers fell behind and their queue holds the pool) or dropped for a full
// receive ring arrives intact, exactly once.
func TestConcurrent(t *testing.T) {
	r := newRig(t, stack.Config{Workers: 1, RxRing: 4096})
	dst := listen(t, r, local)
	srcs := []*sock.UDPConn{
		listen(t, r, netip.MustParseAddrPort("10.0.1.1:0")),
		listen(t, r, netip.MustParseAddrPort("10.0.1.1:0")),
	}
	const perWriter = 1000
	var refused atomic.Uint64 // writes that failed with ENOBUFS
	var wg sync.WaitGroup
	for w, src := range srcs {
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := uint32(w*2+g) << 16
				if g == 0 {
					for k := range uint32(perWriter) {
						var b [8]byte
						binary.BigEndian.PutUint32(b[:], id|k)
						binary.BigEndian.PutUint32(b[4:], ^(id | k))
						if _, err := src.WriteToUDPAddrPort(b[:], local); errors.Is(err, syscall.ENOBUFS) {
							refused.Add(1)
							runtime.Gosched()
						} else if err != nil {
							t.Error(err)
							return
						}
					}
					return
				}
				msgs := make([]sock.Message, 50)
				for k := 0; k < perWriter; k += len(msgs) {
					for j := range msgs {
						msgs[j].Buf = make([]byte, 8)
						binary.BigEndian.PutUint32(msgs[j].Buf, id|uint32(k+j))
						binary.BigEndian.PutUint32(msgs[j].Buf[4:], ^(id | uint32(k+j)))
						msgs[j].N, msgs[j].Addr = 8, local
					}
					for rest := msgs; len(rest) > 0; {
						n, err := src.WriteBatch(rest)
						if errors.Is(err, syscall.ENOBUFS) {
							refused.Add(1) // rest[n] was not sent
							rest = rest[n+1:]
							runtime.Gosched()
							continue
						}
						if n != len(rest) || err != nil {
							t.Error(n, err)
							return
						}
						rest = nil
					}
				}
			}()
		}
	}
	const total = 4 * perWriter
	var mu sync.Mutex
	seen := map[uint32]bool{}
	dst.SetReadDeadline(time.Now().Add(20 * time.Second))
	var rg sync.WaitGroup
	for g := range 3 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			msgs := make([]sock.Message, 16)
			for j := range msgs {
				msgs[j].Buf = make([]byte, 16)
			}
			for {
				var got [][]byte
				if g == 0 {
					n, err := dst.ReadBatch(msgs)
					if err != nil {
						return
					}
					for _, m := range msgs[:n] {
						got = append(got, m.Buf[:m.N])
					}
				} else {
					b := make([]byte, 16)
					n, _, err := dst.ReadFromUDPAddrPort(b)
					if err != nil {
						return
					}
					got = append(got, b[:n])
				}
				mu.Lock()
				for _, b := range got {
					v := binary.BigEndian.Uint32(b)
					if len(b) != 8 || binary.BigEndian.Uint32(b[4:]) != ^v || seen[v] {
						t.Errorf("bad or duplicate datagram % x", b)
					}
					seen[v] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	testutil.Eventually(t, 20*time.Second, "all datagrams received or counted", func() bool {
		mu.Lock()
		n := uint64(len(seen))
		mu.Unlock()
		drops := r.Errors(0, udp.InputName, "socket_queue_full") + r.Errors(0, udp.InputName, "socket_budget")
		return n+refused.Load()+drops == total
	})
	dst.Close() // ends the readers
	rg.Wait()
	t.Logf("received %d of %d (%d refused with ENOBUFS)", len(seen), total, refused.Load())
}
