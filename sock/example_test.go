package sock_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/wire"
)

// exampleConfig is one data plane with one in-memory interface whose far
// end is the program (mem.Port.Inject and TakeSent): host 10.0.1.2.
const exampleConfig = `
interfaces:
  - {name: a, driver: mem, mac: "02:00:00:00:0a:01", addresses: [10.0.1.1/24]}
neighbors:
  - {interface: a, ip: 10.0.1.2, mac: "02:00:00:00:0a:02"}
`

// A UDP server on the data plane's host stack through net.PacketConn's
// methods: it reads a datagram host 10.0.1.2 sent to 10.0.1.1:7000 and
// answers it; the answer leaves by interface a.
func ExampleListenUDP() {
	cfg, err := config.Parse("host.yaml", []byte(exampleConfig))
	if err != nil {
		panic(err)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, Slots: 4096, HostStack: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	port := d.Interfaces[0].Ports[0].(*mem.Port)

	conn, err := sock.ListenUDP(d.Stack, netip.MustParseAddrPort("10.0.1.1:7000"))
	if err != nil {
		panic(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	port.Inject(udpFrame(netip.MustParseAddrPort("10.0.1.2:5000"), netip.MustParseAddrPort("10.0.1.1:7000"), "hello"))

	buf := make([]byte, 1500)
	n, from, err := conn.ReadFrom(buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("read %q from %v\n", buf[:n], from)
	if _, err := conn.WriteTo([]byte("hello yourself"), from); err != nil {
		panic(err)
	}
	var sent [][]byte
	for deadline := time.Now().Add(10 * time.Second); len(sent) == 0 && time.Now().Before(deadline); {
		sent = port.TakeSent() // the worker sends asynchronously: poll
	}
	for _, f := range sent {
		ip := wire.IPv4(f[wire.EthernetLen:])
		u := wire.UDP(ip[ip.HeaderLen():])
		fmt.Printf("sent %v:%d -> %v:%d %q\n", netip.AddrFrom4(ip.Src()), u.SrcPort(), netip.AddrFrom4(ip.Dst()), u.DstPort(), u.Payload())
	}

	conn.Close()
	if err := d.Stop(); err != nil {
		panic(err)
	}
	// Output:
	// read "hello" from 10.0.1.2:5000
	// sent 10.0.1.1:7000 -> 10.0.1.2:5000 "hello yourself"
}

// udpFrame is an Ethernet/IPv4/UDP frame from host 10.0.1.2's MAC to the
// data plane's.
func udpFrame(src, dst netip.AddrPort, payload string) []byte {
	n := wire.EthernetLen + wire.IPv4MinLen + wire.UDPLen + len(payload)
	f := make([]byte, n)
	eth := wire.Ethernet(f)
	eth.SetDst(wire.MAC{2, 0, 0, 0, 0xa, 1})
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
