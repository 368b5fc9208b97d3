package memif

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// open opens an endpoint closed at cleanup.
func open(t testing.TB, cfg Config) *Endpoint {
	t.Helper()
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// pair opens a server and a client on one socket in dir and waits until
// they connect.
func pair(t testing.TB, server, client Config) (*Endpoint, *Endpoint) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "memif.sock")
	server.Socket, server.Role = sock, Server
	client.Socket, client.Role = sock, Client
	s := open(t, server)
	c := open(t, client)
	testutil.Eventually(t, 5*time.Second, "memif pair connects", func() bool {
		return s.State() == Connected && c.State() == Connected
	})
	return s, c
}

// clientModes are the client's two data paths: copying between the ring
// and the arena, and zero-copy (the rings carry arena slots).
var clientModes = []struct {
	name string
	zc   bool
}{{"copy", false}, {"zerocopy", true}}

// newPool returns a test pool of n slots, over a shared arena for a
// zero-copy client.
func newPool(t testing.TB, n int, zc bool) *pkt.Pool {
	t.Helper()
	if zc {
		return pkttest.NewSharedPool(t, n)
	}
	return pkttest.NewPool(t, n)
}

// eachMode runs f as one subtest per client mode.
func eachMode(t *testing.T, f func(t *testing.T, zc bool)) {
	for _, m := range clientModes {
		t.Run(m.name, func(t *testing.T) { f(t, m.zc) })
	}
}

// connected opens a server and a client (zero-copy over the pool if zc) on
// a pool of n slots and waits until they connect; it returns a cache of
// the pool, flushed at cleanup before the endpoints close.
func connected(t testing.TB, n int, zc bool, server, client Config) (*pkt.Cache, *Endpoint, *Endpoint) {
	t.Helper()
	pool := newPool(t, n, zc)
	c := pool.NewCache()
	srv, cli := pair(t, server, mode(client, pool, zc))
	t.Cleanup(c.Flush)
	return c, srv, cli
}

// mode sets cfg's Pool for a zero-copy client.
func mode(cfg Config, pool *pkt.Pool, zc bool) Config {
	if zc {
		cfg.Pool = pool
	}
	return cfg
}

// testFrame is frame k of length n: k in its first four bytes, then a
// pattern of k.
func testFrame(k uint32, n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint32(b, k)
	for i := 4; i < n; i++ {
		b[i] = byte(int(k) + i)
	}
	return b
}

// exchange sends frames through port from and receives them on port to,
// in vectors, and returns what arrived.
func exchange(t testing.TB, c *pkt.Cache, from, to *Port, frames [][]byte) [][]byte {
	t.Helper()
	a := c.Arena()
	var got [][]byte
	var v pkt.Vector
	sent := 0
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(frames) {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d frames (sent %d)", len(got), len(frames), sent)
		}
		v.Reset()
		for sent < len(frames) && v.Len < 16 {
			i, ok := c.Alloc()
			if !ok {
				t.Fatal("pool dry")
			}
			d, _ := a.SetData(i, pkt.Headroom, len(frames[sent]))
			copy(d, frames[sent])
			v.Append(i)
			sent++
		}
		if v.Len > 0 {
			n := v.Len
			if q := from.Send(c, &v); q != n {
				t.Fatalf("sent %d of %d", q, n)
			}
		}
		v.Reset()
		to.Recv(c, &v)
		for _, i := range v.Slice() {
			got = append(got, bytes.Clone(a.Data(i)))
		}
		c.FreeN(v.Slice())
	}
	return got
}

func checkFrames(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for k := range want {
		if !bytes.Equal(got[k], want[k]) {
			t.Fatalf("frame %d: got %d bytes %x…, want %d bytes %x…", k, len(got[k]), got[k][:min(8, len(got[k]))], len(want[k]), want[k][:8])
		}
	}
}

// TestPairBothWays connects vecnet's two roles to each other and sends
// frames of every size class both ways, in order and intact, over more
// than a ring's worth of descriptors (the counters wrap the ring).
func TestPairBothWays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bufSize int
		lens    []int
	}{
		{"single-buffer", 0, []int{60, 64, 1514, 2048, 100}},
		{"chained", 256, []int{60, 256, 257, 1514, 3000}},
	} {
		for _, m := range clientModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				c, srv, cli := connected(t, 4096, m.zc, Config{Name: "srv0", AppName: "test-server"},
					Config{Name: "cli0", AppName: "test-client", Log2RingSize: 8, BufferSize: tc.bufSize})
				wantMode := map[bool]string{false: "client copy ", true: "client zero-copy "}[m.zc]
				if info := cli.Info(); !strings.HasPrefix(info, wantMode) {
					t.Errorf("client info %q, want it to start %q", info, wantMode)
				}
				if info := srv.Info(); !strings.HasPrefix(info, "server copy ") {
					t.Errorf("server info %q, want it to start \"server copy \"", info)
				}
				if app, name, _ := cli.Peer(); app != "test-server" || name != "srv0" {
					t.Errorf("client sees peer %q %q, want test-server srv0", app, name)
				}
				if app, name, _ := srv.Peer(); app != "test-client" || name != "cli0" {
					t.Errorf("server sees peer %q %q, want test-client cli0", app, name)
				}
				sp, cp := srv.Ports()[0], cli.Ports()[0]
				var frames [][]byte
				for k := range 300 {
					frames = append(frames, testFrame(uint32(k), tc.lens[k%len(tc.lens)]))
				}
				checkFrames(t, exchange(t, c, cp, sp, frames), frames)
				checkFrames(t, exchange(t, c, sp, cp, frames), frames)
				for _, st := range []struct {
					name string
					p    *Port
				}{{"server", sp}, {"client", cp}} {
					s := st.p.Stats()
					if s.RxPackets != 300 || s.TxPackets != 300 || s.RxErrors != 0 || s.TxDrops != 0 {
						t.Errorf("%s stats %+v", st.name, s)
					}
				}
			})
		}
	}
}

