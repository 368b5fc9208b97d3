// Command memifnf is a user-space network function chained to vecnet by
// memif: it attaches to a memif socket (vecnet's, or DPDK's, or VPP's) as a
// client and answers every UDP datagram addressed to its IPv4 address by
// sending it back to where it came from (a UDP echo at layer 2: MACs,
// addresses and ports swapped, so the checksums stay valid). Other frames
// are dropped and counted.
//
//	memifnf -socket /run/vecnet/nf0.sock -ip 10.0.3.2 -mac 02:6e:66:00:00:02
//
// vecnet routes to it like to any host on the memif's subnet (give it a
// static neighbour for the NF's MAC: this NF does not answer ARP).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/wire"
)

func main() {
	socket := flag.String("socket", "", "memif socket to attach to")
	id := flag.Uint("id", 0, "memif interface id")
	secret := flag.String("secret", "", "memif secret")
	ipFlag := flag.String("ip", "", "this function's IPv4 address")
	macFlag := flag.String("mac", "02:6e:66:00:00:02", "this function's MAC")
	flag.Parse()
	ip, err := netip.ParseAddr(*ipFlag)
	if err != nil || !ip.Is4() || *socket == "" {
		fmt.Fprintln(os.Stderr, "usage: memifnf -socket S -ip A.B.C.D [-mac M] [-id N] [-secret S]")
		os.Exit(2)
	}
	mac, err := net.ParseMAC(*macFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memifnf:", err)
		os.Exit(2)
	}
	c, err := app.Attach(app.Config{Socket: *socket, Name: "memifnf", ID: uint32(*id), Secret: *secret}, 30*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memifnf:", err)
		os.Exit(1)
	}
	defer c.Close()
	var stop atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; stop.Store(true) }()
	nf := &Echo{MAC: wire.MAC(mac), IP: ip.As4()}
	nf.Run(c, &stop)
	fmt.Printf("echoed %d, dropped %d\n", nf.Echoed, nf.Dropped)
}
