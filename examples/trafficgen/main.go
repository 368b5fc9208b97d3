// Command trafficgen sends and counts Ethernet/IPv4/UDP test frames.
//
//	trafficgen send -dev D [-netns NS] -dst-mac M -src IP -dst IP [-size 64] [-rate 0]
//	                [-duration 5s | -count N] [-flows 1] [-cpu 0] [-driver afxdp|afpacket]
//	trafficgen send -driver memif -socket S [-server] [-id 0] -dst-mac M -src IP -dst IP [...]
//	trafficgen sink -dev D [-netns NS] [-duration 5s] [-xdp [-generic]]
//	trafficgen sink -memif S [-server] [-id 0] [-duration 5s]
//
// With memif, send and sink attach to a memif socket (vecnet's, DPDK's or
// VPP's) as clients, or serve it with -server.
// send floods (rate 0) or paces frames from one thread and prints sent,
// tx errors and the achieved rate. sink counts generator frames: by default
// over AF_PACKET with sequence checking (gaps, reorders, duplicates); with
// -xdp by an XDP program that drops and counts every frame (the cheapest
// sink, for rates).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/examples/trafficgen/gen"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/wire"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: trafficgen send|sink -dev D [flags] (-h for flags)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "send":
		err = send(os.Args[2:])
	case "sink":
		err = sink(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (send or sink)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trafficgen:", err)
		os.Exit(1)
	}
}

// inNS runs f in namespace ns, or on the current one when ns is empty.
func inNS(ns string, f func() error) error {
	if ns == "" {
		return f()
	}
	return topo.NS{Name: ns}.Do(f)
}

// stopOnSignal returns a channel closed at SIGINT/SIGTERM.
func stopOnSignal() <-chan struct{} {
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; close(stop) }()
	return stop
}

func send(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	dev := fs.String("dev", "", "device to send on")
	netns := fs.String("netns", "", "network namespace of the device")
	dstMAC := fs.String("dst-mac", "", "destination MAC (the next hop)")
	srcMAC := fs.String("src-mac", "", "source MAC (default: the device's)")
	src := fs.String("src", "", "source IPv4 address")
	dst := fs.String("dst", "", "destination IPv4 address")
	size := fs.Int("size", 64, "frame size on the wire, FCS included (64..1518)")
	rate := fs.Float64("rate", 0, "packets per second, 0 = as fast as possible")
	duration := fs.Duration("duration", 5*time.Second, "how long to send (0 with -count)")
	count := fs.Uint64("count", 0, "how many frames to send (0 = no limit)")
	flows := fs.Int("flows", 1, "rotate the UDP source port over this many flows")
	cpu := fs.Int("cpu", 0, "CPU to pin the sending thread to, -1 for none")
	driver := fs.String("driver", "afxdp", "afxdp, afpacket or memif")
	socket := fs.String("socket", "", "with -driver memif: the memif socket")
	server := fs.Bool("server", false, "with memif: serve the socket instead of attaching as client")
	id := fs.Uint("id", 0, "with memif: the interface id")
	fs.Parse(args)
	if (*dev == "" && *driver != "memif") || *dstMAC == "" || *src == "" || *dst == "" {
		return errors.New("send needs -dev (or -driver memif -socket), -dst-mac, -src and -dst")
	}
	spec := gen.FrameSpec{Size: *size, Flows: *flows}
	var err error
	if spec.Src, err = netip.ParseAddr(*src); err != nil {
		return err
	}
	if spec.Dst, err = netip.ParseAddr(*dst); err != nil {
		return err
	}
	m, err := net.ParseMAC(*dstMAC)
	if err != nil {
		return err
	}
	spec.DstMAC = wire.MAC(m)
	var s gen.Sender
	if *driver == "memif" {
		spec.SrcMAC = wire.MAC{0x02, 0x67, 0x65, 0x6e, 0, 1}
		if *srcMAC != "" {
			m, err := net.ParseMAC(*srcMAC)
			if err != nil {
				return err
			}
			spec.SrcMAC = wire.MAC(m)
		}
		ms, err := gen.NewMemifSender(app.Config{Socket: *socket, Name: "trafficgen", ID: uint32(*id), Server: *server}, 30*time.Second, spec)
		if err != nil {
			return err
		}
		defer ms.Close()
		r, err := ms.Send(gen.SendConfig{Rate: *rate, Duration: *duration, Count: *count, CPU: *cpu, Stop: stopOnSignal()})
		fmt.Println(r)
		return err
	}
	err = inNS(*netns, func() error {
		ifi, err := net.InterfaceByName(*dev)
		if err != nil {
			return err
		}
		spec.SrcMAC = wire.MAC(ifi.HardwareAddr)
		if *srcMAC != "" {
			m, err := net.ParseMAC(*srcMAC)
			if err != nil {
				return err
			}
			spec.SrcMAC = wire.MAC(m)
		}
		switch *driver {
		case "afxdp":
			s, err = gen.NewXDPSender(ifi.Index, 0, spec)
		case "afpacket":
			s, err = gen.NewPacketSender(ifi.Index, spec)
		default:
			err = fmt.Errorf("unknown driver %q", *driver)
		}
		return err
	})
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.Send(gen.SendConfig{Rate: *rate, Duration: *duration, Count: *count, CPU: *cpu, Stop: stopOnSignal()})
	fmt.Println(r)
	return err
}

func sink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	dev := fs.String("dev", "", "device to count on")
	netns := fs.String("netns", "", "network namespace of the device")
	duration := fs.Duration("duration", 5*time.Second, "how long to count")
	xdp := fs.Bool("xdp", false, "count and drop in XDP (every frame) instead of AF_PACKET")
	generic := fs.Bool("generic", false, "with -xdp: attach in generic (skb) mode instead of native")
	memifSock := fs.String("memif", "", "count frames received on this memif socket instead of a device")
	server := fs.Bool("server", false, "with -memif: serve the socket instead of attaching as client")
	id := fs.Uint("id", 0, "with -memif: the interface id")
	fs.Parse(args)
	if *memifSock != "" {
		ms, err := gen.NewMemifSink(app.Config{Socket: *memifSock, Name: "trafficgen-sink", ID: uint32(*id), Server: *server}, 30*time.Second)
		if err != nil {
			return err
		}
		defer ms.Close()
		r, err := ms.Run(0, *duration, *duration)
		fmt.Println(r)
		return err
	}
	if *dev == "" {
		return errors.New("sink needs -dev or -memif")
	}
	var ps *gen.PacketSink
	var xc *gen.XDPCounter
	err := inNS(*netns, func() error {
		ifi, err := net.InterfaceByName(*dev)
		if err != nil {
			return err
		}
		if *xdp {
			xc, err = gen.AttachXDPCounter(ifi.Index, *generic)
		} else {
			ps, err = gen.NewPacketSink(ifi.Index)
		}
		return err
	})
	if err != nil {
		return err
	}
	if xc != nil {
		defer xc.Close()
		f0, b0, err := xc.Count()
		if err != nil {
			return err
		}
		t0 := time.Now()
		select {
		case <-time.After(*duration):
		case <-stopOnSignal():
		}
		f1, b1, err := xc.Count()
		if err != nil {
			return err
		}
		el := time.Since(t0)
		fmt.Printf("counted %d frames, %d bytes in %v: %.3f Mpps\n", f1-f0, b1-b0, el.Round(time.Millisecond), float64(f1-f0)/el.Seconds()/1e6)
		return nil
	}
	defer ps.Close()
	r, err := ps.Run(0, *duration, *duration)
	fmt.Println(r)
	return err
}