// TestRingFull: a sender that outruns its receiver finds the ring full and
// counts the rest as drops, never overwriting frames in flight.
func TestRingFull(t *testing.T) {
	eachMode(t, testRingFull)
}

func testRingFull(t *testing.T, zc bool) {
	c, srv, cli := connected(t, 1024, zc, Config{}, Config{Log2RingSize: 6})
	sp, cp := srv.Ports()[0], cli.Ports()[0]
	var v pkt.Vector
	for k := range 100 {
		i, _ := c.Alloc()
		d, _ := c.Arena().SetData(i, pkt.Headroom, 64)
		copy(d, testFrame(uint32(k), 64))
		v.Append(i)
	}
	if n := cp.Send(c, &v); n != 64 {
		t.Fatalf("sent %d into a ring of 64", n)
	}
	if d := cp.Stats().TxDrops; d != 36 {
		t.Fatalf("TxDrops %d, want 36", d)
	}
	v.Reset()
	n := sp.Recv(c, &v)
	for k, i := range v.Slice() {
		if got := binary.BigEndian.Uint32(c.Arena().Data(i)); got != uint32(k) {
			t.Fatalf("frame %d carries %d", k, got)
		}
	}
	c.FreeN(v.Slice())
	if n != 64 {
		t.Fatalf("received %d, want 64", n)
	}
}

// TestReconnect: when the client goes away the server goes back to
// listening and a new client connects and exchanges frames; when the server
// restarts, the client dials again by itself.
func TestReconnect(t *testing.T) {
	eachMode(t, testReconnect)
}

func testReconnect(t *testing.T, zc bool) {
	c, srv, cli := connected(t, 4096, zc, Config{}, Config{})
	cli.Close()
	testutil.Eventually(t, 5*time.Second, "server sees the client leave", func() bool { return srv.State() == Disconnected })
	cfg := cli.Config()
	cli2 := open(t, cfg)
	testutil.Eventually(t, 5*time.Second, "a new client connects", func() bool { return cli2.State() == Connected && srv.State() == Connected })
	frames := [][]byte{testFrame(1, 60), testFrame(2, 1000)}
	checkFrames(t, exchange(t, c, cli2.Ports()[0], srv.Ports()[0], frames), frames)

	scfg := srv.Config()
	srv.Close()
	testutil.Eventually(t, 5*time.Second, "client sees the server leave", func() bool { return cli2.State() == Disconnected })
	srv2 := open(t, scfg)
	testutil.Eventually(t, 5*time.Second, "client reconnects to the restarted server", func() bool {
		return cli2.State() == Connected && srv2.State() == Connected
	})
	checkFrames(t, exchange(t, c, srv2.Ports()[0], cli2.Ports()[0], frames), frames)
	if n := cli2.Count(CountConnects); n != 2 {
		t.Errorf("client connects %d, want 2", n)
	}
}

// TestRefusals: a client with the wrong id or secret is refused with a
// reason, counted on the server, and never connects.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cli     Config
		counter Counter
	}{
		{"id", Config{ID: 7, Secret: "s3cret"}, CountBadID},
		{"secret", Config{ID: 3, Secret: "wrong"}, CountBadSecret},
		{"no-secret", Config{ID: 3}, CountBadSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "s")
			srv := open(t, Config{Socket: sock, ID: 3, Secret: "s3cret"})
			tc.cli.Socket, tc.cli.Role = sock, Client
			cli := open(t, tc.cli)
			testutil.Eventually(t, 5*time.Second, "refusal counted", func() bool {
				return srv.Count(tc.counter) > 0 && cli.Count(CountPeerRefused) > 0
			})
			if srv.State() == Connected || cli.State() == Connected {
				t.Fatal("refused client connected")
			}
			if _, _, e := cli.Peer(); e == "" {
				t.Error("client recorded no reason")
			}
			if info := srv.Info(); !strings.Contains(info, CounterNames[tc.counter]+"=") {
				t.Errorf("server info %q does not show %s", info, CounterNames[tc.counter])
			}
		})
	}
}

