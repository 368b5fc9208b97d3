package neighbor

import "testing"

// TestWithDefaults: zero and negative fields take the defaults, set ones
// are kept, for both the table's Config and GleanConfig.
func TestWithDefaults(t *testing.T) {
	if got, want := (Config{MaxEntries: -1, Probes: 7}).WithDefaults(), (Config{MaxEntries: DefaultMaxEntries,
		ReachableNs: DefaultReachableNs, StaleNs: DefaultStaleNs, ProbeNs: DefaultProbeNs, Probes: 7, SolicitNs: DefaultSolicitNs}); got != want {
		t.Errorf("Config.WithDefaults = %+v, want %+v", got, want)
	}
	if got, want := (Config{ReachableNs: 5, StaleNs: 6, ProbeNs: 7, SolicitNs: 8, MaxEntries: 9}).WithDefaults(),
		(Config{ReachableNs: 5, StaleNs: 6, ProbeNs: 7, SolicitNs: 8, MaxEntries: 9, Probes: DefaultProbes}); got != want {
		t.Errorf("Config.WithDefaults = %+v, want %+v", got, want)
	}
	if got, want := (GleanConfig{PerTarget: 3, TimeoutNs: -5}).WithDefaults(), (GleanConfig{MaxTargets: DefaultGleanMaxTargets,
		PerTarget: 3, RetryNs: DefaultGleanRetryNs, TimeoutNs: DefaultGleanTimeoutNs}); got != want {
		t.Errorf("GleanConfig.WithDefaults = %+v, want %+v", got, want)
	}
}
