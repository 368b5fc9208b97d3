package tap

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/pkt"
)

// ErrInvalidConfig is wrapped by the errors Open returns for a Config it
// rejects before asking the kernel.
var ErrInvalidConfig = errors.New("tap: invalid config")

// MaxMTU is the largest MTU a port accepts: a frame of MTU bytes plus an
// Ethernet header and a VLAN tag must fit a pkt buffer with room to spare, so
// a read that fills the whole buffer is known to be truncated.
const MaxMTU = pkt.DataCap - 22

// ethHdrLen is the shortest frame a port delivers.
const ethHdrLen = 14

// TAP offload flags (linux/if_tun.h) the ports accept from the kernel.
const (
	tunFCsum   = 0x01 // TUN_F_CSUM: partial checksums
	tunFTSO4   = 0x02 // TUN_F_TSO4: TCPv4 super-frames
	tunFTSOECN = 0x08 // TUN_F_TSO_ECN: TSO with CWR set
	tunFUSO4   = 0x20 // TUN_F_USO4: UDP_SEGMENT super-frames (kernel >= 6.2)

	// tunOffloads is what TUNSETOFFLOAD offers: everything package offload
	// segments or completes. TSOv6 and UFO are not offered, so the kernel
	// segments those itself before the tap.
	tunOffloads = tunFCsum | tunFTSO4 | tunFTSOECN | tunFUSO4
)

// readBufLen holds the largest frame a tap can hand over with offloads on:
// a virtio_net_hdr and a 64 KiB IPv4 super-frame with Ethernet and VLAN
// headers. A read that fills it is truncated.
const readBufLen = offload.VnetHdrLen + 65535 + 18 + 1

// Config describes a TAP interface.
type Config struct {
	// Name is the tap device, created if it does not exist (and then removed
	// when the Interface closes) in the network namespace of the thread that
	// calls Open.
	Name string
	// Queues is the number of descriptors (ports), 1 when 0. More than one
	// needs a multi-queue device (IFF_MULTI_QUEUE).
	Queues int
	// MTU sets the device MTU when > 0; at most MaxMTU.
	MTU int
	// MAC is the data plane's own address on the link. The zero value
	// derives a locally administered address from the kernel's.
	MAC [6]byte
}

// Interface is a TAP device opened with Queues descriptors. Open and Close
// run on the control plane; each Port belongs to one worker.
type Interface struct {
	cfg    Config
	devMAC [6]byte
	mac    [6]byte
	ports  []*Port
}

// Open attaches to (or creates) the tap device cfg.Name, sets its MTU and
// brings it up, in the network namespace of the calling thread.
func Open(cfg Config) (*Interface, error) {
	if cfg.Queues == 0 {
		cfg.Queues = 1
	}
	switch {
	case cfg.Name == "" || len(cfg.Name) >= unix.IFNAMSIZ:
		return nil, fmt.Errorf("%w: name %q", ErrInvalidConfig, cfg.Name)
	case cfg.Queues < 1 || cfg.Queues > 64:
		return nil, fmt.Errorf("%w: %d queues, want 1..64", ErrInvalidConfig, cfg.Queues)
	case cfg.MTU < 0 || cfg.MTU > MaxMTU:
		return nil, fmt.Errorf("%w: mtu %d, want at most %d", ErrInvalidConfig, cfg.MTU, MaxMTU)
	}
	ifc := &Interface{cfg: cfg}
	// IFF_VNET_HDR: a virtio_net_hdr before every frame both ways, so the
	// kernel may hand over super-frames and partial checksums with their
	// metadata (TUNSETOFFLOAD below) instead of segmenting and summing them
	// in software first.
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if cfg.Queues > 1 {
		flags |= unix.IFF_MULTI_QUEUE
	}
	for q := range cfg.Queues {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			ifc.Close(nil)
			return nil, fmt.Errorf("tap: %w", err)
		}
		ifr, err := unix.NewIfreq(cfg.Name)
		if err == nil {
			ifr.SetUint16(flags)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err != nil {
			unix.Close(fd)
			ifc.Close(nil)
			return nil, fmt.Errorf("tap: %s queue %d: TUNSETIFF: %w", cfg.Name, q, err)
		}
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunOffloads); err != nil {
			// Kernels before 6.2 refuse TUN_F_USO4: offer TCP only.
			err = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunOffloads&^tunFUSO4)
			if err != nil {
				unix.Close(fd)
				ifc.Close(nil)
				return nil, fmt.Errorf("tap: %s queue %d: TUNSETOFFLOAD: %w", cfg.Name, q, err)
			}
		}
		ifc.ports = append(ifc.ports, &Port{fd: fd, queue: q, buf: make([]byte, readBufLen)})
	}
	link, err := netlink.LinkByName(cfg.Name)
	if err == nil && cfg.MTU > 0 {
		err = netlink.LinkSetMTU(link, cfg.MTU)
	}
	if err == nil {
		err = netlink.LinkSetUp(link)
	}
	if err != nil {
		ifc.Close(nil)
		return nil, fmt.Errorf("tap: %s: %w", cfg.Name, err)
	}
	copy(ifc.devMAC[:], link.Attrs().HardwareAddr)
	ifc.mac = cfg.MAC
	if ifc.mac == ([6]byte{}) {
		ifc.mac = driver.DeriveMAC(ifc.devMAC)
	}
	return ifc, nil
}

