package xdpprog

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrInvalidMatch is wrapped by errors Load returns for a Match it rejects.
var ErrInvalidMatch = errors.New("xdpprog: invalid match")

// IP protocol numbers for Match.Proto.
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// Match says which frames the program redirects to the AF_XDP sockets; the
// rest go to the kernel. See the package documentation for the exact rules.
type Match struct {
	// All redirects every frame; the other fields must then be zero.
	All bool
	// DstIP are the IPv4 addresses whose traffic (and ARP) is redirected.
	// Required unless All.
	DstIP []netip.Addr
	// Proto narrows IPv4 matches to one IP protocol; 0 means any.
	Proto uint8
	// DstPort narrows IPv4 matches to one destination port; 0 means any.
	// It needs Proto ProtoTCP or ProtoUDP.
	DstPort uint16
}

// Validate reports whether m is well formed, with a reason wrapping
// ErrInvalidMatch when it is not.
func (m Match) Validate() error {
	if m.All {
		if len(m.DstIP) != 0 || m.Proto != 0 || m.DstPort != 0 {
			return fmt.Errorf("%w: All with other fields set", ErrInvalidMatch)
		}
		return nil
	}
	if len(m.DstIP) == 0 {
		return fmt.Errorf("%w: no destination address and not All", ErrInvalidMatch)
	}
	for _, a := range m.DstIP {
		if !a.Is4() {
			return fmt.Errorf("%w: %v is not an IPv4 address", ErrInvalidMatch, a)
		}
	}
	if m.DstPort != 0 && m.Proto != ProtoTCP && m.Proto != ProtoUDP {
		return fmt.Errorf("%w: DstPort %d needs Proto TCP or UDP, have %d", ErrInvalidMatch, m.DstPort, m.Proto)
	}
	return nil
}

// String describes m for logs, e.g. "all" or "dst 10.0.0.1,10.0.0.2 proto 17 port 53".
func (m Match) String() string {
	if m.All {
		return "all"
	}
	s := "dst "
	for i, a := range m.DstIP {
		if i > 0 {
			s += ","
		}
		s += a.String()
	}
	if m.Proto != 0 {
		s += fmt.Sprintf(" proto %d", m.Proto)
	}
	if m.DstPort != 0 {
		s += fmt.Sprintf(" port %d", m.DstPort)
	}
	return s
}
