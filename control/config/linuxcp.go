package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vecnet/vecnet/service/policer"
)

// LinuxCP pairs a vecnet interface with a TAP in the host kernel (linux-cp):
// the TAP gets the interface's MAC and addresses, the router's own traffic
// that no vecnet node handles is punted to it behind a policer, what the
// kernel sends on it leaves by the interface, and the routes and
// neighbours the kernel learns on it are mirrored into vecnet's FIB. YAML:
//
//	linux_cp:
//	  - interface: eth0
//	    host_if: lcp-eth0      # the TAP's name, 1..15 characters
//	    netns: router          # optional: the TAP's namespace (default: the interface's)
//	    punt_rate: 20mbit      # optional: the punt policer's CIR (srTCM)
//	    punt_burst: 128k       # optional: its CBS and EBS
type LinuxCP struct {
	Interface string
	HostIf    string
	Netns     string
	// Punt is the punt policer (srTCM) of the pair.
	Punt policer.Config
}

// Punt policer defaults: 20 Mbit/s, bursts of 128 KiB.
const (
	DefaultPuntRate  = 20_000_000 / 8
	DefaultPuntBurst = 128 << 10
)

func (w *walker) linuxCPs(n *yaml.Node, ifaces map[string]bool) []LinuxCP {
	var out []LinuxCP
	bound, hosts := seenAt{}, seenAt{}
	for _, it := range w.seq(n, "linux_cp", false) {
		l, ok := w.linuxCP(it, ifaces)
		if !ok {
			continue
		}
		if line, dup := bound.first(l.Interface, it.Line); dup {
			w.errorf(it, "linux_cp: interface %q already has a host interface at line %d", l.Interface, line)
			continue
		}
		if line, dup := hosts.first(l.Netns+"/"+l.HostIf, it.Line); dup {
			w.errorf(it, "linux_cp: host_if %q already used at line %d", l.HostIf, line)
			continue
		}
		out = append(out, l)
	}
	return out
}

func (w *walker) linuxCP(n *yaml.Node, ifaces map[string]bool) (LinuxCP, bool) {
	f := w.fields(n, "linux_cp", "interface", "host_if", "netns", "punt_rate", "punt_burst")
	if f == nil {
		return LinuxCP{}, false
	}
	w.require(n, f, "linux_cp", "interface", "host_if")
	l := LinuxCP{Punt: policer.Config{Mode: policer.SingleRate, CIR: DefaultPuntRate, CBS: DefaultPuntBurst, EBS: DefaultPuntBurst}}
	ok := true
	if v, has := f["interface"]; has {
		if s, good := w.str(v, "linux_cp interface"); good {
			if !ifaces[s] {
				w.errorf(v, "linux_cp interface: no interface named %q", s)
				ok = false
			}
			l.Interface = s
		} else {
			ok = false
		}
	}
	if v, has := f["host_if"]; has {
		if s, good := w.str(v, "linux_cp host_if"); good {
			if s == "" || len(s) > 15 || strings.ContainsAny(s, " /\t") {
				w.errorf(v, "linux_cp host_if: %q is not a device name (1..15 characters, no spaces or '/')", s)
				ok = false
			}
			l.HostIf = s
		} else {
			ok = false
		}
	}
	if v, has := f["netns"]; has {
		l.Netns, _ = w.str(v, "linux_cp netns")
	}
	if v, has := f["punt_rate"]; has {
		if r, good := w.bitRate(v, "linux_cp punt_rate"); good && r > 0 {
			l.Punt.CIR = r / 8
		} else {
			if good {
				w.errorf(v, "linux_cp punt_rate: must be above 0")
			}
			ok = false
		}
	}
	if v, has := f["punt_burst"]; has {
		if b, good := w.byteSize(v, "linux_cp punt_burst"); good && b > 0 {
			l.Punt.CBS, l.Punt.EBS = b, b
		} else {
			if good {
				w.errorf(v, "linux_cp punt_burst: must be above 0")
			}
			ok = false
		}
	}
	if ok {
		if err := l.Punt.Validate(); err != nil {
			w.errorf(n, "linux_cp %q: punt policer: %v", l.Interface, strings.ReplaceAll(err.Error(), "\n", "; "))
			ok = false
		}
	}
	return l, ok && l.Interface != "" && l.HostIf != ""
}

// fileLinuxCP mirrors a linux_cp item for Marshal.
type fileLinuxCP struct {
	Interface string `yaml:"interface"`
	HostIf    string `yaml:"host_if"`
	Netns     string `yaml:"netns,omitempty"`
	PuntRate  string `yaml:"punt_rate"`
	PuntBurst uint64 `yaml:"punt_burst"`
}

func marshalLinuxCP(ls []LinuxCP) []fileLinuxCP {
	var out []fileLinuxCP
	for _, l := range ls {
		out = append(out, fileLinuxCP{Interface: l.Interface, HostIf: l.HostIf, Netns: l.Netns,
			PuntRate: fmt.Sprintf("%dbit", l.Punt.CIR*8), PuntBurst: l.Punt.CBS})
	}
	return out
}
