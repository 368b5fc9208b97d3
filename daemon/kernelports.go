package daemon

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/afpacket"
	"github.com/vecnet/vecnet/driver/afxdp"
	"github.com/vecnet/vecnet/driver/tap"
	"github.com/vecnet/vecnet/internal/xdpprog"
	"github.com/vecnet/vecnet/internal/xsk"
	"github.com/vecnet/vecnet/pkt"
)

// kernelInterface is what the kernel drivers' interfaces have in common.
type kernelInterface interface {
	Ports() []driver.Port
	MAC() [6]byte
	Info() string
	Close(c *pkt.Cache) error
}

// openKernel opens interface ic on its kernel device (afxdp, afpacket or
// tap), inside ic.Netns when set. AF_XDP interfaces all share the UMEM
// registered by the first one (the arena), so a frame received on one
// leaves by another without a copy.
func (d *Daemon) openKernel(ic config.Interface) (kernelInterface, error) {
	var ifc kernelInterface
	err := inNetns(ic.Netns, func() error {
		var err error
		switch ic.Driver {
		case "afxdp":
			var x *afxdp.Interface
			x, err = d.openAFXDP(ic)
			if err == nil {
				ifc = x
			}
		case "afpacket":
			var p *afpacket.Interface
			p, err = afpacket.Open(afpacket.Config{Device: ic.Device, Queues: ic.Queues, MAC: [6]byte(ic.MAC), Ring: ic.RxRing})
			if err == nil {
				ifc = p
			}
		case "tap":
			var t *tap.Interface
			t, err = tap.Open(tap.Config{Name: ic.Device, Queues: ic.Queues, MTU: ic.MTU, MAC: [6]byte(ic.MAC)})
			if err == nil {
				ifc = t
			}
		default:
			err = fmt.Errorf("driver %q is not a kernel driver", ic.Driver)
		}
		return err
	})
	return ifc, err
}

func (d *Daemon) openAFXDP(ic config.Interface) (*afxdp.Interface, error) {
	m, err := xdpMatch(ic.Match)
	if err != nil {
		return nil, err
	}
	cfg := afxdp.Config{
		Device:   ic.Device,
		Queues:   ic.Queues,
		Mode:     ic.XDPMode,
		ZeroCopy: ic.BindMode == "zerocopy",
		Copy:     ic.BindMode == "copy",
		RingSize: uint32(ic.RingSize),
		BusyPoll: xsk.BusyPoll{Usecs: ic.BusyPollUsecs, Budget: ic.BusyPollBudget, Prefer: ic.PreferBusyPoll},
		Match:    m,
		Shared:   d.umemOwner,
		Logf: func(f string, a ...any) {
			d.Log.Info("AF_XDP port open", "interface", ic.Name, "mode", fmt.Sprintf(f, a...))
		},
	}
	x, err := afxdp.Open(cfg, d.DP.Arena)
	if err != nil {
		return nil, err
	}
	if d.umemOwner == nil {
		d.umemOwner = x
	}
	return x, nil
}

// xdpMatch converts the config's match to the XDP program's.
func xdpMatch(m config.Match) (xdpprog.Match, error) {
	if m.All {
		return xdpprog.Match{All: true}, nil
	}
	x := xdpprog.Match{DstIP: m.DstIP}
	switch m.Proto {
	case "":
	case "udp":
		x.Proto = xdpprog.ProtoUDP
	case "tcp":
		x.Proto = xdpprog.ProtoTCP
	case "icmp":
		x.Proto = 1
	default:
		return x, fmt.Errorf("match: protocol %q is not supported by the XDP program", m.Proto)
	}
	switch len(m.DstPort) {
	case 0:
	case 1:
		x.DstPort = m.DstPort[0]
	default:
		return x, fmt.Errorf("match: the XDP program matches one destination port, not %d", len(m.DstPort))
	}
	return x, x.Validate()
}

// inNetns runs f on a thread inside the named network namespace (a name
// under /run/netns or an absolute path), or on the current thread's
// namespace when name is empty. Sockets and links f opens stay in that
// namespace; the thread is discarded afterwards.
func inNetns(name string, f func() error) error {
	if name == "" {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		var h netns.NsHandle
		var err error
		if name[0] == '/' {
			h, err = netns.GetFromPath(name)
		} else {
			h, err = netns.GetFromName(name)
		}
		if err != nil {
			errc <- fmt.Errorf("network namespace %s: %w", name, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
