package sock

import (
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/vecnet/vecnet/stack"
)

// errFamily is the error for an address of the other family than the
// network string names ("tcp4" with an IPv6 address, "udp6" with IPv4).
var errFamily = errors.New("sock: address family does not match the network")

// parseAddr parses address for network, which must be proto, proto+"4" or
// proto+"6". With listen set, an empty host is the unspecified address of
// the network's family (:: for proto alone: both families); otherwise the
// host must be an IP literal of the network's family.
func parseAddr(proto, network, address string, listen bool) (netip.AddrPort, error) {
	var fam byte
	switch network {
	case proto:
	case proto + "4":
		fam = '4'
	case proto + "6":
		fam = '6'
	default:
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: address}
	}
	var a netip.Addr
	switch {
	case host == "" && listen && fam == '4':
		a = netip.IPv4Unspecified()
	case host == "" && listen:
		a = netip.IPv6Unspecified()
	default:
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, err
		}
		a = a.Unmap()
	}
	if fam == '4' && !a.Is4() || fam == '6' && !a.Is6() {
		return netip.AddrPort{}, errFamily
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// Listen is net.Listen over s: network "tcp", "tcp4" or "tcp6", address
// an IP literal of the host and port, or ":port" (every address: IPv4 for
// "tcp4", both families otherwise).
func Listen(s *stack.Stack, network, address string) (net.Listener, error) {
	ap, err := parseAddr("tcp", network, address, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	return ListenTCP(s, ap)
}

// ListenPacket is net.ListenPacket over s: network "udp", "udp4" or
// "udp6", address as for Listen.
func ListenPacket(s *stack.Stack, network, address string) (net.PacketConn, error) {
	ap, err := parseAddr("udp", network, address, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	return ListenUDP(s, ap)
}
