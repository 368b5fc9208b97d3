package daemon

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/l3/neighbor"
)

// TestARPConfigDefaults: the config's documented defaults are the
// packages' own, and set fields pass through.
func TestARPConfigDefaults(t *testing.T) {
	nc, gc := arpConfigs(config.ARP{})
	nc, gc = nc.WithDefaults(), gc.WithDefaults()
	if nc.MaxEntries != config.DefaultARPMaxEntries || nc.ReachableNs != int64(config.DefaultARPReachableTime) ||
		nc.StaleNs != int64(config.DefaultARPStaleTime) || nc.ProbeNs != int64(config.DefaultARPProbeInterval) ||
		nc.Probes != config.DefaultARPProbes {
		t.Errorf("neighbour defaults %+v differ from the config's", nc)
	}
	if gc.MaxTargets != config.DefaultARPGleanMaxTargets || gc.PerTarget != config.DefaultARPGleanPerTarget ||
		gc.RetryNs != int64(config.DefaultARPGleanRetry) || gc.TimeoutNs != int64(config.DefaultARPGleanTimeout) {
		t.Errorf("glean defaults %+v differ from the config's", gc)
	}
	nc, gc = arpConfigs(config.ARP{MaxEntries: 7, ReachableTime: time.Second, GleanRetry: time.Millisecond, GleanMaxTargets: 3})
	if nc.MaxEntries != 7 || nc.ReachableNs != 1e9 || gc.RetryNs != 1e6 || gc.MaxTargets != 3 {
		t.Errorf("set fields lost: %+v %+v", nc, gc)
	}
}

// TestShowNeighborStats: the "key value" lines the soak reads.
func TestShowNeighborStats(t *testing.T) {
	dp, err := dataplane.New(64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dp.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := dp.AddInterface("eth0", [6]byte{2, 0, 0, 0, 0, 1}, 1500, netip.MustParsePrefix("10.0.0.1/24")); err != nil {
		t.Fatal(err)
	}
	dp.Neighbors.SetConfig(neighbor.Config{MaxEntries: 100})
	dp.Neighbors.Learn(0, [4]byte{10, 0, 0, 2}, [6]byte{2, 0, 0, 0, 0, 2}, 0)
	dp.Neighbors.AddStatic(0, [4]byte{10, 0, 0, 3}, [6]byte{2, 0, 0, 0, 0, 3})
	d := &Daemon{DP: dp}
	var b bytes.Buffer
	r, err := d.Backend().Neighbors()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.WriteNeighborStats(&b, r.Stats); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"entries 2\n", "static 1\n", "reachable 1\n", "limit 100\n", "created 1\n", "adjacencies_live 5\n", "adjacencies_free 0\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}
