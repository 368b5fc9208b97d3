package afxdp

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/internal/xdpprog"
	"github.com/vecnet/vecnet/internal/xsk"
	"github.com/vecnet/vecnet/pkt"
)

// Interface is one device taken over by AF_XDP: its XDP program and link and
// one Port per queue. Open and Close are control-plane calls; each Port is
// then driven by the worker that owns it.
type Interface struct {
	cfg     Config
	arena   *pkt.Arena
	ifindex int
	mtu     int // the device's MTU when opened: the segment size of super-frames
	mac     [6]byte
	xdpMode xdpprog.Mode
	prog    *xdpprog.Program
	link    link.Link
	ports   []*Port
}

// Open takes cfg.Device over: it opens one AF_XDP socket per queue over
// arena (the UMEM; shared with cfg.Shared if set), loads the XDP program for
// cfg.Match, registers the sockets and attaches the program. It must run on
// a thread in the device's network namespace; afterwards the Interface can
// be used from any thread. The ports' fill rings start empty and fill on the
// first Recv.
func Open(cfg Config, arena *pkt.Arena) (*Interface, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.Shared != nil && cfg.Shared.arena != arena {
		return nil, fmt.Errorf("%w: Shared interface uses another arena", ErrInvalidConfig)
	}
	l, err := netlink.LinkByName(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("afxdp: %s: %w", cfg.Device, err)
	}
	ifc := &Interface{cfg: cfg, arena: arena, ifindex: l.Attrs().Index, mtu: l.Attrs().MTU, xdpMode: xdpprog.Native}
	copy(ifc.mac[:], l.Attrs().HardwareAddr)
	// Auto: generic on a single-queue veth (faster there: native veth XDP
	// copies every frame that lacks 256 B of headroom), native otherwise.
	// Generic XDP on veth sees every frame as queue 0, so a multi-queue veth
	// needs native mode for its queues to receive anything.
	switch {
	case cfg.Mode == ModeGeneric, cfg.Mode == ModeAuto && l.Type() == "veth" && cfg.Queues == 1:
		ifc.xdpMode = xdpprog.Generic
	}
	if err := ifc.open(); err != nil {
		ifc.closeAll(nil)
		return nil, err
	}
	if cfg.Logf != nil {
		cfg.Logf("%s", ifc.Info())
	}
	return ifc, nil
}

func (ifc *Interface) open() error {
	cfg := ifc.cfg
	for q := 0; q < cfg.Queues; q++ {
		xc := xsk.Config{
			Ifindex: ifc.ifindex, Queue: q,
			FillSize: cfg.RingSize, RXSize: cfg.RingSize,
			CompSize: cfg.TXRingSize, TXSize: cfg.TXRingSize,
			ZeroCopy: cfg.ZeroCopy, Copy: cfg.Copy,
			SG:       true, // frames larger than a slot: see Port.Recv
			BusyPoll: cfg.BusyPoll,
		}
		var s *xsk.Socket
		var err error
		if primary := ifc.primary(); primary != nil {
			s, err = xsk.OpenShared(primary, xc)
		} else {
			s, err = xsk.Open(ifc.arena.Memory(), xc)
		}
		if err != nil {
			return fmt.Errorf("afxdp: %s queue %d: %w", cfg.Device, q, err)
		}
		ifc.ports = append(ifc.ports, newPort(s, ifc.arena, ifc.mtu))
	}
	var err error
	if ifc.prog, err = xdpprog.Load(cfg.Match, cfg.Queues); err != nil {
		return fmt.Errorf("afxdp: %s: %w", cfg.Device, err)
	}
	for q, p := range ifc.ports {
		if err := ifc.prog.Register(q, p.s.FD()); err != nil {
			return fmt.Errorf("afxdp: %s: %w", cfg.Device, err)
		}
	}
	if ifc.link, err = ifc.prog.Attach(ifc.ifindex, ifc.xdpMode); err != nil {
		return fmt.Errorf("afxdp: %s: %w", cfg.Device, err)
	}
	return nil
}

