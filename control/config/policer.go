package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vecnet/vecnet/service/policer"
)

// Policer meters the IPv4 traffic an interface receives (RFC 2697 srTCM or
// RFC 2698 trTCM) and acts on each colour; without an interface it is a
// class policer, metering what ACL rules that name it (police: NAME)
// permit. YAML:
//
//	policers:
//	  - name: cust-a
//	    interface: eth0        # optional: omitted for a class policer
//	    mode: srtcm            # or trtcm
//	    cir: 100mbit           # bits per second: a number, or with kbit, mbit, gbit
//	    cbs: 64k               # bytes: a number, or with k or m (1024, 1048576)
//	    ebs: 128k              # srtcm
//	    # pir: 200mbit, pbs: 128k for trtcm
//	    green: transmit        # transmit | drop | mark-dscp N
//	    yellow: mark-dscp 10
//	    red: drop
//
// The defaults are transmit, transmit, drop.
type Policer struct {
	Name      string
	Interface string
	Meter     policer.Config
	Actions   [policer.NumColors]policer.Action
}

func (w *walker) policers(n *yaml.Node, ifaces map[string]bool) []Policer {
	var out []Policer
	names, bound := seenAt{}, seenAt{}
	for _, it := range w.seq(n, "policers", false) {
		p, ok := w.policer(it, ifaces)
		if !ok {
			continue
		}
		if l, dup := names.first(p.Name, it.Line); dup {
			w.errorf(it, "policer %q: name already used at line %d", p.Name, l)
			continue
		}
		if l, dup := bound.first(p.Interface, it.Line); p.Interface != "" && dup {
			w.errorf(it, "policer %q: interface %q already has the policer at line %d", p.Name, p.Interface, l)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (w *walker) policer(n *yaml.Node, ifaces map[string]bool) (Policer, bool) {
	f := w.fields(n, "policer", "name", "interface", "mode", "cir", "cbs", "ebs", "pir", "pbs", "green", "yellow", "red")
	if f == nil {
		return Policer{}, false
	}
	w.require(n, f, "policer", "name", "cir", "cbs")
	p := Policer{Actions: [policer.NumColors]policer.Action{policer.Red: {Kind: policer.Drop}}}
	ok := true
	if v, has := f["name"]; has {
		p.Name, ok = w.str(v, "policer name")
	}
	if v, has := f["interface"]; has {
		if s, good := w.str(v, "policer interface"); good {
			if !ifaces[s] {
				w.errorf(v, "policer interface: no interface named %q", s)
				ok = false
			}
			p.Interface = s
		}
	}
	p.Meter.Mode = policer.SingleRate
	if v, has := f["mode"]; has {
		if s, good := w.oneOf(v, "policer mode", "srtcm", "trtcm"); good && s == "trtcm" {
			p.Meter.Mode = policer.TwoRate
		}
	}
	rate := func(key string, dst *uint64) {
		if v, has := f[key]; has {
			if r, good := w.bitRate(v, "policer "+key); good {
				*dst = r / 8
			} else {
				ok = false
			}
		}
	}
	burst := func(key string, dst *uint64) {
		if v, has := f[key]; has {
			if b, good := w.byteSize(v, "policer "+key); good {
				*dst = b
			} else {
				ok = false
			}
		}
	}
	rate("cir", &p.Meter.CIR)
	rate("pir", &p.Meter.PIR)
	burst("cbs", &p.Meter.CBS)
	burst("ebs", &p.Meter.EBS)
	burst("pbs", &p.Meter.PBS)
	for c, key := range []string{"green", "yellow", "red"} {
		if v, has := f[key]; has {
			if a, good := w.policerAction(v, "policer "+key); good {
				p.Actions[c] = a
			} else {
				ok = false
			}
		}
	}
	if ok {
		if err := p.Meter.Validate(); err != nil {
			w.errorf(n, "policer %q: %v", p.Name, strings.ReplaceAll(err.Error(), "\n", "; "))
			ok = false
		}
	}
	return p, ok && len(f) > 0 && p.Name != ""
}

// bitRate reads a rate in bits per second: 1000000, 500kbit, 100mbit, 1gbit.
func (w *walker) bitRate(n *yaml.Node, what string) (uint64, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return 0, false
	}
	num, mult := s, uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"bit", 1}} {
		if strings.HasSuffix(strings.ToLower(s), u.suffix) {
			num, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	v, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || v > policer.MaxRate*8/mult {
		w.errorf(n, "%s: %q is not a rate in bits per second (a number up to 1000gbit, with kbit, mbit or gbit)", what, s)
		return 0, false
	}
	return v * mult, true
}

// byteSize reads a size in bytes: 1500, 64k, 1m (k and m are 1024 and 1048576).
func (w *walker) byteSize(n *yaml.Node, what string) (uint64, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return 0, false
	}
	num, mult := s, uint64(1)
	switch {
	case strings.HasSuffix(strings.ToLower(s), "k"):
		num, mult = s[:len(s)-1], 1<<10
	case strings.HasSuffix(strings.ToLower(s), "m"):
		num, mult = s[:len(s)-1], 1<<20
	}
	v, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || v > policer.MaxBurst/mult {
		w.errorf(n, "%s: %q is not a size in bytes (a number up to 1024m, with k or m)", what, s)
		return 0, false
	}
	return v * mult, true
}

func (w *walker) policerAction(n *yaml.Node, what string) (policer.Action, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return policer.Action{}, false
	}
	switch fs := strings.Fields(s); {
	case s == "transmit":
		return policer.Action{Kind: policer.Transmit}, true
	case s == "drop":
		return policer.Action{Kind: policer.Drop}, true
	case len(fs) == 2 && fs[0] == "mark-dscp":
		if d, err := strconv.ParseUint(fs[1], 10, 8); err == nil && d < 64 {
			return policer.Action{Kind: policer.MarkDSCP, DSCP: uint8(d)}, true
		}
	}
	w.errorf(n, "%s: %q is not transmit, drop or mark-dscp 0..63", what, s)
	return policer.Action{}, false
}

// filePolicer is a Policer as Marshal writes it.
type filePolicer struct {
	Name      string `yaml:"name"`
	Interface string `yaml:"interface,omitempty"`
	Mode      string `yaml:"mode"`
	CIR       string `yaml:"cir"`
	CBS       uint64 `yaml:"cbs"`
	EBS       uint64 `yaml:"ebs,omitempty"`
	PIR       string `yaml:"pir,omitempty"`
	PBS       uint64 `yaml:"pbs,omitempty"`
	Green     string `yaml:"green"`
	Yellow    string `yaml:"yellow"`
	Red       string `yaml:"red"`
}

func marshalPolicers(ps []Policer) []filePolicer {
	var out []filePolicer
	action := func(a policer.Action) string {
		switch a.Kind {
		case policer.Drop:
			return "drop"
		case policer.MarkDSCP:
			return fmt.Sprintf("mark-dscp %d", a.DSCP)
		}
		return "transmit"
	}
	for _, p := range ps {
		f := filePolicer{Name: p.Name, Interface: p.Interface, Mode: "srtcm", CIR: fmt.Sprintf("%dbit", p.Meter.CIR*8),
			CBS: p.Meter.CBS, EBS: p.Meter.EBS, PBS: p.Meter.PBS,
			Green: action(p.Actions[policer.Green]), Yellow: action(p.Actions[policer.Yellow]), Red: action(p.Actions[policer.Red])}
		if p.Meter.Mode == policer.TwoRate {
			f.Mode, f.PIR = "trtcm", fmt.Sprintf("%dbit", p.Meter.PIR*8)
		}
		out = append(out, f)
	}
	return out
}
