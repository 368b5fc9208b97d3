package daemon

import (
	"fmt"
	"io"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/l3/neighbor"
)

// arpConfigs turns the config's arp block into the neighbour table's and
// ip4-glean's settings (zero fields stay zero: the packages' defaults).
func arpConfigs(a config.ARP) (neighbor.Config, neighbor.GleanConfig) {
	return neighbor.Config{
			MaxEntries:  a.MaxEntries,
			ReachableNs: int64(a.ReachableTime),
			StaleNs:     int64(a.StaleTime),
			ProbeNs:     int64(a.ProbeInterval),
			Probes:      a.Probes,
		}, neighbor.GleanConfig{
			MaxTargets: a.GleanMaxTargets,
			PerTarget:  a.GleanPerTarget,
			RetryNs:    int64(a.GleanRetry),
			TimeoutNs:  int64(a.GleanTimeout),
		}
}

// showNeighborStats prints the neighbour table's and the FIB's adjacency
// counts as "key value" lines, for scripts (the soak's growth checks).
func (d *Daemon) showNeighborStats(w io.Writer, _ []string) error {
	s := d.DP.Neighbors.Stats()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"entries", s.Entries}, {"static", s.Static}, {"reachable", s.Reachable}, {"stale", s.Stale}, {"probe", s.Probe},
		{"limit", s.Limit}, {"created", s.Created}, {"changed", s.Changed}, {"evicted", s.Evicted}, {"expired", s.Expired},
		{"refused", s.Refused}, {"adjacencies_live", s.Adj.Live}, {"adjacencies_free", s.Adj.Free},
		{"adjacencies_quarantined", s.Adj.Quarantined}, {"adjacency_slots", s.Adj.Slots},
	} {
		if _, err := fmt.Fprintf(w, "%s %v\n", kv.k, kv.v); err != nil {
			return err
		}
	}
	return nil
}
