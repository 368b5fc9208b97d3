package topo

import (
	"net"
	"net/netip"

	"github.com/vecnet/vecnet/control/config"
)

// RouterConfig is vecnet as the rig's router: the two router ends on driver
// ("afxdp", "afpacket"), with the router's addresses and MACs (RouterAMAC,
// RouterBMAC), one worker, the CLI on socket. xdpMode is the AF_XDP attach
// mode ("" for the driver's choice).
func RouterConfig(rig *Rig, driver, xdpMode, socket string) *config.Config {
	iface := func(dev, addr, mac string) config.Interface {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			panic(err) // the rig's constants
		}
		ic := config.Interface{
			Name: dev, Driver: driver, Device: dev, Netns: rig.R.Name, MAC: config.MAC(hw),
			MTU: 1500, Queues: 1,
			Addresses: []netip.Prefix{netip.MustParsePrefix(addr + "/24")},
		}
		if driver == "afxdp" {
			ic.XDPMode = xdpMode
			ic.RingSize = config.DefaultRingSize
			ic.Match = config.Match{All: true}
		} else if driver == "afpacket" {
			ic.RingSize = config.DefaultRingSize
		}
		return ic
	}
	return &config.Config{
		Workers: 1,
		Socket:  socket,
		Interfaces: []config.Interface{
			iface(RouterA, RouterAAddr, RouterAMAC),
			iface(RouterB, RouterBAddr, RouterBMAC),
		},
	}
}
