package afpacket

import (
	"encoding/binary"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

// Interface is one kernel device driven through Queues AF_PACKET sockets.
// Open and Close run on the control plane; each Port belongs to one worker.
type Interface struct {
	cfg     Config
	ifindex int
	devMAC  [6]byte
	mac     [6]byte
	fanout  int // fanout group id, or -1 with one queue
	ports   []*Port
}

// Open opens cfg.Queues sockets on cfg.Device, which is looked up in the
// network namespace of the calling thread (lock the thread first when that
// matters). The sockets stay bound to that namespace's device afterwards.
func Open(cfg Config) (*Interface, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dev, err := net.InterfaceByName(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("afpacket: %w", err)
	}
	ifc := &Interface{cfg: cfg, ifindex: dev.Index, fanout: -1}
	copy(ifc.devMAC[:], dev.HardwareAddr)
	ifc.mac = cfg.MAC
	if ifc.mac == ([6]byte{}) {
		ifc.mac = driver.DeriveMAC(ifc.devMAC)
	}
	for q := range cfg.Queues {
		p, err := ifc.openSocket(q)
		if err != nil {
			ifc.Close(nil)
			return nil, fmt.Errorf("afpacket: %s queue %d: %w", cfg.Device, q, err)
		}
		ifc.ports = append(ifc.ports, p)
	}
	return ifc, nil
}

// openSocket makes, maps, binds and (with several queues) joins socket q.
func (ifc *Interface) openSocket(q int) (*Port, error) {
	cfg := ifc.cfg
	// Protocol 0: nothing is received until bind names the device.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	p := &Port{fd: fd, queue: q}
	fail := func(what string, err error) (*Port, error) {
		p.Close(nil)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Options before the rings: the kernel refuses PACKET_LOSS once a ring exists.
	for _, o := range []struct {
		name string
		opt  int
	}{
		{"PACKET_QDISC_BYPASS", unix.PACKET_QDISC_BYPASS},
		{"PACKET_IGNORE_OUTGOING", unix.PACKET_IGNORE_OUTGOING},
		{"PACKET_LOSS", unix.PACKET_LOSS}, // skip a malformed TX frame instead of stopping at it
	} {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, o.opt, 1); err != nil {
			return fail(o.name, err)
		}
	}
	// virtio_net_hdr before every frame, both ways: the kernel hands GSO
	// super-frames and partial checksums over with their metadata instead
	// of leaving them unexplained (see Port.Recv). Before the rings too.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fail("PACKET_VNET_HDR", err)
	}
	rxLen := cfg.BlockSize * cfg.Blocks
	txBlock := max(pkt.SlotSize, cfg.FrameSize)
	perBlock := txBlock / cfg.FrameSize
	txBlocks := (cfg.TxFrames + perBlock - 1) / perBlock
	txReq := unix.TpacketReq{
		Block_size: uint32(txBlock),
		Block_nr:   uint32(txBlocks),
		Frame_size: uint32(cfg.FrameSize),
		Frame_nr:   uint32(txBlocks * perBlock),
	}
	frames := cfg.Ring == RingFrames
	if frames {
		if err := setFrameRing(fd, cfg); err != nil {
			return fail("RX ring", err)
		}
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &txReq); err != nil {
			return fail("PACKET_TX_RING", err)
		}
	} else {
		if err := setBlockRing(fd, cfg); err != nil {
			return fail("RX ring", err)
		}
		txReq3 := unix.TpacketReq3{Block_size: txReq.Block_size, Block_nr: txReq.Block_nr, Frame_size: txReq.Frame_size, Frame_nr: txReq.Frame_nr}
		if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &txReq3); err != nil {
			return fail("PACKET_TX_RING", err)
		}
	}
	mem, err := unix.Mmap(fd, 0, rxLen+txBlock*txBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fail("mmap", err)
	}
	p.mmap = mem
	p.tx = txRing{mem: mem[rxLen:], frameSize: cfg.FrameSize, frames: txBlocks * perBlock, v3: !frames, dataOff: txDataOffV3}
	if frames {
		p.rxf = frameRing{mem: mem[:rxLen], frameSize: cfg.RxFrameSize, frames: cfg.BlockSize / cfg.RxFrameSize * cfg.Blocks}
		p.tx.dataOff = txDataOffV2
		p.big = make([]byte, bigFrameCap)
	} else {
		p.rx = blockRing{mem: mem[:rxLen], blockSize: cfg.BlockSize, blocks: cfg.Blocks}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	mr := unix.PacketMreq{Ifindex: int32(ifc.ifindex), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
		return fail("PACKET_MR_PROMISC", err)
	}
	if cfg.Queues > 1 {
		if err := ifc.joinFanout(fd); err != nil {
			return fail("PACKET_FANOUT", err)
		}
	}
	return p, nil
}