// Ports returns one port per queue; port q is meant for worker q.
func (ifc *Interface) Ports() []driver.Port {
	return driver.Ports(ifc.ports)
}

// MAC returns the data plane's own address on the link, not the kernel tap
// interface's.
func (ifc *Interface) MAC() [6]byte { return ifc.mac }

// DeviceMAC returns the kernel tap interface's address: the destination of
// frames the data plane sends to the kernel.
func (ifc *Interface) DeviceMAC() [6]byte { return ifc.devMAC }

// Info describes the interface for "show interfaces".
func (ifc *Interface) Info() string {
	return fmt.Sprintf("tap %s queues %d mtu %d mac %s (kernel %s)", ifc.cfg.Name, ifc.cfg.Queues, ifc.cfg.MTU,
		net.HardwareAddr(ifc.mac[:]), net.HardwareAddr(ifc.devMAC[:]))
}

// Close closes every port, returning their spare buffers to c. Call it after
// the workers that own the ports have stopped.
func (ifc *Interface) Close(c *pkt.Cache) error {
	var first error
	for _, p := range ifc.ports {
		if err := p.Close(c); err != nil && first == nil {
			first = err
		}
	}
	ifc.ports = nil
	return first
}

// Port is one queue (descriptor) of a TAP device. It is owned by one worker
// and is not safe for concurrent use.
type Port struct {
	fd      int
	queue   int
	buf     []byte // read buffer: virtio_net_hdr and frame
	pending int    // bytes in buf of a frame read but not yet delivered (v was full)
	stats   driver.Stats
	offload offload.Counters
}

var (
	_ driver.Port      = (*Port)(nil)
	_ driver.Waiter    = (*Port)(nil)
	_ offload.Reporter = (*Port)(nil)
)

// Recv reads frames, one read(2) each, until the descriptor is empty or v
// is full, and delivers them into fresh buffers from c: a TSO/GSO
// super-frame is segmented and a partial checksum completed (package
// offload, from the virtio_net_hdr before the frame), a plain frame copied.
// Frames whose checksum was completed or that the kernel marked valid
// carry pkt.FlagL4ChecksumOK. A super-frame waits in the port when v has
// too little room for its segments. Frames shorter than an Ethernet header
// or filling the whole read buffer (truncated) count in RxErrors; frames
// offload rejects count under their offload error and in RxErrors (or
// RxDrops when c has no buffer).
func (p *Port) Recv(c *pkt.Cache, v *pkt.Vector) int {
	start := v.Len
	for v.Len < pkt.VectorSize {
		n := p.pending
		if n == 0 {
			var err error
			n, err = unix.Read(p.fd, p.buf)
			if err != nil {
				break // EAGAIN: empty
			}
			if n < offload.VnetHdrLen+ethHdrLen || n == len(p.buf) {
				p.stats.RxErrors++
				continue
			}
		}
		h, _ := offload.ParseVnetHdr(p.buf)
		k, e := offload.Receive(c, v, h, p.buf[offload.VnetHdrLen:n])
		if e == offload.ErrNoRoom {
			p.pending = n
			break
		}
		p.pending = 0
		p.offload.Note(h, k, e)
		if e == offload.OK {
			p.stats.RxBytes += uint64(n - offload.VnetHdrLen)
		}
	}
	got := v.Len - start
	p.stats.RxPackets += uint64(got)
	return got
}

// OffloadErrors returns the port's offload counters: the received frames
// it could not segment or complete, by error, and those it did. Call it on
// the owning worker.
func (p *Port) OffloadErrors() offload.Counters { return p.offload }

// Send writes each packet of v with one write(2), behind a zero
// virtio_net_hdr pushed into its headroom (no offload asked of the
// kernel), frees the buffers to c and empties v. Failed writes count in
// TxDrops.
func (p *Port) Send(c *pkt.Cache, v *pkt.Vector) int {
	a := c.Arena()
	sent := 0
	for _, i := range v.Slice() {
		n := int(a.Meta(i).Len)
		h, ok := a.Push(i, offload.VnetHdrLen)
		if !ok {
			p.stats.TxDrops++
			c.Free(i)
			continue
		}
		clear(h)
		if _, err := unix.Write(p.fd, a.Data(i)); err != nil {
			p.stats.TxDrops++
		} else {
			p.stats.TxBytes += uint64(n)
			sent++
		}
		c.Free(i)
	}
	v.Reset()
	p.stats.TxPackets += uint64(sent)
	return sent
}

// Stats returns the port's counters, offload drops and errors included.
// Call it on the owning worker.
func (p *Port) Stats() driver.Stats {
	s := p.stats
	s.RxDrops += p.offload.Drops()
	s.RxErrors += p.offload.Errors()
	return s
}

// PollFD returns the tap descriptor, readable when a frame is queued.
func (p *Port) PollFD() int { return p.fd }

// PrepareWait does nothing: the kernel wakes the descriptor on its own.
func (p *Port) PrepareWait() {}

// Queue reports the port's index in its Interface.
func (p *Port) Queue() int { return p.queue }

// Close closes the descriptor; the port holds no buffers between calls,
// so none return to c. Closing twice is a no-op.
func (p *Port) Close(c *pkt.Cache) error {
	if p.fd < 0 {
		return nil
	}
	err := unix.Close(p.fd)
	p.fd = -1
	return err
}
