package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// ARP bounds and ages the neighbour table and the glean queues. A zero
// field takes its default (the Default* constants below, the same as
// package neighbor's); a value given in the file must be in range. YAML key:
// arp, a mapping:
//
//	arp:
//	  max_entries: 16384      # learned neighbours (statics not counted)
//	  reachable_time: 30s     # a confirmed neighbour is REACHABLE this long
//	  stale_time: 60s         # then STALE this long before it is probed
//	  probe_interval: 1s      # gap between unicast probes
//	  probes: 3               # unanswered probes before deletion
//	  glean_max_targets: 64   # next hops with held packets, per worker
//	  glean_per_target: 8     # packets held per next hop
//	  glean_retry: 100ms      # at most one request per target per interval
//	  glean_timeout: 1s       # held packets are dropped after this
type ARP struct {
	MaxEntries      int           // 1..1048576. YAML: max_entries
	ReachableTime   time.Duration // 1s..24h. YAML: reachable_time
	StaleTime       time.Duration // 1s..24h. YAML: stale_time
	ProbeInterval   time.Duration // 10ms..1m. YAML: probe_interval
	Probes          int           // 1..20. YAML: probes
	GleanMaxTargets int           // 1..4096. YAML: glean_max_targets
	GleanPerTarget  int           // 1..256. YAML: glean_per_target
	GleanRetry      time.Duration // 1ms..10s. YAML: glean_retry
	GleanTimeout    time.Duration // 10ms..1m, at least glean_retry. YAML: glean_timeout
}

// Defaults of ARP's fields.
const (
	DefaultARPMaxEntries      = 16384
	DefaultARPReachableTime   = 30 * time.Second
	DefaultARPStaleTime       = 60 * time.Second
	DefaultARPProbeInterval   = time.Second
	DefaultARPProbes          = 3
	DefaultARPGleanMaxTargets = 64
	DefaultARPGleanPerTarget  = 8
	DefaultARPGleanRetry      = 100 * time.Millisecond
	DefaultARPGleanTimeout    = time.Second
)

type fileARP struct {
	MaxEntries      int    `yaml:"max_entries,omitempty"`
	ReachableTime   string `yaml:"reachable_time,omitempty"`
	StaleTime       string `yaml:"stale_time,omitempty"`
	ProbeInterval   string `yaml:"probe_interval,omitempty"`
	Probes          int    `yaml:"probes,omitempty"`
	GleanMaxTargets int    `yaml:"glean_max_targets,omitempty"`
	GleanPerTarget  int    `yaml:"glean_per_target,omitempty"`
	GleanRetry      string `yaml:"glean_retry,omitempty"`
	GleanTimeout    string `yaml:"glean_timeout,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// marshalARP returns the arp mapping for Marshal, nil when all defaults.
func marshalARP(a ARP) *fileARP {
	if a == (ARP{}) {
		return nil
	}
	return &fileARP{
		MaxEntries: a.MaxEntries, ReachableTime: durString(a.ReachableTime), StaleTime: durString(a.StaleTime),
		ProbeInterval: durString(a.ProbeInterval), Probes: a.Probes, GleanMaxTargets: a.GleanMaxTargets,
		GleanPerTarget: a.GleanPerTarget, GleanRetry: durString(a.GleanRetry), GleanTimeout: durString(a.GleanTimeout),
	}
}

// arp decodes the arp mapping.
func (w *walker) arp(n *yaml.Node) ARP {
	var a ARP
	m := w.fields(n, "arp", "max_entries", "reachable_time", "stale_time", "probe_interval", "probes",
		"glean_max_targets", "glean_per_target", "glean_retry", "glean_timeout")
	ints := []struct {
		key    string
		lo, hi int
		dst    *int
	}{
		{"max_entries", 1, 1 << 20, &a.MaxEntries},
		{"probes", 1, 20, &a.Probes},
		{"glean_max_targets", 1, 4096, &a.GleanMaxTargets},
		{"glean_per_target", 1, 256, &a.GleanPerTarget},
	}
	for _, f := range ints {
		if v, ok := m[f.key]; ok {
			*f.dst, _ = w.integer(v, "arp: "+f.key, f.lo, f.hi)
		}
	}
	durs := []struct {
		key    string
		lo, hi time.Duration
		dst    *time.Duration
	}{
		{"reachable_time", time.Second, 24 * time.Hour, &a.ReachableTime},
		{"stale_time", time.Second, 24 * time.Hour, &a.StaleTime},
		{"probe_interval", 10 * time.Millisecond, time.Minute, &a.ProbeInterval},
		{"glean_retry", time.Millisecond, 10 * time.Second, &a.GleanRetry},
		{"glean_timeout", 10 * time.Millisecond, time.Minute, &a.GleanTimeout},
	}
	for _, f := range durs {
		if v, ok := m[f.key]; ok {
			*f.dst, _ = w.duration(v, "arp: "+f.key, f.lo, f.hi)
		}
	}
	retry, timeout := a.GleanRetry, a.GleanTimeout
	if retry == 0 {
		retry = DefaultARPGleanRetry
	}
	if timeout == 0 {
		timeout = DefaultARPGleanTimeout
	}
	if a.GleanRetry != 0 || a.GleanTimeout != 0 {
		if timeout < retry {
			at := m["glean_timeout"]
			if at == nil {
				at = m["glean_retry"]
			}
			w.errorf(at, "arp: glean_timeout %v is shorter than glean_retry %v", timeout, retry)
		}
	}
	return a
}

// duration returns a scalar duration ("100ms", "30s") in lo..hi.
func (w *walker) duration(n *yaml.Node, what string, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		w.errorf(n, "%s: %q is not a duration (like 500ms, 30s, 2m)", what, s)
		return 0, false
	}
	if d < lo || d > hi {
		w.errorf(n, "%s: %v is out of range %v..%v", what, d, lo, hi)
		return 0, false
	}
	return d, true
}
