package daemon

import (
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
