// Package testutil builds throw-away network namespaces and veth pairs for
// integration tests, runs the kernel's own tools inside them, and waits on
// conditions instead of sleeping. Every namespace and link it makes is
// removed by t.Cleanup, also when the test fails; namespaces of a test
// binary that died before its cleanups (a timeout panic) are removed by the
// next one (topo.SweepStale).
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/topo"
)

// RequireRoot skips t when not root, unless CI is set, where it fails: CI
// must never pass by skipping.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("test needs root, and CI is set")
	}
	t.Skip("test needs root (network namespaces)")
}

// RequireTool skips t when the program is missing, unless CI is set, where
// it fails (CI installs every tool through scripts/setup.sh).
func RequireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("test needs %s, and CI is set (run scripts/setup.sh)", name)
	}
	t.Skipf("test needs %s (run scripts/setup.sh)", name)
}

var seq atomic.Uint32

// Name returns a short unique name with prefix, valid as a namespace or
// interface name (at most 15 bytes).
func Name(prefix string) string {
	s := fmt.Sprintf("%s%x%x", prefix, os.Getpid()&0xfff, seq.Add(1))
	if len(s) > 15 {
		s = s[len(s)-15:]
	}
	return s
}

// Run runs a command and fails t with its output if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// NS is a network namespace made for one test.
type NS struct {
	Name string
	t    testing.TB
}

// NewNS creates a namespace with loopback up, removed at cleanup.
func NewNS(t testing.TB, prefix string) *NS {
	t.Helper()
	RequireRoot(t)
	ns := &NS{Name: Name(prefix), t: t}
	Run(t, "ip", "netns", "add", ns.Name)
	topo.Claim(ns.Name)
	t.Cleanup(func() {
		if exec.Command("ip", "netns", "del", ns.Name).Run() == nil {
			topo.Release(ns.Name)
		}
	})
	ns.Run("ip", "link", "set", "lo", "up")
	return ns
}

// Run runs a command inside the namespace and fails t on error.
func (ns *NS) Run(name string, args ...string) string {
	ns.t.Helper()
	return Run(ns.t, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Try runs a command inside the namespace and returns its output and error.
func (ns *NS) Try(name string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start starts a long-running command inside the namespace; it is killed
// at cleanup. Its combined output collects in the returned buffer.
func (ns *NS) Start(name string, args ...string) (*exec.Cmd, *SyncBuffer) {
	ns.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	buf := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		ns.t.Fatalf("start %s: %v", name, err)
	}
	ns.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, buf
}

// Do runs f on an OS thread switched into the namespace: sockets, links and
// XDP programs that f creates belong to the namespace (see topo.NS.Do).
func (ns *NS) Do(f func() error) error { return topo.NS{Name: ns.Name}.Do(f) }

// Veth creates a veth pair a<->b with a in ns1 and b in ns2 (nil = the
// test's own namespace), both up. Extra args go to "ip link add" before
// "type veth" (for example "numrxqueues", "2").
func Veth(t testing.TB, ns1 *NS, a string, ns2 *NS, b string, extra ...string) {
	t.Helper()
	args := append([]string{"link", "add", a}, extra...)
	args = append(args, "type", "veth", "peer", "name", b)
	args = append(args, extra...)
	Run(t, "ip", args...)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	for _, x := range []struct {
		ns   *NS
		name string
	}{{ns1, a}, {ns2, b}} {
		if x.ns != nil {
			Run(t, "ip", "link", "set", x.name, "netns", x.ns.Name)
			x.ns.Run("ip", "link", "set", x.name, "up")
		} else {
			Run(t, "ip", "link", "set", x.name, "up")
		}
	}
}

// Eventually polls cond every few milliseconds until it returns true or
// the timeout passes, then fails t with msg.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v: %s", timeout, msg)
		case <-tick.C:
		}
	}
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
