package driver_test

import (
	"reflect"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/afpacket"
	"github.com/vecnet/vecnet/driver/afxdp"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/driver/memif"
	"github.com/vecnet/vecnet/driver/pcap"
	"github.com/vecnet/vecnet/driver/tap"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestChecksumsComplete: only the memif port declares that its frames
// never carry a partial checksum (so the daemon marks its interface and
// ip4-input skips the test); AF_XDP, AF_PACKET and TAP ports, whose veth or
// kernel peer may leave one with its offloads on, do not, nor do the
// in-memory and pcap ports (a capture of a host's own traffic carries
// partial checksums). The answer is seen through a TxOwner wrapper
// (ShareTX), which the daemon's Ports[0] may be.
func TestChecksumsComplete(t *testing.T) {
	completer := reflect.TypeFor[driver.ChecksumsCompleter]()
	for _, tc := range []struct {
		port reflect.Type
		want bool
	}{
		{reflect.TypeFor[*memif.Port](), true},
		{reflect.TypeFor[*afxdp.Port](), false},
		{reflect.TypeFor[*afpacket.Port](), false},
		{reflect.TypeFor[*tap.Port](), false},
		{reflect.TypeFor[*mem.Port](), false},
		{reflect.TypeFor[*pcap.Port](), false},
	} {
		if got := tc.port.Implements(completer); got != tc.want {
			t.Errorf("%v implements ChecksumsCompleter: %v, want %v", tc.port, got, tc.want)
		}
	}
	if !driver.ChecksumsComplete(&memif.Port{}) {
		t.Error("memif port: ChecksumsComplete false")
	}
	if driver.ChecksumsComplete(mem.NewPort(mem.Config{Name: "m"})) {
		t.Error("mem port: ChecksumsComplete true")
	}
	pool := pkttest.NewPool(t, 1024)
	c := pool.NewCache()
	shared, _, err := driver.ShareTX([]driver.Port{completePort{mem.NewPort(mem.Config{Name: "q0"})}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for w := len(shared) - 1; w >= 0; w-- {
			shared[w].Close(c)
		}
		c.Flush()
	})
	if _, wrapped := shared[0].(*driver.TxOwner); !wrapped || !driver.ChecksumsComplete(shared[0]) {
		t.Errorf("a completer behind ShareTX (%T): not ChecksumsComplete", shared[0])
	}
}

// completePort is an in-memory port that declares complete checksums.
type completePort struct{ *mem.Port }

func (completePort) ChecksumsComplete() bool { return true }
