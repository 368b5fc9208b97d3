package memif

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
)

// testpmd is DPDK's dpdk-testpmd with one net_memif port, io-forwarding
// what it receives back out of the same port (--port-topology=loop).
type testpmd struct {
	t     testing.TB
	cmd   *exec.Cmd
	out   *testutil.SyncBuffer
	stdin io.WriteCloser
	done  chan struct{}
}

// startTestpmd runs testpmd with role ("server" or "client") on sock, and
// waits until it forwards. It is killed at cleanup if still running.
func startTestpmd(t testing.TB, role, sock string, id int) *testpmd {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "dpdk-testpmd")
	vdev := fmt.Sprintf("net_memif0,role=%s,socket=%s,socket-abstract=no,id=%d", role, sock, id)
	// stdbuf: testpmd's stdout is a pipe here, which stdio would buffer
	// until exit.
	cmd := exec.Command("stdbuf", "-oL", "dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "-l", "0,1",
		"--vdev", vdev, "--", "--total-num-mbufs", "16384", "--forward-mode=io", "--port-topology=loop")
	tp := &testpmd{t: t, cmd: cmd, out: &testutil.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = tp.out, tp.out
	var err error
	if tp.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(tp.done) }()
	t.Cleanup(tp.kill)
	ok := false
	testutil.Eventually(t, 30*time.Second, "testpmd starts forwarding", func() bool {
		select {
		case <-tp.done:
			return true
		default:
		}
		ok = regexp.MustCompile(`Press enter to exit`).MatchString(tp.out.String())
		return ok
	})
	if !ok || regexp.MustCompile(`No probed ethernet devices`).MatchString(tp.out.String()) {
		t.Fatalf("testpmd did not start its memif port:\n%s", tp.out.String())
	}
	return tp
}

// kill ends testpmd at once (SIGKILL), as a crash would.
func (tp *testpmd) kill() {
	select {
	case <-tp.done:
		return
	default:
	}
	_ = tp.cmd.Process.Signal(syscall.SIGKILL)
	<-tp.done
}

var statsRE = regexp.MustCompile(`RX-packets: (\d+)\s+RX-dropped: (\d+)[\s\S]*?TX-packets: (\d+)\s+TX-dropped: (\d+)`)

// stop asks testpmd to exit and returns the packets its port received and
// transmitted, and those it dropped.
func (tp *testpmd) stop() (rx, tx, dropped uint64) {
	tp.t.Helper()
	_, _ = tp.stdin.Write([]byte("\n"))
	select {
	case <-tp.done:
	case <-time.After(20 * time.Second):
		tp.kill()
		tp.t.Fatalf("testpmd did not exit:\n%s", tp.out.String())
	}
	m := statsRE.FindStringSubmatch(tp.out.String())
	if m == nil {
		tp.t.Fatalf("no statistics in testpmd's output:\n%s", tp.out.String())
	}
	n := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
	return n(m[1]), n(m[3]), n(m[2]) + n(m[4])
}

// echo sends count frames through p and receives them back (testpmd loops
// them), keeping at most window in flight so no ring overflows; it checks
// every frame comes back intact and in order.
func echo(t testing.TB, c *pkt.Cache, p *Port, count, window int) {
	t.Helper()
	a := c.Arena()
	var v pkt.Vector
	sent, got := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for got < count {
		if time.Now().After(deadline) {
			t.Fatalf("echoed %d of %d frames (sent %d)", got, count, sent)
		}
		v.Reset()
		for sent < count && sent-got < window && v.Len < 32 {
			i, ok := c.Alloc()
			if !ok {
				t.Fatal("pool dry")
			}
			d, _ := a.SetData(i, pkt.Headroom, 60+sent%1400)
			copy(d, testFrame(uint32(sent), len(d)))
			v.Append(i)
			sent++
		}
		if n := v.Len; n > 0 {
			if q := p.Send(c, &v); q != n {
				t.Fatalf("sent %d of %d", q, n)
			}
		}
		v.Reset()
		p.Recv(c, &v)
		for _, i := range v.Slice() {
			want := testFrame(uint32(got), 60+got%1400)
			if d := a.Data(i); string(d) != string(want) {
				t.Fatalf("frame %d came back as %d bytes %x…", got, len(d), d[:min(8, len(d))])
			}
			got++
		}
		c.FreeN(v.Slice())
	}
}

