package ip6

import (
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// hopLimitError is a packet from host to remote, received on port 0, as it
// reaches icmp6-error with a time exceeded request; off is its headroom.
func hopLimitError(off uint16) graphtest.Packet {
	p := packet(frames.IPv6(spec(host, remote)))
	p.Meta.Off = off
	p.Meta.ICMP = pkt.ICMPRequest{Type: wire.ICMPv6TimeExceeded}
	return p
}

// TestICMPErrorHeadroomAndRateLimit: icmp6-error drops a packet with no
// room in front for the error headers (no_headroom, at one byte short,
// sent at exactly enough), and spends one token per error of a class:
// Burst errors at once, then rate_limited_time_exceeded until the clock
// earns another.
func TestICMPErrorHeadroomAndRateLimit(t *testing.T) {
	h := graphtest.New(t, ICMPErrorNode(ifaces(t), ICMPErrorConfig{Rate: 10, Burst: 2}), graphtest.Options{})
	const need = wire.IPv6Len + wire.ICMPv6MinLen // headroom for the new headers; the old Ethernet header makes room for the new one
	r := h.Run(hopLimitError(need-1), hopLimitError(need))
	if got := r.Out[0].Where(); got != "drop "+graphtest.Label(ICMPErrorName, "no_headroom") {
		t.Errorf("one byte short of headroom: %s, want drop no_headroom", got)
	}
	if got := r.Out[1].Where(); got != LookupName {
		t.Errorf("exactly enough headroom: %s, want %s", got, LookupName)
	}
	r = h.Run(hopLimitError(pkt.Headroom), hopLimitError(pkt.Headroom))
	limited := "drop " + graphtest.Label(ICMPErrorName, "rate_limited_time_exceeded")
	if got := []string{r.Out[0].Where(), r.Out[1].Where()}; got[0] != LookupName || got[1] != limited {
		t.Errorf("second and third error of a burst of 2: %v, want [%s %s]", got, LookupName, limited)
	}
	h.Advance(100e6) // one token at 10 a second
	if got := h.Run(hopLimitError(pkt.Headroom)).Out[0].Where(); got != LookupName {
		t.Errorf("after 100 ms: %s, want %s", got, LookupName)
	}
}
