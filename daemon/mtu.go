package daemon

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/vecnet/vecnet/control/config"
)

// interfaceMTU returns the IP MTU interface ic runs with. For a kernel
// driver it is checked against the device's MTU, read once its ports are
// open: a configured MTU larger than the device's is an error (the kernel
// peer could not send, nor the device carry, such frames); no configured MTU
// means the device's, cut to config.MaxMTU (what a packet buffer holds) with
// a log line when the device's is larger. Other drivers default to
// config.DefaultMTU.
func (d *Daemon) interfaceMTU(ic config.Interface) (uint16, error) {
	if !config.IsKernel(ic.Driver) {
		if ic.MTU == 0 {
			return config.DefaultMTU, nil
		}
		return uint16(ic.MTU), nil
	}
	dev, err := deviceMTU(ic.Netns, ic.Device)
	if err != nil {
		return 0, err
	}
	switch {
	case ic.MTU > dev:
		return 0, fmt.Errorf("mtu %d is larger than device %s's MTU %d: lower it, or raise the device's (ip link set %s mtu %d)",
			ic.MTU, ic.Device, dev, ic.Device, ic.MTU)
	case ic.MTU > 0:
		return uint16(ic.MTU), nil
	case dev > config.MaxMTU:
		d.Log.Warn("device MTU more than a packet buffer holds: larger frames are dropped as too_long",
			"interface", ic.Name, "device", ic.Device, "device_mtu", dev, "mtu", config.MaxMTU)
		return config.MaxMTU, nil
	case dev < config.MinMTU:
		return 0, fmt.Errorf("device %s has MTU %d, below IPv4's minimum %d", ic.Device, dev, config.MinMTU)
	}
	return uint16(dev), nil
}

// deviceMTU reads the MTU of device dev in network namespace ns (see
// inNetns).
func deviceMTU(ns, dev string) (int, error) {
	var mtu int
	err := inNetns(ns, func() error {
		l, err := netlink.LinkByName(dev)
		if err != nil {
			return fmt.Errorf("device %s: %w", dev, err)
		}
		mtu = l.Attrs().MTU
		return nil
	})
	return mtu, err
}
