package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
)

// serverConfig is vecnet with one interface, the rig's router end toward
// host A, owning topo.RouterAAddr, on AF_XDP in the default (native when
// possible) mode; the XDP program redirects only that address (and ARP for
// it), the namespace's kernel keeps the rest.
func serverConfig(rig *topo.Rig) *vecnetconfig.Config {
	c := topo.RouterConfig(rig, "afxdp", "", "")
	c.Interfaces = c.Interfaces[:1]
	c.Interfaces[0].Match = vecnetconfig.Match{DstIP: []netip.Addr{netip.MustParseAddr(topo.RouterAAddr)}}
	return c
}

// server is the example on vecnet in the rig's router namespace; host A,
// a kernel at its default offloads, is the client.
type server struct {
	rig *topo.Rig
	d   *daemon.Daemon
}

// runServer runs the example with cfg (its log and its started and ready
// hooks set here) until the test ends, and returns once it serves.
func runServer(t *testing.T, rig *topo.Rig, cfg config) *server {
	t.Helper()
	s := &server{rig: rig}
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan struct{}, 1)
	errc := make(chan error, 1)
	cfg.log = slog.New(slog.DiscardHandler)
	cfg.started = func(d *daemon.Daemon) { s.d = d }
	cfg.ready = func(net.Addr) { readyc <- struct{}{} }
	go func() { errc <- run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-readyc:
	case err := <-errc:
		errc <- err
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	return s
}

// startServer builds the rig and runs the server in mode (nethttp,
// nethttp-dedicated: nethttp with -worker-thread dedicated, or ingraph);
// the server is stopped
// (its error, a leak included, fails the test) and the namespaces removed
// when the test ends.
func startServer(t *testing.T, mode string) *server {
	t.Helper()
	return startServerFault(t, mode, nil)
}

// startServerFault is startServer with fault injected into vecnet's TCP
// segments in both directions (nil: none).
func startServerFault(t *testing.T, mode string, fault *stack.TCPFault) *server {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"curl", "ethtool"} {
		testutil.RequireTool(t, tool)
	}
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "hs"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	thread := ""
	if mode == "nethttp-dedicated" { // net/http with the worker on a thread of its own
		mode, thread = "nethttp", "dedicated"
	}
	s := runServer(t, rig, config{mode: mode, workerThread: thread, listen: topo.RouterAAddr + ":80", vecnet: serverConfig(rig), fault: fault})
	return s
}

// tcpCounter sums tcp4-input's counter name over the workers.
func (s *server) tcpCounter(name string) uint64 {
	var n uint64
	for _, rows := range s.d.Errors() {
		for _, r := range rows {
			if r.Node == tcpnode.InputName && r.Name == name {
				n += r.Count
			}
		}
	}
	return n
}

// curl runs curl in host A.
func (s *server) curl(args ...string) (string, error) {
	return s.rig.A.Run("curl", append([]string{"-sS", "--max-time", "30"}, args...)...)
}

// TestVecnetBetweenNamespaces: curl in host A (kernel TCP at default
// offloads) fetches three URLs over one keep-alive connection, fetches
// 4 MiB from net/http served on vecnet's TCP over AF_XDP and checks the
// SHA-256, posts 1 MiB and checks the digest, and gets "connection
// refused" (a RST) from a closed port.
// The worker runs shared with net/http's goroutines (the mode's default).
func TestVecnetBetweenNamespaces(t *testing.T) {
	s := testBetweenNamespaces(t, "nethttp")
	if !s.d.Workers[0].Shared {
		t.Error("-mode nethttp: the worker is not Shared")
	}
}

// TestVecnetDedicatedBetweenNamespaces is TestVecnetBetweenNamespaces with
// the worker on a thread of its own (-worker-thread dedicated).
func TestVecnetDedicatedBetweenNamespaces(t *testing.T) {
	s := testBetweenNamespaces(t, "nethttp-dedicated")
	if s.d.Workers[0].Shared {
		t.Error("-worker-thread dedicated: the worker is Shared")
	}
}