// primary returns the socket that owns the UMEM registration, or nil if
// none is open yet.
func (ifc *Interface) primary() *xsk.Socket {
	if sh := ifc.cfg.Shared; sh != nil {
		return sh.primary()
	}
	if len(ifc.ports) > 0 {
		return ifc.ports[0].s
	}
	return nil
}

// Ports returns one port per queue; port q must be driven by one worker
// (normally worker q).
func (ifc *Interface) Ports() []driver.Port {
	return driver.Ports(ifc.ports)
}

// Port returns the port of queue q.
func (ifc *Interface) Port(q int) *Port { return ifc.ports[q] }

// MAC returns the device's hardware address.
func (ifc *Interface) MAC() [6]byte { return ifc.mac }

// Ifindex returns the device's interface index.
func (ifc *Interface) Ifindex() int { return ifc.ifindex }

// Info describes the interface for logs and "show interfaces", e.g.
// "afxdp veth0 q2 generic copy need_wakeup ring 16384 match all".
func (ifc *Interface) Info() string {
	bind := "copy"
	if len(ifc.ports) > 0 {
		bind = ifc.ports[0].s.Mode().String()
	}
	shared := ""
	if ifc.cfg.Shared != nil {
		shared = " shared-umem " + ifc.cfg.Shared.cfg.Device
	}
	return fmt.Sprintf("afxdp %s q%d %v %s need_wakeup ring %d/%d match %v%s",
		ifc.cfg.Device, ifc.cfg.Queues, ifc.xdpMode, bind, ifc.cfg.RingSize, ifc.cfg.TXRingSize, ifc.cfg.Match, shared)
}

// XDPStats sums the kernel's socket counters over the queues.
func (ifc *Interface) XDPStats() (xsk.Stats, error) {
	var sum xsk.Stats
	for _, p := range ifc.ports {
		st, err := p.XDPStats()
		if err != nil {
			return sum, err
		}
		sum.RXDropped += st.RXDropped
		sum.RXInvalidDescs += st.RXInvalidDescs
		sum.TXInvalidDescs += st.TXInvalidDescs
		sum.RXRingFull += st.RXRingFull
		sum.RXFillRingEmptyDescs += st.RXFillRingEmptyDescs
		sum.TXRingEmptyDescs += st.TXRingEmptyDescs
	}
	return sum, nil
}

// Close detaches the XDP program, then closes each port (sharing sockets
// before the UMEM owner) and frees to c the buffers the kernel still held.
// Call it after the workers stopped driving the ports, and before closing
// an Interface this one shares. Calling it again is a no-op.
func (ifc *Interface) Close(c *pkt.Cache) error { return ifc.closeAll(c) }

func (ifc *Interface) closeAll(c *pkt.Cache) error {
	var errs []error
	if ifc.link != nil {
		errs = append(errs, ifc.link.Close())
		ifc.link = nil
	}
	for i := len(ifc.ports) - 1; i >= 0; i-- {
		errs = append(errs, ifc.ports[i].Close(c))
	}
	if ifc.prog != nil {
		errs = append(errs, ifc.prog.Close())
		ifc.prog = nil
	}
	return errors.Join(errs...)
}

// SetSegmentMTU sets the IP MTU that GSO super-frames are cut to on receive
// (copy mode hands them over whole and gives no segment size), when it is
// below the device's. A segment sized for the ingress link may not fit the
// egress one, and the sender cannot be made to shrink a super-frame vecnet
// segments itself: ICMP frag-needed lowers its segment size, which never
// reaches vecnet. So the daemon passes the smallest MTU of its interfaces.
// A smaller path MTU beyond vecnet still stalls TCP sent as super-frames;
// native mode (the kernel then turns the peer's GSO off) and AF_PACKET (the
// kernel gives the segment size) have no such limit. Call it before the
// ports are polled.
func (ifc *Interface) SetSegmentMTU(mtu int) {
	for _, p := range ifc.ports {
		if mtu > 0 && mtu < p.mtu {
			p.mtu = mtu
		}
	}
}
