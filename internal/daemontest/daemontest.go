// Package daemontest starts a vecnet router between two namespaces with
// traffic flowing through it, for the tests of what observes a running
// daemon (control/metrics, control/web). Everything it starts is stopped
// and removed by t.Cleanup, also when the test fails.
package daemontest

import (
	"sync"
	"testing"

	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// Unrouted is an address no route covers: pings to it are dropped by the
// router and counted under an error counter of ip4-lookup.
const Unrouted = "10.77.99.9"

// Router builds the host A ── router ── host B rig (namespace names start
// with prefix) and runs vecnet as its router on driver ("afxdp",
// "afpacket"), without a CLI socket. A buffer leaked at Stop fails t.
func Router(t *testing.T, prefix, driver string) (*topo.Rig, *daemon.Daemon) {
	t.Helper()
	testutil.RequireRoot(t)
	rig, err := topo.NewRig(topo.RigOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	d, err := daemon.Start(topo.RouterConfig(rig, driver, "", ""), daemon.Options{NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return rig, d
}

// Ping runs ping from ns to dst every interval seconds ("0.02") until the
// test ends, when it is killed. Its output is returned for failure
// messages.
func Ping(t *testing.T, ns topo.NS, dst, interval string) *testutil.SyncBuffer {
	t.Helper()
	testutil.RequireTool(t, "ping")
	cmd := ns.Command("ping", "-q", "-n", "-i", interval, "-W", "1", dst)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("ping %s: %v", dst, err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	})
	return out
}

// Traffic starts the pings the observer tests watch: host A to host B
// through the router (forwarded both ways) and host A to Unrouted (dropped
// by the router, an error counter that moves).
func Traffic(t *testing.T, rig *topo.Rig) {
	t.Helper()
	Ping(t, rig.A, topo.HostBAddr, "0.02")
	Ping(t, rig.A, Unrouted, "0.2")
}