// TestInGraphBetweenNamespaces is TestVecnetBetweenNamespaces against the
// in-graph responder (-mode ingraph), plus: an unknown path gets 404.
func TestInGraphBetweenNamespaces(t *testing.T) {
	s := testBetweenNamespaces(t, "ingraph")
	base := "http://" + topo.RouterAAddr
	t.Run("not found", func(t *testing.T) {
		out, err := s.curl("-o", "/dev/null", "-w", "%{http_code}", base+"/nope")
		if err != nil || out != "404" {
			t.Fatalf("GET /nope: %v %q", err, out)
		}
	})
}

func testBetweenNamespaces(t *testing.T, mode string) *server {
	s := startServer(t, mode)
	base := "http://" + topo.RouterAAddr

	t.Run("GET /", func(t *testing.T) {
		out, err := s.curl("-f", base+"/")
		if err != nil || out != "hello from httpserver\n" {
			t.Fatalf("GET /: %v\n%s", err, out)
		}
	})
	t.Run("keep-alive", func(t *testing.T) {
		// Three GETs over one connection: curl's num_connects is 1, then 0.
		out, err := s.curl("-f", "-w", "[%{num_connects}]", base+"/", base+"/bytes/100000", base+"/")
		want := sha256.Sum256(Bytes(100000))
		if err != nil || !strings.HasPrefix(out, "hello from httpserver\n[1]") || !strings.HasSuffix(out, "hello from httpserver\n[0]") {
			t.Fatalf("three GETs on one connection: %v\n%.200q", err, out)
		}
		body := strings.TrimSuffix(strings.TrimPrefix(out, "hello from httpserver\n[1]"), "[0]hello from httpserver\n[0]")
		if sha256.Sum256([]byte(body)) != want {
			t.Fatalf("keep-alive /bytes/100000: %d bytes, wrong digest", len(body))
		}
	})
	t.Run("GET 4 MiB", func(t *testing.T) {
		const n = 4 << 20
		dir := t.TempDir()
		body, hdr := filepath.Join(dir, "body"), filepath.Join(dir, "headers")
		if out, err := s.curl("-f", "-D", hdr, "-o", body, base+"/bytes/"+strconv.Itoa(n)); err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		got, err := os.ReadFile(body)
		if err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(Bytes(n))
		if sum := sha256.Sum256(got); len(got) != n || sum != want {
			t.Fatalf("%d bytes with sha256 %x, want %d with %x", len(got), sum, n, want)
		}
		h, _ := os.ReadFile(hdr)
		if !strings.Contains(strings.ToLower(string(h)), "x-sha256: "+hex.EncodeToString(want[:])) {
			t.Errorf("X-Sha256 header missing or wrong:\n%s", h)
		}
	})
	t.Run("POST 1 MiB", func(t *testing.T) {
		data := Bytes(1<<20 + 333)
		f := filepath.Join(t.TempDir(), "post")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := s.curl("-f", "--data-binary", "@"+f, base+"/sha256")
		want := sha256.Sum256(data)
		if err != nil || strings.TrimSpace(out) != hex.EncodeToString(want[:]) {
			t.Fatalf("POST: %v, got %q want %x", err, out, want)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		before := s.tcpCounter("no_connection")
		// curl reports ECONNREFUSED as exit 7, "Couldn't connect" (newer
		// curls) or "Connection refused" (older ones) ...
		out, err := s.curl("http://" + topo.RouterAAddr + ":81/")
		if err == nil || !strings.Contains(err.Error(), "exit status 7") ||
			!(strings.Contains(out, "refused") || strings.Contains(out, "Couldn't connect")) {
			t.Fatalf("curl to a closed port: %v, want connection refused\n%s", err, out)
		}
		// ... and the kernel's connect says exactly which.
		derr := s.rig.A.Do(func() error {
			c, err := net.DialTimeout("tcp", topo.RouterAAddr+":81", 5*time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if !errors.Is(derr, syscall.ECONNREFUSED) {
			t.Errorf("connect from host A to a closed port: %v, want ECONNREFUSED", derr)
		}
		if after := s.tcpCounter("no_connection"); after <= before {
			t.Errorf("no_connection %d -> %d, want an increase", before, after)
		}
	})
	if n := s.tcpCounter("bad_checksum"); n != 0 {
		t.Errorf("%s bad_checksum = %d", tcpnode.InputName, n)
	}
	return s
}
