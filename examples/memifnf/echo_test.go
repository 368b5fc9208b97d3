package main

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/wire"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// TestReflect: a UDP datagram to the function's address comes back with
// both ends swapped and its checksums still valid; anything else is left.
func TestReflect(t *testing.T) {
	e := &Echo{MAC: wire.MAC{2, 0, 0, 0, 3, 2}, IP: [4]byte{10, 0, 3, 2}}
	f := frames.IPv4(frames.Spec{SrcMAC: wire.MAC{2, 0, 0, 0, 3, 1}, DstMAC: e.MAC, Src: [4]byte{10, 0, 1, 2}, Dst: e.IP,
		SrcPort: 4000, DstPort: 7, Payload: 32})
	ip, _ := wire.ParseIPv4(f[wire.EthernetLen:])
	u := wire.UDP(ip.Payload())
	sum0, over0 := u.Checksum(), u.ComputeChecksum(ip.Src(), ip.Dst())
	if !e.Reflect(f) {
		t.Fatal("not reflected")
	}
	if ip.Src() != e.IP || ip.Dst() != [4]byte{10, 0, 1, 2} || u.SrcPort() != 7 || u.DstPort() != 4000 {
		t.Fatalf("echo % x", f)
	}
	if !ip.ChecksumValid() || u.Checksum() != sum0 || u.ComputeChecksum(ip.Src(), ip.Dst()) != over0 {
		t.Fatalf("echo checksums: IP valid %v, UDP %#04x (was %#04x)", ip.ChecksumValid(), u.Checksum(), sum0)
	}
	if !bytes.Equal(f[:6], []byte{2, 0, 0, 0, 3, 1}) || !bytes.Equal(f[6:12], e.MAC[:]) {
		t.Fatalf("echo MACs % x", f[:12])
	}
	for _, bad := range [][]byte{
		frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 1, 2}, Dst: [4]byte{10, 0, 3, 9}}),          // not ours
		frames.IPv4(frames.Spec{Src: [4]byte{10, 0, 1, 2}, Dst: e.IP, Proto: wire.IPProtoICMP}), // not UDP
		frames.ARP(1, wire.MAC{2}, [4]byte{10, 0, 3, 1}, wire.MAC{}, wire.MAC{}, e.IP),          // ARP
		make([]byte, 20), // runt
	} {
		if e.Reflect(bad) {
			t.Errorf("reflected % x", bad)
		}
	}
}

// TestChainedToVecnet: host A (a kernel UDP socket in its namespace) sends
// datagrams to the network function's address; vecnet routes them from
// its AF_PACKET port into a memif, the function echoes them, and vecnet
// routes the echoes back: every datagram returns intact.
func TestChainedToVecnet(t *testing.T) {
	testutil.RequireRoot(t)
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "vnf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	sock := filepath.Join(t.TempDir(), "nf.sock")
	nfMAC, nfIP := wire.MAC{0x02, 0x6e, 0x66, 0, 0, 2}, netip.MustParseAddr("10.77.3.2")
	cfg := topo.RouterConfig(rig, "afpacket", "", "")
	cfg.Interfaces = append(cfg.Interfaces, config.Interface{Name: "nf0", Driver: "memif", MTU: 1500,
		MemifSocket: sock, MemifRole: "server", Queues: 1, RingSize: 1024,
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.77.3.1/24")}})
	cfg.Neighbors = append(cfg.Neighbors, config.Neighbor{Interface: "nf0", IP: nfIP, MAC: config.MAC(nfMAC)})
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	c, err := app.Attach(app.Config{Socket: sock, Name: "echo"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	nf := &Echo{MAC: nfMAC, IP: nfIP.As4()}
	done := make(chan struct{})
	go func() { nf.Run(c, &stop); close(done) }()
	defer func() { stop.Store(true); <-done; c.Close() }()

	const count = 200
	err = rig.A.Do(func() error {
		conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(nfIP, 7)))
		if err != nil {
			return err
		}
		defer conn.Close()
		buf := make([]byte, 2048)
		for k := range count {
			msg := []byte(fmt.Sprintf("datagram %d %s", k, bytes.Repeat([]byte{'x'}, k*5)))
			if _, err := conn.Write(msg); err != nil {
				return err
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				return fmt.Errorf("datagram %d: no echo: %w", k, err)
			}
			if !bytes.Equal(buf[:n], msg) {
				return fmt.Errorf("datagram %d came back as %q", k, buf[:n])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	<-done
	if nf.Echoed != count || nf.Dropped != 0 {
		t.Errorf("function echoed %d, dropped %d; want %d and 0", nf.Echoed, nf.Dropped, count)
	}
}
