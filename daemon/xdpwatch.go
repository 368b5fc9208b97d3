package daemon

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/driver/afxdp"
)

// DefaultXDPWatch is how often the daemon checks that its XDP programs are
// still attached (Options.XDPWatch).
const DefaultXDPWatch = time.Second

// xdpWatch is an AF_XDP interface's attachment state, kept by the watch.
type xdpWatch struct {
	x          *afxdp.Interface
	netns      string
	reattached atomic.Uint64 // times the program was found detached and re-attached
	lost       atomic.Bool   // detached and could not be re-attached (device gone)
}

// XDPStatus describes the attachment of an afxdp interface's XDP program
// for "show interfaces": "attached", "re-attached(N)" or "detached"; "" for
// other drivers.
func (ifc *Interface) XDPStatus() string {
	w := ifc.xdp
	switch {
	case w == nil:
		return ""
	case w.lost.Load():
		return "detached"
	case w.reattached.Load() > 0:
		return "re-attached(" + strconv.FormatUint(w.reattached.Load(), 10) + ")"
	}
	return "attached"
}

// XDPReattached is how many times the watch found the interface's XDP
// program detached by someone else and attached it again.
func (ifc *Interface) XDPReattached() uint64 {
	if ifc.xdp == nil {
		return 0
	}
	return ifc.xdp.reattached.Load()
}

// CheckXDP checks once that every afxdp interface's XDP program is still
// attached, re-attaches those someone detached and logs each change. The
// watch calls it every Options.XDPWatch; it is also safe to call directly
// while the watch is stopped.
func (d *Daemon) CheckXDP() {
	for _, ifc := range d.interfaces() {
		w := ifc.xdp
		if w == nil {
			continue
		}
		ok, err := w.x.XDPAttached()
		if err != nil || ok {
			continue
		}
		err = inNetns(w.netns, w.x.ReattachXDP)
		switch {
		case err == nil:
			w.reattached.Add(1)
			w.lost.Store(false)
			d.Log.Warn("XDP program found detached; re-attached", "interface", ifc.Config.Name, "device", w.x.Device())
		case !w.lost.Load():
			w.lost.Store(true)
			gone := false
			_ = inNetns(w.netns, func() error { gone = w.x.DeviceGone(); return nil })
			if gone {
				// Sends would sit on a TX ring no kernel drains: drop
				// and count them instead.
				w.x.MarkGone()
			}
			d.Log.Error("XDP program found detached and not re-attached", "interface", ifc.Config.Name, "device", w.x.Device(), "device_gone", gone, "err", err)
		}
	}
}

// startXDPWatch runs CheckXDP every period until stopXDPWatch.
func (d *Daemon) startXDPWatch(period time.Duration) {
	if period < 0 {
		return
	}
	if period == 0 {
		period = DefaultXDPWatch
	}
	watched := false
	for _, ifc := range d.interfaces() {
		watched = watched || ifc.xdp != nil
	}
	if !watched {
		return
	}
	d.watchStop, d.watchDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(d.watchDone)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-d.watchStop:
				return
			case <-t.C:
				d.CheckXDP()
			}
		}
	}()
}

// stopXDPWatch stops the watch and waits for it.
func (d *Daemon) stopXDPWatch() {
	if d.watchStop != nil {
		close(d.watchStop)
		<-d.watchDone
		d.watchStop = nil
	}
}
