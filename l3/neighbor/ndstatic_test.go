package neighbor

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/wire"
)

// TestNDStaticBeforeDAD: a static neighbour configured before the
// interface's IPv6 prefix passed DAD (the daemon adds the config's
// neighbours at start) is on link once the prefix is: the FIB resolves it
// to a rewrite, not to a glean.
func TestNDStaticBeforeDAD(t *testing.T) {
	ifs := iface.NewTable()
	mac := wire.MAC{2, 0, 0, 0, 0, 1}
	port, err := ifs.Add("eth0", mac, 1500)
	if err != nil {
		t.Fatal(err)
	}
	f := fib.NewTable6()
	f.AddInterface(port, mac, 1500)
	nd := NewNDTable(f, ifs)
	peer := netip.MustParseAddr("2001:db8:70:2::2")
	nd.AddStatic(port, peer.As16(), [6]byte{2, 0, 0, 0, 0, 2})
	if err := nd.StartDAD(port, netip.MustParsePrefix("2001:db8:70:2::1/64"), 0); err != nil {
		t.Fatal(err)
	}
	nd.DADDue(0, nil)              // the solicitation
	nd.DADDue(DefaultDADNs+1, nil) // no answer: assigned
	v := f.Load()
	if a := v.Adj(v.Lookup(peer.As16(), 0)); a.Kind != fib.AdjRewrite || a.MAC() != ([6]byte{2, 0, 0, 0, 0, 2}) {
		t.Fatalf("static neighbour after DAD: adjacency kind %v mac %v, want a rewrite to 02:00:00:00:00:02", a.Kind, a.MAC())
	}
}