// TestZeroAllocs: Recv and Send on a connected port allocate nothing.
func TestZeroAllocs(t *testing.T) {
	eachMode(t, testZeroAllocs)
}

func testZeroAllocs(t *testing.T, zc bool) {
	c, srv, cli := connected(t, 4096, zc, Config{}, Config{})
	sp, cp := srv.Ports()[0], cli.Ports()[0]
	var v pkt.Vector
	allocs := testing.AllocsPerRun(2100, func() { // 67200 frames: the 16-bit ring counters wrap
		v.Reset()
		for range 32 {
			i, _ := c.Alloc()
			c.Arena().SetData(i, pkt.Headroom, 64)
			v.Append(i)
		}
		cp.Send(c, &v)
		v.Reset()
		sp.Recv(c, &v)
		sp.Send(c, &v)
		v.Reset()
		cp.Recv(c, &v)
		c.FreeN(v.Slice())
		cp.PrepareWait()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round trip", allocs)
	}
	if s := cp.Stats(); s.RxPackets != s.TxPackets || s.TxPackets < 2100*32 {
		t.Fatalf("client stats %+v", s)
	}
}

// TestInterrupt: once the receiver prepared to wait, the sender signals the
// eventfd and the receiver's PollFD becomes readable; while the receiver
// polls (interrupt masked) the sender makes no syscall for it.
func TestInterrupt(t *testing.T) {
	eachMode(t, testInterrupt)
}

func testInterrupt(t *testing.T, zc bool) {
	c, srv, cli := connected(t, 4096, zc, Config{}, Config{})
	for _, dir := range []struct {
		name     string
		from, to *Port
	}{{"client to server", cli.Ports()[0], srv.Ports()[0]}, {"server to client", srv.Ports()[0], cli.Ports()[0]}} {
		t.Run(dir.name, func(t *testing.T) {
			to := dir.to
			s := to.q.state.Load()
			var v pkt.Vector
			to.Recv(c, &v) // drain attach kicks and anything pending
			to.PrepareWait()
			pfd := []unix.PollFd{{Fd: int32(to.PollFD()), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, 0); n != 0 {
				t.Fatal("PollFD readable before anything was sent")
			}
			if s.rx.flags()&ringFlagMaskInt != 0 {
				t.Fatal("interrupt still masked after PrepareWait")
			}
			i, _ := c.Alloc()
			c.Arena().SetData(i, pkt.Headroom, 60)
			v.Append(i)
			dir.from.Send(c, &v)
			if n, _ := unix.Poll(pfd, 5000); n != 1 {
				t.Fatal("PollFD not readable after the peer sent")
			}
			v.Reset()
			if n := to.Recv(c, &v); n != 1 {
				t.Fatalf("received %d", n)
			}
			c.FreeN(v.Slice())
			if s.rx.flags()&ringFlagMaskInt == 0 {
				t.Fatal("interrupt not masked again once frames flow")
			}
		})
	}
}

// BenchmarkRoundTrip: one goroutine sends a vector of 64-byte frames from
// the client and receives it on the server (the client copies onto the
// ring, or puts its slots there zero-copy; the server copies out).
func BenchmarkRoundTrip(b *testing.B) {
	for _, m := range clientModes {
		b.Run(m.name, func(b *testing.B) { benchRoundTrip(b, m.zc) })
	}
}

func benchRoundTrip(b *testing.B, zc bool) {
	c, srv, cli := connected(b, 4096, zc, Config{}, Config{})
	sp, cp := srv.Ports()[0], cli.Ports()[0]
	var v pkt.Vector
	b.ResetTimer()
	for range b.N {
		v.Reset()
		for range 64 {
			i, _ := c.Alloc()
			c.Arena().SetData(i, pkt.Headroom, 60)
			v.Append(i)
		}
		cp.Send(c, &v)
		v.Reset()
		sp.Recv(c, &v)
		c.FreeN(v.Slice())
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds()/1e6, "Mpps")
}

// TestQueues: with several queue pairs each queue carries its own frames;
// a client asking for more queues than the server has gets the server's.
func TestQueues(t *testing.T) {
	eachMode(t, testQueues)
}

func testQueues(t *testing.T, zc bool) {
	c, srv, cli := connected(t, 8192, zc, Config{Queues: 3}, Config{Queues: 4})
	sp, cp := srv.Ports(), cli.Ports()
	for q := range 3 {
		frames := [][]byte{testFrame(uint32(100*q), 60), testFrame(uint32(100*q+1), 1200)}
		checkFrames(t, exchange(t, c, cp[q], sp[q], frames), frames)
		checkFrames(t, exchange(t, c, sp[q], cp[q], frames), frames)
	}
	if cp[3].Queue().Connected() {
		t.Error("client queue 3 connected to a server with 3 queues")
	}
	for q := range 3 {
		if s := sp[q].Stats(); s.RxPackets != 2 || s.TxPackets != 2 {
			t.Errorf("server queue %d: %+v", q, s)
		}
	}
}