// setBlockRing makes fd's RX ring the TPACKET_V3 block ring (RingBlocks);
// the TX ring that follows is V3 too.
func setBlockRing(fd int, cfg Config) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("PACKET_VERSION: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size:       uint32(cfg.BlockSize),
		Block_nr:         uint32(cfg.Blocks),
		Frame_size:       uint32(cfg.FrameSize),
		Frame_nr:         uint32(cfg.BlockSize / cfg.FrameSize * cfg.Blocks),
		Retire_blk_tov:   uint32(cfg.RetireTimeout.Milliseconds()),
		Feature_req_word: 1, // TP_FT_REQ_FILL_RXHASH: tp_rxhash becomes Meta.Hash
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	return nil
}

// setFrameRing makes fd's RX ring the TPACKET_V2 frame ring (RingFrames);
// the TX ring that follows is V2 too. A frame longer than a slot (a GSO
// super-frame, a jumbo frame) gets its head in the slot, marked
// TP_STATUS_COPY, and is queued whole on the socket, where Recv reads it
// (Port.bigFrame); the receive buffer bounds how many may wait.
func setFrameRing(fd int, cfg Config) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("PACKET_VERSION: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 1); err != nil {
		return fmt.Errorf("PACKET_COPY_THRESH: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bigQueueBytes); err != nil {
		// Without CAP_NET_ADMIN: as much as net.core.rmem_max allows.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bigQueueBytes)
	}
	req := unix.TpacketReq{
		Block_size: uint32(cfg.BlockSize),
		Block_nr:   uint32(cfg.Blocks),
		Frame_size: uint32(cfg.RxFrameSize),
		Frame_nr:   uint32(cfg.BlockSize / cfg.RxFrameSize * cfg.Blocks),
	}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	return nil
}

// joinFanout puts fd in the interface's fanout group. The first socket asks
// the kernel for a group id no one else uses; the others join it.
func (ifc *Interface) joinFanout(fd int) error {
	const mode = unix.PACKET_FANOUT_HASH
	if ifc.fanout >= 0 {
		return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, ifc.fanout|mode<<16)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, (mode|unix.PACKET_FANOUT_FLAG_UNIQUEID)<<16); err != nil {
		return err
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
	if err != nil {
		return err
	}
	ifc.fanout = v & 0xffff
	return nil
}

// htons converts v to network byte order, as sockaddr_ll wants it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// Ports returns one port per queue; port q is meant for worker q.
func (ifc *Interface) Ports() []driver.Port {
	return driver.Ports(ifc.ports)
}

// MAC returns the data plane's own address on the link (Config.MAC or the
// derived one), not the kernel device's.
func (ifc *Interface) MAC() [6]byte { return ifc.mac }

// DeviceMAC returns the kernel device's own address.
func (ifc *Interface) DeviceMAC() [6]byte { return ifc.devMAC }

// Info describes the interface for "show interfaces".
func (ifc *Interface) Info() string {
	c := ifc.cfg
	fan := "none"
	if ifc.fanout >= 0 {
		fan = fmt.Sprintf("hash group %d", ifc.fanout)
	}
	rx := fmt.Sprintf("blocks %dx%dKiB tov %v", c.Blocks, c.BlockSize>>10, c.RetireTimeout)
	if c.Ring == RingFrames {
		rx = fmt.Sprintf("frames %dx%d", c.BlockSize/c.RxFrameSize*c.Blocks, c.RxFrameSize)
	}
	return fmt.Sprintf("afpacket %s ifindex %d queues %d fanout %s rx %s tx %dx%d mac %s (device %s)",
		c.Device, ifc.ifindex, c.Queues, fan, rx,
		c.TxFrames, c.FrameSize, net.HardwareAddr(ifc.mac[:]), net.HardwareAddr(ifc.devMAC[:]))
}

// Close closes every port. Call it after the workers that own the ports
// have stopped. c may be nil: AF_PACKET ports hold no pkt buffers.
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
