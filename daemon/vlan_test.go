package daemon_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/wire"
)

// TestSubInterfaceInTheDaemon: a sub-interface from the config gets its
// index, addresses, static neighbour and route; what vecnet routes to it
// leaves by its parent's mem port tagged; "show interfaces" lists it with
// its parent, tags and counters; a reload that changes sub-interfaces is
// refused (they need a restart).
func TestSubInterfaceInTheDaemon(t *testing.T) {
	hostQ := wire.MAC{2, 0, 0, 0, 0xc, 2}
	cfg := &config.Config{
		Workers: 1,
		Interfaces: []config.Interface{
			{Name: "a", Driver: "mem", MAC: config.MAC(memRtrA), MTU: 1500, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
			{Name: "b", Driver: "mem", MAC: config.MAC(memRtrB), MTU: 1500},
		},
		SubInterfaces: []config.SubInterface{
			{Name: "b.200.300", Parent: "b", OuterVLAN: 200, OuterTPID: 0x88a8, VLAN: 300, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24")}},
		},
		Neighbors: []config.Neighbor{
			{Interface: "a", IP: netip.MustParseAddr("10.0.1.2"), MAC: config.MAC(memHostA)},
			{Interface: "b.200.300", IP: netip.MustParseAddr("10.0.3.2"), MAC: config.MAC(hostQ)},
		},
		Routes: []config.Route{{Prefix: netip.MustParsePrefix("192.168.0.0/16"), Via: []netip.Addr{netip.MustParseAddr("10.0.3.2")}, Interface: "b.200.300"}},
	}
	d, err := daemon.Start(cfg, daemon.Options{Slots: 8192, NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	pa, pb := d.Interfaces[0].Ports[0].(*mem.Port), d.Interfaces[1].Ports[0].(*mem.Port)
	f := frames.IPv4(frames.Spec{SrcMAC: memHostA, DstMAC: memRtrA, Src: [4]byte{10, 0, 1, 2}, Dst: [4]byte{192, 168, 5, 5}, TTL: 9, Payload: 20})
	var got [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 3 {
		if pa.Inject(f) != 1 {
			t.Fatal("inject")
		}
		got = append(got, pb.TakeSent()...)
		if time.Now().After(deadline) {
			t.Fatalf("%d frames left by b, want 3: %s", len(got), errorsText(d))
		}
		time.Sleep(time.Millisecond) // polling the output for a deadline, not synchronising
	}
	want := append(append(append(append([]byte(nil), hostQ[:]...), memRtrB[:]...), 0x88, 0xa8, 0, 200, 0x81, 0, 1, 0x2c), 0x08, 0x00)
	if string(got[0][:22]) != string(want) {
		t.Fatalf("frame out of b: % x\nwant % x", got[0][:22], want)
	}
	rows, err := d.Backend().Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	r := rows[2]
	if r.Name != "b.200.300" || r.Index != 2 || r.Kind != "sub" || r.Driver != "sub" || r.Info != "b dot1ad 200 dot1q 300" || r.Parent != "b" ||
		r.VLAN != 300 || r.OuterVLAN != 200 || r.OuterTPID != "0x88a8" || r.MTU != 1492 || r.TxPackets < 3 || r.TxBytes < 3*uint64(len(f)+8) ||
		len(r.Addresses) != 1 || r.Addresses[0] != "10.0.3.1/24" {
		t.Errorf("row %+v", r)
	}
	if rows[0].Kind != "hw" {
		t.Errorf("hardware row kind %q", rows[0].Kind)
	}
	next := *cfg
	next.SubInterfaces = nil
	next.Neighbors = next.Neighbors[:1]
	next.Routes = nil
	if _, err := d.Apply(&next); err == nil || !strings.Contains(err.Error(), "sub-interfaces changed") {
		t.Errorf("reload without the sub-interface: %v", err)
	}
}
