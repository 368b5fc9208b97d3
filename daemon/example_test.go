package daemon_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/wire"
)

// exampleConfig is a router between two in-memory interfaces: their far
// ends are the program (mem.Port.Inject and TakeSent).
const exampleConfig = `
workers: 1
interfaces:
  - {name: a, driver: mem, mac: "02:00:00:00:0a:01", addresses: [10.0.1.1/24]}
  - {name: b, driver: mem, mac: "02:00:00:00:0b:01", addresses: [10.0.2.1/24]}
routes:
  - {prefix: 192.168.0.0/16, via: [10.0.2.2]}
neighbors:
  - {interface: a, ip: 10.0.1.2, mac: "02:00:00:00:0a:02"}
  - {interface: b, ip: 10.0.2.2, mac: "02:00:00:00:0b:02"}
`

// Start a data plane from a YAML config, route a datagram from host A on
// interface a to a network behind host B, and run CLI commands on it as
// vecnetctl would.
func Example() {
	cfg, err := config.Parse("router.yaml", []byte(exampleConfig))
	if err != nil {
		panic(err)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, Slots: 4096, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	a, b := d.Interfaces[0].Ports[0].(*mem.Port), d.Interfaces[1].Ports[0].(*mem.Port)

	a.Inject(udpFrame(wire.MAC{2, 0, 0, 0, 0xa, 1}, netip.MustParseAddrPort("10.0.1.2:5000"), netip.MustParseAddrPort("192.168.7.9:53"), "query"))
	var out [][]byte
	for deadline := time.Now().Add(10 * time.Second); len(out) == 0 && time.Now().Before(deadline); {
		out = b.TakeSent() // the worker forwards asynchronously: poll
	}
	for _, f := range out {
		eth, ip := wire.Ethernet(f), wire.IPv4(f[wire.EthernetLen:])
		fmt.Printf("out of b: %v -> %v, %v -> %v, TTL %d\n", eth.Src(), eth.Dst(),
			netip.AddrFrom4(ip.Src()), netip.AddrFrom4(ip.Dst()), ip.TTL())
	}
	d.CLI.Exec(os.Stdout, "show fib")
	if err := d.Stop(); err != nil {
		panic(err)
	}
	// Output:
	// out of b: 02:00:00:00:0b:01 -> 02:00:00:00:0b:02, 10.0.1.2 -> 192.168.7.9, TTL 63
	// 10.0.1.0/24        connected via a glean
	// 10.0.1.1/32        local     via a local
	// 10.0.1.2/32        neighbor  via 10.0.1.2 a rewrite 02:00:00:00:0a:02
	// 10.0.2.0/24        connected via b glean
	// 10.0.2.1/32        local     via b local
	// 10.0.2.2/32        neighbor  via 10.0.2.2 b rewrite 02:00:00:00:0b:02
	// 192.168.0.0/16     static    via 10.0.2.2 b rewrite 02:00:00:00:0b:02
}

// udpFrame is an Ethernet/IPv4/UDP frame from src to dst, sent to the
// router's MAC dstMAC.
func udpFrame(dstMAC wire.MAC, src, dst netip.AddrPort, payload string) []byte {
	n := wire.EthernetLen + wire.IPv4MinLen + wire.UDPLen + len(payload)
	f := make([]byte, n)
	eth := wire.Ethernet(f)
	eth.SetDst(dstMAC)
	eth.SetSrc(wire.MAC{2, 0, 0, 0, 0xa, 2})
	f[12], f[13] = 0x08, 0x00
	wire.IPv4(f[wire.EthernetLen:]).Encode(&wire.IPv4Fields{TotalLen: uint16(n - wire.EthernetLen), TTL: 64,
		Protocol: wire.IPProtoUDP, Src: src.Addr().As4(), Dst: dst.Addr().As4()})
	u := wire.UDP(f[wire.EthernetLen+wire.IPv4MinLen:])
	u.Encode(&wire.UDPFields{SrcPort: src.Port(), DstPort: dst.Port(), Length: uint16(wire.UDPLen + len(payload))})
	copy(u[wire.UDPLen:], payload)
	u.SetChecksum(u.ComputeChecksum(src.Addr().As4(), dst.Addr().As4()))
	return f
}
