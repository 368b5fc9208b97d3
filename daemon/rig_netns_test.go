package daemon_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// rigRouter builds the host A ── router ── host B rig with opt and starts
// vecnet in the router namespace on the config topo.RouterConfig makes for
// driver and xdpMode, changed by tune when it is not nil. Both are torn
// down when the test ends: an error from Stop (a leaked buffer included)
// fails the test, and so does an XDP program left attached to a router
// device.
func rigRouter(t *testing.T, opt topo.RigOptions, driver, xdpMode string, tune func(*config.Config), dopt daemon.Options) (*topo.Rig, *daemon.Daemon) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	rig, err := topo.NewRig(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	cfg := topo.RouterConfig(rig, driver, xdpMode, "")
	if tune != nil {
		tune(cfg)
	}
	d, err := daemon.Start(cfg, dopt)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			stopClean(t, d)
			for _, dev := range []string{topo.RouterA, topo.RouterB} {
				out, _ := rig.R.Run("ip", "-d", "link", "show", "dev", dev)
				if strings.Contains(out, "prog/xdp") {
					t.Errorf("XDP program still attached to %s after Stop:\n%s", dev, out)
				}
			}
		})
	})
	return rig, d
}