// testpmdCases are vecnet's roles against testpmd: the client copying or
// zero-copy, and the server (which always copies).
var testpmdCases = []struct {
	name string
	role Role
	zc   bool
}{{"vecnet-client", Client, false}, {"vecnet-client-zerocopy", Client, true}, {"vecnet-server", Server, false}}

// TestTestpmd exchanges frames with DPDK's testpmd in each role: every
// frame vecnet sends comes back, and both sides count exactly as many.
func TestTestpmd(t *testing.T) {
	for _, tc := range testpmdCases {
		role := tc.role
		t.Run(tc.name, func(t *testing.T) {
			const count = 20000
			pool := newPool(t, 4096, tc.zc)
			c := pool.NewCache()
			defer c.Flush()
			sock := filepath.Join(t.TempDir(), "memif.sock")
			var tp *testpmd
			peerRole := "client"
			if role == Client {
				peerRole = "server"
				tp = startTestpmd(t, peerRole, sock, 0)
			}
			e := open(t, mode(Config{Name: "vn0", Socket: sock, Role: role}, pool, tc.zc))
			if role == Server {
				tp = startTestpmd(t, peerRole, sock, 0)
			}
			testutil.Eventually(t, 10*time.Second, "vecnet connects to testpmd", func() bool { return e.State() == Connected })
			if app, _, _ := e.Peer(); !regexp.MustCompile(`DPDK`).MatchString(app) {
				t.Errorf("peer application %q, want DPDK's", app)
			}
			p := e.Ports()[0]
			echo(t, c, p, count, 512)
			rx, tx, dropped := tp.stop()
			if rx != count || tx != count || dropped != 0 {
				t.Errorf("testpmd counted rx %d tx %d dropped %d, want %d each and no drops", rx, tx, dropped, count)
			}
			s := p.Stats()
			if s.TxPackets != count || s.RxPackets != count || s.RxErrors != 0 || s.TxDrops != 0 {
				t.Errorf("vecnet stats %+v", s)
			}
			testutil.Eventually(t, 10*time.Second, "vecnet sees testpmd leave", func() bool { return e.State() == Disconnected })
		})
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestTestpmdRestart kills testpmd (SIGKILL) mid-run and starts it again:
// vecnet notices, reconnects by itself in either role, and frames flow.
func TestTestpmdRestart(t *testing.T) {
	for _, tc := range testpmdCases {
		role := tc.role
		t.Run(tc.name, func(t *testing.T) {
			pool := newPool(t, 4096, tc.zc)
			c := pool.NewCache()
			defer c.Flush()
			sock := filepath.Join(t.TempDir(), "memif.sock")
			peerRole := map[Role]string{Client: "server", Server: "client"}[role]
			var tp *testpmd
			if role == Client {
				tp = startTestpmd(t, peerRole, sock, 0)
			}
			e := open(t, mode(Config{Name: "vn0", Socket: sock, Role: role}, pool, tc.zc))
			for round := range 3 {
				if role == Server || round > 0 {
					if role == Client {
						// A killed DPDK server leaves its socket file, and
						// DPDK will not bind over it: clear it, as an
						// operator restarting it would.
						_ = os.Remove(sock)
					}
					tp = startTestpmd(t, peerRole, sock, 0)
				}
				if !waitFor(10*time.Second, func() bool { return e.State() == Connected }) {
					_, _, lastErr := e.Peer()
					t.Fatalf("round %d: vecnet did not connect (last error %q); testpmd:\n%s", round, lastErr, tp.out.String())
				}
				p := e.Ports()[0]
				echo(t, c, p, 2000, 256)
				p.Close(c) // a zero-copy port's recycled slots go back to the pool
				tp.kill()
				testutil.Eventually(t, 10*time.Second, fmt.Sprintf("round %d: vecnet sees testpmd die", round), func() bool { return e.State() == Disconnected })
			}
			if n := e.Count(CountConnects); n != 3 {
				t.Errorf("%d connects, want 3", n)
			}
		})
	}
}
