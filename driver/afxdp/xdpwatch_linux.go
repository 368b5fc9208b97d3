package afxdp

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// XDPAttached reports whether the interface's XDP program is still attached
// to its device. Its bpf_link survives someone else detaching it (bpftool
// link detach) or the device going away, but then names no device any more:
// frames go to the kernel and the ports receive nothing. A control-plane
// call (one bpf syscall); not safe concurrently with ReattachXDP or Close.
func (ifc *Interface) XDPAttached() (bool, error) {
	if ifc.link == nil {
		return false, nil
	}
	info, err := ifc.link.Info()
	if err != nil {
		return false, fmt.Errorf("afxdp: %s: XDP link: %w", ifc.cfg.Device, err)
	}
	x := info.XDP()
	return x != nil && x.Ifindex != 0, nil
}

// ReattachXDP attaches the program to the device again, in the mode it was
// opened with, and releases the defunct link. The sockets stay registered
// in the program's map, so traffic resumes at once. It must run on a thread
// in the device's network namespace, and fails if the device is gone.
func (ifc *Interface) ReattachXDP() error {
	if ifc.prog == nil {
		return errors.New("afxdp: interface closed")
	}
	l, err := ifc.prog.Attach(ifc.ifindex, ifc.xdpMode)
	if err != nil {
		return fmt.Errorf("afxdp: %s: re-attach: %w", ifc.cfg.Device, err)
	}
	if ifc.link != nil {
		ifc.link.Close()
	}
	ifc.link = l
	return nil
}

// Device returns the name of the interface's device.
func (ifc *Interface) Device() string { return ifc.cfg.Device }

// DeviceGone reports whether the interface's device no longer exists in
// the namespace of the calling thread (which must be the device's): its
// sockets are unbound then.
func (ifc *Interface) DeviceGone() bool {
	_, err := netlink.LinkByIndex(ifc.ifindex)
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// MarkGone makes every port drop what it is asked to send, counted in
// TxDrops, instead of queueing it on a TX ring no kernel will drain: for
// an interface whose device was deleted. Safe from any goroutine.
func (ifc *Interface) MarkGone() {
	for _, p := range ifc.ports {
		p.gone.Store(true)
	}
}

// retire counts, once, the frames left on the TX ring of a port whose
// device is gone as dropped: they will never leave. The owning worker
// calls it from Recv or Send.
func (p *Port) retire() {
	if p.goneSeen {
		return
	}
	p.goneSeen = true
	lost := uint64(p.tx.Pending())
	p.stats.TxPackets -= min(lost, p.stats.TxPackets)
	p.stats.TxDrops += lost
}
